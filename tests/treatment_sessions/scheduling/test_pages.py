import datetime
import zoneinfo

import pytest
from django.core.cache import cache
from django.urls import reverse
from icalendar import Calendar

from mesoclinic.core.selectors import wall_clock
from mesoclinic.treatment_sessions.models import TreatmentSession
from tests.builders import CLINIC_ZONE, PatientFactory, active_plan, booked, next_monday

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)


def start_data(practitioner, room_, day, time="10:00", **extra):
    return {
        "start_date": day.isoformat(),
        "start_time": time,
        "practitioner": practitioner.pk,
        "room": room_.pk,
        **extra,
    }


def test_the_scheduler_proposes_and_books_a_series(sam_client, cellulite_plan, alice, room):
    url = reverse("scheduling:book", args=[cellulite_plan.pk])
    page = sam_client.post(url, start_data(alice, room, next_monday(), action="propose"))
    proposals = page.context["proposals"]
    assert len(proposals) == 8 and page.context["conflicts"] == 0
    data = start_data(alice, room, next_monday(), action="book")
    data.update({f"session_{p.sequence}": p.wanted.strftime("%Y-%m-%dT%H:%M") for p in proposals})
    response = sam_client.post(url, data)
    assert response.status_code == 302
    assert TreatmentSession.objects.filter(plan=cellulite_plan).count() == 8


def test_a_session_too_soon_for_the_preparation_is_booked_only_when_confirmed(sam_client, clinic, alice, room):
    """Ibuprofen needs a week's notice. A first session in three days says so, without naming
    the medicine to the clinic admin, and books only when the admin confirms."""
    from mesoclinic.plans.services import plan_activate
    from tests.builders import consented, covering, plan_for, screened

    patient = PatientFactory()
    plan = plan_for(patient, alice, "cellulite", sessions_planned=2, intervals=[7])
    screened(patient, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    url = reverse("scheduling:book", args=[plan.pk])
    day = datetime.date.today() + datetime.timedelta(days=3)
    while day.weekday() == 6:  # the clinic is closed on Sundays
        day += datetime.timedelta(days=1)
    proposed = sam_client.post(url, start_data(alice, room, day, action="propose"))
    proposal, later = proposed.context["proposals"]
    assert proposal.ok and proposal.too_soon_hours == 168
    assert later.ok and later.too_soon_hours == 0  # a week later the week without NSAIDs fits
    page = proposed.content.decode()
    assert "Too soon to prepare" in page and "needs 7 days' notice" in page
    assert "ibuprofen" not in page
    times = {f"session_{p.sequence}": p.wanted.strftime("%Y-%m-%dT%H:%M") for p in (proposal, later)}
    data = start_data(alice, room, day, action="book", **times)
    refused = sam_client.post(url, data)
    assert "leaves the patient too little time to prepare" in refused.content.decode()
    assert not TreatmentSession.objects.filter(plan=plan).exists()
    assert sam_client.post(url, {**data, "too_soon_confirmed": "on"}).status_code == 302
    assert TreatmentSession.objects.filter(plan=plan).count() == 2


def test_picking_an_alternative_replaces_that_session_only(sam_client, cellulite_plan, alice, room):
    start = next_monday()
    other = active_plan(alice, "cellulite")
    from mesoclinic.treatment_sessions.scheduling.services import series_book
    from tests.builders import local

    series_book(
        plan=other, practitioner=alice, room=room, local_starts=[local(start + datetime.timedelta(days=7))], by=alice
    )
    url = reverse("scheduling:book", args=[cellulite_plan.pk])
    first = sam_client.post(url, start_data(alice, room, start, action="propose"))
    conflict = next(p for p in first.context["proposals"] if not p.ok)
    alternative = wall_clock(conflict.alternatives[0], LONDON).strftime("%Y-%m-%dT%H:%M")
    data = start_data(alice, room, start, action="check", pick=f"{conflict.sequence}|{alternative}")
    data.update({f"session_{p.sequence}": p.wanted.strftime("%Y-%m-%dT%H:%M") for p in first.context["proposals"]})
    second = sam_client.post(url, data)
    assert second.context["conflicts"] == 0
    assert next(p for p in second.context["proposals"] if p.sequence == conflict.sequence).chosen


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start_date", "2020-01-06", "cannot be in the past"),
        ("room", "99999", "Select a valid choice"),
        ("practitioner", "99999", "Select a valid choice"),
        ("start_time", "25:00", "Enter a valid time"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_nothing_is_booked(
    sam_client, cellulite_plan, alice, room, field, value, message
):
    url = reverse("scheduling:book", args=[cellulite_plan.pk])
    data = {**start_data(alice, room, next_monday(), action="book"), field: value}
    response = sam_client.post(url, data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not TreatmentSession.objects.exists()


def test_a_crafted_series_longer_than_the_plan_is_refused(sam_client, cellulite_plan, alice, room):
    url = reverse("scheduling:book", args=[cellulite_plan.pk])
    data = start_data(alice, room, next_monday(), action="book")
    for n in range(1, 11):
        data[f"session_{n}"] = (
            datetime.datetime.combine(next_monday(), datetime.time(10)) + datetime.timedelta(days=7 * n)
        ).strftime("%Y-%m-%dT%H:%M")
    response = sam_client.post(url, data)
    assert "8 sessions left to book; this series has 10" in " ".join(response.context["problems"])
    assert not TreatmentSession.objects.exists()


def test_a_draft_plan_cannot_be_booked_from_the_page(sam_client, clinic, alice, room, patient):
    from tests.builders import plan_for

    draft = plan_for(patient, alice, "cellulite")
    page = sam_client.post(
        reverse("scheduling:book", args=[draft.pk]), start_data(alice, room, next_monday(), action="propose")
    )
    assert page.status_code == 409
    assert "Only an active plan can be booked" in " ".join(page.context["problems"])


def test_a_deferred_patient_is_on_hold_everywhere_booking_starts(sam_client, alice_client, cellulite_plan, alice, room):
    from tests.builders import covering, screened

    patient = cellulite_plan.patient
    url = reverse("scheduling:book", args=[cellulite_plan.pk])
    assert url in sam_client.get(reverse("scheduling:to_book")).content.decode()
    screened(patient, alice, decisions=[], pregnant=True, **covering(cellulite_plan))

    to_book = sam_client.get(reverse("scheduling:to_book")).content.decode()
    assert "On hold" in to_book and url not in to_book
    for client in (sam_client, alice_client):
        hub = client.get(patient.get_absolute_url()).content.decode()
        assert "On hold" in hub and url not in hub
    page = sam_client.get(url)
    assert page.status_code == 200 and "Treatment is on hold" in page.content.decode()
    assert 'id="book-form"' not in page.content.decode()
    data = start_data(alice, room, next_monday(), action="book", session_1=f"{next_monday().isoformat()}T10:00")
    refused = sam_client.post(url, data)
    assert refused.status_code == 409
    assert not TreatmentSession.objects.filter(plan=cellulite_plan).exists()


def test_the_patient_role_cannot_book_or_see_sessions(pat_client, cellulite_plan, alice, room):
    session = booked(cellulite_plan, alice, room, next_monday()).sessions.first()
    assert pat_client.get(reverse("scheduling:book", args=[cellulite_plan.pk])).status_code == 404
    assert pat_client.get(session.get_absolute_url()).status_code == 404
    assert pat_client.get(reverse("scheduling:calendar")).status_code == 403


@pytest.mark.parametrize("series", [1, 4])
def test_the_week_view_query_count_does_not_grow_with_sessions(
    sam_client, clinic, alice, room, django_assert_num_queries, series
):
    for n in range(series):
        booked(active_plan(alice, "cellulite"), alice, room, next_monday(), hour=9 + 2 * n)
    cache.clear()
    url = reverse("scheduling:calendar")
    # session, user, clinic (zone), clinic (page cache), practitioners, rooms, the week's session ids,
    # the sessions, opening hours, closures and absences (one query, for the shading)
    with django_assert_num_queries(10):
        response = sam_client.get(
            url, {"view": "week", "by": "practitioner", "practitioner": alice.pk, "date": next_monday().isoformat()}
        )
    assert len(response.context["placed"]) == series


def test_the_day_view_shows_every_room(sam_client, cellulite_plan, alice, room):
    booked(cellulite_plan, alice, room, next_monday())
    response = sam_client.get(
        reverse("scheduling:calendar"), {"view": "day", "by": "room", "date": next_monday().isoformat()}
    )
    assert [c["resource"].name for c in response.context["columns"]] == ["Room 1", "Room 2"]
    assert response.context["placed"][0].column == 1


def test_the_patients_series_exports_as_icalendar_with_its_time_zone(alice_client, cellulite_plan, alice, room):
    booked(cellulite_plan, alice, room, next_monday())
    response = alice_client.get(reverse("scheduling:patient_ics", args=[cellulite_plan.patient_id]))
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert len(events) == 8
    assert calendar.walk("VTIMEZONE")[0]["TZID"] == CLINIC_ZONE
    first = events[0].decoded("DTSTART")
    assert str(first.tzinfo) == CLINIC_ZONE and first.hour == 10


def test_the_practitioners_private_feed_can_be_replaced_and_revoked(alice_client, client, cellulite_plan, alice, room):
    booked(cellulite_plan, alice, room, next_monday())
    url = alice_client.post(reverse("scheduling:feed_settings"), {"action": "create"}).context["new_url"]
    path = url.replace("http://testserver", "")
    feed = client.get(path)
    assert feed.status_code == 200
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 8
    assert cellulite_plan.patient.family_name not in feed.content.decode()  # initials only
    new_url = alice_client.post(reverse("scheduling:feed_settings"), {"action": "create"}).context["new_url"]
    assert client.get(path).status_code == 404
    alice_client.post(reverse("scheduling:feed_settings"), {"action": "revoke"})
    assert client.get(new_url.replace("http://testserver", "")).status_code == 404


def test_the_patient_page_shows_the_series_and_the_next_session(alice_client, sam_client, cellulite_plan, alice, room):
    booked(cellulite_plan, alice, room, next_monday())
    page = alice_client.get(reverse("desk:patient", args=[cellulite_plan.patient_id])).content.decode()
    assert "Session 1 of 8" in page
    scheduler_page = sam_client.get(reverse("desk:patient", args=[cellulite_plan.patient_id])).content.decode()
    assert "Cellulite 8/8" in scheduler_page


def test_the_session_history_speaks_in_clinic_time_and_words(alice_client, cellulite_plan, alice, room):
    from mesoclinic.treatment_sessions.scheduling.services import session_cancel, session_move
    from tests.builders import local

    first, second = list(booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence"))[:2]
    session_move(session=first, new_local=local(next_monday(), 11, 30), by=alice)
    session_cancel(session=second, reason="Patient away", by=alice)

    moved = alice_client.get(first.get_absolute_url()).context["history"]
    day = next_monday().strftime("%a %d %b")
    assert f"Moved from {day} 10:00 to {day} 11:30" in moved[-1]["lines"]
    cancelled = alice_client.get(second.get_absolute_url()).context["history"]
    assert cancelled[-1]["lines"] == ["Status: Scheduled → Cancelled", "Note: Cancelled: Patient away"]


def test_no_session_is_booked_on_a_day_the_patient_is_still_under_18(sam_client, clinic, alice, room):
    """Screened for a date after her 18th birthday, the patient is clear; a session before the
    birthday is refused at booking, whatever the screening said (the re-check would stop it
    too, but nothing should be booked that cannot go ahead)."""
    from mesoclinic.plans.services import plan_activate
    from tests.builders import consented, covering, plan_for, screened

    today = datetime.date.today()
    birthday = today + datetime.timedelta(days=10)
    patient = PatientFactory(date_of_birth=birthday.replace(year=birthday.year - 18))
    plan = plan_for(patient, alice, "cellulite", sessions_planned=2, intervals=[14])
    screened(patient, alice, on_date=(birthday + datetime.timedelta(days=1)).isoformat(), **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    url = reverse("scheduling:book", args=[plan.pk])
    day = today + datetime.timedelta(days=3)
    while day.weekday() == 6:
        day += datetime.timedelta(days=1)
    proposed = sam_client.post(url, start_data(alice, room, day, action="propose"))
    first, second = proposed.context["proposals"]
    assert not first.ok and "under 18" in " ".join(first.problems)
    assert second.ok  # a fortnight later she is 18
    times = {f"session_{p.sequence}": p.wanted.strftime("%Y-%m-%dT%H:%M") for p in (first, second)}
    refused = sam_client.post(url, start_data(alice, room, day, action="book", too_soon_confirmed="on", **times))
    assert "under 18" in refused.content.decode()
    assert not TreatmentSession.objects.filter(plan=plan).exists()
