"""Reads for scheduling and the calendar, each in a fixed number of queries."""

import datetime

from django.db.models import Q
from django.utils import timezone

from mesoclinic.core.models import Absence, Clinic, Closure, OpeningHours, WorkingHours

from .models import OCCUPYING, TreatmentSession
from .scheduling import Availability, Busy

MARGIN = datetime.timedelta(days=1)


def clinic_zone():
    # Fresh from the database, not the page cache: a booking must use the zone as it is now.
    return Clinic.current().zone


def _ranges(rows):
    by_day = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append((row.starts, row.ends))
    return by_day


def availability_for(*, practitioner, room, patient, window_start, window_end, now=None, zone=None):
    """Everything `scheduling` needs to judge slots in [window_start, window_end) for these three."""
    zone = zone or clinic_zone()
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
        patient=Busy.of("the patient", patients),
        now=now or timezone.now(),
    )


def booked_count(plan):
    """Sessions of the plan that hold or held a slot (cancelled ones do not count)."""
    return plan.sessions.filter(status__in=OCCUPYING).count()


def sessions_of_patient(patient):
    """The patient's sessions with their charts' lots and adverse events, in four queries."""
    return list(
        TreatmentSession.objects.filter(patient=patient)
        .select_related("practitioner", "room", "plan__indication", "chart")
        .prefetch_related("chart__products_used__lot__product", "chart__adverse_events__type")
        .order_by("starts_at")
    )


def open_follow_ups(sessions, today):
    """Adverse events whose follow-up date has not passed, soonest first."""
    events = []
    for session in sessions:
        chart = getattr(session, "chart", None) if hasattr(session, "chart") else None
        if chart is not None:
            events += [e for e in chart.adverse_events.all() if e.follow_up_on and e.follow_up_on >= today]
    return sorted(events, key=lambda e: e.follow_up_on)
