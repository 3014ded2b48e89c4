"""Emails read as the patient receives them: plain text, nothing HTML-escaped.

A name like O'Brien or a clinic called "Smith & Jones" must arrive as typed, not as
O&#x27;Brien or Smith &amp; Jones; text that looks like markup is just text in a plain email.
"""

import datetime
from pathlib import Path

import pytest
from django.core import mail

from mesoclinic.treatment_sessions.models import Reminder, ReminderKind
from mesoclinic.treatment_sessions.reminders import delivery
from tests.builders import PatientFactory, booked, consented, covering, next_monday, plan_for, screened

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ESCAPED = ("&lt;", "&gt;", "&#x27;", "&#39;", "&amp;", "&quot;")


@pytest.fixture
def awkward_clinic(clinic):
    clinic.name = "Smith & O'Neil <Clinic>"
    clinic.phone = "+90 212 555 00 00"
    clinic.address = 'Şişli "Plaza" 3/4'
    clinic.save()
    from django.core.cache import cache

    cache.clear()
    return clinic


@pytest.fixture
def obrien(awkward_clinic):
    return PatientFactory(given_name="<script>Siobhán", family_name="O'Brien", email="siobhan@example.com")


def _assert_unescaped(message):
    for text in (message.subject, message.body):
        assert not any(entity in text for entity in ESCAPED), text


def test_every_text_template_turns_autoescape_off():
    """Plain-text templates are rendered by the HTML engine: each must switch escaping off."""
    missing = [
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.txt")
        if "{% autoescape off %}" not in path.read_text()
    ]
    assert not missing, missing


def test_reminder_emails_carry_names_as_typed(obrien, alice, room):
    plan = plan_for(obrien, alice, "cellulite")
    screened(obrien, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    from mesoclinic.plans.services import plan_activate

    plan = plan_activate(plan=plan, by=alice)
    session = booked(plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    kinds = {ReminderKind.HOLD, ReminderKind.APPOINTMENT, ReminderKind.FOLLOW_UP}
    for reminder in Reminder.objects.filter(session=session, kind__in=kinds):
        delivery.deliver(reminder.pk)
    assert {m.to[0] for m in mail.outbox} == {"siobhan@example.com"}
    assert len(mail.outbox) >= 3
    for message in mail.outbox:
        _assert_unescaped(message)
        assert "Dear <script>Siobhán," in message.body
        assert "Smith & O'Neil <Clinic>" in message.body
    appointment = next(m for m in mail.outbox if m.subject.startswith("Reminder"))
    assert "Smith & O'Neil <Clinic>" in appointment.subject
    assert 'Şişli "Plaza" 3/4' in appointment.body


def test_the_aftercare_email_carries_names_as_typed(obrien, alice, room, django_capture_on_commit_callbacks):
    from mesoclinic.celery import app
    from tests.builders import signed_session

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            signed_session(alice, room, obrien, next_in_days=0)
    finally:
        app.conf.task_always_eager = False
    [email] = [m for m in mail.outbox if "aftercare" in m.subject.lower()]
    _assert_unescaped(email)
    assert email.body.startswith("Dear <script>Siobhán,")
    assert "Smith & O'Neil <Clinic>" in email.subject


def test_a_turkish_email_is_unescaped_too(awkward_clinic, alice, room):
    patient = PatientFactory(given_name="Ayşe", family_name="D'Ağostino", preferred_language="tr")
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    from mesoclinic.plans.services import plan_activate

    plan = plan_activate(plan=plan, by=alice)
    session = booked(plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    reminder = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    delivery.deliver(reminder.pk)
    [message] = mail.outbox
    _assert_unescaped(message)
    assert "Smith & O'Neil <Clinic>" in message.body
    assert session.starts_at > datetime.datetime.now(datetime.UTC)
