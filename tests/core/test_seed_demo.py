import pytest
from django.core.management import call_command

from mesoclinic.core.models import Room, User
from mesoclinic.patients.demo import BULK_EMAIL_DOMAIN
from mesoclinic.patients.models import Patient

pytestmark = pytest.mark.django_db


def _counts():
    return (User.objects.count(), Room.objects.count(), Patient.objects.count())


def test_seed_demo_creates_the_three_demo_users_and_is_idempotent():
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    roles = dict(
        User.objects.filter(username__in=["practitioner", "scheduler", "patient"]).values_list("username", "role")
    )
    assert roles == {"practitioner": "practitioner", "scheduler": "scheduler", "patient": "patient"}
    assert User.objects.get(username="patient").patient_record is not None
    assert User.objects.get(username="practitioner").check_password("mesoclinic-demo")


def test_seed_demo_tops_up_generated_patients_without_duplicating():
    call_command("seed_demo", "--patients", "120")
    bulk = Patient.objects.filter(email__endswith=BULK_EMAIL_DOMAIN)
    assert bulk.count() == 120
    call_command("seed_demo", "--patients", "120")
    assert bulk.count() == 120
    call_command("seed_demo", "--patients", "150")
    assert bulk.count() == 150
