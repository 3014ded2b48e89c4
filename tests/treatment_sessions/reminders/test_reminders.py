import datetime

import pytest
from django.core import mail
from django.utils import timezone

from mesoclinic.core.selectors import wall_clock
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.reminders import services as reminders
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import booked, consented, covering, next_monday, plan_for, screened, session_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def nsaid_plan(clinic, alice, patient):
    """A cellulite plan for a patient who takes ibuprofen: a 7-day NSAID hold, and no alcohol for 24 h."""
    from mesoclinic.plans.services import plan_activate

    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    return plan_activate(plan=plan, by=alice)


def test_holds_remind_a_day_before_their_lead_time_and_the_appointment_a_day_before(nsaid_plan, alice, room):
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    due = {(r.kind, r.details.get("rule")): r.due_at for r in Reminder.objects.filter(session=session)}
    assert due[(ReminderKind.HOLD, "nsaid-hold")] == session.starts_at - datetime.timedelta(days=8)
    assert due[(ReminderKind.HOLD, "alcohol-hold")] == session.starts_at - datetime.timedelta(hours=48)
    assert due[(ReminderKind.APPOINTMENT, None)] == session.starts_at - datetime.timedelta(days=1)
    assert due[(ReminderKind.FOLLOW_UP, None)] == session.ends_at + datetime.timedelta(hours=48)


def test_a_hold_still_possible_but_past_its_reminder_time_is_due_at_once(nsaid_plan, alice, room):
    """Seven and a half days ahead: the week without ibuprofen can still be kept, but its
    reminder (8 days before) is late, so it goes now."""
    start = timezone.localtime() + datetime.timedelta(days=7, hours=12)
    session = session_at(nsaid_plan, alice, room, start)
    reminders.sync_reminders(session)
    hold = Reminder.objects.get(session=session, details__rule="nsaid-hold")
    assert hold.due_at <= timezone.now()


def test_a_hold_that_can_no_longer_be_kept_is_never_sent(nsaid_plan, alice, room):
    """Three days ahead: no "do not take ibuprofen in the 7 days before"; the 24 hours without
    alcohol still fit. Forty minutes ahead: not even that."""
    soon = session_at(nsaid_plan, alice, room, timezone.localtime() + datetime.timedelta(days=3))
    reminders.sync_reminders(soon)
    assert set(
        Reminder.objects.filter(session=soon, kind=ReminderKind.HOLD).values_list("details__rule", flat=True)
    ) == {"alcohol-hold"}
    today = session_at(nsaid_plan, alice, room, timezone.localtime() + datetime.timedelta(minutes=40), sequence=2)
    reminders.sync_reminders(today)
    assert not Reminder.objects.filter(session=today, kind=ReminderKind.HOLD).exists()


def test_moving_a_session_moves_its_reminders_and_keeps_what_was_sent(nsaid_plan, alice, room, patient):
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    appointment = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    sent = Reminder.objects.get(session=session, details__rule="nsaid-hold")
    Reminder.objects.filter(pk=sent.pk).update(status=ReminderStatus.SENT)
    new_start = wall_clock(session.starts_at, session_zone()) + datetime.timedelta(days=2)
    services.session_move(session=session, new_local=new_start, by=alice, following=True)  # keeps the spacing
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.CANCELLED
    session.refresh_from_db()
    fresh = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT, status=ReminderStatus.PENDING)
    assert fresh.due_at == session.starts_at - datetime.timedelta(days=1)
    assert Reminder.objects.get(pk=sent.pk).status == ReminderStatus.SENT


def session_zone():
    from mesoclinic.core.selectors import clinic_zone

    return clinic_zone()


def test_cancelling_a_session_cancels_its_pending_reminders(nsaid_plan, alice, room):
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    services.session_cancel(session=session, reason="Ill", by=alice)
    reminders = Reminder.objects.filter(session=session)
    assert set(reminders.exclude(kind="change").values_list("status", flat=True)) == {ReminderStatus.CANCELLED}
    # What is still to send is the notice telling the patient of the cancellation.
    assert list(reminders.filter(status=ReminderStatus.PENDING).values_list("kind", flat=True)) == ["change"]


def test_running_the_sweep_twice_sends_once(nsaid_plan, alice, room, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from mesoclinic.celery import app

    app.conf.task_always_eager = True
    try:
        session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
        later = session.starts_at - datetime.timedelta(days=1)  # the holds and the appointment are due
        due = Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=later).count()
        with django_capture_on_commit_callbacks(execute=True):
            first = reminders.sweep(now=later)
        with django_capture_on_commit_callbacks(execute=True):
            second = reminders.sweep(now=later)
        assert due >= 3 and first == due and second == 0
        assert len(mail.outbox) == due
        subjects = sorted(m.subject for m in mail.outbox)
        assert any("how to prepare" in s for s in subjects)
        # and a message that comes twice (a lost acknowledgement) is still sent once
        delivery.deliver(Reminder.objects.filter(status=ReminderStatus.SENT).first().pk)
        assert len(mail.outbox) == due
    finally:
        app.conf.task_always_eager = False


def test_a_pending_reminder_is_enqueued_again_if_its_message_was_lost(nsaid_plan, alice, room):
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    later = session.starts_at - datetime.timedelta(days=1)
    due = Reminder.objects.filter(status=ReminderStatus.PENDING, due_at__lte=later).count()
    assert reminders.sweep(now=later) == due  # the messages go nowhere: no worker runs them here
    assert reminders.sweep(now=later + datetime.timedelta(minutes=1)) == 0
    assert reminders.sweep(now=later + datetime.timedelta(minutes=6)) == due


def test_the_email_speaks_the_patients_language_and_names_the_hold(nsaid_plan, alice, room, patient):
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    hold = Reminder.objects.get(session=session, details__rule="nsaid-hold")
    delivery.deliver(hold.pk)
    [message] = mail.outbox
    assert "Please do not take ibuprofen in the 7 days before it." in message.body
    assert "If a doctor prescribed this medicine for a long-term condition, ask that doctor" in message.body
    assert message.extra_headers["Message-ID"].startswith(f"<hold.{session.pk}.nsaid-hold.ibuprofen.")
    hold.refresh_from_db()
    assert hold.status == ReminderStatus.SENT and hold.recipient == patient.email


def test_no_email_address_is_recorded_not_retried(nsaid_plan, alice, room, patient):
    patient.email = ""
    patient.save()
    session = booked(nsaid_plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    appointment = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    assert delivery.deliver(appointment.pk) == "no address"
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.FAILED
    assert not mail.outbox


def test_the_outbox_shows_reminders_without_clinical_detail_for_the_scheduler(
    sam_client, alice_client, nsaid_plan, alice, room
):
    booked(nsaid_plan, alice, room, next_monday(3))
    assert "Stop ibuprofen" in alice_client.get("/outbox/").content.decode()
    page = sam_client.get("/outbox/").content.decode()
    assert "Preparation reminder" in page and "ibuprofen" not in page
