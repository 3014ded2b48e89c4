"""Closing a day, or a practitioner's absence, that has sessions booked on it (issue 14, item 4).

Sam the clinic admin closes a Monday on which Dr. Alice has two patients. Nothing is saved
straight away: the sessions are listed, each with free times to move to, and Sam moves one,
cancels the other, or does not close. Confirming saves the closure and every choice at once.
"""

import datetime
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from mesoclinic.core.models import Absence, AuditEntry, Closure
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.scheduling.selectors import availability_for
from mesoclinic.treatment_sessions.scheduling.services import series_book, session_cancel
from tests.builders import PractitionerFactory, active_plan, local, next_monday
from tests.core.test_setup import rows_as_shown

pytestmark = pytest.mark.django_db

CLOSURES = reverse("core:setup_closures")


@pytest.fixture
def day():
    return next_monday(2)


def _book_first_session(practitioner, room, day, hour, patient_name=None):
    """A cellulite plan (weekly, at least 7 days apart) with its first session on `day`."""
    plan = active_plan(practitioner, "cellulite")
    if patient_name:
        plan.patient.given_name, plan.patient.family_name = patient_name
        plan.patient.save()
    series_book(
        plan=plan,
        practitioner=practitioner,
        room=room,
        local_starts=[local(day, hour), local(day + datetime.timedelta(days=7), hour)],
        by=practitioner,
        too_soon_confirmed=True,
    )
    return plan.sessions.order_by("starts_at").first()


@pytest.fixture
def two_sessions(clinic, alice, room, day):
    """Ayşe Öztürk at 10:00 and Mary O'Brien at 14:00 with Dr. Alice on the day to close."""
    return (
        _book_first_session(alice, room, day, 10, ("Ayşe", "Öztürk")),
        _book_first_session(alice, room, day, 14, ("Mary", "O'Brien")),
    )


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def close(client, day, reason="Water leak", last=None):
    """Sam types a closure into the first empty row of the closures page and saves."""
    shown = client.get(CLOSURES).context["formset"]
    row = len(shown.initial_forms)
    changes = {f"closures-{row}-starts_on": day.isoformat(), f"closures-{row}-reason": reason}
    if last:
        changes[f"closures-{row}-ends_on"] = last.isoformat()
    return client.post(CLOSURES, rows_as_shown(shown, changes))


def confirm(client, page, choices, url=CLOSURES, step="confirm"):
    """What the confirm page sends back: the setup page's rows, the sessions listed, the choices
    ({session: "cancel" or a proposal's index}) and the button pressed."""
    data = {}
    for name, value in page.context["carried"]:
        data.setdefault(name, []).append(value)
    data["listed"] = [str(item.session.pk) for item in page.context["proposals"]]
    for item in page.context["proposals"]:
        choice = choices.get(item.session.pk)
        if choice == "cancel":
            data[item.name] = "cancel"
        elif isinstance(choice, int):
            data[item.name] = item.options[choice][0]
        elif isinstance(choice, str):
            data[item.name] = choice  # as crafted
    data["closing-step"] = step
    return client.post(url, data)


def _pending(session):
    return list(Reminder.objects.filter(session=session, status=ReminderStatus.PENDING).values_list("kind", "due_at"))


# --- Nothing booked: saved at once, as before --------------------------------------------------


def test_a_closure_on_a_day_with_no_sessions_is_saved_at_once(sam_client, clinic, day):
    response = close(sam_client, day, "Republic Day")
    assert response.status_code == 302
    assert list(Closure.objects.values_list("starts_on", "reason")) == [(day, "Republic Day")]
    assert "Closures saved." in _messages(response)


def test_cancelled_sessions_and_other_days_do_not_stop_a_closure(sam_client, sam, two_sessions, day):
    for session in two_sessions:
        session_cancel(session=session, reason="Patient unwell", by=sam)
    assert close(sam_client, day).status_code == 302  # Monday: only cancelled sessions
    assert close(sam_client, day + datetime.timedelta(days=1)).status_code == 302  # Tuesday: nobody
    assert Closure.objects.count() == 2


# --- Sessions booked: listed, nothing saved ---------------------------------------------------


def test_closing_a_day_with_sessions_lists_them_and_saves_nothing(sam_client, two_sessions, alice, day):
    before = list(TreatmentSession.objects.values_list("pk", "starts_at", "status").order_by("pk"))
    page = close(sam_client, day, "Water leak")

    assert page.status_code == 200
    assert Closure.objects.count() == 0
    assert list(TreatmentSession.objects.values_list("pk", "starts_at", "status").order_by("pk")) == before
    assert [item.session.pk for item in page.context["proposals"]] == [s.pk for s in two_sessions]
    text = page.content.decode()
    assert "2 sessions are booked on these days" in text
    for words in ("Ayşe Öztürk", "Mary O&#x27;Brien", "10:00–10:45", "14:00–14:45", "Dr. Alice Hart", "Room 1"):
        assert words in text
    assert "Water leak" in text


def test_every_proposal_is_free_open_and_keeps_the_plans_spacing(sam_client, two_sessions, day):
    page = close(sam_client, day)
    zone = clinic_zone()
    Closure.objects.create(starts_on=day, ends_on=day, reason="Water leak")  # judge them as closed
    seen = set()
    for item in page.context["proposals"]:
        session = item.session
        assert item.options, "a session with free days around it gets proposals"
        assert len({local.date() for _, local in item.options}) == len(item.options), "on different days"
        availability = availability_for(
            practitioner=session.practitioner,
            room=session.room,
            patient=session.patient,
            window_start=session.starts_at - datetime.timedelta(days=9),
            window_end=session.starts_at + datetime.timedelta(days=9),
            zone=zone,
            plan=session.plan,
        )
        second = session.plan.sessions.order_by("starts_at")[1]
        for _value, when in item.options:
            assert when.date() != day
            start = when.replace(tzinfo=zone)
            assert availability.problems(start, start + session.duration, ignore={session.pk}) == []
            assert (wall_clock(second.starts_at, zone).date() - when.date()).days >= 7  # the protocol's minimum
            assert when not in seen, "one time is never proposed to two sessions of one practitioner"
            seen.add(when)


# --- Confirming ---------------------------------------------------------------------------------


def test_moving_one_and_cancelling_the_other_closes_the_day_in_one_go(sam_client, sam, two_sessions, day):
    ayse, mary = two_sessions
    assert _pending(mary), "booked sessions have reminders due"
    page = close(sam_client, day, "Water leak")
    new_time = page.context["proposals"][0].options[0][1]

    response = confirm(sam_client, page, {ayse.pk: 0, mary.pk: "cancel"})

    assert response.status_code == 302
    assert list(Closure.objects.values_list("starts_on", "ends_on", "reason")) == [(day, day, "Water leak")]
    ayse.refresh_from_db()
    mary.refresh_from_db()
    assert wall_clock(ayse.starts_at, clinic_zone()) == new_time
    assert ayse.status == SessionStatus.SCHEDULED
    assert ayse.change_note.startswith("Clinic closed: Water leak")
    assert mary.status == SessionStatus.CANCELLED
    assert mary.change_note == "Cancelled: Clinic closed: Water leak"
    # The cancelled session's reminders are no longer due but the notice telling Mary is; the
    # moved one's follow its new time, and Ayşe is told of it.
    assert [kind for kind, _ in _pending(mary)] == ["change"]
    assert "change" in [kind for kind, _ in _pending(ayse)]
    assert Reminder.objects.filter(session=mary, status=ReminderStatus.CANCELLED).exists()
    appointment = [due for kind, due in _pending(ayse) if kind == "appointment"]
    assert appointment == [ayse.starts_at - datetime.timedelta(days=1)]
    # Audited, as Sam.
    for session in (ayse, mary):
        entry = AuditEntry.objects.filter(object_pk=str(session.pk), action=AuditEntry.Action.UPDATE).latest("pk")
        assert entry.actor == sam and entry.patient_id == session.patient_id
    messages = _messages(response)
    assert "Moved 1 session." in messages
    assert "Cancelled 1 session: its reminders will not be sent." in messages
    assert "Closures saved." in messages


def test_a_choice_left_out_saves_nothing_and_asks_for_it_beside_the_session(sam_client, two_sessions, day):
    ayse, mary = two_sessions
    page = close(sam_client, day)
    again = confirm(sam_client, page, {mary.pk: "cancel"})

    assert again.status_code == 200
    assert Closure.objects.count() == 0
    mary.refresh_from_db()
    assert mary.status == SessionStatus.SCHEDULED
    items = {item.session.pk: item for item in again.context["proposals"]}
    assert items[ayse.pk].error == "Choose what to do with this session."
    assert items[mary.pk].chosen == "cancel", "what Sam chose is kept"
    assert "Nothing was saved yet." in again.content.decode()


@pytest.mark.parametrize(
    "crafted", ["move-", "move-2026-13-45T10:00", "move-yesterday", "keep", "", "move-0001-01-01T00:00"]
)
def test_a_crafted_choice_is_refused_beside_the_session_not_a_500(sam_client, two_sessions, day, crafted):
    ayse, mary = two_sessions
    page = close(sam_client, day)
    again = confirm(sam_client, page, {ayse.pk: crafted, mary.pk: "cancel"})
    assert again.status_code == 200
    assert Closure.objects.count() == 0
    assert TreatmentSession.objects.filter(status=SessionStatus.CANCELLED).count() == 0
    assert next(item for item in again.context["proposals"] if item.session.pk == ayse.pk).error


def test_a_time_taken_while_deciding_undoes_everything_and_offers_fresh_times(
    sam_client, two_sessions, alice, room, day
):
    ayse, mary = two_sessions
    page = close(sam_client, day)
    wanted = page.context["proposals"][0].options[0][1]
    # Meanwhile another patient is booked with Dr. Alice at exactly that time.
    series_book(
        plan=active_plan(alice, "cellulite"),
        practitioner=alice,
        room=room,
        local_starts=[wanted],
        by=alice,
        too_soon_confirmed=True,
    )

    again = confirm(sam_client, page, {ayse.pk: 0, mary.pk: "cancel"})

    assert again.status_code == 200
    assert Closure.objects.count() == 0, "the closure is not saved without its moves"
    mary.refresh_from_db()
    ayse.refresh_from_db()
    assert mary.status == SessionStatus.SCHEDULED, "the cancel was undone with the failed move"
    assert wall_clock(ayse.starts_at, clinic_zone()) == local(day, 10)
    item = next(item for item in again.context["proposals"] if item.session.pk == ayse.pk)
    assert item.error
    assert wanted not in [when for _, when in item.options]


def test_a_session_booked_while_deciding_is_added_to_the_list(sam_client, two_sessions, alice, room, day):
    ayse, mary = two_sessions
    page = close(sam_client, day)
    late = _book_first_session(alice, room, day, 17)
    again = confirm(sam_client, page, {ayse.pk: "cancel", mary.pk: "cancel"})
    assert again.status_code == 200 and Closure.objects.count() == 0
    items = {item.session.pk: item for item in again.context["proposals"]}
    assert set(items) == {ayse.pk, mary.pk, late.pk}
    assert items[late.pk].error == "Booked while you were deciding: choose for it too."


def test_a_double_click_on_confirm_closes_once_and_never_answers_500(sam_client, two_sessions, day):
    ayse, mary = two_sessions
    page = close(sam_client, day, "Water leak")
    first = confirm(sam_client, page, {ayse.pk: 0, mary.pk: "cancel"})
    second = confirm(sam_client, page, {ayse.pk: 0, mary.pk: "cancel"})
    assert first.status_code == second.status_code == 302
    assert Closure.objects.count() == 1
    assert TreatmentSession.objects.filter(status=SessionStatus.CANCELLED).count() == 1
    assert "2 sessions on the list had already been moved or cancelled." in _messages(second)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_close_once(sam, two_sessions, day):
    """Two clicks at once, each on its own connection: the clinic row makes them take turns."""
    ayse, mary = two_sessions
    client = Client()
    client.force_login(sam)
    page = close(client, day, "Water leak")
    answers, barrier = [], threading.Barrier(2)

    def click():
        try:
            barrier.wait()
            answers.append(confirm(client, page, {ayse.pk: 0, mary.pk: "cancel"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [302, 302]
    assert Closure.objects.count() == 1
    assert TreatmentSession.objects.filter(status=SessionStatus.CANCELLED).count() == 1


def test_do_not_close_goes_back_to_the_page_as_typed_and_saves_nothing(sam_client, two_sessions, day):
    page = close(sam_client, day, "Water leak")
    back = confirm(sam_client, page, {}, step="back")
    assert back.status_code == 200
    assert Closure.objects.count() == 0
    assert TreatmentSession.objects.filter(status=SessionStatus.SCHEDULED).count() == 4
    text = back.content.decode()
    assert 'value="Water leak"' in text and f'value="{day.isoformat()}"' in text
    assert "Nothing was saved." in " ".join(_messages(back))


def test_a_closure_spanning_days_lists_the_sessions_of_every_day(sam_client, clinic, alice, room, day):
    monday = _book_first_session(alice, room, day, 10)
    wednesday = _book_first_session(alice, room, day + datetime.timedelta(days=2), 10)
    page = close(sam_client, day, "Refurbishment", last=day + datetime.timedelta(days=3))
    assert [item.session.pk for item in page.context["proposals"]] == [monday.pk, wednesday.pk]
    for item in page.context["proposals"]:
        for _value, when in item.options:
            assert not day <= when.date() <= day + datetime.timedelta(days=3)


# --- A practitioner's absence ------------------------------------------------------------------


def test_an_absence_lists_only_that_practitioners_sessions_and_moves_them(sam_client, clinic, alice, room, day):
    bob = PractitionerFactory(username="bob", first_name="Bob", last_name="Stone")
    for weekday in range(6):
        bob.working_hours.create(weekday=weekday, starts=datetime.time(8), ends=datetime.time(20))
    alices = _book_first_session(alice, room, day, 10)
    bobs = _book_first_session(bob, room, day, 14)
    url = reverse("core:setup_practitioner", args=[alice.pk])
    shown = sam_client.get(url).context
    data = rows_as_shown(shown["hours"])
    data.update(
        rows_as_shown(shown["absences"], {"absences-0-starts_on": day.isoformat(), "absences-0-reason": "Course"})
    )

    page = sam_client.post(url, data)

    assert page.status_code == 200 and Absence.objects.count() == 0
    assert [item.session.pk for item in page.context["proposals"]] == [alices.pk]
    assert "Dr. Alice Hart away:" in page.content.decode()
    done = confirm(sam_client, page, {alices.pk: 0}, url=url)
    assert done.status_code == 302
    assert list(Absence.objects.values_list("practitioner", "starts_on", "reason")) == [(alice.pk, day, "Course")]
    alices.refresh_from_db()
    bobs.refresh_from_db()
    assert wall_clock(alices.starts_at, clinic_zone()).date() != day
    assert alices.change_note.startswith("Dr. Alice Hart away: Course")
    assert wall_clock(bobs.starts_at, clinic_zone()) == local(day, 14), "Bob is not away"


# --- Cost ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3])
def test_the_list_costs_a_fixed_number_of_queries_per_session(
    sam_client, clinic, alice, room, day, django_assert_num_queries, count
):
    for n in range(count):
        _book_first_session(alice, room, day, 9 + 2 * n)
    shown = sam_client.get(CLOSURES).context["formset"]
    data = rows_as_shown(shown, {"closures-0-starts_on": day.isoformat()})
    # 10: session, user, clinic (today), the closure's check constraint (savepoint, check,
    # release), clinic (zone), the sessions on the day with their patient, practitioner, room and
    # plan (one query), clinic (zone, for the proposals) and clinic (zone, for the page); then per
    # session what booking reads to find its free times (availability_for, 6: sessions, opening
    # hours, closures, working hours, absences, the plan's sessions for its spacing).
    with django_assert_num_queries(10 + 6 * count):
        page = sam_client.post(CLOSURES, data)
    assert len(page.context["proposals"]) == count
