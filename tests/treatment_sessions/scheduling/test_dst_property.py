"""Every daylight-saving transition of real zones over ten years: a series keeps its
wall-clock time, and a time that does not exist or happens twice is refused, never shifted."""

import datetime
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.treatment_sessions.scheduling import slots as s

UTC = datetime.UTC
ZONES = ["Europe/London", "America/New_York", "Australia/Sydney"]


def transitions(zone_name, first_year=2026, years=10):
    """Every moment the zone's UTC offset changes, as (local date, offset before, offset after)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    found = []
    moment = datetime.datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime.datetime(first_year + years, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment < end:
        later = moment + datetime.timedelta(hours=1)
        offset = later.astimezone(zone).utcoffset()
        if offset != previous:
            found.append((later.astimezone(zone).date(), previous, offset))
            previous = offset
        moment = later
    return found


ALL = [(zone, *t) for zone in ZONES for t in transitions(zone)]


def test_there_are_two_transitions_a_year_in_each_zone():
    for zone in ZONES:
        assert len(transitions(zone)) == 20, zone


@pytest.mark.parametrize(("zone_name", "day", "before", "after"), ALL, ids=[f"{z}-{d}" for z, d, _, _ in ALL])
def test_a_weekly_series_across_the_transition_keeps_its_wall_clock_time(zone_name, day, before, after):
    zone = zoneinfo.ZoneInfo(zone_name)

    @settings(max_examples=40, deadline=None)
    @given(
        hour=st.integers(0, 23),
        minute=st.sampled_from([0, 15, 30, 45]),
        weeks_before=st.integers(1, 4),
        weekday_shift=st.integers(0, 6),
    )
    def check(hour, minute, weeks_before, weekday_shift):
        first_day = day - datetime.timedelta(weeks=weeks_before, days=weekday_shift)
        first = datetime.datetime.combine(first_day, datetime.time(hour, minute))
        targets = s.series_targets(first, [7] * (weeks_before + 3), weeks_before + 4)
        for target in targets:
            assert target.time() == datetime.time(hour, minute)  # the plan never shifts the hour
            try:
                moment = s.localize(target, zone)
            except s.NonexistentLocalTime:
                assert target.date() == day and after > before  # only in the spring-forward gap
                continue
            except s.AmbiguousLocalTime:
                assert target.date() == day and after < before  # only in the fall-back overlap
                continue
            assert s.wall_clock(moment, zone) == target  # stored moment shows the same local time
            expected = (
                before if target.date() < day else after if target.date() > day else moment.astimezone(zone).utcoffset()
            )
            assert moment.astimezone(zone).utcoffset() == expected

    check()


@pytest.mark.parametrize(("zone_name", "day", "before", "after"), ALL, ids=[f"{z}-{d}" for z, d, _, _ in ALL])
def test_moving_a_series_by_a_week_across_the_transition_keeps_the_time(zone_name, day, before, after):
    zone = zoneinfo.ZoneInfo(zone_name)
    moments = [
        s.localize(datetime.datetime.combine(day - datetime.timedelta(days=d), datetime.time(10)), zone)
        for d in (14, 7)
    ]
    moved = s.shift_wall_clock(moments, datetime.timedelta(days=14), zone)
    assert [s.wall_clock(m, zone).time() for m in moved] == [datetime.time(10)] * 2
    gap_in_utc = moved[0].astimezone(UTC) - moments[0].astimezone(UTC)
    # 14 days of wall-clock time is 14 days of real time give or take the change itself.
    assert gap_in_utc == datetime.timedelta(days=14) - (after - before)
