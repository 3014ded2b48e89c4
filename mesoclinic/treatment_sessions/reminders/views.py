from django.core.paginator import Paginator
from django.shortcuts import render

from mesoclinic.core.permissions import STAFF, allow
from mesoclinic.treatment_sessions.models import ReminderStatus

from .selectors import outbox


@allow(*STAFF)
def outbox_page(request):
    """Reminders and follow-ups, sent and due. The clinic admin sees no clinical detail."""
    status = request.GET.get("status", "")
    page = Paginator(outbox(status), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": ReminderStatus.choices,
        "clinical": request.user.is_practitioner,
    }
    return render(request, "treatment_sessions/reminders/outbox.html", context)
