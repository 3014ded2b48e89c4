import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

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


def test_seed_demo_refuses_in_production_and_names_the_flag_that_forces_it(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo")
    assert "--allow-known-passwords" in str(refused.value)
    assert not User.objects.filter(username__in=["practitioner", "scheduler", "patient"]).exists()


def test_seed_demo_in_production_seeds_when_forced(settings):
    settings.PRODUCTION = True
    call_command("seed_demo", "--allow-known-passwords")
    assert User.objects.get(username="scheduler").check_password("mesoclinic-demo")


def test_seed_demo_exits_non_zero_in_production_with_a_message_naming_the_flag(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    environment.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k3y-" + "pQ7vX2mZ9rT4wY8uB1nC6eA0sD5fG3hJ" * 2,
        DJANGO_ALLOWED_HOSTS="clinic.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'never-created.sqlite3'}",
        MESOCLINIC_VAR_DIR=str(tmp_path / "var"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "--allow-known-passwords" in result.stderr
    assert "production (DJANGO_DEBUG=0)" in result.stderr
