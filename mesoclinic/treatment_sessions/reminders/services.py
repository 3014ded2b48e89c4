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
- a follow-up about reactions: 48 hours after the session;
- a change notice, at once, when the clinic moves or cancels sessions still to come (one
  email per patient and change, listing every session it touched).

A reminder that was not sent (no address, the mail server refused it to the end) can be sent
again from the outbox: it becomes due again and goes the sweep's way, through the same task.

Each row is one channel (email or text message, `channels.py`): a new row takes the patient's
first; delivery adds a copy row for a second one when the reminder goes (delivery.py says why).
"""

import datetime
import logging

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.core.audit import record_change
from mesoclinic.screening.instructions import CONTINUE, for_session
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus, SessionStatus

from .channels import address, lead_channel

log = logging.getLogger(__name__)
HOLD_EXTRA = datetime.timedelta(days=1)
APPOINTMENT_BEFORE = datetime.timedelta(days=1)
FOLLOW_UP_AFTER = datetime.timedelta(hours=48)
REENQUEUE_AFTER = datetime.timedelta(minutes=5)
# The follow-up says "two days ago": a day later than that it no longer reads true.
FOLLOW_UP_LATEST = FOLLOW_UP_AFTER + datetime.timedelta(days=1)
SEND_TASK = "reminders.send"
QUEUED, ALREADY_QUEUED, ALREADY_SENT = "queued", "already queued", "already sent"


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
        if r.status == ReminderStatus.PENDING
        and lead_key(r) not in wanted
        and r.kind not in (ReminderKind.AFTERCARE, ReminderKind.CHANGE)
    ]
    Reminder.objects.filter(pk__in=stale).update(status=ReminderStatus.CANCELLED)
    for key, (kind, due, details) in wanted.items():
        if key in existing:
            continue
        Reminder.objects.create(
            key=key,
            patient=session.patient,
            session=session,
            kind=kind,
            channel=lead_channel(session.patient),
            due_at=due,
            details=details,
        )
    return len(wanted)


def lead_key(reminder):
    """The key of the reminder a row sends: its own, or for a second channel's copy its lead's."""
    return reminder.key.rsplit("+", 1)[0] if "copy_of" in reminder.details else reminder.key


def notify_changes(changes, now=None):
    """Tell each patient, at once, that the clinic moved or cancelled sessions of theirs still to
    come: `changes` is [(session as it is now, its start before)]. One email per patient lists
    every session of the change (cancelling the remaining five sends one, not five). A session
    whose old time has passed is not announced: there is nothing left to come to."""
    now = now or timezone.now()
    by_patient = {}
    for session, was in changes:
        if was <= now or (session.status == SessionStatus.SCHEDULED and session.starts_at == was):
            continue
        if session.status not in (SessionStatus.SCHEDULED, SessionStatus.CANCELLED):
            continue
        by_patient.setdefault(session.patient_id, []).append((session, was))
    created = []
    for items in by_patient.values():
        first = items[0][0]
        details = {
            "sessions": [
                {
                    "session": session.pk,
                    "was": was.isoformat(),
                    "now": None if session.status == SessionStatus.CANCELLED else session.starts_at.isoformat(),
                }
                for session, was in items
            ]
        }
        stamp = now.strftime("%Y%m%dT%H%M%S.%f")
        created.append(
            Reminder.objects.create(
                key=f"change:{first.pk}:{stamp}",
                patient=first.patient,
                session=first,
                kind=ReminderKind.CHANGE,
                channel=lead_channel(first.patient),
                due_at=now,
                details=details,
                enqueued_at=now,
            )
        )
    for reminder in created:
        transaction.on_commit(lambda pk=reminder.pk: enqueue(pk))
    return created


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


def resend_problem(reminder, now=None):
    """Why a reminder that was not sent must not be sent again now, in words for the clinic
    admin; "" when it may. What it tells the patient must still be true when it arrives."""
    now = now or timezone.now()
    if not address(reminder.patient, reminder.channel):
        if reminder.channel == ReminderChannel.SMS:
            return gettext("The patient has no phone number for text messages: add one to their record first.")
        return gettext("The patient has no email address: add one to their record first.")
    session = reminder.session
    if reminder.kind not in (ReminderKind.HOLD, ReminderKind.APPOINTMENT, ReminderKind.FOLLOW_UP):
        return ""  # the aftercare email: its link is made fresh when it goes
    if session is None:
        return gettext("Its session no longer exists.")
    if session.status in (SessionStatus.CANCELLED, SessionStatus.NO_SHOW):
        return gettext("Its session is %(status)s.") % {"status": session.get_status_display().lower()}
    if reminder.kind == ReminderKind.FOLLOW_UP:
        if now > session.ends_at + FOLLOW_UP_LATEST:
            return gettext("It says the treatment was two days ago, and that is no longer true: call the patient.")
        return ""
    if session.starts_at <= now:
        return gettext("Its session has already begun.")
    # A preparation or appointment reminder is sent again only if the session still wants it:
    # not if the session moved (its reminders have new keys), the instructions changed, or
    # the preparation can no longer be kept in time.
    wanted = {key for key, *_ in wanted_reminders(session, patient_instructions(session.patient), now)}
    if lead_key(reminder) not in wanted:
        if reminder.kind == ReminderKind.HOLD:
            return gettext(
                "Its preparation no longer applies, or can no longer be kept before the session: "
                "the practitioner sees it at the re-check."
            )
        return gettext("The session has moved since: its new reminder is in the outbox.")
    return ""


@transaction.atomic
def reminder_resend(*, reminder, by, now=None) -> str:
    """Send a reminder that was not sent once more: due again at once, enqueued after commit
    through the same task as the sweep's. A second click (or request) finds it already queued
    or sent and changes nothing. Refused (ValidationError) when it would no longer be true."""
    now = now or timezone.now()
    locked = Reminder.objects.select_for_update(of=("self",)).select_related("patient", "session").get(pk=reminder.pk)
    if locked.status == ReminderStatus.PENDING:
        return ALREADY_QUEUED
    if locked.status == ReminderStatus.SENT:
        return ALREADY_SENT
    if locked.status != ReminderStatus.FAILED:
        raise ValidationError(gettext("Only a reminder that was not sent can be sent again."))
    problem = resend_problem(locked, now)
    if problem:
        raise ValidationError(problem)
    # Reminders are not in auditlog (the sweep changes them every minute): this change is
    # people's, so it is recorded by hand, with who asked.
    changes = {"status": [locked.status, ReminderStatus.PENDING], "last_error": [locked.last_error, ""]}
    locked.status, locked.last_error, locked.enqueued_at = ReminderStatus.PENDING, "", now
    locked.save(update_fields=["status", "last_error", "enqueued_at"])
    record_change(locked, changes, actor=by)
    transaction.on_commit(lambda: enqueue(locked.pk))
    return QUEUED
