"""The calendar pages: week and day grids, today's list, and plans waiting to be booked.

Each page loads in a fixed number of queries whatever the number of sessions: sessions of
the range with their patient, room, practitioner and plan in one query, then small lookups.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.shortcuts import render

from mesoclinic.core.models import OpeningHours, Room, User
from mesoclinic.plans.models import Consent, Plan, PlanStatus
from mesoclinic.screening.models import Screening
from mesoclinic.screening.selectors import clinic_today, status_of

from .models import OCCUPYING, AdverseEvent, SessionStatus, TreatmentSession
from .scheduling import wall_clock
from .selectors import clinic_zone

SLOT = datetime.timedelta(minutes=15)
FOLLOW_UP_LOOKBACK = datetime.timedelta(days=14)
DEFAULT_DAY = (datetime.time(8), datetime.time(20))


@dataclass
class Placed:
    session: TreatmentSession
    column: int
    row: int
    span: int
    local_start: datetime.datetime
    local_end: datetime.datetime


def _parse_day(value, fallback):
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return fallback


def _day_bounds(days, zone):
    start = datetime.datetime.combine(days[0], datetime.time(0)).replace(tzinfo=zone)
    end = datetime.datetime.combine(days[-1] + datetime.timedelta(days=1), datetime.time(0)).replace(tzinfo=zone)
    return start, end


def calendar_page(request, kind=None, pk=None, day=None, view=None):
    zone = clinic_zone()
    today = clinic_today()
    view = view or request.GET.get("view", "week")
    view = view if view in ("week", "day") else "week"
    kind = kind or request.GET.get("by", "practitioner")
    kind = kind if kind in ("practitioner", "room") else "practitioner"
    day = _parse_day(day or request.GET.get("date"), today)
    practitioners = list(User.objects.practitioners().order_by("last_name", "first_name"))
    rooms = list(Room.objects.filter(is_active=True))
    resources = practitioners if kind == "practitioner" else rooms
    selected = _selected(request, pk, kind, resources)

    if view == "week":
        monday = day - datetime.timedelta(days=day.weekday())
        days = [monday + datetime.timedelta(days=n) for n in range(7)]
        columns = [{"day": d, "label": d, "resource": selected} for d in days]
    else:
        days = [day]
        columns = [{"day": day, "label": resource, "resource": resource} for resource in resources]

    start, end = _day_bounds(days, zone)
    sessions = TreatmentSession.objects.filter(starts_at__lt=end, ends_at__gt=start).exclude(
        status=SessionStatus.CANCELLED
    )
    if view == "week" and selected is not None:
        sessions = sessions.filter(**{kind: selected})
    sessions = sessions.select_related("patient", "room", "practitioner", "plan__indication").order_by("starts_at")

    hours = list(OpeningHours.objects.all())
    opens = min((h.starts for h in hours), default=DEFAULT_DAY[0])
    closes = max((h.ends for h in hours), default=DEFAULT_DAY[1])
    grid_start = datetime.time(opens.hour)
    rows = _slots_between(grid_start, closes)

    placed = []
    for session in sessions:
        local_start, local_end = wall_clock(session.starts_at, zone), wall_clock(session.ends_at, zone)
        if view == "week":
            column = (local_start.date() - days[0]).days + 1
        else:
            column = next(
                (i for i, c in enumerate(columns, 1) if getattr(session, f"{kind}_id") == c["resource"].pk), None
            )
        if column is None:
            continue
        row = max(1, _slots_between(grid_start, local_start.time()) + 1)
        span = max(1, min(rows - row + 1, int((local_end - local_start) / SLOT)))
        placed.append(Placed(session, column, row, span, local_start, local_end))

    step = datetime.timedelta(days=7 if view == "week" else 1)
    return render(
        request,
        "treatment_sessions/calendar.html",
        {
            "view": view,
            "kind": kind,
            "day": day,
            "today": today,
            "days": days,
            "columns": columns,
            "practitioners": practitioners,
            "rooms": rooms,
            "selected": selected,
            "placed": placed,
            "rows": rows,
            "hour_rows": [
                (1 + 4 * n, (datetime.datetime.combine(day, grid_start) + datetime.timedelta(hours=n)).time())
                for n in range((rows + 3) // 4)
            ],
            "previous": day - step,
            "next": day + step,
            "zone": zone,
        },
    )


def _slots_between(start_time, end_time):
    minutes = (end_time.hour * 60 + end_time.minute) - (start_time.hour * 60 + start_time.minute)
    return max(1, minutes // 15)


def _selected(request, pk, kind, resources):
    wanted = pk or request.GET.get(kind)
    if wanted is None and kind == "practitioner" and request.user.role == "practitioner":
        wanted = request.user.pk
    for resource in resources:
        if str(resource.pk) == str(wanted):
            return resource
    return resources[0] if resources else None


def today_page(request):
    """A practitioner's sessions today, in time order, each with what needs attention."""
    zone = clinic_zone()
    day = _parse_day(request.GET.get("date"), clinic_today())
    start, end = _day_bounds([day], zone)
    sessions = list(
        TreatmentSession.objects.filter(practitioner=request.user, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "room", "plan__indication")
        .prefetch_related("plan__areas")
        .order_by("starts_at")
    )
    latest = {}
    for screening in Screening.objects.filter(patient__in={s.patient_id for s in sessions}).order_by(
        "patient_id", "-recorded_at", "-id"
    ):
        latest.setdefault(screening.patient_id, screening)
    consented = set(
        Consent.objects.filter(plan__in={s.plan_id for s in sessions}, withdrawn_at__isnull=True).values_list(
            "plan_id", flat=True
        )
    )
    follow_ups = {}
    for event in AdverseEvent.objects.filter(
        chart__patient__in={s.patient_id for s in sessions},
        follow_up_on__lte=day,
        follow_up_on__gte=day - FOLLOW_UP_LOOKBACK,
    ).select_related("type", "chart"):
        follow_ups.setdefault(event.chart.patient_id, []).append(event.type.label)
    rows = []
    for session in sessions:
        status = status_of(latest.get(session.patient_id), session.patient)
        badges = []
        if not status.is_current:
            badges.append(("danger", "Screening " + ("missing" if status.screening is None else "lapsed")))
        elif status.outcome == "deferred":
            badges.append(("danger", "Screening deferred"))
        if session.plan_id not in consented:
            badges.append(("danger", "Consent missing"))
        if session.status == SessionStatus.SCHEDULED and session.day_check_id is None:
            badges.append(("info", "Holds to confirm (re-check)"))
        for label in follow_ups.get(session.patient_id, []):
            badges.append(("warning", f"Follow-up due: {label.lower()}"))
        rows.append(
            {
                "session": session,
                "local_start": wall_clock(session.starts_at, zone),
                "local_end": wall_clock(session.ends_at, zone),
                "badges": badges,
            }
        )
    return render(request, "treatment_sessions/today.html", {"rows": rows, "day": day, "today": clinic_today()})


def to_book_page(request):
    """Active plans with sessions still to book, for the clinic admin."""
    plans = (
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(booked=Count("sessions", filter=Q(sessions__status__in=OCCUPYING)))
        .select_related("patient", "indication")
        .order_by("activated_at")
    )
    waiting = [plan for plan in plans if plan.booked < plan.sessions_planned]
    params = {
        key: request.GET[key] for key in ("start_date", "start_time", "practitioner", "room") if request.GET.get(key)
    }
    return render(request, "treatment_sessions/to_book.html", {"plans": waiting, "params": params})
