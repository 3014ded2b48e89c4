"""An archived record is kept, not used: hidden, marked, and closed to new plans and bookings."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import patient_archive
from mesoclinic.treatment_sessions.status import ARCHIVED, booking_refusal
from tests.builders import PatientFactory, active_plan, booked, next_monday, plan_for

pytestmark = pytest.mark.django_db


def test_a_practitioner_archives_a_record_with_a_reason(alice_client, patient):
    url = reverse("patients:archive", args=[patient.pk])
    assert alice_client.get(url).status_code == 200
    refused = alice_client.post(url, {"reason": "  "})
    assert refused.status_code == 200 and "Say why this record is archived." in refused.content.decode()
    response = alice_client.post(url, {"reason": "Created twice by mistake"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.is_archived and patient.archive_reason == "Created twice by mistake"
    page = alice_client.get(patient.get_absolute_url()).content.decode()
    assert "Archived record." in page and "Created twice by mistake" in page and "no new plans or bookings" in page
    assert reverse("desk:merge_choose", args=[patient.pk]) not in page
    assert patient not in alice_client.get(reverse("patients:list")).context["page"].object_list


def test_the_clinic_admin_cannot_archive(sam_client, patient):
    assert sam_client.post(reverse("patients:archive", args=[patient.pk]), {"reason": "x"}).status_code == 403
    assert not Patient.objects.get(pk=patient.pk).is_archived


def test_no_new_plan_on_an_archived_record(clinic, alice, patient):
    plan_for(PatientFactory(), alice)  # the protocols work for a record in use
    patient_archive(patient=patient, by=alice, reason="Test record")
    patient.refresh_from_db()
    with pytest.raises(ValidationError, match="archived"):
        plan_for(patient, alice)
    assert not patient.plans.exists()


def test_no_booking_on_an_archived_record(clinic, alice, room):
    plan = active_plan(alice)
    assert booking_refusal(plan) == ""
    Patient.objects.filter(pk=plan.patient_id).update(archived_at="2026-01-01T00:00Z")
    plan.refresh_from_db()
    plan.patient.refresh_from_db()
    assert booking_refusal(plan) == ARCHIVED


def test_a_record_with_sessions_booked_ahead_is_not_archived(clinic, alice, room):
    plan = active_plan(alice)
    booked(plan, alice, room, next_monday(2))
    with pytest.raises(ValidationError, match="booked ahead"):
        patient_archive(patient=plan.patient, by=alice, reason="Moved away")


def test_an_archived_record_can_be_used_again_unless_it_was_merged(alice_client, alice, patient):
    patient_archive(patient=patient, by=alice, reason="By mistake")
    response = alice_client.post(reverse("patients:restore", args=[patient.pk]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert not patient.is_archived
    kept = PatientFactory()
    patient_archive(patient=patient, by=alice, reason="Merged", merged_into=kept)
    alice_client.post(reverse("patients:restore", args=[patient.pk]))
    assert Patient.objects.get(pk=patient.pk).is_archived
