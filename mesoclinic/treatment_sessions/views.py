"""The session page: the one place a session's capabilities meet (scheduling, the day, photos)."""

import datetime

from django.shortcuts import render

from mesoclinic.core.audit import record_view
from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.core.selectors import clinic_zone, wall_clock

from .photos.forms import PhotoUploadForm
from .photos.selectors import session_photos
from .scheduling.views import SESSIONS
from .selectors import session_history
from .session_day.forms import AddendumForm
from .session_day.selectors import session_day_summary


@allow(*STAFF, record=True)
def session_detail(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    zone = clinic_zone()
    record_view(request, session.patient, f"session {session.sequence} of {session.plan.sessions_planned}", obj=session)
    context = {
        "session": session,
        "patient": session.patient,
        "local_start": wall_clock(session.starts_at, zone),
        "local_end": wall_clock(session.ends_at, zone),
        "history": session_history(session, zone),
        "siblings": session.plan.sessions.select_related("room", "practitioner").order_by("sequence", "starts_at"),
        "zone": zone,
        "can_no_show": session.is_scheduled and session.starts_at <= datetime.datetime.now(datetime.UTC),
    }
    if request.user.is_practitioner:
        # The clinical half of the page: the re-check, the chart and the photos.
        context.update(session_day_summary(session), clinical=True, addendum_form=AddendumForm())
        context.update(session_photos(session, request.user), photo_form=PhotoUploadForm())
    return render(request, "treatment_sessions/session.html", context)
