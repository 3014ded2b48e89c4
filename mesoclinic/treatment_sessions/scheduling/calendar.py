"""The calendar's week and day grids, as data for the page.

Three views: a week of one practitioner or room, a day of all of them side by side, and a
week of all of them side by side (each day split into one column per practitioner or room).
Days the clinic is closed (a closure, or a weekday without opening hours) and days a
practitioner is away are shaded with the reason, and offer no "book from here" link.

Each grid loads in a fixed number of queries whatever the number of sessions: sessions of
the range with their patient, room, practitioner and plan in one query, then small lookups
(closures and absences together in one).
"""

import datetime
from dataclasses import dataclass

from django.db.models import F, IntegerField, Value
from django.urls import reverse
from django.utils import dateformat
from django.utils.translation import gettext as _

from mesoclinic.core.models import Absence, Closure, OpeningHours, Room, User
from mesoclinic.core.params import out_of_range
from mesoclinic.core.selectors import clinic_today, clinic_zone, day_bounds, wall_clock
from mesoclinic.screening.bilingual import text
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.selectors import sessions_during

SLOT = datetime.timedelta(minutes=15)
DEFAULT_DAY = (datetime.time(8), datetime.time(20))
VIEWS = ("week", "day", "week_all")
# The grid's positions are CSS classes (static/css/calendar-grid.css; the CSP forbids inline
# styles), generated up to these limits: a week of 12 practitioners side by side is 84 columns.
MAX_RESOURCES_SIDE_BY_SIDE = 12
MAX_COLUMNS = 7 * MAX_RESOURCES_SIDE_BY_SIDE
MAX_ROWS = 96  # a day of 24 hours in quarters
MAX_SPAN = 48  # a session of 12 hours
NARROW_FROM = 8  # columns: from this many on, side by side, columns may be narrower


@dataclass
class Placed:
    session: TreatmentSession
    column: int
    row: int
    span: int
    local_start: datetime.datetime
    local_end: datetime.datetime
    text: str  # what and where, see _what
    url: str  # the session's page (session_url: one reverse() per page, not per session)
    warning: str = ""  # a session still booked on a day that is now closed or away

    # The grid has hundreds of numbers in class names; rendering each through the template
    # engine localizes it, which cost more than the rest of the page. Strings, made once.
    @property
    def css(self):
        css = f"status-{self.session.status} cal-col-{self.column} cal-row-{self.row} cal-span-{self.span}"
        return f"{css} is-stranded" if self.warning else css

    @property
    def times(self):
        return f"{self.local_start:%H:%M}–{self.local_end:%H:%M}"


def _what(session, kind):
    """'Cellulite 3/10 · Room 1' by practitioner, '… · Dr. Deniz Aksoy' by room, and the
    status when it is not the usual one."""
    where = session.room.name if kind == "practitioner" else session.practitioner.display_name
    words = f"{text(session.plan.indication, 'label')} {session.sequence}/{session.plan.sessions_planned} · {where}"
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
    """The grid for `view` around `day`: "week" of one practitioner or room, "day" of all,
    "week_all" of all side by side. `wanted`: the pk of the practitioner or room to show in
    the week (default: the user, or the first)."""
    zone = clinic_zone()
    today = clinic_today()
    view = view if view in VIEWS else "week"
    kind = kind if kind in ("practitioner", "room") else "practitioner"
    day = day or today
    practitioners = list(User.objects.practitioners().order_by("last_name", "first_name"))
    rooms = list(Room.objects.filter(is_active=True))
    resources = practitioners if kind == "practitioner" else rooms
    selected = _selected(user, wanted, kind, resources)

    if view == "day":
        days = [day]
    else:
        monday = day - datetime.timedelta(days=day.weekday())
        days = [monday + datetime.timedelta(days=n) for n in range(7)]
    if view == "week":
        columns = [_column(d, selected) for d in days]
    elif view == "day":
        columns = [_column(day, resource) for resource in resources]
    else:
        side_by_side = resources[:MAX_RESOURCES_SIDE_BY_SIDE]
        columns = [_column(d, resource, first=(n == 0)) for d in days for n, resource in enumerate(side_by_side)]

    start, end = day_bounds(days[0], days[-1], zone)
    sessions = sessions_during(TreatmentSession.objects.exclude(status=SessionStatus.CANCELLED), start, end)
    if view == "week" and selected is not None:
        sessions = sessions.filter(**{kind: selected})
    # Two steps: the week's session ids along the GiST index of the no-overlap constraints, then
    # those rows by id with what the grid shows. In one query the planner guesses the range's
    # rows badly and hashes every patient and plan of the clinic to join forty sessions.
    week_ids = list(sessions.values_list("pk", flat=True))
    sessions = (
        TreatmentSession.objects.filter(pk__in=week_ids)
        .select_related("patient", "room", "practitioner", "plan__indication")
        # Only what the grid shows: a busy week is a few hundred model instances.
        .only(
            *("status", "sequence", "starts_at", "ends_at", "room__name", "plan__sessions_planned"),
            *("patient__given_name", "patient__family_name", "plan__indication__label", "plan__indication__label_tr"),
            *("practitioner__title", "practitioner__first_name", "practitioner__last_name", "practitioner__username"),
        )
        .order_by("starts_at")
    )

    hours = list(OpeningHours.objects.all())
    opens = min((h.starts for h in hours), default=DEFAULT_DAY[0])
    closes = max((h.ends for h in hours), default=DEFAULT_DAY[1])
    grid_start = datetime.time(opens.hour)
    rows = min(MAX_ROWS, _slots_between(grid_start, closes))
    _shade(columns, days, kind, hours)

    where = {(column["day"], getattr(column["resource"], "pk", None)): n for n, column in enumerate(columns, 1)}
    session_url = _session_urls()
    placed = []
    for session in sessions:
        local_start, local_end = wall_clock(session.starts_at, zone), wall_clock(session.ends_at, zone)
        if view == "week":
            column = (local_start.date() - days[0]).days + 1
        else:
            column = where.get((local_start.date(), getattr(session, f"{kind}_id")))
        if column is None:
            continue
        row = max(1, _slots_between(grid_start, local_start.time()) + 1)
        span = max(1, min(rows - row + 1, MAX_SPAN, int((local_end - local_start) / SLOT)))
        item = Placed(session, column, row, span, local_start, local_end, _what(session, kind), session_url(session.pk))
        if session.status == SessionStatus.SCHEDULED and columns[column - 1]["shade"]:
            # Booked before the day was closed (or in the admin): it stands out, to be moved.
            item.warning = _("On a closed day: move or cancel it")
        placed.append(item)

    step = datetime.timedelta(days=1 if view == "day" else 7)
    return {
        "view": view,
        "kind": kind,
        "day": day,
        "today": today,
        "days": days,
        "columns": columns,
        "narrow": view == "week_all" and len(columns) >= NARROW_FROM,
        "practitioners": practitioners,
        "rooms": rooms,
        "selected": selected,
        "placed": placed,
        "rows": rows,
        "hour_rows": _hour_rows(day, grid_start, rows, columns, placed, kind, named=view != "week"),
        "shaded": _shaded_blocks(columns),
        "previous": day - step,
        "next": day + step,
        "zone": zone,
    }


def _column(day, resource, first=True):
    """One column of the grid: a day, whose practitioner or room, and why it is shaded (if it is).
    `first`: the first column of its day (side by side, a day's columns are grouped)."""
    name = "" if resource is None else getattr(resource, "display_name", None) or resource.name
    return {"day": day, "resource": resource, "name": name, "first": first, "shade": "", "shade_kind": ""}


def _shade(columns, days, kind, opening_hours):
    """Mark the columns of days the clinic is closed, and of a practitioner's days away, with
    the reason: "Closed: Republic Day", "Dr. Aksoy away: course". One query for both."""
    first, last = days[0], days[-1]
    closures = Closure.objects.filter(starts_on__lte=last, ends_on__gte=first).annotate(
        who=Value(None, output_field=IntegerField())
    )
    absences = Absence.objects.filter(starts_on__lte=last, ends_on__gte=first).annotate(who=F("practitioner_id"))
    # Without the models' default ordering: SQLite refuses ORDER BY inside a UNION's parts.
    ranges = list(
        closures.order_by()
        .values_list("starts_on", "ends_on", "reason", "who")
        .union(absences.order_by().values_list("starts_on", "ends_on", "reason", "who"), all=True)
    )
    open_weekdays = {hours.weekday for hours in opening_hours}
    for column in columns:
        day, resource = column["day"], column["resource"]
        closed = next((r for r in ranges if r[3] is None and r[0] <= day <= r[1]), None)
        if closed:
            reason = closed[2]
            column["shade"] = _("Closed: %(reason)s") % {"reason": reason} if reason else _("Closed")
            column["shade_kind"] = "closed"
        elif opening_hours and day.weekday() not in open_weekdays:
            column["shade"] = _("Closed: no opening hours on %(weekday)s") % {"weekday": dateformat.format(day, "l")}
            column["shade_kind"] = "closed"
        elif kind == "practitioner" and resource is not None:
            away = next((r for r in ranges if r[3] == resource.pk and r[0] <= day <= r[1]), None)
            if away:
                words = {"who": resource.display_name, "reason": away[2]}
                column["shade"] = _("%(who)s away: %(reason)s") % words if away[2] else _("%(who)s away") % words
                column["shade_kind"] = "away"


def _shaded_blocks(columns):
    """(first column, columns spanned, column) of each shaded block: side by side, a day the
    whole clinic is closed is one block across its practitioners, with the reason said once."""
    blocks = []
    for n, column in enumerate(columns, 1):
        if not column["shade"]:
            continue
        if blocks:
            first, span, previous = blocks[-1]
            same_day = previous["day"] == column["day"] and first + span == n
            if same_day and column["shade_kind"] == previous["shade_kind"] == "closed":
                blocks[-1] = (first, span + 1, previous)
                continue
        blocks.append((n, 1, column))
    return blocks


def _session_urls():
    """pk -> the session page's URL, from one reverse(): a busy week reversed the same pattern
    for each of its sessions, a tenth of the page's time."""
    prefix, _zero, suffix = reverse("treatment_sessions:session", args=[0]).rpartition("0")
    return lambda pk: f"{prefix}{pk}{suffix}"


@dataclass(frozen=True)
class FreeHour:
    css: str
    href: str  # "" when a session takes part of the hour
    label: str  # "Book from Mon 1 Dec 10:00", translated here once per cell (not in the template)


def _hour_rows(day, grid_start, rows, columns, placed, kind, named=False):
    """Each hour of the grid, with a "book from" link per column, built here once: a week has
    close to a hundred of them, and URL and date filters per cell were most of the page's time.

    An hour that a session takes any part of gets no link: the session would cover most of it
    and leave a sliver too small to click or tap (WCAG 2.5.8 target size). `named`: several
    columns share a day, so each link also says whose column it is.
    """
    busy = set()
    for item in placed:
        for slot in range(item.row, item.row + item.span):
            busy.add(((slot - 1) // 4, item.column))
    to_book = reverse("scheduling:to_book")
    days = [(column["day"].isoformat(), dateformat.format(column["day"], "D j M")) for column in columns]
    # A closed day, or a day the practitioner is away, cannot be booked: no link to try.
    shaded = {index for index, column in enumerate(columns, 1) if column["shade"]}
    book_from = _("Book from %(when)s")
    hour_rows = []
    for n in range((rows + 3) // 4):
        time = (datetime.datetime.combine(day, grid_start) + datetime.timedelta(hours=n)).strftime("%H:%M")
        cells = []
        for index, (column, (iso, label)) in enumerate(zip(columns, days, strict=True), 1):
            href = ""
            if (n, index) not in busy and index not in shaded:
                href = f"{to_book}?start_date={iso}&start_time={time}"
                if column["resource"] is not None:
                    href += f"&{kind}={column['resource'].pk}"
            words = f"{label} {time}, {column['name']}" if named and column["name"] else f"{label} {time}"
            cells.append(FreeHour(f"cal-col-{index} cal-row-{1 + 4 * n}", href, book_from % {"when": words}))
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
