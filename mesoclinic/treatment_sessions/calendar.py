"""The calendar pages: week and day grids, today's list, and plans waiting to be booked.

Each page loads in a fixed number of queries whatever the number of sessions: sessions of
the range with their patient, room, practitioner and plan in one query, then small lookups.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat

from mesoclinic.core.models import OpeningHours, Room, User
from mesoclinic.plans.models import Consent, Plan, PlanStatus
from mesoclinic.screening.models import Outcome, Screening
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
    text: str  # what and where, see _what

    # The grid has hundreds of numbers in class names; rendering each through the template
    # engine localizes it, which cost more than the rest of the page. Strings, made once.
    @property
    def css(self):
        return f"status-{self.session.status} cal-col-{self.column} cal-row-{self.row} cal-span-{self.span}"

    @property
    def times(self):
        return f"{self.local_start:%H:%M}–{self.local_end:%H:%M}"


def _what(session, kind):
    """'Cellulite 3/10 · Room 1' by practitioner, '… · Dr. Deniz Aksoy' by room, and the
    status when it is not the usual one."""
    where = session.room.name if kind == "practitioner" else session.practitioner.display_name
    words = f"{session.plan.indication.label} {session.sequence}/{session.plan.sessions_planned} · {where}"
    if session.status != SessionStatus.SCHEDULED:
        words += f" · {session.get_status_display()}"
    return words


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
    sessions = (
        sessions.select_related("patient", "room", "practitioner", "plan__indication")
        # Only what the grid shows: a busy week is a few hundred model instances.
        .only(
            *("status", "sequence", "starts_at", "ends_at", "room__name", "plan__sessions_planned"),
            *("patient__given_name", "patient__family_name", "plan__indication__label"),
            *("practitioner__title", "practitioner__first_name", "practitioner__last_name", "practitioner__username"),
        )
        .order_by("starts_at")
    )

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
        placed.append(Placed(session, column, row, span, local_start, local_end, _what(session, kind)))

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
            "hour_rows": _hour_rows(day, grid_start, rows, columns, placed, kind),
            "previous": day - step,
            "next": day + step,
            "zone": zone,
        },
    )


@dataclass(frozen=True)
class FreeHour:
    css: str
    href: str  # "" when a session takes part of the hour
    label: str


def _hour_rows(day, grid_start, rows, columns, placed, kind):
    """Each hour of the grid, with a "book from" link per column, built here once: a week has
    close to a hundred of them, and URL and date filters per cell were most of the page's time.

    An hour that a session takes any part of gets no link: the session would cover most of it
    and leave a sliver too small to click or tap (WCAG 2.5.8 target size).
    """
    busy = set()
    for item in placed:
        for slot in range(item.row, item.row + item.span):
            busy.add(((slot - 1) // 4, item.column))
    to_book = reverse("treatment_sessions:to_book")
    days = [(column["day"].isoformat(), dateformat.format(column["day"], "D j M")) for column in columns]
    hour_rows = []
    for n in range((rows + 3) // 4):
        time = (datetime.datetime.combine(day, grid_start) + datetime.timedelta(hours=n)).strftime("%H:%M")
        cells = []
        for index, (column, (iso, label)) in enumerate(zip(columns, days, strict=True), 1):
            href = ""
            if (n, index) not in busy:
                href = f"{to_book}?start_date={iso}&start_time={time}"
                if column["resource"] is not None:
                    href += f"&{kind}={column['resource'].pk}"
            cells.append(FreeHour(f"cal-col-{index} cal-row-{1 + 4 * n}", href, f"{label} {time}"))
        hour_rows.append((f"cal-row-{1 + 4 * n}", time, cells))
    return hour_rows


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
    """Active plans with sessions still to book, for the clinic admin. A plan whose patient's
    newest screening deferred treatment is listed as on hold, without a way to book it."""
    newest_outcome = Screening.objects.filter(patient=OuterRef("patient")).order_by("-recorded_at", "-id")
    plans = (
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(
            booked=Count("sessions", filter=Q(sessions__status__in=OCCUPYING)),
            newest_outcome=Subquery(newest_outcome.values("outcome")[:1]),
        )
        .select_related("patient", "indication")
        .order_by("activated_at")
    )
    waiting = [plan for plan in plans if plan.booked < plan.sessions_planned]
    for plan in waiting:
        plan.on_hold = plan.newest_outcome == Outcome.DEFERRED
    params = {
        key: request.GET[key] for key in ("start_date", "start_time", "practitioner", "room") if request.GET.get(key)
    }
    return render(request, "treatment_sessions/to_book.html", {"plans": waiting, "params": params})
