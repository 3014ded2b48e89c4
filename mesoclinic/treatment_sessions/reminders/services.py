"""Reminders and follow-ups: rows with a due time, swept every minute, each sent once.

Why rows and not Celery ETA tasks: a broker outage, a restart or a moved session must not
lose or duplicate a message. The sweep enqueues what is due (after commit); the task locks
the row, sends, and marks it sent in one transaction, so a second delivery of the same
message finds it sent and does nothing.

Due times:
- a preparation instruction (screening/instructions.py, one per medicine): its lead time plus
  a day (a 7-day NSAID hold reminds 8 days before). An instruction that can no longer be kept
  when the session is booked or moved is not sent at all: the practitioner sees it at the
  re-check instead. "Continue as prescribed" has no lead time and needs no reminder;
- the appointment: the day before;
- a follow-up about reactions: 48 hours after the session.
"""

import datetime
import logging

from celery import current_app
from django.db import transaction
from django.utils import timezone

from mesoclinic.screening.instructions import CONTINUE, for_session
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus, SessionStatus

log = logging.getLogger(__name__)
HOLD_EXTRA = datetime.timedelta(days=1)
APPOINTMENT_BEFORE = datetime.timedelta(days=1)
FOLLOW_UP_AFTER = datetime.timedelta(hours=48)
REENQUEUE_AFTER = datetime.timedelta(minutes=5)
SEND_TASK = "reminders.send"


def wanted_reminders(session, instructions, now):
    """The reminders a session should have right now: [(key, kind, due_at, details)]."""
    if session.status in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW):
        return []
    stamp = session.starts_at.strftime("%Y%m%dT%H%M")
    wanted = []
    if session.status == SessionStatus.SCHEDULED and session.starts_at > now:
        for item in for_session(instructions, session.starts_at, now):
            if item.kind == CONTINUE:
                continue
            due = item.begins(session.starts_at) - HOLD_EXTRA
            key = f"hold:{session.pk}:{item.key}:{stamp}"
            wanted.append((key, ReminderKind.HOLD, max(due, now), item.as_json()))
        wanted.append(
            (
                f"appointment:{session.pk}:{stamp}",
                ReminderKind.APPOINTMENT,
                max(session.starts_at - APPOINTMENT_BEFORE, now),
                {},
            )
        )
    if session.ends_at + FOLLOW_UP_AFTER > now:
        wanted.append(
            (f"follow_up:{session.pk}:{stamp}", ReminderKind.FOLLOW_UP, session.ends_at + FOLLOW_UP_AFTER, {})
        )
    return wanted


def sync_reminders(session, now=None):
    """Make the session's pending reminders match it: create what is missing, cancel the
    rest. Sent reminders stay as history. Called whenever a session is booked, moved,
    cancelled or completed."""
    now = now or timezone.now()
    instructions = patient_instructions(session.patient)
    wanted = {key: (kind, due, details) for key, kind, due, details in wanted_reminders(session, instructions, now)}
    existing = {r.key: r for r in Reminder.objects.filter(session=session)}
    stale = [
        r.pk
        for key, r in existing.items()
        if r.status == ReminderStatus.PENDING and key not in wanted and r.kind != ReminderKind.AFTERCARE
    ]
    Reminder.objects.filter(pk__in=stale).update(status=ReminderStatus.CANCELLED)
    for key, (kind, due, details) in wanted.items():
        if key in existing:
            continue
        Reminder.objects.create(
            key=key, patient=session.patient, session=session, kind=kind, due_at=due, details=details
        )
    return len(wanted)


def sweep(now=None, limit=500):
    """Enqueue every reminder that is due; called by Celery beat every minute.

    A reminder enqueued more than a few minutes ago and still pending is enqueued again:
    its message may have been lost with a broker. Sending twice is harmless (the task
    checks the row), sending never is not.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=ReminderStatus.PENDING, due_at__lte=now)
            .exclude(enqueued_at__gt=now - REENQUEUE_AFTER)
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        Reminder.objects.filter(pk__in=due).update(enqueued_at=now)
        for pk in due:
            transaction.on_commit(lambda pk=pk: enqueue(pk))
    return len(due)


def enqueue(reminder_id):
    """Hand a reminder to the broker. If the broker is down the row stays pending and is
    marked not enqueued, so the next sweep (a minute later) tries again: nothing is lost.
    The task is named, not imported: tasks.py is the adapter that imports this module."""
    try:
        current_app.signature(SEND_TASK, args=(reminder_id,)).delay()
    except Exception as error:  # the broker is unreachable: kombu's errors vary by transport
        Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(enqueued_at=None)
        log.warning(
            "Reminder %s not enqueued, the broker is unreachable (%s); the next sweep retries.", reminder_id, error
        )
