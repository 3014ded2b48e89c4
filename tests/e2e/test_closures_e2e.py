"""The clinic admin closes a day that has two sessions booked (issue 14, item 4): the sessions are
listed, one is moved to a proposed time and the other cancelled, the calendar shades the day, and
the cancelled session's reminders are no longer due. The calendar's tiles show all their text on a
phone and on a desktop (item 9)."""

import datetime

from playwright.sync_api import expect

from mesoclinic.core.models import Closure
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus, SessionStatus
from mesoclinic.treatment_sessions.scheduling.services import series_book
from tests.builders import active_plan, local, next_monday
from tests.e2e.conftest import login

# The tiles whose text does not fit: a line below the tile's bottom, or cut short (an ellipsis:
# a line wider inside than it is shown). [patient, what is wrong]
CLIPPED_TILES = """() => [...document.querySelectorAll('.cal-session')].flatMap(tile => {
  const box = tile.getBoundingClientRect();
  const who = tile.querySelector('.cal-who').textContent;
  return [...tile.children].flatMap(part => {
    const line = part.getBoundingClientRect();
    if (line.bottom > box.bottom + 1) return [[who, 'below the tile: ' + part.textContent]];
    if (line.right > box.right + 1) return [[who, 'beside the tile: ' + part.textContent]];
    if (part.scrollWidth > part.clientWidth + 1) return [[who, 'cut short: ' + part.textContent]];
    return [];
  });
})"""


def _first_session_on(day, hour, name, practitioner, room):
    plan = active_plan(practitioner, "cellulite")
    plan.patient.given_name, plan.patient.family_name = name
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


def test_admin_closes_a_booked_day_moving_one_session_and_cancelling_the_other(
    page, screenshot, clinic, alice, sam, room
):
    day = next_monday(2)
    ayse = _first_session_on(day, 10, ("Ayşe Gülşen", "Öztürk İnceoğlu"), alice, room)
    mary = _first_session_on(day, 14, ("Mary", "O'Brien"), alice, room)
    assert Reminder.objects.filter(session=mary, status=ReminderStatus.PENDING).exists()

    login(page, "sam")
    page.get_by_role("link", name="Clinic setup").click()
    page.get_by_role("link", name="Edit closures").click()
    page.locator("[name='closures-0-starts_on']").fill(day.isoformat())
    page.locator("[name='closures-0-reason']").fill("Water leak")
    page.get_by_role("button", name="Save closures").click()

    expect(page.get_by_role("heading", name="2 sessions are booked on these days")).to_be_visible()
    cards = page.locator("fieldset.closure-session")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Ayşe Gülşen Öztürk İnceoğlu")
    expect(cards.nth(0)).to_contain_text("10:00–10:45")
    expect(cards.nth(0)).to_contain_text("Dr. Alice Hart")
    expect(cards.nth(0)).to_contain_text("Room 1")
    expect(cards.nth(1)).to_contain_text("Mary O'Brien")
    assert Closure.objects.count() == 0, "nothing is saved before the admin chooses"
    screenshot("choices")

    proposal = cards.nth(0).get_by_role("radio", name="Move to").first
    proposed = proposal.get_attribute("value").removeprefix("move-")
    proposal.check()
    cards.nth(1).get_by_role("radio", name="Cancel the session").check()
    page.get_by_role("button", name="Close and apply these choices").click()

    expect(page.get_by_text("Moved 1 session.")).to_be_visible()
    expect(page.get_by_text("Cancelled 1 session: its reminders will not be sent.")).to_be_visible()
    expect(page.get_by_text("Closures saved.")).to_be_visible()

    ayse.refresh_from_db()
    mary.refresh_from_db()
    moved_to = wall_clock(ayse.starts_at, clinic_zone())
    assert moved_to == datetime.datetime.fromisoformat(proposed)
    assert mary.status == SessionStatus.CANCELLED
    # Her reminders are no longer due; the notice telling her of the cancellation went (or goes).
    assert not Reminder.objects.filter(session=mary, status=ReminderStatus.PENDING).exclude(kind="change").exists()
    assert Reminder.objects.filter(session=mary, kind="change").exclude(status=ReminderStatus.CANCELLED).exists()
    assert Reminder.objects.filter(session=ayse, status=ReminderStatus.PENDING, kind="appointment").get().due_at == (
        ayse.starts_at - datetime.timedelta(days=1)
    )

    # The calendar of that week: the day shaded with its reason; the moved session where it went.
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/calendar/?view=week&by=practitioner&practitioner={alice.pk}&date={day.isoformat()}")
        expect(page.locator(".cal-shade").filter(has_text="Closed: Water leak")).to_be_visible()
        expect(page.locator(".cal-session")).to_have_count(0 if moved_to.date() < day else 1)
        page.goto(f"/calendar/?view=week&by=practitioner&practitioner={alice.pk}&date={moved_to.date().isoformat()}")
        tile = page.locator(".cal-session").filter(has_text="Ayşe Gülşen Öztürk İnceoğlu")
        expect(tile).to_contain_text(f"{moved_to:%H:%M}")
        expect(page.locator(".cal-session").filter(has_text="Mary O'Brien")).to_have_count(0)
        assert page.evaluate(CLIPPED_TILES) == [], f"tile text cut off at {width} px"
        screenshot(f"calendar-{width}")


def test_side_by_side_week_tiles_show_all_their_text_on_a_phone_and_a_desktop(
    page, screenshot, clinic, alice, sam, room
):
    day = next_monday(2)
    for hour, name in ((9, ("Ayşe Gülşen", "Öztürk İnceoğlu")), (11, ("Mary", "O'Brien")), (15, ("Şükrü", "Çelik"))):
        _first_session_on(day, hour, name, alice, room)
    login(page, "sam")
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        for view in ("week", "week_all", "day"):
            page.goto(f"/calendar/?view={view}&by=practitioner&date={day.isoformat()}")
            expect(page.locator(".cal-session")).to_have_count(3)
            assert page.evaluate(CLIPPED_TILES) == [], f"tile text cut off in the {view} view at {width} px"
        screenshot(f"side-by-side-{width}")


def test_the_choices_and_the_shaded_calendar_pass_the_accessibility_scan(axe_page, clinic, alice, sam, room):
    from tests.e2e.test_accessibility_e2e import FAILING_IMPACTS, axe, describe

    page = axe_page
    day = next_monday(2)
    _first_session_on(day, 10, ("Ayşe", "Öztürk"), alice, room)
    Closure.objects.create(starts_on=day + datetime.timedelta(days=1), ends_on=day + datetime.timedelta(days=1))
    login(page, "sam")
    page.goto("/setup/closures/")
    page.locator("[name='closures-1-starts_on']").fill(day.isoformat())
    page.get_by_role("button", name="Save closures").click()
    page.get_by_role("button", name="Close and apply these choices").click()  # nothing chosen: errors shown
    expect(page.get_by_text("Choose what to do with this session.")).to_be_visible()
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        found = [v for v in axe(page) if v["impact"] in FAILING_IMPACTS]
        assert not found, describe(found)
    page.goto(f"/calendar/?view=week_all&by=practitioner&date={day.isoformat()}")
    expect(page.locator(".cal-shade").first).to_be_visible()
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        found = [v for v in axe(page) if v["impact"] in FAILING_IMPACTS]
        assert not found, describe(found)
