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


def test_a_proposal_marks_the_conflict_and_offers_the_nearest_free_slots():
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
    assert [s.wall_clock(a, LONDON) for a in conflict.alternatives] == [
        datetime.datetime(2026, 6, 9, 11, 0),
        datetime.datetime(2026, 6, 9, 9, 0),
        datetime.datetime(2026, 6, 9, 11, 15),
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


def test_sessions_closer_than_the_protocol_allows_are_flagged():
    starts = [
        (1, datetime.datetime(2026, 6, 2, 10)),
        (2, datetime.datetime(2026, 6, 5, 10)),
        (3, datetime.datetime(2026, 6, 16, 10)),
    ]
    assert s.spacing_flags(starts, 7) == ["Session 2 is 3 days after session 1; the protocol asks for at least 7."]
