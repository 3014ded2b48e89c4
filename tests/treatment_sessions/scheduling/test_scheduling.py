"""The pure scheduling functions: wall-clock time, slots, proposals (no database)."""

import datetime
import zoneinfo

import pytest

from mesoclinic.treatment_sessions.scheduling import slots as s

LONDON = zoneinfo.ZoneInfo("Europe/London")
UTC = datetime.UTC
HOURS = {day: [(datetime.time(9), datetime.time(19))] for day in range(6)}  # Monday to Saturday


def at(text, zone=LONDON):
    return s.localize(datetime.datetime.fromisoformat(text), zone)


def availability(practitioner=(), room=(), patient=(), closures=(), absences=(), now="2026-01-01T00:00"):
    return s.Availability(
        zone=LONDON,
        opening=HOURS,
        closures=list(closures),
        working=HOURS,
        absences=list(absences),
        practitioner=s.Busy.of("Dr. Kaya", list(practitioner)),
        room=s.Busy.of("Room 1", list(room)),
        patient=s.Busy.of("the patient", list(patient)),
        now=at(now),
    )


def test_a_time_that_does_not_exist_is_refused():
    with pytest.raises(s.NonexistentLocalTime, match="clocks go forward"):
        s.localize(datetime.datetime(2026, 3, 29, 1, 30), LONDON)


def test_a_time_that_happens_twice_is_refused():
    with pytest.raises(s.AmbiguousLocalTime, match="clocks go back"):
        s.localize(datetime.datetime(2026, 10, 25, 1, 30), LONDON)


def test_a_weekly_10_oclock_stays_10_across_the_change():
    targets = s.series_targets(datetime.datetime(2026, 3, 19, 10, 0), [7, 7, 7], 4)
    moments = [s.localize(t, LONDON) for t in targets]
    assert [s.wall_clock(m, LONDON).time() for m in moments] == [datetime.time(10)] * 4
    assert [m.astimezone(UTC).hour for m in moments] == [10, 10, 9, 9]  # GMT, GMT, then BST


def test_moving_by_a_week_keeps_the_wall_clock_time():
    before = [at("2026-10-20T10:00"), at("2026-10-27T10:00")]
    after = s.shift_wall_clock(before, datetime.timedelta(days=7), LONDON)
    assert [s.wall_clock(m, LONDON) for m in after] == [
        datetime.datetime(2026, 10, 27, 10, 0),
        datetime.datetime(2026, 11, 3, 10, 0),
    ]


def test_a_free_slot_has_no_problems():
    assert availability().problems(at("2026-06-02T10:00"), at("2026-06-02T11:00")) == []


@pytest.mark.parametrize(
    ("kind", "busy"),
    [("practitioner", "Dr. Kaya"), ("room", "Room 1"), ("patient", "The patient")],
)
def test_an_overlap_with_the_practitioner_room_or_patient_is_named(kind, busy):
    taken = [(at("2026-06-02T10:30"), at("2026-06-02T11:30"), 7)]
    problems = availability(**{kind: taken}).problems(at("2026-06-02T10:00"), at("2026-06-02T11:00"))
    assert problems == [f"{busy} is already booked 10:30–11:30."]


def test_back_to_back_sessions_do_not_overlap():
    taken = [(at("2026-06-02T09:00"), at("2026-06-02T10:00"), 7)]
    assert availability(practitioner=taken).problems(at("2026-06-02T10:00"), at("2026-06-02T11:00")) == []


def test_a_session_being_moved_does_not_clash_with_itself():
    taken = [(at("2026-06-02T10:00"), at("2026-06-02T11:00"), 7)]
    slots = availability(practitioner=taken)
    assert slots.problems(at("2026-06-02T10:30"), at("2026-06-02T11:30"), ignore={7}) == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-06-07T10:00", "2026-06-07T11:00", "The clinic is not open then."),  # a Sunday
        ("2026-06-02T18:30", "2026-06-02T19:30", "The clinic is not open then."),
        ("2025-12-01T10:00", "2025-12-01T11:00", "That time has passed."),
    ],
)
def test_closed_hours_and_the_past_are_refused(start, end, message):
    assert message in availability().problems(at(start), at(end))


def test_closures_and_absences_are_refused():
    day = datetime.date(2026, 6, 2)
    problems = availability(closures=[(day, day, "Public holiday")], absences=[(day, day)]).problems(
        at("2026-06-02T10:00"), at("2026-06-02T11:00")
    )
    assert problems == ["The clinic is closed: Public holiday.", "Dr. Kaya is away that day."]


def test_a_proposal_marks_the_conflict_and_offers_the_nearest_free_slots_one_per_day():
    taken = [(at("2026-06-09T10:00"), at("2026-06-09T11:00"), 1)]
    proposals = s.propose_series(
        first=datetime.datetime(2026, 6, 2, 10, 0),
        intervals=[7, 7],
        count=3,
        duration=datetime.timedelta(hours=1),
        availability=availability(practitioner=taken),
    )
    assert [p.ok for p in proposals] == [True, False, True]
    conflict = proposals[1]
    assert "Dr. Kaya is already booked 10:00–11:00." in conflict.problems
    # Right after the other session on the day; then the patient's usual 10:00 on the nearest
    # other days, the later first (it keeps at least the planned gap).
    assert [s.wall_clock(a, LONDON) for a in conflict.alternatives] == [
        datetime.datetime(2026, 6, 9, 11, 0),
        datetime.datetime(2026, 6, 10, 10, 0),
        datetime.datetime(2026, 6, 8, 10, 0),
    ]


def test_the_sessions_of_one_proposal_do_not_collide_with_each_other():
    proposals = s.propose_series(
        first=datetime.datetime(2026, 6, 2, 10, 0),
        intervals=[0],
        count=2,
        duration=datetime.timedelta(hours=1),
        availability=availability(),
    )
    assert proposals[0].ok and not proposals[1].ok


def test_a_chosen_time_replaces_the_spacing_for_that_session_only():
    proposals = s.propose_series(
        first=datetime.datetime(2026, 6, 2, 10, 0),
        intervals=[7, 7],
        count=3,
        duration=datetime.timedelta(hours=1),
        availability=availability(),
        chosen={2: datetime.datetime(2026, 6, 10, 15, 0)},
    )
    assert [p.wanted for p in proposals] == [
        datetime.datetime(2026, 6, 2, 10, 0),
        datetime.datetime(2026, 6, 10, 15, 0),
        datetime.datetime(2026, 6, 16, 10, 0),
    ]
    assert proposals[1].chosen and proposals[1].ok


def spaced(min_days=7, max_days=31, *sessions):
    """Availability with the plan's sessions [(date, number, happened)] and the protocol's spacing."""
    found = availability()
    found.spacing = s.PlanSpacing(
        min_days, max_days, [(day, number, None, happened) for day, number, happened in sessions]
    )
    return found


def test_a_session_two_days_after_the_previous_in_a_seven_day_protocol_is_a_conflict():
    free = spaced(7, 31, (datetime.date(2026, 6, 2), 1, False))
    assert free.problems(at("2026-06-04T10:00"), at("2026-06-04T11:00")) == [
        "Only 2 days after session 1 (Tue 2 Jun): the protocol asks for at least 7 days between sessions."
    ]
    assert free.problems(at("2026-06-09T10:00"), at("2026-06-09T11:00")) == []


def test_a_session_too_close_before_the_next_one_and_on_the_same_day_are_conflicts():
    free = spaced(7, 31, (datetime.date(2026, 6, 16), 3, False))
    assert "Only 1 day before session 3" in free.problems(at("2026-06-15T10:00"), at("2026-06-15T11:00"))[0]
    assert "The same day as session 3" in free.problems(at("2026-06-16T15:00"), at("2026-06-16T16:00"))[0]


def test_too_long_a_gap_is_a_conflict_between_sessions_to_come_not_after_one_that_happened():
    to_come = spaced(7, 14, (datetime.date(2026, 6, 2), 1, False))
    assert to_come.problems(at("2026-06-23T10:00"), at("2026-06-23T11:00")) == [
        "21 days after session 1 (Tue 2 Jun): the protocol allows at most 14 days between sessions."
    ]
    came_back = spaced(7, 14, (datetime.date(2026, 6, 2), 1, True))  # the patient had a break
    assert came_back.problems(at("2026-06-23T10:00"), at("2026-06-23T11:00")) == []


def test_a_session_being_moved_is_not_its_own_neighbour():
    free = availability()
    free.spacing = s.PlanSpacing(7, 31, [(datetime.date(2026, 6, 2), 1, 41, False)])
    assert free.problems(at("2026-06-03T10:00"), at("2026-06-03T11:00"), ignore={41}) == []


def test_a_proposal_keeps_the_spacing_when_a_session_is_chosen_closer():
    found = spaced(7, 31)
    proposals = s.propose_series(
        first=datetime.datetime(2026, 6, 2, 10),
        intervals=[7, 7],
        count=3,
        duration=datetime.timedelta(hours=1),
        availability=found,
        chosen={2: datetime.datetime(2026, 6, 4, 10)},
        min_gap_days=7,
    )
    assert proposals[1].problems == [
        "Only 2 days after session 1 (Tue 2 Jun): the protocol asks for at least 7 days between sessions."
    ]
    first = datetime.date(2026, 6, 2)
    assert proposals[1].alternatives
    assert all((s.wall_clock(alt, LONDON).date() - first).days >= 7 for alt in proposals[1].alternatives)
