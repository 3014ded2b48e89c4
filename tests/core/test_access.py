"""Every foundation page as each role: the right answer, never a 500."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(client, alice_client, sam_client, pat_client):
    return {"anonymous": client, "practitioner": alice_client, "scheduler": sam_client, "patient": pat_client}


def _status(clients, role, url):
    return clients[role].get(url).status_code


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("patients:list", {"anonymous": 302, "practitioner": 200, "scheduler": 200, "patient": 403}),
        ("patients:create", {"anonymous": 302, "practitioner": 200, "scheduler": 200, "patient": 403}),
        ("aftercare:mine", {"anonymous": 302, "practitioner": 403, "scheduler": 403, "patient": 200}),
        ("password_change", {"anonymous": 302, "practitioner": 200, "scheduler": 200, "patient": 200}),
        ("healthz", {"anonymous": 200, "practitioner": 200, "scheduler": 200, "patient": 200}),
    ],
)
def test_pages_answer_each_role(clients, url_name, expected):
    url = reverse(url_name)
    assert {role: _status(clients, role, url) for role in expected} == expected


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("desk:patient", {"anonymous": 302, "practitioner": 200, "scheduler": 200, "patient": 404}),
        ("patients:edit", {"anonymous": 302, "practitioner": 200, "scheduler": 200, "patient": 404}),
        # The access history is for practitioners; a scheduler gets 403, a patient 404.
        ("patients:access_history", {"anonymous": 302, "practitioner": 200, "scheduler": 403, "patient": 404}),
    ],
)
def test_patient_pages_answer_each_role(clients, patient, url_name, expected):
    url = reverse(url_name, args=[patient.pk])
    assert {role: _status(clients, role, url) for role in expected} == expected


def test_a_patient_cannot_open_her_own_staff_record_either(pat_client, pat):
    assert pat_client.get(reverse("desk:patient", args=[pat.pk])).status_code == 404


def test_scheduler_sees_contact_details_but_not_clinical_notes(sam_client, patient):
    patient.notes = "Allergic to lidocaine; anxious about needles."
    patient.save()
    page = sam_client.get(reverse("desk:patient", args=[patient.pk])).content.decode()
    assert patient.phone_display in page  # shown formatted, stored as E.164
    assert "lidocaine" not in page
    form = sam_client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert "lidocaine" not in form
    assert 'name="notes"' not in form


def test_scheduler_cannot_write_clinical_notes_by_crafting_a_post(sam_client, patient):
    data = {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "preferred_language": patient.preferred_language,
        "notes": "written by the front desk",
    }
    assert sam_client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert patient.notes == ""


def test_practitioner_sees_clinical_notes(alice_client, patient):
    patient.notes = "Allergic to lidocaine."
    patient.save()
    assert "Allergic to lidocaine." in alice_client.get(reverse("desk:patient", args=[patient.pk])).content.decode()


def test_unknown_ids_and_urls_get_the_404_page(alice_client):
    response = alice_client.get("/patients/999999/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()
    assert alice_client.get("/no/such/page/").status_code == 404


def test_home_sends_each_role_to_its_start_page(client, alice_client, sam_client, pat_client):
    assert client.get("/").status_code == 302
    assert pat_client.get("/")["Location"] == reverse("aftercare:mine")
    assert alice_client.get("/")["Location"].startswith("/")
    assert sam_client.get("/")["Location"].startswith("/")


def test_403_page_is_in_the_apps_look(pat_client):
    response = pat_client.get(reverse("patients:list"))
    assert response.status_code == 403
    assert "This page is not for your role" in response.content.decode()


def test_post_without_csrf_token_is_refused(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("patients:create"), {"given_name": "X"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
