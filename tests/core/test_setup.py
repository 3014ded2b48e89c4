"""Clinic setup: the clinic admin keeps the clinic's details, hours, closures, rooms and rotas."""

import datetime
import html

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import Absence, Clinic, Closure, OpeningHours, Room, WorkingHours
from mesoclinic.core.selectors import current_clinic
from tests.builders import PractitionerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_clinic_from_an_earlier_test():
    cache.clear()
    yield
    cache.clear()


T = datetime.time


def _today():
    return timezone.localdate(timezone=Clinic.current().zone)


def _day(offset):
    return (_today() + datetime.timedelta(days=offset)).isoformat()


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def _value(bound_field):
    value = bound_field.value()
    if value is None:
        return ""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def rows_as_shown(formset, changes=None):
    """What the browser sends back for a formset page: each row as shown, with `changes` typed in.

    `changes` maps field names as the page names them ("hours-0-ends") to what was typed;
    a tick-box is sent as "on" when ticked and left out when not.
    """
    data = {f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()}
    for form in formset:
        for bound_field in form:
            value = bound_field.value()
            if isinstance(value, bool) or bound_field.name == "DELETE":
                if value:
                    data[bound_field.html_name] = "on"
                continue
            data[bound_field.html_name] = _value(bound_field)
    for name, value in (changes or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _open_and_post(client, url, changes, formset="formset"):
    shown = client.get(url).context
    data = {}
    for name in formset.split(","):
        data.update(rows_as_shown(shown[name], changes))
    return client.post(url, data)


def _page(response):
    return html.unescape(response.content.decode())


def _error_beside(page, field_id):
    return f'id="error_1_id_{field_id}"' in page


# --- Who may open the setup pages --------------------------------------------------------------

PAGES = ["core:setup", "core:setup_clinic", "core:setup_hours", "core:setup_closures", "core:setup_rooms"]


@pytest.fixture
def every_setup_url(alice):
    return [reverse(name) for name in PAGES] + [reverse("core:setup_practitioner", args=[alice.pk])]


def test_only_the_clinic_admin_opens_the_setup_pages(client, alice_client, sam_client, pat_client, every_setup_url):
    for url in every_setup_url:
        assert sam_client.get(url).status_code == 200, url
        assert alice_client.get(url).status_code == 403, url
        assert pat_client.get(url).status_code == 403, url
        anonymous = client.get(url)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("login"))


def test_nobody_but_the_clinic_admin_can_write_by_crafting_a_post(alice_client, pat_client, every_setup_url):
    for url in every_setup_url:
        assert alice_client.post(url, {"name": "Taken over"}).status_code == 403
        assert pat_client.post(url, {"name": "Taken over"}).status_code == 403
    assert Clinic.current().name != "Taken over"


def test_the_practitioner_page_is_not_found_for_anyone_who_is_not_a_practitioner(sam_client, sam, pat):
    for pk in (sam.pk, pat.user.pk, 999_999):
        assert sam_client.get(reverse("core:setup_practitioner", args=[pk])).status_code == 404


def test_the_setup_page_is_in_the_clinic_admins_navigation(sam_client):
    page = _page(sam_client.get(reverse("core:setup")))
    assert 'href="/setup/"' in page
    assert 'aria-current="page"' in page


# --- The overview -----------------------------------------------------------------------------


def test_overview_says_what_is_missing_on_a_fresh_install(sam_client):
    page = _page(sam_client.get(reverse("core:setup")))
    assert "No opening hours yet" in page
    assert "No closures planned" in page
    assert "No rooms yet" in page
    assert "No practitioner accounts yet" in page


def test_overview_shows_the_clinic_its_week_closures_rooms_and_practitioners(sam_client, alice):
    clinic = Clinic.current()
    clinic.name, clinic.phone = "Nova Clinic", "+90 212 555 01 23"
    clinic.save()
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(13))
    OpeningHours.objects.create(weekday=0, starts=T(14), ends=T(19))
    Closure.objects.create(starts_on=_day(3), ends_on=_day(4), reason="Republic Day")
    Closure.objects.create(starts_on=_day(-30), ends_on=_day(-29), reason="Long gone")
    Room.objects.create(name="Room 1")
    Room.objects.create(name="Old room", is_active=False)
    for weekday in range(5):
        WorkingHours.objects.create(practitioner=alice, weekday=weekday, starts=T(9), ends=T(18))
    Absence.objects.create(practitioner=alice, starts_on=_day(10), ends_on=_day(12), reason="Congress")

    page = _page(sam_client.get(reverse("core:setup")))

    assert "Nova Clinic" in page and "+90 212 555 01 23" in page
    assert "09:00–13:00, 14:00–19:00" in page
    assert "Closed" in page  # the other six days
    assert "Republic Day" in page and "Long gone" not in page
    assert "Room 1" in page and "Not in use" in page
    assert "Dr. Alice Hart" in page
    assert "Mon–Fri 09:00–18:00" in page
    assert "Congress" in page
    assert "outside opening hours" in page  # Tue–Fri she works while the clinic is closed
    for name in ("core:setup_clinic", "core:setup_hours", "core:setup_closures", "core:setup_rooms"):
        assert f'href="{reverse(name)}"' in page
    assert f'href="{reverse("core:setup_practitioner", args=[alice.pk])}"' in page


# --- The clinic's details ---------------------------------------------------------------------

CLINIC = {
    "name": "Nova Mesotherapy Clinic",
    "phone": "+90 212 555 01 23",
    "email": "care@nova.example",
    "address": "Halaskargazi Cd. 120",
    "timezone": "Europe/Istanbul",
}


def test_clinic_admin_edits_the_clinic_and_every_page_shows_it_at_once(sam_client):
    assert current_clinic().name == "MesoClinic"  # now cached
    response = sam_client.post(reverse("core:setup_clinic"), {**CLINIC, "name": "  Nova   Clinic "})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:setup")
    assert "Clinic details saved." in _messages(response)
    clinic = Clinic.current()
    assert (clinic.name, clinic.phone, clinic.email) == ("Nova Clinic", "+90 212 555 01 23", "care@nova.example")
    assert current_clinic().name == "Nova Clinic"
    assert "Nova Clinic" in _page(sam_client.get(reverse("core:setup")))


def test_time_zone_is_chosen_from_a_sorted_list_with_the_current_one_selected(sam_client):
    page = _page(sam_client.get(reverse("core:setup_clinic")))
    assert '<option value="Europe/Istanbul" selected>' in page
    assert page.index('value="Europe/Berlin"') < page.index('value="Europe/Istanbul"')
    assert page.index('value="America/New_York"') < page.index('value="Europe/Berlin"')


def test_changing_the_time_zone_warns_and_asks_to_confirm_before_saving(sam_client):
    response = sam_client.post(reverse("core:setup_clinic"), {**CLINIC, "timezone": "Europe/London"})
    assert response.status_code == 200
    page = _page(response)
    assert "Existing appointments keep their moment in time" in page
    assert "future series are planned in the new zone" in page
    assert _error_beside(page, "confirm_timezone")
    assert '<option value="Europe/London" selected>' in page
    assert Clinic.current().timezone == "Europe/Istanbul"

    response = sam_client.post(
        reverse("core:setup_clinic"), {**CLINIC, "timezone": "Europe/London", "confirm_timezone": "on"}
    )
    assert response.status_code == 302
    assert Clinic.current().timezone == "Europe/London"
    assert current_clinic().timezone == "Europe/London"
    assert any("now plans in Europe/London" in message for message in _messages(response))


def test_saving_without_changing_the_time_zone_asks_nothing(sam_client):
    response = sam_client.post(reverse("core:setup_clinic"), CLINIC)
    assert response.status_code == 302
    assert not any("now plans in" in message for message in _messages(response))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "Enter the clinic's name."),
        ("phone", "", "Enter the phone number patients should call."),
        ("phone", "call us", "digits, spaces"),
        ("phone", "123", "6 to 15 digits"),
        ("email", "care@", "Enter a valid email address"),
        ("timezone", "Mars/Olympus_Mons", "is not a time zone we know"),
        ("timezone", "", "Choose the clinic's time zone."),
    ],
)
def test_bad_clinic_details_are_refused_beside_the_field_and_the_rest_is_kept(sam_client, field, value, message):
    response = sam_client.post(reverse("core:setup_clinic"), {**CLINIC, field: value})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    page = _page(response)
    assert _error_beside(page, field)
    for other in ("name", "phone", "email"):
        if other != field:
            assert f'value="{CLINIC[other]}"' in page
    assert Clinic.current().name == "MesoClinic"


# --- Opening hours ----------------------------------------------------------------------------

HOURS = reverse("core:setup_hours")


def test_an_empty_week_offers_a_row_for_each_day(sam_client):
    formset = sam_client.get(HOURS).context["formset"]
    assert [form["weekday"].value() for form in formset] == [0, 1, 2, 3, 4, 5, 6]


def test_clinic_admin_sets_opening_hours_with_a_lunch_break(sam_client):
    response = _open_and_post(
        sam_client,
        HOURS,
        {
            "hours-0-starts": "09:00",
            "hours-0-ends": "13:00",
            "hours-1-weekday": "0",
            "hours-1-starts": "13:00",
            "hours-1-ends": "19:00",
            "hours-5-starts": "10:00",
            "hours-5-ends": "16:00",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:setup")
    assert "Opening hours saved." in _messages(response)
    assert [str(hours) for hours in OpeningHours.objects.all()] == [
        "Monday 09:00-13:00",
        "Monday 13:00-19:00",
        "Saturday 10:00-16:00",
    ]


def test_opening_hours_can_be_changed_and_removed(sam_client):
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(19))
    OpeningHours.objects.create(weekday=6, starts=T(10), ends=T(14))
    response = _open_and_post(sam_client, HOURS, {"hours-0-ends": "18:00", "hours-1-DELETE": "on"})
    assert response.status_code == 302
    assert [str(hours) for hours in OpeningHours.objects.all()] == ["Monday 09:00-18:00"]


def test_closing_before_opening_is_refused_beside_the_field_and_kept(sam_client):
    response = _open_and_post(sam_client, HOURS, {"hours-0-starts": "17:00", "hours-0-ends": "08:00"})
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "hours-0-ends")
    assert "Must be after the start." in page
    assert 'value="17:00"' in page and 'value="08:00"' in page
    assert not OpeningHours.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"hours-0-starts": "09:00"}, "hours-0-ends", "Enter the end time."),
        ({"hours-0-starts": "nine", "hours-0-ends": "18:00"}, "hours-0-starts", "Enter a time such as 09:00."),
        ({"hours-0-weekday": "9", "hours-0-starts": "09:00", "hours-0-ends": "18:00"}, "hours-0-weekday", "valid"),
    ],
)
def test_incomplete_or_crafted_hours_are_refused_beside_the_field(sam_client, changes, field_id, message):
    response = _open_and_post(sam_client, HOURS, changes)
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, field_id)
    assert message in page
    assert not OpeningHours.objects.exists()


def test_overlapping_hours_on_one_day_are_refused_naming_the_day(sam_client):
    OpeningHours.objects.create(weekday=2, starts=T(9), ends=T(13))
    response = _open_and_post(
        sam_client, HOURS, {"hours-1-weekday": "2", "hours-1-starts": "12:00", "hours-1-ends": "18:00"}
    )
    assert response.status_code == 200
    formset = response.context["formset"]
    assert formset.non_form_errors() == ["Wednesday: 09:00–13:00 and 12:00–18:00 overlap."]
    page = _page(response)
    assert "Wednesday: 09:00–13:00 and 12:00–18:00 overlap." in page
    assert _error_beside(page, "hours-1-starts")
    assert 'value="12:00"' in page
    assert OpeningHours.objects.count() == 1


def test_a_short_range_does_not_hide_a_long_one_it_sits_inside(sam_client):
    OpeningHours.objects.create(weekday=1, starts=T(9), ends=T(18))
    OpeningHours.objects.create(weekday=1, starts=T(10), ends=T(11))
    response = _open_and_post(
        sam_client, HOURS, {"hours-2-weekday": "1", "hours-2-starts": "12:00", "hours-2-ends": "13:00"}
    )
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors() == [
        "Tuesday: 09:00–18:00 and 10:00–11:00 overlap.",
        "Tuesday: 09:00–18:00 and 12:00–13:00 overlap.",
    ]


def test_the_same_hours_on_different_days_do_not_overlap(sam_client):
    response = _open_and_post(
        sam_client,
        HOURS,
        {
            f"hours-{day}-{field}": value
            for day in range(3)
            for field, value in (("starts", "09:00"), ("ends", "18:00"))
        },
    )
    assert response.status_code == 302
    assert OpeningHours.objects.count() == 3


def test_a_removed_row_does_not_count_as_an_overlap(sam_client):
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(19))
    response = _open_and_post(
        sam_client,
        HOURS,
        {"hours-0-DELETE": "on", "hours-1-weekday": "0", "hours-1-starts": "10:00", "hours-1-ends": "18:00"},
    )
    assert response.status_code == 302
    assert [str(hours) for hours in OpeningHours.objects.all()] == ["Monday 10:00-18:00"]


# --- Closures ---------------------------------------------------------------------------------

CLOSURES = reverse("core:setup_closures")


def test_clinic_admin_adds_a_closure(sam_client):
    response = _open_and_post(
        sam_client,
        CLOSURES,
        {"closures-0-starts_on": _day(5), "closures-0-ends_on": _day(5), "closures-0-reason": "Public holiday"},
    )
    assert response.status_code == 302
    assert "Closures saved." in _messages(response)
    closure = Closure.objects.get()
    assert (closure.starts_on.isoformat(), closure.ends_on.isoformat(), closure.reason) == (
        _day(5),
        _day(5),
        "Public holiday",
    )


def test_a_one_day_closure_needs_only_its_first_day(sam_client):
    response = _open_and_post(sam_client, CLOSURES, {"closures-0-starts_on": _day(5)})
    assert response.status_code == 302
    closure = Closure.objects.get()
    assert closure.starts_on == closure.ends_on


def test_a_closure_without_a_first_day_is_refused_and_the_reason_kept(sam_client):
    response = _open_and_post(sam_client, CLOSURES, {"closures-0-reason": "Bayram"})
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "closures-0-starts_on")
    assert "Enter the first day." in page
    assert 'value="Bayram"' in page


def test_a_closure_that_ends_before_it_starts_is_refused_and_kept(sam_client):
    response = _open_and_post(
        sam_client,
        CLOSURES,
        {"closures-0-starts_on": _day(9), "closures-0-ends_on": _day(8), "closures-0-reason": "Refurbishment"},
    )
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "closures-0-ends_on")
    assert "Cannot be before the first day." in page
    assert f'value="{_day(9)}"' in page and 'value="Refurbishment"' in page
    assert not Closure.objects.exists()


def test_a_new_closure_already_in_the_past_is_refused_as_a_likely_typo(sam_client):
    response = _open_and_post(
        sam_client, CLOSURES, {"closures-0-starts_on": _day(-400), "closures-0-ends_on": _day(-399)}
    )
    assert response.status_code == 200
    assert _error_beside(_page(response), "closures-0-ends_on")
    assert not Closure.objects.exists()


def test_past_closures_are_shown_apart_and_cannot_be_edited(sam_client):
    Closure.objects.create(starts_on=_day(-20), ends_on=_day(-18), reason="Last month")
    Closure.objects.create(starts_on=_day(20), ends_on=_day(21), reason="Next month")
    response = sam_client.get(CLOSURES)
    assert [form.instance.reason for form in response.context["formset"].initial_forms] == ["Next month"]
    assert [closure.reason for closure in response.context["past"]] == ["Last month"]
    assert "Last month" in _page(response)


def test_a_closure_can_be_removed(sam_client):
    Closure.objects.create(starts_on=_day(20), ends_on=_day(21), reason="Cancelled")
    response = _open_and_post(sam_client, CLOSURES, {"closures-0-DELETE": "on"})
    assert response.status_code == 302
    assert not Closure.objects.exists()


# --- Rooms ------------------------------------------------------------------------------------

ROOMS = reverse("core:setup_rooms")


def test_clinic_admin_adds_and_renames_rooms(sam_client):
    Room.objects.create(name="Room 1")
    response = _open_and_post(
        sam_client, ROOMS, {"rooms-0-name": "Room A", "rooms-1-name": "Room B", "rooms-1-is_active": "on"}
    )
    assert response.status_code == 302
    assert "Rooms saved." in _messages(response)
    assert [(room.name, room.is_active) for room in Room.objects.all()] == [("Room A", True), ("Room B", True)]


def test_a_room_is_taken_out_of_use_not_deleted(sam_client):
    Room.objects.create(name="Room 1")
    response = _open_and_post(sam_client, ROOMS, {"rooms-0-is_active": None})
    assert response.status_code == 302
    room = Room.objects.get()
    assert not room.is_active
    assert "Not in use" in _page(sam_client.get(reverse("core:setup")))


def test_rooms_cannot_be_deleted_even_by_a_crafted_post(sam_client):
    Room.objects.create(name="Room 1")
    page = _page(sam_client.get(ROOMS))
    assert "DELETE" not in page
    response = _open_and_post(sam_client, ROOMS, {"rooms-0-DELETE": "on"})
    assert response.status_code == 302
    assert Room.objects.filter(name="Room 1", is_active=True).exists()


@pytest.mark.parametrize("typed", ["room 1", "ROOM 1", "  Room   1 "])
def test_a_room_name_already_taken_in_any_case_is_refused_and_kept(sam_client, typed):
    Room.objects.create(name="Room 1")
    response = _open_and_post(sam_client, ROOMS, {"rooms-1-name": typed, "rooms-1-is_active": "on"})
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "rooms-1-name")
    assert "There is already a room called “Room 1”." in page
    assert f'value="{typed}"' in page
    assert Room.objects.count() == 1


def test_two_new_rooms_with_the_same_name_are_refused(sam_client):
    response = _open_and_post(
        sam_client, ROOMS, {"rooms-0-name": "Laser room", "rooms-1-name": "laser ROOM", "rooms-1-is_active": "on"}
    )
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "rooms-1-name")
    assert "entered twice" in page
    assert not Room.objects.exists()


def test_a_room_may_change_the_case_of_its_own_name(sam_client):
    Room.objects.create(name="laser room")
    response = _open_and_post(sam_client, ROOMS, {"rooms-0-name": "Laser Room"})
    assert response.status_code == 302
    assert Room.objects.get().name == "Laser Room"


def test_a_room_name_cannot_be_emptied(sam_client):
    Room.objects.create(name="Room 1")
    response = _open_and_post(sam_client, ROOMS, {"rooms-0-name": "  "})
    assert response.status_code == 200
    assert _error_beside(_page(response), "rooms-0-name")
    assert "Enter the room's name." in _page(response)
    assert Room.objects.get().name == "Room 1"


# --- A practitioner's working hours and absences ---------------------------------------------


@pytest.fixture
def alice_url(alice):
    return reverse("core:setup_practitioner", args=[alice.pk])


def _post_rota(client, url, changes):
    return _open_and_post(client, url, changes, formset="hours,absences")


def test_clinic_admin_sets_a_practitioners_hours_and_absence(sam_client, alice, alice_url):
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(19))
    response = _post_rota(
        sam_client,
        alice_url,
        {
            "hours-0-starts": "09:00",
            "hours-0-ends": "18:00",
            "absences-0-starts_on": _day(7),
            "absences-0-ends_on": _day(9),
            "absences-0-reason": "Congress",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:setup")
    assert [str(hours) for hours in alice.working_hours.all()] == ["Dr. Alice Hart Monday 09:00-18:00"]
    assert [absence.reason for absence in alice.absences.all()] == ["Congress"]
    assert not any("outside" in message for message in _messages(response))


def test_hours_outside_opening_hours_are_saved_with_a_warning(sam_client, alice, alice_url):
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(13))
    OpeningHours.objects.create(weekday=0, starts=T(13), ends=T(17))
    response = _post_rota(
        sam_client,
        alice_url,
        {"hours-0-starts": "08:00", "hours-0-ends": "17:00", "hours-1-starts": "09:00", "hours-1-ends": "12:00"},
    )
    assert response.status_code == 302
    assert alice.working_hours.count() == 2
    warning = next(message for message in _messages(response) if "outside" in message)
    assert "Monday 08:00–17:00: the clinic is open 09:00–13:00, 13:00–17:00." in warning
    assert "Tuesday 09:00–12:00: the clinic is closed on Tuesdays." in warning
    page = _page(sam_client.get(alice_url))
    assert "Some working hours fall outside the clinic's opening hours." in page


def test_hours_inside_opening_hours_with_a_lunch_break_are_not_flagged(sam_client, alice, alice_url):
    OpeningHours.objects.create(weekday=0, starts=T(9), ends=T(13))
    OpeningHours.objects.create(weekday=0, starts=T(14), ends=T(19))
    WorkingHours.objects.create(practitioner=alice, weekday=0, starts=T(9), ends=T(12))
    WorkingHours.objects.create(practitioner=alice, weekday=0, starts=T(14), ends=T(19))
    assert sam_client.get(alice_url).context["outside"] == []
    WorkingHours.objects.create(practitioner=alice, weekday=0, starts=T(12), ends=T(14))
    assert sam_client.get(alice_url).context["outside"] == [
        "Monday 12:00–14:00: the clinic is open 09:00–13:00, 14:00–19:00."
    ]


def test_overlapping_working_hours_are_refused_naming_the_day(sam_client, alice, alice_url):
    WorkingHours.objects.create(practitioner=alice, weekday=4, starts=T(9), ends=T(18))
    response = _post_rota(
        sam_client, alice_url, {"hours-1-weekday": "4", "hours-1-starts": "17:00", "hours-1-ends": "20:00"}
    )
    assert response.status_code == 200
    page = _page(response)
    assert "Friday: 09:00–18:00 and 17:00–20:00 overlap." in page
    assert _error_beside(page, "hours-1-starts")
    assert alice.working_hours.count() == 1


def test_a_bad_absence_is_refused_beside_the_field_and_nothing_is_saved(sam_client, alice, alice_url):
    response = _post_rota(
        sam_client,
        alice_url,
        {
            "hours-0-starts": "09:00",
            "hours-0-ends": "18:00",
            "absences-0-starts_on": _day(9),
            "absences-0-ends_on": _day(7),
            "absences-0-reason": "Holiday",
        },
    )
    assert response.status_code == 200
    page = _page(response)
    assert _error_beside(page, "absences-0-ends_on")
    assert 'value="Holiday"' in page and 'value="09:00"' in page
    assert not alice.working_hours.exists()
    assert not alice.absences.exists()


def test_the_rota_page_edits_only_that_practitioners_rows(sam_client, alice, alice_url):
    other = PractitionerFactory(username="bob")
    WorkingHours.objects.create(practitioner=other, weekday=0, starts=T(9), ends=T(18))
    Absence.objects.create(practitioner=other, starts_on=_day(1), ends_on=_day(2))
    Absence.objects.create(practitioner=alice, starts_on=_day(-9), ends_on=_day(-8), reason="Past")
    response = sam_client.get(alice_url)
    assert not response.context["hours"].initial_forms
    assert not response.context["absences"].initial_forms
    response = _post_rota(sam_client, alice_url, {"hours-0-starts": "12:00", "hours-0-ends": "13:00"})
    assert response.status_code == 302
    assert other.working_hours.get().starts == T(9)
    assert other.absences.count() == 1
    assert alice.absences.get().reason == "Past"


def test_another_practitioners_row_cannot_be_edited_by_a_crafted_post(sam_client, alice, alice_url):
    WorkingHours.objects.create(practitioner=alice, weekday=0, starts=T(9), ends=T(18))
    other = PractitionerFactory(username="bob")
    theirs = WorkingHours.objects.create(practitioner=other, weekday=0, starts=T(9), ends=T(18))
    response = _post_rota(
        sam_client,
        alice_url,
        {"hours-0-id": str(theirs.pk), "hours-0-starts": "06:00", "hours-0-ends": "07:00"},
    )
    assert response.status_code in (200, 302)  # Django drops a row it did not offer
    theirs.refresh_from_db()
    assert (theirs.practitioner, theirs.starts, theirs.ends) == (other, T(9), T(18))
    assert [(hours.starts, hours.ends) for hours in alice.working_hours.all()] == [(T(9), T(18))]


@pytest.mark.parametrize("url_name", ["core:setup_hours", "core:setup_closures", "core:setup_rooms"])
def test_a_post_without_the_formsets_bookkeeping_is_refused_not_a_crash(sam_client, url_name):
    response = sam_client.post(reverse(url_name), {"anything": "at all"})
    assert response.status_code == 200
    assert "Nothing was saved yet" in _page(response)
