import datetime
import itertools
import zoneinfo

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from mesoclinic.core.models import AuditEntry, Closure, Room
from mesoclinic.core.selectors import wall_clock
from mesoclinic.treatment_sessions.models import SessionSeries, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import CLINIC_ZONE, PractitionerFactory, active_plan, booked, local, next_monday

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)


def proposal(plan, alice, room, first):
    return services.series_proposal(plan=plan, practitioner=alice, room=room, first_local=first)


def test_a_series_is_proposed_on_the_plans_spacing(cellulite_plan, alice, room):
    start = next_monday()
    items = proposal(cellulite_plan, alice, room, local(start))
    assert len(items) == 8
    gaps = [(b.wanted - a.wanted).days for a, b in itertools.pairwise(items)]
    assert gaps == cellulite_plan.intervals
    assert all(item.ok for item in items)


def test_a_collision_is_marked_with_the_nearest_alternatives(cellulite_plan, alice, room):
    start = next_monday()
    other = active_plan(alice, "cellulite")
    services.series_book(
        plan=other, practitioner=alice, room=room, local_starts=[local(start + datetime.timedelta(days=14))], by=alice
    )
    items = proposal(cellulite_plan, alice, room, local(start))
    conflicts = [item for item in items if not item.ok]
    assert [c.sequence for c in conflicts] == [3]
    assert any("already booked 10:00–" in p for p in conflicts[0].problems), conflicts[0].problems
    assert wall_clock(conflicts[0].alternatives[0], LONDON) == local(start + datetime.timedelta(days=14), 10, 45)


def test_booking_takes_every_session_or_none(cellulite_plan, alice, room):
    start = next_monday()
    other = active_plan(alice, "cellulite")
    services.series_book(
        plan=other, practitioner=alice, room=room, local_starts=[local(start + datetime.timedelta(days=7))], by=alice
    )
    wanted = [item.wanted for item in proposal(cellulite_plan, alice, room, local(start))]
    with pytest.raises(services.SchedulingConflict, match="Session 2"):
        services.series_book(plan=cellulite_plan, practitioner=alice, room=room, local_starts=wanted, by=alice)
    assert not TreatmentSession.objects.filter(plan=cellulite_plan).exists()
    assert not SessionSeries.objects.filter(plan=cellulite_plan).exists()


def test_a_booked_series_is_stored_in_utc_and_audited(cellulite_plan, alice, room):
    series = booked(cellulite_plan, alice, room, next_monday())
    sessions = list(series.sessions.order_by("sequence"))
    assert [s.sequence for s in sessions] == list(range(1, 9))
    assert all(wall_clock(s.starts_at, LONDON).time() == datetime.time(10) for s in sessions)
    created = AuditEntry.objects.for_patient(cellulite_plan.patient_id).filter(
        action=AuditEntry.Action.CREATE, content_type__model="treatmentsession"
    )
    assert created.count() == 8


def test_a_weekly_series_across_the_clock_change_keeps_10_oclock(clinic, alice, room):
    plan = active_plan(alice, "cellulite", sessions_planned=4, intervals=[7, 7, 7])
    series = services.series_book(
        plan=plan,
        practitioner=alice,
        room=room,
        by=alice,
        local_starts=[local(datetime.date(2027, 3, 15) + datetime.timedelta(weeks=n)) for n in range(4)],
    )
    sessions = list(series.sessions.order_by("sequence"))
    assert [wall_clock(s.starts_at, LONDON).hour for s in sessions] == [10, 10, 10, 10]
    assert [s.starts_at.astimezone(datetime.UTC).hour for s in sessions] == [10, 10, 9, 9]


@pytest.mark.parametrize("extra", [1])
def test_a_series_longer_than_the_plan_is_refused(cellulite_plan, alice, room, extra):
    start = next_monday()
    starts = [local(start + datetime.timedelta(days=7 * n)) for n in range(8 + extra)]
    with pytest.raises(services.SchedulingConflict, match="8 sessions left to book; this series has 9"):
        services.series_book(plan=cellulite_plan, practitioner=alice, room=room, local_starts=starts, by=alice)


def test_a_plan_that_is_not_active_cannot_be_booked(clinic, alice, room, patient):
    from tests.builders import plan_for

    draft = plan_for(patient, alice, "cellulite")
    with pytest.raises(services.SchedulingConflict, match="Only an active plan"):
        services.series_book(plan=draft, practitioner=alice, room=room, local_starts=[local(next_monday())], by=alice)


def test_a_deferral_after_activation_stops_booking_until_a_newer_screening_lifts_it(cellulite_plan, alice, room):
    from mesoclinic.screening.models import Screening
    from tests.builders import covering, screened

    patient = cellulite_plan.patient
    deferred = screened(patient, alice, decisions=[], pregnant=True, **covering(cellulite_plan))
    starts = [p.wanted for p in proposal(cellulite_plan, alice, room, local(next_monday()))]
    with pytest.raises(services.SchedulingConflict, match="Treatment is on hold"):
        services.series_book(plan=cellulite_plan, practitioner=alice, room=room, local_starts=starts, by=alice)
    # A deferral stands however old it is: lapsing does not lift it.
    long_ago = deferred.recorded_at - datetime.timedelta(days=90)
    Screening.objects.filter(patient=patient).exclude(pk=deferred.pk).update(
        recorded_at=long_ago - datetime.timedelta(days=1)
    )
    Screening.objects.filter(pk=deferred.pk).update(recorded_at=long_ago, expires_at=long_ago)
    with pytest.raises(services.SchedulingConflict, match="Treatment is on hold"):
        services.series_book(plan=cellulite_plan, practitioner=alice, room=room, local_starts=starts, by=alice)
    assert not TreatmentSession.objects.filter(plan=cellulite_plan).exists()

    screened(patient, alice, **covering(cellulite_plan))
    assert booked(cellulite_plan, alice, room, next_monday()).sessions.count() == 8


def test_a_closure_is_a_conflict(cellulite_plan, alice, room):
    start = next_monday()
    Closure.objects.create(starts_on=start, ends_on=start, reason="Bayram")
    items = proposal(cellulite_plan, alice, room, local(start))
    assert "The clinic is closed: Bayram." in items[0].problems


def test_move_this_session_only(cellulite_plan, alice, room):
    sessions = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))
    before = [s.starts_at for s in sessions]
    services.session_move(
        session=sessions[2], new_local=wall_clock(before[2], LONDON) + datetime.timedelta(hours=3), by=alice
    )
    after = [s.starts_at for s in TreatmentSession.objects.filter(plan=cellulite_plan).order_by("sequence")]
    assert after[2] == before[2] + datetime.timedelta(hours=3)
    assert after[:2] == before[:2] and after[3:] == before[3:]


def test_move_this_and_the_following_keeps_the_spacing(cellulite_plan, alice, room):
    sessions = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))
    before = [wall_clock(s.starts_at, LONDON) for s in sessions]
    result = services.session_move(
        session=sessions[2], new_local=before[2] + datetime.timedelta(days=7), following=True, by=alice
    )
    after = [
        wall_clock(s.starts_at, LONDON)
        for s in TreatmentSession.objects.filter(plan=cellulite_plan).order_by("sequence")
    ]
    assert after[:2] == before[:2]
    assert after[2:] == [b + datetime.timedelta(days=7) for b in before[2:]]
    assert len(result.moved) == 6


def test_moving_into_a_conflict_is_refused_and_nothing_moves(cellulite_plan, alice, room):
    sessions = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))
    other = active_plan(alice, "cellulite")
    target = wall_clock(sessions[1].starts_at, LONDON) + datetime.timedelta(days=1)
    services.series_book(plan=other, practitioner=alice, room=room, local_starts=[target], by=alice)
    with pytest.raises(services.SchedulingConflict):
        services.session_move(session=sessions[0], new_local=target, by=alice)
    assert TreatmentSession.objects.get(pk=sessions[0].pk).starts_at == sessions[0].starts_at


def test_a_session_moved_too_close_to_its_neighbour_is_refused_with_times_that_keep_the_spacing(
    cellulite_plan, alice, room
):
    sessions = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))
    first, third = (wall_clock(sessions[i].starts_at, LONDON).date() for i in (0, 2))
    new = wall_clock(sessions[0].starts_at, LONDON) + datetime.timedelta(days=2)
    with pytest.raises(services.MoveConflict) as refused:
        services.session_move(session=sessions[1], new_local=new, by=alice)
    (step,) = refused.value.steps
    assert step.problems == [
        f"Only 2 days after session 1 ({first:%a} {first.day} {first:%b}): the protocol asks for at least 7 days between sessions."
    ]
    assert step.alternatives, "a free time between sessions 1 and 3 exists: the one it had"
    for alternative in step.alternatives:
        day = wall_clock(alternative, LONDON).date()
        assert (day - first).days >= 7 and (third - day).days >= 7
    assert TreatmentSession.objects.get(pk=sessions[1].pk).starts_at == sessions[1].starts_at


def test_each_change_is_audited_from_what_to_what(alice_client, cellulite_plan, alice, room):
    session = booked(cellulite_plan, alice, room, next_monday()).sessions.get(sequence=1)
    new = wall_clock(session.starts_at, LONDON) + datetime.timedelta(hours=2)
    alice_client.post(
        reverse("scheduling:move", args=[session.pk]),
        {"new_start": new.strftime("%Y-%m-%dT%H:%M"), "following": "no"},
    )
    entry = AuditEntry.objects.filter(
        content_type__model="treatmentsession", object_id=session.pk, action=AuditEntry.Action.UPDATE
    ).get()
    assert entry.actor == alice
    old_value, new_value = entry.changes["starts_at"]
    assert old_value != new_value


def test_cancel_one_and_cancel_the_remaining(cellulite_plan, alice, room):
    sessions = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))
    assert services.session_cancel(session=sessions[1], reason="Ill", by=alice) == 1
    assert services.session_cancel_remaining(session=sessions[4], reason="Moving away", by=alice) == 4
    statuses = list(
        TreatmentSession.objects.filter(plan=cellulite_plan).order_by("sequence").values_list("status", flat=True)
    )
    assert statuses == ["scheduled", "cancelled", "scheduled", "scheduled"] + ["cancelled"] * 4


def test_a_cancelled_slot_can_be_booked_again(cellulite_plan, alice, room):
    session = booked(cellulite_plan, alice, room, next_monday()).sessions.get(sequence=1)
    services.session_cancel(session=session, reason="", by=alice)
    other = active_plan(alice, "cellulite")
    services.series_book(
        plan=other, practitioner=alice, room=room, local_starts=[wall_clock(session.starts_at, LONDON)], by=alice
    )


def test_no_show_only_once_the_time_has_come(cellulite_plan, alice, room):
    session = booked(cellulite_plan, alice, room, next_monday()).sessions.get(sequence=1)
    with pytest.raises(services.SchedulingConflict, match="once its time has come"):
        services.session_no_show(session=session, by=alice)
    services.session_no_show(session=session, by=alice, now=session.starts_at + datetime.timedelta(minutes=20))
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.NO_SHOW


def test_deleting_a_session_never_makes_the_others_disappear(cellulite_plan, alice, room):
    series = booked(cellulite_plan, alice, room, next_monday())
    series.sessions.get(sequence=3).delete()
    assert series.sessions.count() == 7
    with pytest.raises(ProtectedError):
        series.delete()
    assert TreatmentSession.objects.filter(plan=cellulite_plan).count() == 7


def test_stopping_the_plan_cancels_the_sessions_still_to_come(cellulite_plan, alice, room):
    from mesoclinic.plans.services import plan_stop

    booked(cellulite_plan, alice, room, next_monday())
    plan_stop(plan=cellulite_plan, reason="Patient moved abroad", by=alice)
    assert set(TreatmentSession.objects.filter(plan=cellulite_plan).values_list("status", flat=True)) == {"cancelled"}


def test_another_practitioner_in_another_room_is_free(cellulite_plan, alice, room, clinic):
    from mesoclinic.core.models import WorkingHours

    booked(cellulite_plan, alice, room, next_monday())
    bob = PractitionerFactory(username="bob")
    for day in range(6):
        WorkingHours.objects.create(practitioner=bob, weekday=day, starts=datetime.time(8), ends=datetime.time(20))
    other = active_plan(alice, "cellulite")
    items = services.series_proposal(
        plan=other, practitioner=bob, room=Room.objects.get(name="Room 2"), first_local=local(next_monday())
    )
    assert all(item.ok for item in items)


def test_sessions_cancelled_outside_a_request_name_who_cancelled_them(cellulite_plan, alice, room):
    """Stopping a plan from a command or a task has no request to name its user: the audit
    trail still records who cancelled each session (the `by` the service was given)."""
    from mesoclinic.plans.services import plan_stop

    series = booked(cellulite_plan, alice, room, next_monday())
    plan_stop(plan=cellulite_plan, reason="Patient moved abroad", by=alice)
    changes = AuditEntry.objects.filter(
        content_type__model="treatmentsession", object_id__in=[s.pk for s in series.sessions.all()]
    ).exclude(action=AuditEntry.Action.CREATE)
    assert changes.count() == cellulite_plan.sessions_planned
    assert {entry.actor for entry in changes} == {alice}
    assert all(entry.changes["status"][1] == "cancelled" for entry in changes)
