"""Every "Nearest free" suggestion, for any calendar: inside the clinic's and the practitioner's
hours, on no closed day or absence, clear of the practitioner's, the room's and the patient's
sessions, and at the protocol's spacing from the plan's other sessions. Checked here from the
calendar itself, not through the function that chose the slots."""

import datetime
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.treatment_sessions.scheduling import slots as s

ZONE = zoneinfo.ZoneInfo("Europe/Istanbul")  # no daylight saving: every wall time exists once
START = datetime.date(2026, 6, 1)
OPENING = {day: [(datetime.time(9), datetime.time(18))] for day in range(6)}  # Monday–Saturday
WORKING = {day: [(datetime.time(10), datetime.time(16))] for day in (0, 1, 3, 4)}  # not Wed or Sat
HOUR = datetime.timedelta(hours=1)

days = st.integers(min_value=0, max_value=40).map(lambda n: START + datetime.timedelta(days=n))
busy = st.lists(
    st.tuples(days, st.integers(min_value=9, max_value=17)).map(
        lambda t: s.localize(datetime.datetime.combine(t[0], datetime.time(t[1])), ZONE)
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    practitioner=busy,
    room=busy,
    patient=busy,
    closed=st.lists(days, max_size=4),
    away=st.lists(days, max_size=4),
    previous=days,
    following=st.one_of(st.none(), days),
    spacing=st.tuples(st.integers(min_value=1, max_value=10), st.integers(min_value=10, max_value=31)),
    wanted_day=days,
    wanted_hour=st.integers(min_value=8, max_value=19),
)
def test_every_suggestion_respects_the_whole_calendar(
    practitioner, room, patient, closed, away, previous, following, spacing, wanted_day, wanted_hour
):
    fewest, most = spacing
    plan = [(previous, 1, None, False)] + ([(following, 3, None, False)] if following else [])
    availability = s.Availability(
        zone=ZONE,
        opening=OPENING,
        closures=[(day, day, "Bayram") for day in closed],
        working=WORKING,
        absences=[(day, day) for day in away],
        practitioner=s.Busy.of("Dr. Kaya", [(m, m + HOUR, None) for m in practitioner]),
        room=s.Busy.of("Room 1", [(m, m + HOUR, None) for m in room]),
        patient=s.Busy.of("the patient", [(m, m + HOUR, None) for m in patient]),
        now=s.localize(datetime.datetime.combine(START, datetime.time(0)), ZONE),
        spacing=s.PlanSpacing(fewest, most, plan),
    )
    wanted = datetime.datetime.combine(wanted_day, datetime.time(wanted_hour))
    for start in s.nearest_free(wanted, HOUR, availability):
        local = s.wall_clock(start, ZONE)
        day, end = local.date(), (local + HOUR).time()
        assert day.weekday() in WORKING and datetime.time(10) <= local.time() and end <= datetime.time(16)
        assert day not in closed and day not in away
        for taken in practitioner + room + patient:
            assert not (taken < start + HOUR and start < taken + HOUR), (start, taken)
        for neighbour, _number, _pk, _happened in plan:
            gap = abs((day - neighbour).days)
            assert gap >= fewest, (day, neighbour)
        later = [n for n, *_ in plan if n > day]
        earlier = [n for n, *_ in plan if n <= day]
        if earlier:
            assert (day - max(earlier)).days <= most
        if later:
            assert (min(later) - day).days <= most
