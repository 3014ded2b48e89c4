"""Changing a patient's email or phone tells the patient at the address the clinic had, and the
patient page says who changed it: a clinic admin cannot quietly redirect clinical emails."""

import pytest
from django.core import mail
from django.urls import reverse

from mesoclinic.celery import app
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def ayla(clinic):
    return PatientFactory(
        given_name="Ayla", family_name="O'Brien", email="ayla@old.example", phone="+905321234567", address="Kadıköy"
    )


def _form(patient, **changes):
    data = {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "phone": patient.phone,
        "email": patient.email,
        "address": patient.address,
        "preferred_language": patient.preferred_language,
    }
    return {**data, **changes}


def _edit(client, patient, callbacks, **changes):
    with callbacks(execute=True):
        response = client.post(reverse("patients:edit", args=[patient.pk]), _form(patient, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_a_changed_email_is_announced_to_the_old_address(sam_client, ayla, eager, django_capture_on_commit_callbacks):
    _edit(sam_client, ayla, django_capture_on_commit_callbacks, email="someone@else.example")
    [notice] = mail.outbox
    assert notice.to == ["ayla@old.example"]
    assert "contact details" in notice.subject.lower()
    assert notice.body.startswith("Dear Ayla,")
    assert "email address in your record" in notice.body
    assert "address we had until now" in notice.body
    assert "+90" not in notice.body or "call us" in notice.body
    # the new address is never told to the old one: it may no longer be the patient's
    assert "someone@else.example" not in notice.body
    assert "&#x27;" not in notice.body and "&amp;" not in notice.body


def test_a_changed_phone_is_announced_by_email_not_by_a_text_to_the_new_number(
    sam_client, ayla, eager, django_capture_on_commit_callbacks
):
    _edit(sam_client, ayla, django_capture_on_commit_callbacks, phone="0533 999 88 77")
    [notice] = mail.outbox
    assert notice.to == ["ayla@old.example"]
    assert "phone number in your record" in notice.body
    assert "not by a text message to the new number" in notice.body
    assert "999" not in notice.body


def test_both_changed_tell_the_old_address_about_both(sam_client, ayla, eager, django_capture_on_commit_callbacks):
    _edit(sam_client, ayla, django_capture_on_commit_callbacks, phone="0533 999 88 77", email="new@else.example")
    [notice] = mail.outbox
    assert notice.to == ["ayla@old.example"]
    assert "email address and the phone number" in notice.body


def test_a_turkish_patient_is_told_in_turkish(sam_client, clinic, eager, django_capture_on_commit_callbacks):
    patient = PatientFactory(given_name="Ayşe", email="ayse@old.example", preferred_language="tr")
    _edit(sam_client, patient, django_capture_on_commit_callbacks, email="ayse@new.example")
    [notice] = mail.outbox
    assert notice.body.startswith(f"Sayın Ayşe {patient.family_name},")  # the full name, as Turkish addresses
    assert "e-posta adresiniz değiştirildi" in notice.body


def test_other_changes_send_nothing(sam_client, ayla, eager, django_capture_on_commit_callbacks):
    _edit(sam_client, ayla, django_capture_on_commit_callbacks, address="Üsküdar")
    assert mail.outbox == []


def test_the_patient_page_shows_who_changed_the_contact_details(
    sam_client, alice_client, ayla, eager, django_capture_on_commit_callbacks
):
    _edit(sam_client, ayla, django_capture_on_commit_callbacks, email="someone@else.example")
    for client in (alice_client, sam_client):
        page = client.get(ayla.get_absolute_url()).content.decode()
        assert "Contact details changed on" in page
        assert "by Sam Reed" in page
        assert "(was ayla@old.example)" in page
        assert "A notice was emailed to the previous address." in page


def test_a_page_without_changes_says_nothing_of_them(alice_client, ayla):
    assert "Contact details changed" not in alice_client.get(ayla.get_absolute_url()).content.decode()
