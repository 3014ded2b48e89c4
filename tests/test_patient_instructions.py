"""Everything a patient reads about preparing for a session comes from one place, and none of
it tells them to stop a prescribed blood thinner or immunosuppressant unless the prescriber
agreed to a pause: reminder emails, the consent, the aftercare sheet and the patient's own
page, in English and in Turkish."""

import datetime
import re
from decimal import Decimal
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from mesoclinic.aftercare.render import sheet_words
from mesoclinic.aftercare.services import sheet_build
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.consent import consent_document
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.reminders import services as reminders
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

pytestmark = pytest.mark.django_db

STOP_WORDS = re.compile(r"\b(stop|do not take|pause|kullanmayın|bırakın|almayın)\b", re.IGNORECASE)
# The safety sentence itself ("never stop it on your own") is not an instruction to stop.
NEVER_STOP = re.compile(r"never stop|do not stop|bırakmayın", re.IGNORECASE)


def tells_to_stop(sentence):
    return bool(STOP_WORDS.search(sentence)) and not NEVER_STOP.search(sentence)


# (what the patient takes, the prescriber's decision)
CASES = [
    ("warfarin", None),
    ("Coumadin", ("pause", 5, "Dr. Selim Kaya")),
    ("apixaban", ("continue", None, "Dr. Nil Er")),
    ("Karum", None),
    ("Ecopirin", ("pause", 7, "Dr. Ann O'Brien")),
    ("aspirin", None),
    ("methotrexate", ("continue", None, "Dr. Ruth Mayer")),
    ("Deltacortril", ("continue", None, "Dr. Ece Tan")),
    ("Humira", ("pause", 14, "Dr. Ada Yıldız")),
]


def decisions_for(result):
    """Warnings acknowledged; a critical finding overridden with a specialist's clearance
    where its rule allows it (immunosuppression), so that the plan can go ahead."""
    decisions = []
    for finding in result.findings:
        if finding.severity == "warning":
            decisions.append({"rule": finding.rule, "key": finding.key, "decision": "acknowledged"})
        elif "specialist_clearance" in finding.override_reasons:
            decisions.append(
                {
                    "rule": finding.rule,
                    "key": finding.key,
                    "decision": "overridden",
                    "reason": "specialist_clearance",
                    "cleared_by": "Dr. Rheum, rheumatology",
                    "cleared_on": datetime.date.today().isoformat(),
                    "comment": "Written clearance on file.",
                }
            )
    return decisions


def patient_texts(patient, alice, room, typed, decision, language):
    """Every text the patient is given before and after a session, for a scalp plan."""
    from mesoclinic.screening import engine

    kb = knowledge_base()
    plan = plan_for(patient, alice, "hair_loss")
    data = {
        "date_of_birth": patient.date_of_birth.isoformat(),
        "on_date": (clinic_today() + datetime.timedelta(days=30)).isoformat(),
        "medications": [typed, "ibuprofen"],
        **covering(plan),
    }
    result = engine.evaluate(engine.parse_answers(data, kb), kb)
    [(code, _label)] = list(result.prescriber_medications)
    prescriber = {code: decision} if decision else {}
    screened(patient, alice, decisions=decisions_for(result), prescriber=prescriber, **data)
    document = consent_document(
        plan, practitioner=alice, on_date=clinic_today(), instructions=patient_instructions(patient)
    )
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    series = booked(plan, alice, room, next_monday(4))
    texts = [as_text(document)]
    for reminder in Reminder.objects.filter(session__series=series, kind=ReminderKind.HOLD):
        texts.append(delivery.compose(reminder).body)
    first = series.sessions.order_by("sequence").first()
    user = PatientUserFactory()
    patient.user = user
    patient.save()
    client = Client()
    client.force_login(user)
    texts.append(as_text(client.get("/aftercare/").content.decode()))
    texts.append(_sheet_text(first, alice, language))
    return code, texts


def as_text(html):
    """What a reader sees of an HTML page: each element on its own line, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "\n", html))


def sentences(text):
    """Sentences, not cut at "Dr." or "O'Brien"."""
    return [s for s in re.split(r"(?<!\bDr\.)(?<=[.!?])\s+|\n", text) if s.strip()]


def _sheet_text(session, alice, language):
    """The aftercare sheet of `session` as if it had been charted: its words in `language`."""
    from mesoclinic.aftercare.models import AftercareSheet
    from mesoclinic.screening.models import Term
    from mesoclinic.treatment_sessions.models import Chart, ChartArea

    chart = Chart.objects.create(
        session=session,
        patient=session.patient,
        technique="nappage",
        depth_mm=Decimal("1.5"),
        needle_gauge=32,
        duration_minutes=40,
        created_by=alice,
    )
    ChartArea.objects.create(chart=chart, area=Term.objects.get(kind="area", code="scalp"), volume_ml=Decimal("2"))
    sheet = AftercareSheet(session=session, patient=session.patient, content=sheet_build(session))
    words = sheet_words(sheet, language)
    from django.template.loader import render_to_string

    return as_text(render_to_string("aftercare/_sheet.html", {"words": words, "language": language}))


@pytest.mark.parametrize(("typed", "decision"), CASES)
@pytest.mark.parametrize("language", ["en", "tr"])
def test_no_patient_text_stops_a_prescribed_medicine_without_an_agreed_pause(
    clinic, alice, room, typed, decision, language
):
    patient = PatientFactory(preferred_language=language)
    with translation.override(language):
        code, texts = patient_texts(patient, alice, room, typed, decision, language)
        kb = knowledge_base()
        label = kb.term("medication", code).label
        names = {translation.gettext(re.sub(r"\s*\(.*\)", "", label)).casefold(), label.casefold()}
        names |= {name.split()[0] for name in names if len(name.split()[0]) > 4}
    mentions = [
        sentence for text in texts for sentence in sentences(text) if any(name in sentence.casefold() for name in names)
    ]
    if decision is None:
        # Not yet asked: nothing tells the patient to stop it.
        assert not [s for s in mentions if tells_to_stop(s)], mentions
        return
    answer, _days, doctor = decision
    agreed = [s for s in mentions if doctor in s]
    assert agreed, f"the agreed {answer} should reach the patient: {mentions}"
    for sentence in mentions:
        if tells_to_stop(sentence):
            assert answer == "pause" and doctor in sentence, sentence


def test_the_warfarin_pause_email_says_exactly_what_was_agreed(clinic, alice, room):
    """The reminder for an agreed pause is one email about that medicine only, in the words
    the prescriber agreed, and "Dr O'Brien" reads as written (no HTML escaping in email)."""
    patient = PatientFactory(given_name="Ayşe", preferred_language="en")
    patient_texts(patient, alice, room, "warfarin", ("pause", 5, "Dr. Ann O'Brien"), "en")
    pauses = Reminder.objects.filter(patient=patient, kind=ReminderKind.HOLD, details__kind="pause")
    assert pauses.exists()
    delivery.deliver(pauses.order_by("due_at").first().pk)
    [email] = mail.outbox
    assert "As agreed with Dr. Ann O'Brien, please do not take warfarin in the 5 days before it." in email.body
    assert email.body.count("warfarin") == 1
    assert "ibuprofen" not in email.body  # never two medicines in one message


def test_the_consent_says_never_to_stop_a_prescribed_medicine_before_any_stop(clinic, alice, room):
    patient = PatientFactory()
    _, texts = patient_texts(patient, alice, room, "Ecopirin", None, "en")
    said = sentences(texts[0])
    never = next(i for i, s in enumerate(said) if s.startswith("Never stop a medicine a doctor prescribed"))
    stops = [i for i, s in enumerate(said) if tells_to_stop(s)]
    assert stops and never < min(stops)
    assert not [said[i] for i in stops if "aspirin" in said[i]]


def test_a_same_day_booking_sends_no_preparation_it_is_too_late_for(clinic, alice, room):
    from tests.builders import session_at

    patient = PatientFactory()
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    session = session_at(plan, alice, room, timezone.now() + datetime.timedelta(minutes=40))
    reminders.sync_reminders(session)
    assert not Reminder.objects.filter(session=session, kind=ReminderKind.HOLD).exists()
    for reminder in Reminder.objects.filter(session=session):
        body = delivery.compose(reminder).body
        assert "alcohol" not in body and "24 hours" not in body
