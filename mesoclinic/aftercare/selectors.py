from django.utils import timezone
from django.utils.formats import date_format

from mesoclinic.screening.instructions import for_session, translate_substance
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

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
        for item in for_session(patient_instructions(patient), next_session.starts_at, timezone.now()):
            holds.append(
                {
                    "kind": item.kind,
                    "substance": translate_substance(item.substance),
                    "prescriber": item.prescriber,
                    "is_medicine": item.is_medicine,
                    "from": _when(item.begins(next_session.starts_at)) if item.hours_before else None,
                }
            )
    return {"patient": patient, "sheets": sheets, "next_session": next_session, "holds": holds}


def _when(moment):
    """'Thursday 3 December, 14:00' in the clinic's zone and the page's language."""
    return date_format(timezone.localtime(moment), "l j F, H:i")
