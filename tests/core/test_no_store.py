"""Pages with patient data are never stored by the browser or a proxy (Cache-Control)."""

import pytest
from django.test import Client
from django.urls import reverse

from mesoclinic.aftercare.services import link_create, sheet_for
from tests.builders import signed_session

pytestmark = pytest.mark.django_db


def _no_store(response):
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


def test_the_practitioners_pages_are_never_stored(alice_client, patient, clinic):
    for url in (
        reverse("patients:list"),
        reverse("patients:create"),
        reverse("desk:patient", args=[patient.pk]),
        reverse("patients:edit", args=[patient.pk]),
        reverse("patients:access_history", args=[patient.pk]),
        reverse("session_day:today"),
        reverse("scheduling:calendar"),
    ):
        response = alice_client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), (url, response.get("Cache-Control"))


def test_the_clinic_admins_pages_and_a_refusal_are_never_stored(sam_client, patient, clinic):
    for url in (reverse("patients:list"), reverse("desk:patient", args=[patient.pk])):
        response = sam_client.get(url)
        assert response.status_code == 200
        assert _no_store(response), url
    refused = sam_client.get(reverse("patients:access_history", args=[patient.pk]))
    assert refused.status_code == 403 and _no_store(refused)


def test_a_patients_own_pages_and_the_emailed_link_are_never_stored(pat_client, pat, alice, room):
    sheet = sheet_for(signed_session(alice, room, pat, next_in_days=0))
    response = pat_client.get(sheet.get_absolute_url())
    assert response.status_code == 200 and _no_store(response)
    link = Client().get(reverse("aftercare:link", args=[link_create(sheet)]))
    assert link.status_code == 200 and _no_store(link)


def test_the_sign_in_page_may_be_cached_as_django_decides(client):
    """Nothing of a patient's on it: the header is Django's own (never_cache on login)."""
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "public" not in response.get("Cache-Control", "")
