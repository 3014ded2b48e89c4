"""Moving "this and the following" keeps the series sensible: each later session moves by the
same offset only where that lands on an open, free time at the protocol's spacing; otherwise
nothing moves and the refusal says, per session, what was tried, why, and what is free. A move
can also give the sessions another practitioner or room."""

import datetime
import itertools

import pytest
from django.urls import reverse

from mesoclinic.core.models import Closure, WorkingHours
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import PractitionerFactory, active_plan, booked, local, next_monday

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly(clinic, alice, room):
    """Six Monday sessions a week apart at 10:00."""
    plan = active_plan(alice, "cellulite", sessions_planned=6, intervals=[7] * 5)
    booked(plan, alice, room, next_monday())
    return plan


def sessions_of(plan):
    return list(TreatmentSession.objects.filter(plan=plan).order_by("starts_at"))


def local_days(plan):
    return [wall_clock(s.starts_at, clinic_zone()).date() for s in sessions_of(plan)]


def test_six_days_later_lands_every_following_session_on_a_sunday_and_each_gets_an_open_day(weekly, alice):
    third = sessions_of(weekly)[2]
    sunday = wall_clock(third.starts_at, clinic_zone()) + datetime.timedelta(days=6)
    before = local_days(weekly)
    with pytest.raises(services.MoveConflict) as refused:
        services.session_move(session=third, new_local=sunday, following=True, by=alice)
    steps = refused.value.steps
    assert [step.tried.weekday() for step in steps] == [6, 6, 6, 6]  # what was tried, per session
    assert all("The clinic is not open then." in step.problems for step in steps)
    assert all(step.proposed and step.proposed.weekday() != 6 for step in steps)
    assert local_days(weekly) == before, "nothing moved"
    # The clinic admin takes the proposed times: the series moves, every gap at least a week.
    times = {step.session.pk: step.proposed for step in steps}
    services.session_move(session=third, new_local=times.pop(third.pk), following=True, times=times, by=alice)
    days = local_days(weekly)
    assert days[:2] == before[:2]
    assert all(day.weekday() != 6 for day in days)
    assert all(7 <= (later - earlier).days <= 14 for earlier, later in itertools.pairwise(days))


def test_only_the_sessions_that_do_not_fit_need_a_new_time(clinic, alice, room):
    # Skin rejuvenation allows 7 to 31 days between sessions: room to move one session a day.
    fortnightly = active_plan(alice, "skin_rejuvenation", sessions_planned=6, intervals=[14] * 5)
    booked(fortnightly, alice, room, next_monday())
    third = sessions_of(fortnightly)[2]
    week = datetime.timedelta(days=-7)  # a week earlier: still a week after session 2
    before = [wall_clock(s.starts_at, clinic_zone()) for s in sessions_of(fortnightly)]
    closed = (before[4] + week).date()  # where session 5 would land
    Closure.objects.create(starts_on=closed, ends_on=closed, reason="Kurban Bayramı")
    with pytest.raises(services.MoveConflict) as refused:
        services.session_move(session=third, new_local=before[2] + week, following=True, by=alice)
    steps = {step.session.sequence: step for step in refused.value.steps}
    assert steps[3].problems == steps[4].problems == steps[6].problems == []
    assert steps[5].problems == ["The clinic is closed: Kurban Bayramı."]
    assert steps[5].proposed.date() != closed
    assert [steps[n].proposed for n in (3, 4, 6)] == [before[n - 1] + week for n in (3, 4, 6)]


def test_the_refusal_page_offers_a_time_per_session_and_moving_with_them_works(sam_client, weekly):
    third = sessions_of(weekly)[2]
    sunday = wall_clock(third.starts_at, clinic_zone()) + datetime.timedelta(days=6)
    url = reverse("scheduling:move", args=[third.pk])
    form = {"new_start": sunday.strftime("%Y-%m-%dT%H:%M"), "following": "yes"}
    page = sam_client.post(url, form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Not moved: some sessions do not fit" in text
    assert text.count("The clinic is not open then.") == 4
    steps = page.context["steps"]
    chosen = {f"time_{step.session.pk}": step.proposed.strftime("%Y-%m-%dT%H:%M") for step in steps}
    for name, value in chosen.items():
        assert f'name="{name}" id="{name}_1" value="{value}" checked' in text  # the nearest, ticked
    moved = sam_client.post(url, {**form, **chosen}, follow=True)
    assert "Moved 4 sessions." in moved.content.decode()
    assert all(day.weekday() != 6 for day in local_days(weekly))


def test_a_move_can_give_the_session_another_practitioner_and_room(sam_client, weekly, clinic):
    bora = PractitionerFactory(first_name="Bora", last_name="Aksoy")
    for day in range(6):
        WorkingHours.objects.create(practitioner=bora, weekday=day, starts=datetime.time(8), ends=datetime.time(20))
    from mesoclinic.core.models import Room

    room_2 = Room.objects.get(name="Room 2")
    second = sessions_of(weekly)[1]
    when = wall_clock(second.starts_at, clinic_zone())
    url = reverse("scheduling:move", args=[second.pk])
    page = sam_client.post(
        url,
        {"new_start": when.strftime("%Y-%m-%dT%H:%M"), "following": "no", "practitioner": bora.pk, "room": room_2.pk},
        follow=True,
    )
    assert "Moved 1 session." in page.content.decode()
    second.refresh_from_db()
    assert (second.practitioner, second.room, second.starts_at) == (bora, room_2, second.starts_at)


def test_the_new_practitioners_own_calendar_is_checked(weekly, alice, room, clinic):
    bora = PractitionerFactory(first_name="Bora", last_name="Aksoy")
    second = sessions_of(weekly)[1]
    when = wall_clock(second.starts_at, clinic_zone())
    with pytest.raises(services.MoveConflict) as refused:  # Bora has no working hours at all
        services.session_move(session=second, new_local=when, practitioner=bora, by=alice)
    assert refused.value.steps[0].problems == ["Dr. Bora Aksoy does not work then."]


def test_sessions_that_would_take_each_others_times_are_refused_not_a_500(weekly, alice):
    first, second = sessions_of(weekly)[:2]
    zone = clinic_zone()
    with pytest.raises(services.SchedulingConflict):
        services.session_move(
            session=first,
            new_local=wall_clock(second.starts_at, zone),
            following=True,
            times={second.pk: wall_clock(first.starts_at, zone)},
            by=alice,
        )
    assert sessions_of(weekly)[0].pk == first.pk


def test_a_week_later_with_the_following_moves_all_of_them(weekly, alice):
    third = sessions_of(weekly)[2]
    before = local_days(weekly)
    later = local(before[2] + datetime.timedelta(days=7))
    result = services.session_move(session=third, new_local=later, following=True, by=alice)
    assert len(result.moved) == 4
    assert local_days(weekly) == before[:2] + [day + datetime.timedelta(days=7) for day in before[2:]]


def test_the_booking_page_starts_from_a_free_time_the_patient_can_prepare_for(sam_client, clinic, alice):
    """A week without ibuprofen: the first session proposed is after that week, every session free."""
    from tests.builders import covering, screened

    plan = active_plan(alice, "cellulite", sessions_planned=3, intervals=[7, 7])
    screened(plan.patient, alice, medications=["ibuprofen"], **covering(plan))
    page = sam_client.get(reverse("scheduling:book", args=[plan.pk]))
    proposals = page.context["proposals"]
    assert len(proposals) == 3 and all(p.ok for p in proposals)
    assert not page.context["too_soon"]
    first = proposals[0].wanted.date()
    assert (first - datetime.date.today()).days >= 7
    assert page.context["form"]["practitioner"].value() == alice.pk
