"""The session page's aftercare sheet, drawn by the aftercare app.

The session page belongs to treatment_sessions, which sits below aftercare and may not import
it: the page loads this tag library instead (`{% load aftercare_staff %}`), so the sheet, its
email and its link are read here, where they live."""

from django import template

from mesoclinic.treatment_sessions.models import SessionStatus

from ..selectors import session_sheet

register = template.Library()


@register.inclusion_tag("aftercare/_session_sheet.html", takes_context=True)
def session_aftercare(context, session):
    """The sheet of `session` with Print, PDF, Resend and Revoke, or nothing before the chart is
    signed (the chart card says when it is being prepared). For practitioners only: the caller
    shows it in the clinical half of the page."""
    request = context.get("request")
    sheet = session_sheet(session) if session.status == SessionStatus.COMPLETED else None
    return {
        "sheet": sheet,
        "back": f"{request.path}#aftercare" if request else "",
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
