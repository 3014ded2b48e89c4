from django.core.paginator import Paginator
from django.shortcuts import render

from mesoclinic.core import params
from mesoclinic.core.audit import record_list_view
from mesoclinic.core.permissions import STAFF, allow
from mesoclinic.treatment_sessions.models import ReminderStatus

from .selectors import outbox


@allow(*STAFF)
def outbox_page(request):
    """Reminders and follow-ups, sent and due. The clinic admin sees no clinical detail."""
    status = params.choice(request, "status", ReminderStatus.values, "")
    page = Paginator(outbox(status), 50).get_page(params.page(request))
    # What patients are told to stop before a session: each one listed has it in their history.
    page.object_list = list(page.object_list)
    record_list_view(request, (reminder.patient for reminder in page.object_list), "outbox")
    context = {
        "page": page,
        "status": status,
        "statuses": ReminderStatus.choices,
        "clinical": request.user.is_practitioner,
    }
    return render(request, "treatment_sessions/reminders/outbox.html", context)
