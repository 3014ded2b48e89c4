"""Reads of reminders: the outbox."""

from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus


def outbox(status=""):
    """Reminders and follow-ups, newest due first; `status` filters when it is one we know."""
    reminders = Reminder.objects.select_related("patient", "session").order_by("-due_at", "-id")
    if status in ReminderStatus.values:
        reminders = reminders.filter(status=status)
    return reminders
