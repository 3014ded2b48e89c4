"""The patient's record: each app's summary of one patient, gathered for the patient page.

The page shows what a clinic acts on, however long the history: every session still to come and
the latest ones done, the active plans and the latest others, the latest screenings, photos and
sheets. "Show the whole history" (`whole`) lists everything. Either way the page costs the same
number of queries for a patient with one session as for one with three hundred
(tests/scale/test_patient_and_screening_queries.py pins it).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.aftercare.selectors import staff_sheets
from mesoclinic.core.selectors import current_clinic
from mesoclinic.outcomes.sections import patient_progress
from mesoclinic.plans.models import Plan, PlanStatus
from mesoclinic.questionnaires import selectors as questionnaires
from mesoclinic.screening.models import Screening
from mesoclinic.treatment_sessions.models import (
    OCCUPYING,
    AdverseEvent,
    Chart,
    InjectionPoint,
    PhotoKind,
    ProductUse,
    SessionPhoto,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.photos.selectors import PatientPhotos, SessionGroup, photo_consent_plans
from mesoclinic.treatment_sessions.session_day.selectors import chart_map
from mesoclinic.treatment_sessions.status import clinical_status

# What the page shows unless the whole history is asked for. Sessions to come are all shown (a
# patient has a handful booked: the plans' remaining sessions), up to a bound that only a data
# error would reach.
RECENT_SESSIONS_DONE = 10
UPCOMING_SESSIONS = 30
RECENT_PLANS = 10
RECENT_SCREENINGS = 10
RECENT_PHOTO_SESSIONS = 3
RECENT_SHEETS = 10


@dataclass(frozen=True)
class Shown:
    """How much of one section the page shows: `more` when some of it is left for "Show all"."""

    count: int
    more: bool = False


def _sessions(patient, whole=False):
    """The patient's sessions in time order (all of them, or every one to come and the latest
    done) and the next one."""
    rows = (
        TreatmentSession.objects.filter(patient=patient)
        .select_related("practitioner", "room", "plan__indication", "chart")
        # Each prefetch one query, its lots' products and events' types joined in.
        .prefetch_related(
            Prefetch("chart__products_used", queryset=ProductUse.objects.select_related("lot__product")),
            Prefetch("chart__adverse_events", queryset=AdverseEvent.objects.select_related("type")),
        )
        .order_by("starts_at")
    )
    now = timezone.now()
    more = False
    if not whole:
        mine = TreatmentSession.objects.filter(patient=patient)
        upcoming = mine.filter(starts_at__gte=now).order_by("starts_at").values("pk")[:UPCOMING_SESSIONS]
        # One more than shown says whether there are more, without counting them.
        done = mine.filter(starts_at__lt=now).order_by("-starts_at").values("pk")[: RECENT_SESSIONS_DONE + 1]
        rows = rows.filter(Q(pk__in=upcoming) | Q(pk__in=done))
    sessions = list(rows)
    if not whole and sum(1 for s in sessions if s.starts_at < now) > RECENT_SESSIONS_DONE:
        sessions, more = sessions[1:], True  # the oldest fetched only told there are more
    upcoming = [s for s in sessions if s.status == SessionStatus.SCHEDULED and s.starts_at >= now]
    return {
        "sessions": sessions,
        "sessions_shown": Shown(len(sessions), more=more),
        "next_session": upcoming[0] if upcoming else None,
    }


def _plans(patient, whole=False, active_only=False):
    """The patient's plans, newest first: all of them, or the active ones and the latest others.
    Each with its progress (`sessions_done`, `sessions_booked`: counted in the database, over
    every session, shown or not) and the number of plans the patient has, for "Show all"."""
    sessions = TreatmentSession.objects.filter(plan=OuterRef("pk")).order_by().values("plan")
    plans = (
        Plan.objects.for_patient(patient)
        .select_related("indication")
        .prefetch_related("areas")
        .annotate(
            sessions_done=Subquery(sessions.filter(status=SessionStatus.COMPLETED).annotate(n=Count("pk")).values("n")),
            sessions_booked=Subquery(sessions.filter(status__in=OCCUPYING).annotate(n=Count("pk")).values("n")),
        )
    )
    if active_only:
        return [_counted(plan) for plan in plans.filter(status=PlanStatus.ACTIVE)], None
    if not whole:
        newest = Plan.objects.for_patient(patient).values("pk")[:RECENT_PLANS]
        all_plans = Plan.objects.filter(patient=OuterRef("patient")).order_by().values("patient")
        plans = plans.filter(Q(status=PlanStatus.ACTIVE) | Q(pk__in=newest)).annotate(
            plans_of_patient=Subquery(all_plans.annotate(n=Count("pk")).values("n"))
        )
    found = [_counted(plan) for plan in plans]
    total = len(found) if whole or not found else found[0].plans_of_patient
    return found, Shown(len(found), more=len(found) < total)


def _counted(plan):
    # A plan with no session done (or booked) has no row to count: the subquery gives None.
    plan.sessions_done, plan.sessions_booked = plan.sessions_done or 0, plan.sessions_booked or 0
    return plan


def _screenings(patient, whole=False):
    """The screenings table: when, kind, outcome, findings by severity, who. A screening's
    answers and decisions are the larger part of its row and the table shows none of them."""
    rows = (
        Screening.objects.for_patient(patient)
        .select_related("recorded_by")
        .defer("answers", "decisions", "evaluation", "goals", "previous_treatments", "notes")
    )
    if whole:
        found = list(rows)
        return found, Shown(len(found))
    # One more than shown says whether there are more, without counting them.
    found = list(rows[: RECENT_SCREENINGS + 1])
    return found[:RECENT_SCREENINGS], Shown(min(len(found), RECENT_SCREENINGS), more=len(found) > RECENT_SCREENINGS)


def _photos(patient, whole=False):
    """The photos consent allows, grouped by session, oldest first: of every session, or of the
    latest RECENT_PHOTO_SESSIONS, and how many are hidden (their plan's photo consent is gone).
    Two queries: the plans with photo consent, and the photos, each row carrying the number
    hidden. So that a patient whose photos are all hidden still gets that number, the newest
    hidden photo comes along too, and is dropped here."""
    allowed = photo_consent_plans(patient=patient)
    hidden_photos = SessionPhoto.objects.filter(patient=patient).exclude(session__plan_id__in=allowed)
    if whole:
        shown_sessions = Q(session__plan_id__in=allowed)
    else:
        with_photos = (
            TreatmentSession.objects.filter(patient=patient, plan_id__in=allowed)
            .filter(Exists(SessionPhoto.objects.filter(session=OuterRef("pk"))))
            .order_by("-starts_at", "-pk")
            .values("pk")[: RECENT_PHOTO_SESSIONS + 1]
        )
        shown_sessions = Q(session_id__in=with_photos)
    newest_hidden = hidden_photos.order_by("-uploaded_at", "-pk").values("pk")[:1]
    rows = (
        SessionPhoto.objects.filter(patient=patient)
        .filter(shown_sessions | Q(pk__in=newest_hidden))
        .select_related("session__plan__indication", "area")
        .annotate(
            hidden_of_patient=Subquery(hidden_photos.order_by().values("patient").annotate(n=Count("pk")).values("n"))
        )
        .order_by("session__starts_at", "session_id", "uploaded_at", "id")
    )
    rows = list(rows)
    hidden = (rows[0].hidden_of_patient or 0) if rows else 0
    groups = {}
    for photo in rows:
        if photo.session.plan_id in allowed:
            groups.setdefault(photo.session_id, SessionGroup(photo.session)).photos.append(photo)
    groups = list(groups.values())
    more = not whole and len(groups) > RECENT_PHOTO_SESSIONS
    if more:
        groups = groups[1:]  # the oldest of the ones fetched: it only told there are more
    # Before photos first, then after: the order a comparison reads.
    for group in groups:
        group.photos.sort(key=lambda p: p.kind != PhotoKind.BEFORE)
    shown = PatientPhotos(groups=groups, hidden=hidden, consent=bool(allowed), zone=current_clinic().zone)
    return shown, Shown(len(groups), more=more)


def _sheets(patient, whole=False):
    """The aftercare sheets, newest first, with how each reached the patient. The list shows
    none of a sheet's content (the whole sheet as the patient reads it): it is not loaded."""
    sheets = AftercareSheet.objects.filter(patient=patient)
    if not whole:
        newest = sheets.order_by("-session__starts_at", "-pk").values("pk")[: RECENT_SHEETS + 1]
        sheets = AftercareSheet.objects.filter(pk__in=newest)
    found = staff_sheets(sheets.defer("content"))
    more = not whole and len(found) > RECENT_SHEETS
    return found[:RECENT_SHEETS], Shown(min(len(found), RECENT_SHEETS), more=more)


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


def practitioner_record(patient, whole=False):
    """Everything the practitioner's patient page shows besides identity: the recent history,
    or with `whole` all of it."""
    status = clinical_status(patient)
    plans, plans_shown = _plans(patient, whole)
    sessions = _sessions(patient, whole)
    _requests, questionnaire = _questionnaires(patient, sessions["next_session"])
    screenings, screenings_shown = _screenings(patient, whole)
    photos, photos_shown = _photos(patient, whole)
    sheets, sheets_shown = _sheets(patient, whole)
    return {
        "status": status,
        "screenings": screenings,
        "plans": plans,
        "active_plan": next((plan for plan in plans if plan.is_active), None),
        **sessions,
        # The open one, the answers to review (with the engine's verdict) and those adopted.
        **questionnaire,
        "photos": photos,
        # [(plan, [(measure progress, chart)])]: outcomes.sections.patient_progress.
        "progress": _progress(plans),
        # Each with how its email and link stand, for Resend and Revoke: one query for all.
        "sheets": sheets,
        # The last signed chart with an injection map, with its map: a list of one, or none.
        "injection_map": [
            (c, chart_map(c))
            for c in Chart.objects.filter(patient=patient, signed_at__isnull=False)
            .filter(Exists(InjectionPoint.objects.filter(chart=OuterRef("pk"))))
            .select_related("session__plan__indication")
            .order_by("-signed_at")[:1]
        ],
        "whole_history": whole,
        "shown": {
            "plans": plans_shown,
            "sessions": sessions["sessions_shown"],
            "screenings": screenings_shown,
            "photos": photos_shown,
            "sheets": sheets_shown,
        },
    }


def scheduler_record(patient, whole=False):
    """What the clinic admin sees: sessions and the plans to book, no clinical detail (the
    booking hold says only that booking waits for the practitioner; the questionnaire, only
    whether it came back, and whether the clinic must call the patient first)."""
    plans, _shown = _plans(patient, active_only=True)
    sessions = _sessions(patient, whole)
    requests, questionnaire = _questionnaires(patient, sessions["next_session"])
    diary = questionnaires.upcoming_with_status(sessions["sessions"], requests, current_clinic().zone)
    return {
        "status": clinical_status(patient),
        "plans": plans,
        **sessions,
        **questionnaire,
        "diary": diary,
        "whole_history": whole,
        "shown": {"sessions": sessions["sessions_shown"]},
    }
