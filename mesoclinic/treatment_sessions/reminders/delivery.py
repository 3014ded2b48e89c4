"""Sending one reminder: lock the row, compose the email in the patient's language, send, mark.

Apps above this one add to the emails of their kinds with `register_composer` (aftercare puts
a fresh link to the sheet in its email), so this module never imports them.
"""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from mesoclinic.core.selectors import current_clinic, wall_clock
from mesoclinic.screening.instructions import translate_substance
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus

SESSION_KINDS = (ReminderKind.HOLD, ReminderKind.APPOINTMENT, ReminderKind.FOLLOW_UP, ReminderKind.AFTERCARE)
# kind -> function(reminder) -> extra template context for that kind's email.
COMPOSERS = {}


def register_composer(kind, composer):
    """`composer(reminder)` returns what the email of `kind` needs besides the session."""
    COMPOSERS[kind] = composer


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


def compose(reminder):
    """The email, in the patient's language."""

    patient = reminder.patient
    clinic = current_clinic()
    session = reminder.session
    context = {"patient": patient, "clinic": clinic, "reminder": reminder, "details": reminder.details}
    if session is not None:
        context["when"] = wall_clock(session.starts_at, clinic.zone)
        context["session"] = session
    if reminder.kind in COMPOSERS:
        context.update(COMPOSERS[reminder.kind](reminder))
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
