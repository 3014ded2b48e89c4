"""Reads for booking: what is free, and how much of a plan is booked. A fixed number of queries."""

import datetime

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import pgettext

from mesoclinic.core.models import Absence, Closure, OpeningHours, WorkingHours
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.plans.models import Plan, PlanStatus
from mesoclinic.treatment_sessions.models import OCCUPYING, SessionStatus, TreatmentSession
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
        TreatmentSession.objects.filter(status__in=OCCUPYING, starts_at__lt=end, ends_at__gt=start)
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
    """Active plans with sessions still to book, oldest first, for the clinic admin. A plan whose
    patient is on hold (treatment_sessions.status) is listed with its reason, not a way to book.
    Two queries and the status's two."""
    plans = list(
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(booked=Count("sessions", filter=Q(sessions__status__in=OCCUPYING)))
        .select_related("patient", "indication")
        .order_by("activated_at")
    )
    waiting = [plan for plan in plans if plan.booked < plan.sessions_planned]
    statuses = clinical_statuses({plan.patient for plan in waiting})
    for plan in waiting:
        plan.refusal = statuses[plan.patient_id].booking_refusal(plan)
    return waiting
