"""Reads of patients: search as the front desk types it."""

import datetime
import re

from django.db.models import Q

from .models import Patient

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
PHONE_TOKEN = re.compile(r"^\+?[\d\s().-]{4,}$")


def parse_date(text):
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def phone_digits(text):
    return re.sub(r"\D", "", text)


def _token_filter(token):
    """One word of the query: a date of birth, part of a phone number, or part of a name."""
    day = parse_date(token)
    if day is not None:
        return Q(date_of_birth=day)
    if PHONE_TOKEN.match(token) and len(phone_digits(token)) >= 4:
        return Q(phone__contains=phone_digits(token))
    # icontains compiles to UPPER(col) LIKE UPPER(%s) on PostgreSQL, which the trigram
    # indexes on UPPER(given_name) and UPPER(family_name) serve.
    return Q(given_name__icontains=token) | Q(family_name__icontains=token)


def patient_search(query=""):
    """Patients matching every word of `query`, most recently updated first."""
    patients = Patient.objects.order_by("-updated_at", "-id")
    for token in _tokenize(query):
        patients = patients.filter(_token_filter(token))
    return patients


def _tokenize(query):
    query = (query or "").strip()
    if not query:
        return []
    # A phone number typed with spaces ("0532 123 45 67") is one token, not four.
    if PHONE_TOKEN.match(query):
        return [query]
    return query.split()


def hub_context(patient):
    """What the practitioner's patient page shows besides identity: each app's summary."""
    from mesoclinic.plans.selectors import plans_of
    from mesoclinic.screening.models import Outcome
    from mesoclinic.screening.selectors import preparation, screenings_of, status_of
    from mesoclinic.treatment_sessions.photos import patient_photos

    plans = plans_of(patient)
    # The newest screening is the first of the list: its status and any deferral come from it.
    screenings = screenings_of(patient, limit=10)
    newest = screenings[0] if screenings else None
    status = status_of(newest, patient)
    return {
        "screening_status": status,
        "preparation": preparation(newest) if status.is_current else None,
        "screenings": screenings,
        "plans": plans,
        "active_plan": next((plan for plan in plans if plan.is_active), None),
        **sessions_context(patient, plans, deferred=newest is not None and newest.outcome == Outcome.DEFERRED),
        "photos": patient_photos(patient),
    }


def sessions_context(patient, plans, deferred=None):
    """The patient's sessions, the next one, and each plan's progress (sessions done and
    booked, counted from the sessions already loaded: a plan's sessions are its patient's).

    `deferred`: whether the newest screening defers treatment, if the caller knows."""
    from django.utils import timezone

    from mesoclinic.screening.selectors import clinic_today, treatment_deferred
    from mesoclinic.treatment_sessions.models import OCCUPYING, SessionStatus
    from mesoclinic.treatment_sessions.selectors import open_follow_ups, sessions_of_patient

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
    return {
        "sessions": sessions,
        "next_session": upcoming[0] if upcoming else None,
        "follow_ups": open_follow_ups(sessions, clinic_today()),
        # Nothing is booked for a deferred patient, even on a plan activated before the deferral.
        "booking_on_hold": any(plan.is_active for plan in plans)
        and (treatment_deferred(patient) if deferred is None else deferred),
    }


def scheduler_hub_context(patient):
    """What the clinic admin sees: sessions and the plans to book, no clinical detail."""
    from mesoclinic.plans.selectors import plans_of

    plans = [plan for plan in plans_of(patient) if plan.is_active]
    return {"plans": plans, **sessions_context(patient, plans)}
