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
import re

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mesoclinic.screening.instructions import CONTINUE, for_session
from mesoclinic.screening.selectors import patient_instructions

from .models import Reminder, ReminderKind, ReminderStatus, SessionStatus

log = logging.getLogger(__name__)
HOLD_EXTRA = datetime.timedelta(days=1)
APPOINTMENT_BEFORE = datetime.timedelta(days=1)
FOLLOW_UP_AFTER = datetime.timedelta(hours=48)
REENQUEUE_AFTER = datetime.timedelta(minutes=5)
SESSION_KINDS = (ReminderKind.HOLD, ReminderKind.APPOINTMENT, ReminderKind.FOLLOW_UP, ReminderKind.AFTERCARE)


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
    marked not enqueued, so the next sweep (a minute later) tries again: nothing is lost."""
    from .tasks import send_reminder

    try:
        send_reminder.delay(reminder_id)
    except Exception as error:  # the broker is unreachable: kombu's errors vary by transport
        Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(enqueued_at=None)
        log.warning(
            "Reminder %s not enqueued, the broker is unreachable (%s); the next sweep retries.", reminder_id, error
        )


def deliver(reminder_id):
    """Send one reminder if it is still due: lock, check, send, mark sent, in one transaction.

    If the process dies before the commit, nothing is marked and the message comes back;
    if it dies between the mail server's acceptance and the commit (a moment), the patient
    could get the message twice: the Message-ID is stable so mail systems can drop the copy.
    """
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("patient", "session__plan__indication", "session__room", "session__practitioner")
            .filter(pk=reminder_id)
            .first()
        )
        if reminder is None or reminder.status != ReminderStatus.PENDING:
            return "skipped"
        if reminder.session_id is None and reminder.kind in SESSION_KINDS:
            reminder.status = ReminderStatus.CANCELLED
            reminder.last_error = "The session no longer exists."
            reminder.save(update_fields=["status", "last_error"])
            return "cancelled"
        reminder.attempts += 1
        patient = reminder.patient
        if not patient.email:
            reminder.status = ReminderStatus.FAILED
            reminder.last_error = "The patient has no email address."
            reminder.save(update_fields=["status", "last_error", "attempts"])
            return "no address"
        message = compose(reminder)
        message.send(fail_silently=False)
        reminder.status = ReminderStatus.SENT
        reminder.sent_at = timezone.now()
        reminder.subject = message.subject[:200]
        reminder.recipient = patient.email
        reminder.save(update_fields=["status", "sent_at", "subject", "recipient", "attempts"])
    return "sent"


def translate_substance(text):
    """'ibuprofen (NSAID)' with its class in the active language; drug names stay as they are."""
    from django.utils.translation import gettext

    match = re.fullmatch(r"(.+) \((.+)\)", text)
    if match:
        return f"{match.group(1)} ({gettext(match.group(2))})"
    return gettext(text)


def compose(reminder):
    """The email, in the patient's language."""
    from mesoclinic.core.selectors import current_clinic
    from mesoclinic.treatment_sessions.scheduling import wall_clock

    patient = reminder.patient
    clinic = current_clinic()
    session = reminder.session
    context = {"patient": patient, "clinic": clinic, "reminder": reminder, "details": reminder.details}
    if session is not None:
        context["when"] = wall_clock(session.starts_at, clinic.zone)
        context["session"] = session
    if reminder.kind == ReminderKind.AFTERCARE:
        from django.urls import reverse

        from mesoclinic.aftercare.models import AftercareSheet
        from mesoclinic.aftercare.services import link_create

        # A fresh link each time the email goes: its token exists only in the email.
        token = link_create(AftercareSheet.objects.get(pk=reminder.details["sheet"]))
        context["link"] = settings.MESOCLINIC_BASE_URL.rstrip("/") + reverse("aftercare:link", args=[token])
    if reminder.kind == ReminderKind.HOLD:
        hours = reminder.details.get("hours_before", 0)
        context["days"] = hours // 24 if hours >= 48 and hours % 24 == 0 else None
        context["instruction"] = reminder.details.get("kind", "stop")
        # Older reminder rows name no medicine: alcohol was the only hold without one.
        context["is_medicine"] = bool(reminder.details.get("medication")) or (
            "medication" not in reminder.details and reminder.details.get("substance", "").casefold() != "alcohol"
        )
    with translation.override(patient.preferred_language):
        if reminder.kind == ReminderKind.HOLD:
            context["substance"] = translate_substance(reminder.details.get("substance", ""))
        subject = render_to_string(f"emails/{reminder.kind}_subject.txt", context).strip()
        body = render_to_string(f"emails/{reminder.kind}.txt", context)
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">")
    return EmailMessage(
        subject=subject,
        body=body,
        to=[patient.email],
        headers={"Message-ID": f"<{reminder.key.replace(':', '.')}@{domain}>"},
    )
