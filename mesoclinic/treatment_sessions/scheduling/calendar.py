"""The calendar's week and day grids, as data for the page.

Each grid loads in a fixed number of queries whatever the number of sessions: sessions of
the range with their patient, room, practitioner and plan in one query, then small lookups.
"""

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils import dateformat

from mesoclinic.core.models import OpeningHours, Room, User
from mesoclinic.core.params import out_of_range
from mesoclinic.core.selectors import clinic_today, clinic_zone, day_bounds, wall_clock
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

SLOT = datetime.timedelta(minutes=15)
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


def parse_day(value, fallback):
    """A day from a URL ('2026-12-01'); anything else, or a day outside the clinic's range
    (the calendar's arithmetic would overflow at 9999-12-31), is `fallback`. Views read their
    parameters with core.params, which refuses such a day with a 400 instead."""
    try:
        day = datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return fallback
    return fallback if out_of_range(day) else day


def calendar_grid(user, *, view="week", kind="practitioner", day=None, wanted=None):
    """The grid for `view` ("week" of one practitioner or room, "day" of all) around `day`.
    `wanted`: the pk of the practitioner or room to show (default: the user, or the first)."""
    zone = clinic_zone()
    today = clinic_today()
    view = view if view in ("week", "day") else "week"
    kind = kind if kind in ("practitioner", "room") else "practitioner"
    day = day or today
    practitioners = list(User.objects.practitioners().order_by("last_name", "first_name"))
    rooms = list(Room.objects.filter(is_active=True))
    resources = practitioners if kind == "practitioner" else rooms
    selected = _selected(user, wanted, kind, resources)

    if view == "week":
        monday = day - datetime.timedelta(days=day.weekday())
        days = [monday + datetime.timedelta(days=n) for n in range(7)]
        columns = [{"day": d, "label": d, "resource": selected} for d in days]
    else:
        days = [day]
        columns = [{"day": day, "label": resource, "resource": resource} for resource in resources]

    start, end = day_bounds(days[0], days[-1], zone)
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
    return {
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
    }


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
    to_book = reverse("scheduling:to_book")
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


def _selected(user, wanted, kind, resources):
    if wanted is None and kind == "practitioner" and user.is_practitioner:
        wanted = user.pk
    for resource in resources:
        if str(resource.pk) == str(wanted):
            return resource
    return resources[0] if resources else None
