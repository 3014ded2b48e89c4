"""What a field test of the questionnaire found (a clinic trying it, not reading the code), held
by tests: an empty questionnaire that became "no medicines", a "call the patient" the clinic
admin could not see without a booking, a switched-off questionnaire that vanished from the
patient page, and a previous screening's medicines silently dropped on adoption."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import adoption, services
from mesoclinic.questionnaires.models import VALID_FOR, QuestionnaireRequest
from mesoclinic.screening.forms import ScreeningForm
from tests.builders import screened

pytestmark = pytest.mark.django_db

ANSWERED = {
    "pregnant": "no",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
}


def returned(patient, **given):
    request = QuestionnaireRequest.objects.create(
        patient=patient, visit_on=clinic_today() + datetime.timedelta(days=10), expires_at=timezone.now() + VALID_FOR
    )
    return services.questionnaire_submit(request=request, given={**ANSWERED, **given}, language="en")


def page(client, patient):
    response = client.get(reverse("desk:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_every_section_the_questionnaire_asked_needs_confirming_even_when_left_empty(patient):
    response = returned(patient)  # "none" to every list, nothing else given
    assert set(adoption.reported_sections(response)) == set(ScreeningForm.REPORTABLE)


def test_the_adopt_page_lists_what_the_previous_screening_had_and_the_answers_leave_out(alice_client, alice, patient):
    screened(patient, alice, medications=["warfarin"], conditions=["diabetes"])
    response = returned(patient)
    html = alice_client.get(reverse("questionnaires:adopt", args=[response.pk])).content.decode()
    assert "The previous screening recorded more:" in html
    warning = html[html.index("The previous screening recorded more:") :][:400]
    assert "warfarin" in warning and "Diabetes" in warning


def test_answers_that_ask_the_patient_to_call_show_at_the_top_for_both_roles_with_no_booking(
    alice_client, sam_client, patient
):
    returned(patient, pregnant="yes")
    practitioner = page(alice_client, patient)
    assert (
        "The patient&#x27;s answers would defer treatment" in practitioner
        or "answers would defer treatment" in practitioner
    )
    admin = page(sam_client, patient)
    banner = admin[admin.index("questionnaire-must-call") :][:400]
    assert "The clinic must call the patient before this appointment" in banner
    assert "pregnan" not in admin.lower()


def test_a_switched_off_questionnaire_stays_on_the_patient_page(alice_client, alice, patient):
    request = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=5)
    )
    services.questionnaire_revoke(request=request, by=alice)
    html = page(alice_client, patient)
    assert f'data-questionnaire="{request.pk}"' in html and "Switched off" in html
