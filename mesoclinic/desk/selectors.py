"""The patient's record: each app's summary of one patient, gathered for the patient page."""

import datetime

from django.utils import timezone

from mesoclinic.aftercare.selectors import patient_sheets
from mesoclinic.core.selectors import current_clinic
from mesoclinic.outcomes.sections import patient_progress
from mesoclinic.plans.selectors import plans_of
from mesoclinic.questionnaires import selectors as questionnaires
from mesoclinic.screening.selectors import screenings_of
from mesoclinic.treatment_sessions.models import OCCUPYING, Chart, SessionStatus
from mesoclinic.treatment_sessions.photos.selectors import patient_photos
from mesoclinic.treatment_sessions.selectors import sessions_of_patient
from mesoclinic.treatment_sessions.session_day.selectors import chart_map
from mesoclinic.treatment_sessions.status import clinical_status


def _sessions(patient, plans):
    """The patient's sessions, the next one, and each plan's progress (sessions done and
    booked, counted from the sessions already loaded: a plan's sessions are its patient's)."""
    sessions = sessions_of_patient(patient)
    booked, done = {}, {}
    for session in sessions:
        if session.status in OCCUPYING:
            booked[session.plan_id] = booked.get(session.plan_id, 0) + 1
        if session.status == SessionStatus.COMPLETED:
            done[session.plan_id] = done.get(session.plan_id, 0) + 1
    for plan in plans:
        plan.sessions_done = done.get(plan.pk, 0)
        plan.sessions_booked = booked.get(plan.pk, 0)
    now = timezone.now()
    upcoming = [s for s in sessions if s.status == SessionStatus.SCHEDULED and s.starts_at >= now]
    return {"sessions": sessions, "next_session": upcoming[0] if upcoming else None}


def _questionnaires(patient, next_session):
    """The questionnaire card's facts, both roles: its requests in one query, the day the send
    form offers (the next session's, else a week ahead) and where the message would go."""
    zone = current_clinic().zone
    requests = questionnaires.patient_questionnaires(patient)
    return requests, {
        "questionnaires": questionnaires.panel(requests),
        "visit_day": questionnaires.default_visit_day(next_session, zone),
        "destinations": questionnaires.destinations(patient),
    }


# A plan that ended within this long still shows its progress on the patient page.
RECENT_PLAN = datetime.timedelta(days=365)


def _progress(plans):
    """The "Progress" section: each active plan, and each that ended within RECENT_PLAN, with a
    chart per measure measured so far. One progress_for_plans call for all of them."""
    since = timezone.now() - RECENT_PLAN
    shown = [plan for plan in plans if plan.is_active or (plan.ended_at and plan.ended_at >= since)]
    return patient_progress(shown)


def practitioner_record(patient):
    """Everything the practitioner's patient page shows besides identity."""
    status = clinical_status(patient)
    plans = plans_of(patient)
    sessions = _sessions(patient, plans)
    _requests, questionnaire = _questionnaires(patient, sessions["next_session"])
    return {
        "status": status,
        "screenings": screenings_of(patient, limit=10),
        "plans": plans,
        "active_plan": next((plan for plan in plans if plan.is_active), None),
        **sessions,
        # The open one, the answers to review (with the engine's verdict) and those adopted.
        **questionnaire,
        "photos": patient_photos(patient),
        # [(plan, [(measure progress, chart)])]: outcomes.sections.patient_progress.
        "progress": _progress(plans),
        # Each with how its email and link stand, for Resend and Revoke: one query for all.
        "sheets": patient_sheets(patient),
        # The last signed chart with an injection map, with its map: a list of one, or none.
        "injection_map": [
            (c, chart_map(c))
            for c in Chart.objects.filter(patient=patient, signed_at__isnull=False, points__isnull=False)
            .distinct()
            .select_related("session__plan__indication")
            .order_by("-signed_at")[:1]
        ],
    }


def scheduler_record(patient):
    """What the clinic admin sees: sessions and the plans to book, no clinical detail (the
    booking hold says only that booking waits for the practitioner; the questionnaire, only
    whether it came back, and whether the clinic must call the patient first)."""
    plans = [plan for plan in plans_of(patient) if plan.is_active]
    sessions = _sessions(patient, plans)
    requests, questionnaire = _questionnaires(patient, sessions["next_session"])
    diary = questionnaires.upcoming_with_status(sessions["sessions"], requests, current_clinic().zone)
    return {"status": clinical_status(patient), "plans": plans, **sessions, **questionnaire, "diary": diary}
