import datetime
import itertools
import zoneinfo

from playwright.sync_api import expect

from mesoclinic.core.selectors import wall_clock
from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.scheduling.services import series_book
from tests.builders import CLINIC_ZONE, active_plan, local, next_monday
from tests.e2e.conftest import login

LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)


def test_scheduler_books_a_cellulite_series_around_a_collision_then_moves_the_third_and_following(
    page, screenshot, clinic, alice, sam, room
):
    start = next_monday(2)
    plan = active_plan(alice, "cellulite")
    plan.patient.given_name, plan.patient.family_name = "Selma", "Uçar"
    plan.patient.save()
    # Another patient already has Dr. Hart at 10:00 on the day session 3 would fall.
    busy_day = start + datetime.timedelta(days=sum(plan.intervals[:2]))
    series_book(
        plan=active_plan(alice, "cellulite"),
        practitioner=alice,
        room=room,
        local_starts=[local(busy_day, 10)],
        by=alice,
    )

    login(page, "sam")
    expect(page.get_by_role("heading", name="Calendar")).to_be_visible()
    page.get_by_role("link", name="Plans to book").click()
    page.get_by_role("row", name="Selma Uçar").get_by_role("link", name="Book sessions").click()
    page.get_by_label("First session").fill(start.isoformat())
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("Practitioner").select_option(label=alice.display_name)
    page.get_by_label("Room").select_option(label="Room 1")
    page.get_by_role("button", name="Propose again").click()  # the page proposed a first free time on arrival

    items = page.locator(".proposal-item")
    expect(items).to_have_count(8)
    conflict = page.locator(".proposal-item.is-conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Session 3")
    expect(conflict).to_contain_text("is already booked 10:00")
    expect(page.get_by_role("button", name="Book all 8 sessions")).to_be_disabled()
    screenshot("conflict")

    conflict.locator(".proposal-alternatives button").first.click()
    expect(page.locator(".proposal-item.is-conflict")).to_have_count(0)
    expect(page.locator(".proposal-item").nth(2)).to_contain_text("Changed by you")
    page.get_by_role("button", name="Book all 8 sessions").click()
    expect(page.get_by_text("Booked 8 sessions for Selma Uçar.")).to_be_visible()
    screenshot("calendar")

    sessions = list(TreatmentSession.objects.filter(plan=plan).order_by("sequence"))
    assert len(sessions) == 8
    assert wall_clock(sessions[2].starts_at, LONDON) == local(busy_day, 10, 45)  # right after the other session
    before = [wall_clock(s.starts_at, LONDON) for s in sessions]

    page.goto(sessions[2].get_absolute_url())
    page.get_by_role("link", name="Move").click()
    page.get_by_label("New date and time").fill((before[2] + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("This and the following sessions (keep the spacing)").check()
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Moved 6 sessions.")).to_be_visible()
    screenshot("moved")

    after = [wall_clock(s.starts_at, LONDON) for s in TreatmentSession.objects.filter(plan=plan).order_by("sequence")]
    assert after[:2] == before[:2]
    assert after[2:] == [moment + datetime.timedelta(days=7) for moment in before[2:]]


def test_a_series_books_in_two_clicks_from_the_list_and_a_session_too_close_is_a_conflict(
    page, screenshot, clinic, alice, sam, room
):
    plan = active_plan(alice, "cellulite", sessions_planned=6, intervals=[7] * 5)
    plan.patient.given_name, plan.patient.family_name = "Ayşe", "Öztürk"
    plan.patient.save()
    login(page, "sam")
    page.get_by_role("link", name="Plans to book").click()
    page.get_by_role("row", name="Ayşe Öztürk").get_by_role("link", name="Book sessions").click()  # click 1
    items = page.locator(".proposal-item")
    expect(items).to_have_count(6)
    expect(page.locator(".proposal-item.is-conflict")).to_have_count(0)
    expect(page.get_by_label("Practitioner")).to_have_value(str(alice.pk))  # the plan's practitioner

    # Session 2 typed two days after session 1: a conflict, with the reason and times that keep the week.
    first = datetime.datetime.fromisoformat(page.locator("#session_1").input_value())
    page.locator("#session_2").fill((first + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Check again").click()
    conflict = page.locator(".proposal-item.is-conflict")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("Only 2 days after session 1")
    expect(conflict).to_contain_text("at least 7 days between sessions")
    expect(page.get_by_role("button", name="Book all 6 sessions")).to_be_disabled()
    screenshot("spacing-conflict")
    offered = conflict.locator(".proposal-alternatives button")
    expect(offered.first).to_be_visible()
    for value in offered.evaluate_all("buttons => buttons.map(b => b.value)"):
        day = datetime.datetime.fromisoformat(value.split("|")[1]).date()
        assert (day - first.date()).days >= 7, value

    offered.first.click()
    expect(page.locator(".proposal-item.is-conflict")).to_have_count(0)
    page.get_by_role("button", name="Book all 6 sessions").click()  # click 2 without the detour
    expect(page.get_by_text("Booked 6 sessions for Ayşe Öztürk.")).to_be_visible()
    starts = [
        wall_clock(s.starts_at, LONDON).date() for s in TreatmentSession.objects.filter(plan=plan).order_by("starts_at")
    ]
    assert len(starts) == 6
    assert all((later - earlier).days >= 7 for earlier, later in itertools.pairwise(starts))


def test_moving_the_following_sessions_onto_sundays_offers_an_open_day_for_each(
    page, screenshot, clinic, alice, sam, room
):
    plan = active_plan(alice, "cellulite", sessions_planned=6, intervals=[7] * 5)
    first = next_monday()
    series_book(
        plan=plan,
        practitioner=alice,
        room=room,
        local_starts=[local(first + datetime.timedelta(weeks=n)) for n in range(6)],
        by=alice,
        too_soon_confirmed=True,
    )
    third = TreatmentSession.objects.get(plan=plan, sequence=3)
    sunday = wall_clock(third.starts_at, LONDON) + datetime.timedelta(days=6)
    login(page, "sam")
    page.goto(third.get_absolute_url())
    page.get_by_role("link", name="Move").click()
    page.get_by_label("New date and time").fill(sunday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("This and the following sessions (keep the spacing)").check()
    page.get_by_role("button", name="Move").click()
    expect(page.get_by_text("Not moved: some sessions do not fit.")).to_be_visible()
    rows = page.locator(".move-steps .list-group-item")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("tried Sun")
    expect(rows.first).to_contain_text("The clinic is not open then.")
    screenshot("move-proposals")
    page.get_by_role("button", name="Move with these times").click()
    expect(page.get_by_text("Moved 4 sessions.")).to_be_visible()
    days = [
        wall_clock(s.starts_at, LONDON).date() for s in TreatmentSession.objects.filter(plan=plan).order_by("starts_at")
    ]
    assert all(day.weekday() != 6 for day in days)
    assert all((later - earlier).days >= 7 for earlier, later in itertools.pairwise(days))
