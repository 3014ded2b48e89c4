"""The demo clinic's aftercare: a sheet for every signed session that has none."""

from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

from .services import sheet_for


def seed_sheets():
    """The sheets a worker would have made when the demo's past charts were signed (no email:
    the demo's history happened before it was seeded)."""
    sessions = TreatmentSession.objects.filter(
        status=SessionStatus.COMPLETED, chart__signed_at__isnull=False, aftercare_sheet__isnull=True
    ).select_related("patient", "plan__indication", "practitioner", "chart")
    for session in sessions:
        sheet_for(session)
