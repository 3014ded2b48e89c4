"""Reads for booking: what is free, and how much of a plan is booked. A fixed number of queries."""

import datetime

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import pgettext

from mesoclinic.core.models import Absence, Closure, OpeningHours, WorkingHours
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.plans.models import Plan, PlanStatus
from mesoclinic.treatment_sessions.models import OCCUPYING, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.selectors import sessions_during
from mesoclinic.treatment_sessions.status import clinical_statuses

from .slots import Availability, Busy, PlanSpacing

MARGIN = datetime.timedelta(days=1)


def _ranges(rows):
    by_day = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append((row.starts, row.ends))
    return by_day


def spacing_bounds(plan):
    """(fewest, most) days between two sessions of the plan: the protocol's, widened to a gap
    the practitioner planned outside them (the plan builder flagged it and they kept it)."""
    protocol = plan.protocol
    gaps = [gap for gap in plan.intervals or () if isinstance(gap, int)]
    return min([protocol.min_interval_days, *gaps]), max([protocol.max_interval_days, *gaps])


def plan_spacing(plan, zone, now):
    """The plan's live sessions by clinic day, for the spacing check of a booking or a move."""
    fewest, most = spacing_bounds(plan)
    rows = TreatmentSession.objects.filter(plan=plan, status__in=OCCUPYING).values_list(
        "starts_at", "sequence", "id", "status"
    )
    sessions = [
        (wall_clock(starts_at, zone).date(), sequence, pk, status != SessionStatus.SCHEDULED or starts_at < now)
        for starts_at, sequence, pk, status in rows
    ]
    return PlanSpacing(fewest, most, sessions)


def availability_for(*, practitioner, room, patient, window_start, window_end, now=None, zone=None, plan=None):
    """Everything `scheduling` needs to judge slots in [window_start, window_end) for these three;
    with `plan`, also the spacing between its sessions (one query more)."""
    zone = zone or clinic_zone()
    now = now or timezone.now()
    start, end = window_start - MARGIN, window_end + MARGIN
    sessions = (
        sessions_during(TreatmentSession.objects.filter(status__in=OCCUPYING), start, end)
        .filter(Q(practitioner=practitioner) | Q(room=room) | Q(patient=patient))
        .values_list("starts_at", "ends_at", "id", "practitioner_id", "room_id", "patient_id")
    )
    mine, rooms, patients = [], [], []
    for starts_at, ends_at, pk, practitioner_id, room_id, patient_id in sessions:
        if practitioner_id == practitioner.pk:
            mine.append((starts_at, ends_at, pk))
        if room_id == room.pk:
            rooms.append((starts_at, ends_at, pk))
        if patient_id == patient.pk:
            patients.append((starts_at, ends_at, pk))
    days = (start.date(), end.date())
    return Availability(
        zone=zone,
        opening=_ranges(OpeningHours.objects.all()),
        closures=list(
            Closure.objects.filter(ends_on__gte=days[0], starts_on__lte=days[1]).values_list(
                "starts_on", "ends_on", "reason"
            )
        ),
        working=_ranges(WorkingHours.objects.filter(practitioner=practitioner)),
        absences=list(
            Absence.objects.filter(practitioner=practitioner, ends_on__gte=days[0], starts_on__lte=days[1]).values_list(
                "starts_on", "ends_on"
            )
        ),
        practitioner=Busy.of(practitioner.display_name, mine),
        room=Busy.of(room.name, rooms),
        patient=Busy.of(pgettext("already booked", "the patient"), patients),
        now=now,
        spacing=plan_spacing(plan, zone, now) if plan is not None else None,
    )


def booked_count(plan):
    """Sessions of the plan that hold or held a slot (cancelled ones do not count)."""
    return plan.sessions.filter(status__in=OCCUPYING).count()


def plans_to_book():
    """Active plans with sessions still to book, the longest waiting first, for the clinic
    admin: (plan id, sessions booked) rows, for the page to page through (the database leaves
    out the fully booked ones and counts only plan rows). `plans_with_refusals` reads a page's
    plans."""
    return (
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(booked=Count("sessions", filter=Q(sessions__status__in=OCCUPYING)))
        .filter(booked__lt=F("sessions_planned"))
        .order_by("activated_at", "id")
        .values_list("pk", "booked")
    )


def plans_with_refusals(rows):
    """The plans of `rows` (a page of plans_to_book) with their patient and indication, in that
    order, each with `booked` and `refusal`: why it may not be booked now, as
    treatment_sessions.status says it (a patient on hold is listed with the reason, not a way to
    book). Three queries, however many plans: the plans by id (joined to their patients one by
    one, not by hashing every patient of the clinic), and the status's two."""
    booked = dict(rows)
    plans = Plan.objects.select_related("patient", "indication").in_bulk(list(booked))
    plans = [plans[pk] for pk in booked if pk in plans]
    statuses = clinical_statuses({plan.patient for plan in plans})
    for plan in plans:
        plan.booked = booked[plan.pk]
        plan.refusal = statuses[plan.patient_id].booking_refusal(plan)
    return plans
