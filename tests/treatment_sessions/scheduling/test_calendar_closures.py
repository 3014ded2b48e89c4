"""The calendar shows closed days and days away, and the week of every practitioner side by side
(issue 14, items 4 and 9)."""

import datetime
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from mesoclinic.core.models import Absence, Closure, WorkingHours
from mesoclinic.treatment_sessions.scheduling import calendar
from tests.builders import PractitionerFactory, active_plan, booked, next_monday

pytestmark = pytest.mark.django_db
CALENDAR = reverse("scheduling:calendar")
CSS = Path(__file__).resolve().parents[3] / "static" / "css" / "calendar-grid.css"


@pytest.fixture
def monday():
    return next_monday(2)


@pytest.fixture
def bob(clinic):
    bob = PractitionerFactory(username="bob", first_name="Bob", last_name="Stone")
    for weekday in range(6):
        WorkingHours.objects.create(practitioner=bob, weekday=weekday, starts=datetime.time(8), ends=datetime.time(20))
    return bob


def week(client, who, day, **extra):
    return client.get(CALENDAR, {"view": "week", "by": "practitioner", "practitioner": who.pk, "date": day, **extra})


def _column(context, day):
    return next(column for column in context["columns"] if column["day"] == day)


def _links_on(context, index):
    return [
        cell.href for _, _, cells in context["hour_rows"] for cell in cells if cell.css.startswith(f"cal-col-{index} ")
    ]


def test_a_closed_day_is_shaded_with_its_reason_and_offers_no_booking(sam_client, clinic, alice, monday):
    tuesday = monday + datetime.timedelta(days=1)
    Closure.objects.create(starts_on=tuesday, ends_on=tuesday, reason="Republic Day")
    response = week(sam_client, alice, monday)

    assert _column(response.context, tuesday)["shade"] == "Closed: Republic Day"
    assert _column(response.context, monday)["shade"] == ""
    assert [n for n, _span, _column in response.context["shaded"]] == [2, 7]  # Tuesday, and Sunday
    assert not any(_links_on(response.context, 2)), "no 'book from here' on a closed day"
    assert all(_links_on(response.context, 1)), "Monday is bookable"
    text = response.content.decode()
    assert "Closed: Republic Day" in text and "cal-shade-closed" in text


def test_a_day_without_opening_hours_is_shaded_as_closed(sam_client, clinic, alice, monday):
    sunday = monday + datetime.timedelta(days=6)
    response = week(sam_client, alice, monday)
    assert _column(response.context, sunday)["shade"] == "Closed: no opening hours on Sunday"


def test_an_absence_is_shaded_in_that_practitioners_view_only(sam_client, clinic, alice, bob, monday):
    wednesday = monday + datetime.timedelta(days=2)
    Absence.objects.create(practitioner=alice, starts_on=wednesday, ends_on=wednesday, reason="Course")

    assert _column(week(sam_client, alice, monday).context, wednesday)["shade"] == "Dr. Alice Hart away: Course"
    assert _column(week(sam_client, bob, monday).context, wednesday)["shade"] == ""
    by_room = sam_client.get(CALENDAR, {"view": "week", "by": "room", "date": monday})
    assert _column(by_room.context, wednesday)["shade"] == ""
    day = sam_client.get(CALENDAR, {"view": "day", "by": "practitioner", "date": wednesday}).context
    assert [(column["name"], column["shade"]) for column in day["columns"]] == [
        ("Dr. Alice Hart", "Dr. Alice Hart away: Course"),
        ("Dr. Bob Stone", ""),
    ]
    assert [cell.href != "" for cell in day["hour_rows"][2][2]] == [False, True]


def test_the_week_shows_every_practitioner_side_by_side(sam_client, clinic, alice, bob, room, monday):
    booked(active_plan(alice, "cellulite"), alice, room, monday, hour=10)
    booked(active_plan(bob, "cellulite"), bob, room, monday + datetime.timedelta(days=1), hour=14)
    tuesday = monday + datetime.timedelta(days=1)
    Closure.objects.create(starts_on=monday + datetime.timedelta(days=3), ends_on=monday + datetime.timedelta(days=3))

    response = sam_client.get(CALENDAR, {"view": "week_all", "by": "practitioner", "date": monday})

    assert response.status_code == 200
    context = response.context
    names = [(column["day"], column["name"]) for column in context["columns"]]
    assert len(names) == 14
    assert names[:4] == [
        (monday, "Dr. Alice Hart"),
        (monday, "Dr. Bob Stone"),
        (tuesday, "Dr. Alice Hart"),
        (tuesday, "Dr. Bob Stone"),
    ]
    placed = {(item.session.practitioner.username, item.column) for item in context["placed"]}
    assert placed == {("alice", 1), ("bob", 4)}
    # Thursday closed: one block across both practitioners, the reason said once; Sunday too.
    assert [(n, span) for n, span, _column in context["shaded"]] == [(7, 2), (13, 2)]
    text = response.content.decode()
    assert "all practitioners side by side" in text
    assert 'aria-label="Book from Mon ' in text and ", Dr. Bob Stone" in text  # each link says whose


def test_side_by_side_by_room_puts_each_session_in_its_rooms_column(sam_client, clinic, alice, monday):
    from mesoclinic.core.models import Room

    second = Room.objects.get(name="Room 2")
    booked(active_plan(alice, "cellulite"), alice, second, monday, hour=10)
    context = sam_client.get(CALENDAR, {"view": "week_all", "by": "room", "date": monday}).context
    assert [item.column for item in context["placed"]] == [2]  # Monday, Room 2


@pytest.mark.parametrize("series", [1, 4])
def test_the_side_by_side_week_costs_the_same_queries_however_busy(
    sam_client, clinic, alice, bob, room, monday, django_assert_num_queries, series
):
    for n in range(series):
        booked(active_plan(alice, "cellulite"), alice, room, monday, hour=9 + 2 * n)
    Closure.objects.create(starts_on=monday + datetime.timedelta(days=2), ends_on=monday + datetime.timedelta(days=2))
    Absence.objects.create(practitioner=bob, starts_on=monday, ends_on=monday)
    cache.clear()
    # session, user, clinic (zone), clinic (page cache), practitioners, rooms, the week's session
    # ids, the sessions, opening hours, closures and absences (one query)
    with django_assert_num_queries(10):
        response = sam_client.get(CALENDAR, {"view": "week_all", "by": "practitioner", "date": monday})
    assert len(response.context["placed"]) == series


def test_an_unknown_view_is_refused_not_a_500(sam_client, clinic):
    assert sam_client.get(CALENDAR, {"view": "weekly"}).status_code == 400


def test_every_class_the_grid_can_use_is_in_the_stylesheet():
    """The grid's positions are classes (the CSP forbids inline styles): a class missing from
    calendar-grid.css puts a session in the wrong place without any error."""
    css = CSS.read_text()
    defined = set(re.findall(r"\.(cal-[a-z]+-\d+)\s", css))
    wanted = {f"cal-col-{n}" for n in range(1, calendar.MAX_COLUMNS + 1)}
    wanted |= {f"cal-cols-{n}" for n in range(1, calendar.MAX_COLUMNS + 1)}
    wanted |= {f"cal-row-{n}" for n in range(1, calendar.MAX_ROWS + 1)}
    wanted |= {f"cal-rows-{n}" for n in range(1, calendar.MAX_ROWS + 1)}
    wanted |= {f"cal-span-{n}" for n in range(1, calendar.MAX_SPAN + 1)}
    wanted |= {f"cal-colspan-{n}" for n in range(1, calendar.MAX_RESOURCES_SIDE_BY_SIDE + 1)}
    assert not wanted - defined, sorted(wanted - defined)[:10]
    assert ".cal-span-all" in css


def test_a_session_left_on_a_day_closed_before_this_check_stands_out(sam_client, clinic, alice, room, monday):
    """Closures saved before the setup page asked (or in the Django admin) may still have
    sessions on them: the calendar marks those, rather than showing them as normal."""
    booked(active_plan(alice, "cellulite"), alice, room, monday, hour=10)
    booked(active_plan(alice, "cellulite"), alice, room, monday + datetime.timedelta(days=1), hour=10)
    Closure.objects.create(starts_on=monday, ends_on=monday, reason="Water leak")
    response = week(sam_client, alice, monday)
    on_monday, on_tuesday = response.context["placed"]
    assert on_monday.warning == "On a closed day: move or cancel it" and "is-stranded" in on_monday.css
    assert on_tuesday.warning == "" and "is-stranded" not in on_tuesday.css
    assert "On a closed day: move or cancel it" in response.content.decode()
