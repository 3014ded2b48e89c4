"""When the clinic moves or cancels sessions still to come, the patient is told at once, in
their language: one email per change listing every session it touched."""

import datetime

import pytest
from django.core import mail

from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, TreatmentSession
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import active_plan, booked, next_monday

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(clinic, alice, room):
    plan = active_plan(alice, "cellulite", sessions_planned=4, intervals=[7] * 3)
    plan.patient.email, plan.patient.given_name = "ayse@example.com", "Ayşe"
    plan.patient.save()
    booked(plan, alice, room, next_monday())
    return plan


def notices(plan):
    return list(Reminder.objects.filter(patient=plan.patient, kind=ReminderKind.CHANGE).order_by("id"))


def sent(reminder):
    mail.outbox.clear()
    assert delivery.deliver(reminder.pk) == "sent"
    (message,) = mail.outbox
    return message


def test_a_moved_session_tells_the_patient_the_old_and_the_new_time(series, alice):
    second = TreatmentSession.objects.get(plan=series, sequence=2)
    old = wall_clock(second.starts_at, clinic_zone())
    services.session_move(session=second, new_local=old + datetime.timedelta(hours=3), by=alice)
    (notice,) = notices(series)
    message = sent(notice)
    assert message.to == ["ayse@example.com"]
    assert "Dear Ayşe," in message.body
    assert f"{old:%H:%M} is now" in message.body and f"at {old + datetime.timedelta(hours=3):%H:%M}." in message.body
    assert "preparation we asked of you now counts from the new time" in message.body
    assert "&#x27;" not in message.body and "&amp;" not in message.body


def test_cancelling_the_remaining_sessions_sends_one_email_listing_them(series, alice):
    second = TreatmentSession.objects.get(plan=series, sequence=2)
    services.session_cancel_remaining(session=second, reason="Moving away", by=alice)
    (notice,) = notices(series)
    body = sent(notice).body
    assert body.count("is cancelled.") == 3
    assert "Your appointments have changed:" in body
    assert "Moving away" not in body  # the reason is the clinic's note, not the patient's email
    assert "counts from the new time" not in body


def test_a_turkish_patient_is_told_in_turkish(series, alice):
    series.patient.preferred_language = "tr"
    series.patient.save()
    first = TreatmentSession.objects.get(plan=series, sequence=1)
    services.session_cancel(session=first, reason="ill", by=alice)
    message = sent(notices(series)[0])
    # Turkish formal address takes the full name, never "Sayın" with the given name alone.
    assert f"Sayın Ayşe {series.patient.family_name}," in message.body, message.body
    assert "iptal" in message.body.lower(), message.body


def test_a_no_show_and_a_change_of_room_alone_send_nothing(series, alice, clinic):
    from mesoclinic.core.models import Room

    first = TreatmentSession.objects.get(plan=series, sequence=1)
    services.session_move(
        session=first,
        new_local=wall_clock(first.starts_at, clinic_zone()),
        room=Room.objects.get(name="Room 2"),
        by=alice,
    )
    TreatmentSession.objects.filter(pk=first.pk).update(
        starts_at=first.starts_at - datetime.timedelta(days=30), ends_at=first.ends_at - datetime.timedelta(days=30)
    )
    first.refresh_from_db()
    services.session_no_show(session=first, by=alice)
    assert notices(series) == []


def test_the_notice_is_not_cancelled_by_the_sessions_own_reminder_sync(series, alice):
    second = TreatmentSession.objects.get(plan=series, sequence=2)
    services.session_cancel(session=second, reason="ill", by=alice)
    from mesoclinic.treatment_sessions.reminders.services import sync_reminders

    sync_reminders(second)
    (notice,) = notices(series)
    assert notice.status == "pending"
