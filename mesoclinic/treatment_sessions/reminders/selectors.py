"""Reads of reminders: the outbox.

The outbox answers two questions apart: what goes next (due reminders, the soonest first), and
what happened (sent, not sent and cancelled, the newest first, by when it was sent or due).
"""

from django.db.models import Count
from django.db.models.functions import Coalesce

from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus

HISTORY = (ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.CANCELLED)


def _listed():
    return Reminder.objects.select_related("patient", "session")


def due_reminders():
    """Reminders still to go, the next due first."""
    return _listed().filter(status=ReminderStatus.PENDING).order_by("due_at", "id")


def reminder_history(status=""):
    """Sent, not sent and cancelled reminders, newest first; `status` narrows to one of them."""
    statuses = [status] if status in HISTORY else HISTORY
    return _listed().filter(status__in=statuses).order_by(Coalesce("sent_at", "due_at").desc(), "-id")


def status_counts():
    """{status: how many}, for the filters: one query."""
    counts = dict(Reminder.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {value: counts.get(value, 0) for value in ReminderStatus.values}


def previewable():
    """Reminders with what a preview needs: the patient, and the session's room, practitioner
    and plan (the emails name them)."""
    return Reminder.objects.select_related(
        "patient", "session__plan__indication", "session__room", "session__practitioner"
    )
