"""Reads of reminders: the outbox.

The outbox answers two questions apart: what goes next (due reminders, the soonest first), and
what happened (sent, not sent and cancelled, the newest first, by when it was sent or due).

Ten years of a clinic are millions of sent reminders. What still needs the clinic (due, not
sent) is counted and paged by number: there are never many. The history is paged newest first
by its position (patients.selectors.newest_first_page, along the index `reminder_history`), and
never counted: a count of it would cost more than the rest of the page, and grow every day.
"""

from django.db.models import Count
from django.db.models.functions import Coalesce

from mesoclinic.patients.selectors import newest_first_page
from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus

HISTORY = (ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.CANCELLED)
COUNTED = (ReminderStatus.PENDING, ReminderStatus.FAILED)  # what needs the clinic: few rows
PER_PAGE = 50


def _listed():
    return Reminder.objects.select_related("patient", "session")


def due_reminders():
    """Reminders still to go, the next due first."""
    return _listed().filter(status=ReminderStatus.PENDING).order_by("due_at", "id")


def reminder_history(status=""):
    """Sent, not sent and cancelled reminders, newest first by `shown_at` (when sent, or when
    due for one never sent); `status` narrows to one of them. The indexes `reminder_history`
    and `reminder_history_status` (models.Reminder) hand them over in this order."""
    statuses = [status] if status in HISTORY else HISTORY
    return (
        _listed()
        .filter(status__in=statuses)
        .annotate(shown_at=Coalesce("sent_at", "due_at"))
        .order_by("-shown_at", "-id")
    )


class HistoryPage:
    """One page of `reminder_history`, newest first, without a count (see the module): its rows
    (the page reads as a paginator's page does), and the cursors of the newer and older pages."""

    def __init__(self, page):
        self.object_list, self.newer, self.older = page.rows, page.newer, page.older

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def history_page(status="", *, before=None, after=None):
    page = newest_first_page(reminder_history(status), time_field="shown_at", before=before, after=after, size=PER_PAGE)
    return HistoryPage(page)


def status_counts():
    """{status: how many} for the statuses that need the clinic (COUNTED): one query, an
    index-only count of those rows alone."""
    counts = dict(Reminder.objects.filter(status__in=COUNTED).order_by().values_list("status").annotate(n=Count("*")))
    return {value: counts.get(value, 0) for value in COUNTED}


def previewable():
    """Reminders with what a preview needs: the patient, and the session's room, practitioner
    and plan (the emails name them)."""
    return Reminder.objects.select_related(
        "patient", "session__plan__indication", "session__room", "session__practitioner"
    )
