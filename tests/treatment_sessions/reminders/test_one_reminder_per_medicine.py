"""Aspirin is one tablet, whatever the screening calls it: the vocabulary tells "for pain or
fever" (an NSAID, a week's stop) from "prescribed for the heart" (an antiplatelet, the
prescriber decides) and from "ask what for" (treated as prescribed), and a patient who takes
it both ways is listed under two of them. The patient must still get one instruction about
it, in one reminder, worded once, and never a "stop" unless the prescriber agreed a pause.
The reminder emails, the patient's own page and the aftercare sheet must say the same."""

import re

import pytest
from django.core import mail
from django.test import Client

from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.instructions import CONTINUE, PAUSE, STOP
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind
from mesoclinic.treatment_sessions.reminders import delivery
from tests.builders import (
    PatientFactory,
    PatientUserFactory,
    booked,
    consented,
    covering,
    next_monday,
    plan_for,
    screened,
)
from tests.test_patient_instructions import _sheet_text, as_text, sentences, tells_to_stop

pytestmark = pytest.mark.django_db

DOCTOR = "Dr. Ann O'Brien"


def prepared(patient, alice, room, medications, prescriber=None):
    """Screen `patient` with `medications` (as typed), activate a scalp plan and book it.
    Returns the first session."""
    plan = plan_for(patient, alice, "hair_loss")
    screened(patient, alice, prescriber=prescriber, medications=medications, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    return booked(plan, alice, room, next_monday(4)).sessions.order_by("sequence").first()


def aspirin_instructions(patient):
    return [i for i in patient_instructions(patient) if "aspirin" in i.substance.casefold()]


def hold_emails(session):
    """The bodies of the session's preparation reminders, as the patient receives them."""
    return [
        delivery.compose(r).body
        for r in Reminder.objects.filter(session=session, kind=ReminderKind.HOLD).order_by("due_at", "id")
    ]


def about_aspirin(texts):
    return [s for text in texts for s in sentences(text) if "aspirin" in s.casefold()]


def patient_page(patient):
    patient.user = PatientUserFactory()
    patient.save()
    client = Client()
    client.force_login(patient.user)
    return as_text(client.get("/aftercare/").content.decode())


BOTH_WAYS = [
    ["aspirin for pain or fever", "low-dose aspirin prescribed for the heart or clots"],
    ["Disprin", "Ecopirin"],  # the brand names patients say: the same two uses
]


@pytest.mark.parametrize("medications", BOTH_WAYS)
def test_aspirin_for_pain_and_for_the_heart_with_an_agreed_pause_is_one_reminder_worded_once(
    clinic, alice, room, medications
):
    patient = PatientFactory(given_name="Ayşe", preferred_language="en")
    session = prepared(patient, alice, room, medications, {"aspirin_prescribed": ("pause", 7, DOCTOR)})
    [instruction] = aspirin_instructions(patient)
    assert (instruction.kind, instruction.hours_before, instruction.prescriber) == (PAUSE, 7 * 24, DOCTOR)
    emails = [body for body in hold_emails(session) if "aspirin" in body]
    assert len(emails) == 1, emails
    [email] = emails
    assert "As agreed with Dr. Ann O'Brien, please do not take aspirin in the 7 days before it." in email
    assert email.count("aspirin") == 1
    assert "ibuprofen" not in email and "NSAID" not in email
    # The patient's page says the same, once, and nothing else about aspirin.
    [line] = about_aspirin([patient_page(patient)])
    assert line.startswith("As agreed with Dr. Ann O'Brien: do not take aspirin from "), line


@pytest.mark.parametrize("medications", BOTH_WAYS)
def test_aspirin_for_pain_and_for_the_heart_not_yet_asked_tells_the_patient_nothing_to_stop(
    clinic, alice, room, medications
):
    """The week without NSAIDs would stop the heart tablet too: only its prescriber may."""
    patient = PatientFactory(preferred_language="en")
    session = prepared(patient, alice, room, medications)
    assert aspirin_instructions(patient) == []
    texts = [*hold_emails(session), patient_page(patient), _sheet_text(session, alice, "en")]
    assert not [s for s in about_aspirin(texts) if tells_to_stop(s)], about_aspirin(texts)


def test_aspirin_the_prescriber_wants_continued_is_never_stopped_for_pain(clinic, alice, room):
    patient = PatientFactory(preferred_language="en")
    session = prepared(patient, alice, room, BOTH_WAYS[0], {"aspirin_prescribed": ("continue", None, DOCTOR)})
    [instruction] = aspirin_instructions(patient)
    assert instruction.kind == CONTINUE
    texts = [*hold_emails(session), patient_page(patient), _sheet_text(session, alice, "en")]
    said = about_aspirin(texts)
    assert not [s for s in said if tells_to_stop(s)], said
    assert [s for s in said if DOCTOR in s and "Keep taking aspirin" in s]


def test_aspirin_of_unknown_purpose_beside_aspirin_for_pain_is_treated_as_prescribed(clinic, alice, room):
    patient = PatientFactory(preferred_language="en")
    session = prepared(patient, alice, room, ["aspirin", "aspirin for pain or fever"])
    assert aspirin_instructions(patient) == []
    assert not [s for s in about_aspirin(hold_emails(session)) if tells_to_stop(s)]


def test_aspirin_only_for_pain_is_still_stopped_a_week_before(clinic, alice, room):
    patient = PatientFactory(preferred_language="en")
    session = prepared(patient, alice, room, ["Disprin"])
    [instruction] = aspirin_instructions(patient)
    assert (instruction.kind, instruction.hours_before) == (STOP, 7 * 24)
    [email] = [body for body in hold_emails(session) if "aspirin" in body]
    assert "Please do not take aspirin for pain or fever in the 7 days before it." in email


def test_each_other_medicine_keeps_its_own_reminder_beside_the_one_about_aspirin(clinic, alice, room):
    patient = PatientFactory(preferred_language="tr")
    session = prepared(patient, alice, room, ["ibuprofen", *BOTH_WAYS[1]], {"aspirin_prescribed": ("pause", 5, DOCTOR)})
    bodies = hold_emails(session)
    for reminder in Reminder.objects.filter(session=session, kind=ReminderKind.HOLD):
        delivery.deliver(reminder.pk)
    assert len(mail.outbox) == len(bodies)
    medicine_emails = [b for b in bodies if re.search(r"aspirin|ibuprofen", b)]
    assert len(medicine_emails) == 2
    assert not [b for b in medicine_emails if "aspirin" in b and "ibuprofen" in b]
    [aspirin] = [b for b in medicine_emails if "aspirin" in b]
    assert DOCTOR in aspirin and "5" in aspirin
