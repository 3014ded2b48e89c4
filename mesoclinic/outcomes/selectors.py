"""What the patient's pages of the outcomes app read: the questions they answer, their newest
scores, the aftercare link they came through, and the plans they have a report of."""

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.aftercare.services import link_lookup
from mesoclinic.plans.models import OutcomeMeasure, Plan, PlanStatus, RecordedBy

from .models import PatientScore


def patient_measures(plan):
    """The measures of the plan's protocol the patient scores themselves (satisfaction; pain for
    the pain protocol), in the order the protocol lists them. One query."""
    return list(
        OutcomeMeasure.objects.filter(protocols=plan.protocol_id, recorded_by=RecordedBy.PATIENT).order_by(
            "position", "code"
        )
    )


def newest_scores(session, measures):
    """{measure code: the newest PatientScore} the patient gave for `session` (the one that
    counts). One query."""
    newest = {}
    for score in PatientScore.objects.filter(session=session, measure__in=[m.code for m in measures]).order_by(
        "reported_at", "id"
    ):
        newest[score.measure_id] = score
    return newest


def sheet_of_link(token):
    """(sheet, problem) for an aftercare link's token, by the aftercare app's own rules (72
    hours, revocable): problem is "", "unknown", "expired" or "revoked"; the sheet is None only
    for an unknown token."""
    link, problem = link_lookup(token)
    if link is None:
        return None, problem
    sheet = (
        AftercareSheet.objects.select_related("patient", "session__plan__protocol", "session__plan__indication")
        .filter(pk=link.sheet_id)
        .first()
    )
    return sheet, problem


def latest_sheet(plan):
    """The sheet of the plan's latest session that has one (the progress report's link goes
    through it), or None before the first sheet. One query."""
    return (
        AftercareSheet.objects.filter(session__plan=plan)
        .select_related("session")
        .order_by("-session__starts_at", "-pk")
        .first()
    )


def reportable_plans(patient):
    """The patient's plans that have a progress report: begun (active, completed or stopped),
    newest first. One query."""
    return list(
        Plan.objects.filter(patient=patient)
        .exclude(status=PlanStatus.DRAFT)
        .select_related("protocol", "indication")
        .order_by("-created_at", "-pk")
    )
