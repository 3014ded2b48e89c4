import datetime

from django.utils import timezone

from mesoclinic.screening.selectors import screening_status
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.reminders import translate_substance

from .models import AftercareSheet


def my_aftercare_context(patient):
    """A patient's own sheets (newest first), their next session and what to stop before it."""
    sheets = list(
        AftercareSheet.objects.filter(patient=patient)
        .select_related("session__plan__indication")
        .order_by("-session__starts_at")
    )
    next_session = (
        TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now())
        .select_related("room")
        .order_by("starts_at")
        .first()
    )
    holds = []
    if next_session:
        screening = screening_status(patient).screening
        for finding in screening.findings if screening else []:
            if finding.get("hold"):
                hours = finding["hold"]["hours_before"]
                holds.append(
                    {
                        "substance": translate_substance(finding["hold"]["substance"]),
                        "hours": hours,
                        "from": next_session.starts_at - datetime.timedelta(hours=hours),
                    }
                )
    return {"patient": patient, "sheets": sheets, "next_session": next_session, "holds": holds}
