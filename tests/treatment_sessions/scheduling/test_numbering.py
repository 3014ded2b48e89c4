"""Session numbers: "session 5 of 6" is the fifth live session in time, a cancelled number goes
to the next one, and the database refuses two live sessions of one plan with one number."""

import datetime
import importlib

import pytest
from django.db import IntegrityError, transaction

from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.treatment_sessions.models import OCCUPYING, SessionSeries, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import active_plan, booked, local, next_monday

WEEK = datetime.timedelta(weeks=1)

# PostgreSQL names the constraint; SQLite names its columns.
ONE_NUMBER_PER_PLAN = (
    "session_number_once_per_plan|UNIQUE constraint failed: treatment_sessions_treatmentsession.plan_id"
)


def numbers(plan):
    """[(number, local start)] of the plan's live sessions, in time order."""
    zone = clinic_zone()
    live = TreatmentSession.objects.filter(plan=plan, status__in=OCCUPYING).order_by("starts_at")
    return [(s.sequence, wall_clock(s.starts_at, zone)) for s in live]


def in_time_order(plan):
    return [number for number, _ in numbers(plan)] == list(range(1, len(numbers(plan)) + 1))


@pytest.fixture
def six(clinic, alice, room):
    plan = active_plan(alice, "cellulite", sessions_planned=6, intervals=[7] * 5)
    booked(plan, alice, room, next_monday())
    return plan


def session(plan, number):
    return TreatmentSession.objects.get(plan=plan, sequence=number, status__in=OCCUPYING)


def book_at(plan, alice, room, when):
    return services.series_book(
        plan=plan, practitioner=alice, room=room, local_starts=[when], by=alice, too_soon_confirmed=True
    )


def test_cancelling_5_of_6_makes_the_next_one_5_and_a_booking_after_it_6_of_6(six, alice, room):
    last = session(six, 6)
    services.session_cancel(session=session(six, 5), reason="ill", by=alice)
    last.refresh_from_db()
    assert last.sequence == 5  # the fifth in time now
    assert services.remaining_sessions(six) == 1
    new = book_at(six, alice, room, wall_clock(last.starts_at, clinic_zone()) + WEEK).sessions.get()
    assert new.sequence == 6
    assert in_time_order(six) and len(numbers(six)) == 6


def test_a_rebooking_in_the_gap_takes_the_cancelled_number(six, alice, room):
    fifth = session(six, 5)
    when = wall_clock(fifth.starts_at, clinic_zone())
    services.session_cancel(session=fifth, reason="ill", by=alice)
    new = book_at(six, alice, room, when + datetime.timedelta(hours=2)).sessions.get()  # a week from both
    assert new.sequence == 5
    assert session(six, 6).starts_at > new.starts_at
    assert in_time_order(six)


def test_a_plan_fully_booked_after_a_cancel_refuses_a_seventh(six, alice, room):
    services.session_cancel(session=session(six, 2), reason="away", by=alice)
    book_at(six, alice, room, local(next_monday(8)))  # a fortnight after the last: the protocol's longest gap
    with pytest.raises(services.SchedulingConflict, match="0 sessions left"):
        book_at(six, alice, room, local(next_monday(9)))
    assert len(numbers(six)) == 6 and in_time_order(six)


def test_moving_a_session_past_the_later_ones_renumbers_them(six, alice, room):
    second, last = session(six, 2), session(six, 6)
    later = wall_clock(last.starts_at, clinic_zone()) + WEEK  # the only place past them that keeps the spacing
    result = services.session_move(session=second, new_local=later, by=alice)
    assert [s.sequence for s in result.moved] == [6]
    last.refresh_from_db()
    assert last.sequence == 5
    assert in_time_order(six)


def test_cancelling_the_remaining_sessions_keeps_the_earlier_numbers(six, alice):
    services.session_cancel_remaining(session=session(six, 4), reason="stopped", by=alice)
    assert [number for number, _ in numbers(six)] == [1, 2, 3]


def test_a_completed_session_keeps_its_number(six, alice, room):
    """Its chart and aftercare sheet name it: only scheduled sessions are renumbered."""
    TreatmentSession.objects.filter(pk=session(six, 3).pk).update(status=SessionStatus.COMPLETED)
    services.session_cancel(session=session(six, 2), reason="ill", by=alice)
    assert [number for number, _ in numbers(six)] == [1, 3, 2, 4, 5]


def test_renumbering_bumps_the_changed_sessions_so_calendar_apps_refresh_their_label(six, alice):
    last = session(six, 6)
    before = last.updated_at
    services.session_cancel(session=session(six, 1), reason="ill", by=alice)
    last.refresh_from_db()
    assert last.sequence == 5 and last.updated_at > before


@pytest.mark.django_db
def test_the_database_refuses_two_live_sessions_of_a_plan_with_one_number(six, alice, room):
    first = session(six, 1)
    series = SessionSeries.objects.create(plan=six, patient=six.patient, created_by=alice)
    later = first.starts_at + datetime.timedelta(weeks=20)
    values = {
        "series": series,
        "plan": six,
        "patient": six.patient,
        "practitioner": alice,
        "room": room,
        "sequence": 1,
        "starts_at": later,
        "ends_at": later + first.duration,
    }
    with pytest.raises(IntegrityError, match=ONE_NUMBER_PER_PLAN), transaction.atomic():
        TreatmentSession.objects.create(**values)
    with pytest.raises(IntegrityError, match=ONE_NUMBER_PER_PLAN), transaction.atomic():
        TreatmentSession.objects.create(**values, status=SessionStatus.NO_SHOW)  # a no-show takes its place too
    TreatmentSession.objects.create(**values, status=SessionStatus.CANCELLED)  # a cancelled one does not


def test_the_migration_renumbers_sessions_that_share_a_number_by_time():
    migration = importlib.import_module("mesoclinic.treatment_sessions.migrations.0007_renumber_duplicate_sessions")
    live = [(10, "completed", 1), (11, "scheduled", 1), (12, "scheduled", 1), (13, "scheduled", 2)]
    assert migration.numbering(live) == {10: 1, 11: 2, 12: 3, 13: 4}
    twice_done = [(10, "completed", 1), (11, "completed", 1), (12, "scheduled", 2)]
    assert migration.numbering(twice_done) == {10: 1, 11: 2, 12: 3}
