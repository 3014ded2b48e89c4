import datetime
import re

from playwright.sync_api import expect

from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.treatment_sessions.models import Chart, SessionStatus, TreatmentSession
from tests.builders import PatientFactory, booked_long_ago, consented, covering, plan_for, screened, session_at
from tests.e2e.conftest import login


def test_practitioner_rechecks_and_charts_with_a_lot_and_an_adverse_event_then_sees_it_on_the_patient_page(
    page, screenshot, clinic, alice, room
):
    patient = PatientFactory(given_name="Nur", family_name="Keskin")
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    start = now + datetime.timedelta(minutes=30)
    if start.astimezone(clinic.zone).date() != now.astimezone(clinic.zone).date():
        start = now - datetime.timedelta(minutes=50)  # near midnight: keep it on today's list
    session = booked_long_ago(session_at(plan, alice, room, start))  # every hold had time to be kept
    Product.objects.create(name="Lipo Serum", manufacturer="Meso Labs")

    # Her day starts on the Today list, where she signs in; the session is on it.
    login(page, "alice")
    expect(page).to_have_url(re.compile(r"/today/$"))
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    row = page.locator(".today-item", has_text="Nur Keskin")
    expect(row).to_contain_text(start.astimezone(clinic.zone).strftime("%H:%M"))
    expect(row).to_contain_text("Cellulite")
    expect(row).to_contain_text("Session 1 of 8")
    expect(row.locator(".badge", has_text="Holds to confirm (re-check)")).to_be_visible()
    screenshot("today")
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"{session.get_absolute_url()}$"))
    screenshot("session")
    page.get_by_role("link", name="Start the re-check").click()
    page.get_by_role("group", name="Pregnant now, or may be?").get_by_label("No").check()
    page.get_by_role("group", name="Breastfeeding now?").get_by_label("No").check()
    page.get_by_role("group", name="Kept the hold: no ibuprofen in the 7 days before today?").get_by_label(
        "Kept", exact=True
    ).check()
    page.get_by_role("group", name="Kept the hold: no alcohol in the 24 hours before today?").get_by_label(
        "Kept", exact=True
    ).check()
    page.get_by_role("group", name="Any infection, cold sore or broken skin at the treatment site?").get_by_label(
        "No"
    ).check()
    page.get_by_role("group", name="Feeling well today?").get_by_label("Yes").check()
    page.get_by_role("button", name="Run the check").click()
    expect(page.locator(".verdict-bar")).to_contain_text("Clear")
    screenshot("recheck")
    page.get_by_role("button", name="Save the re-check").click()
    expect(page.get_by_text("Re-check recorded.")).to_be_visible()

    page.get_by_role("link", name="Chart the session").click()
    page.locator("#id_areas-0-volume_ml").fill("2")
    page.locator("#id_products-0-lot_number").fill("LS-2411")
    page.locator("#id_products-0-product").select_option(label="Lipo Serum (Meso Labs)")
    page.locator("#id_products-0-expires_on").fill((datetime.date.today() + datetime.timedelta(days=200)).isoformat())
    page.locator("#id_products-0-volume_ml").fill("2")
    page.get_by_label("Bruising", exact=True).check()
    page.get_by_label("Severity of bruising").select_option("moderate")
    page.get_by_label("Notes on bruising").fill("Left outer thigh")
    screenshot("chart")
    page.get_by_label("I have checked the chart; signing locks it.").check()
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Chart signed and locked.")).to_be_visible()
    screenshot("signed")

    # Back on the day list, the session is done.
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Today").click()
    row = page.locator(".today-item", has_text="Nur Keskin")
    expect(row.locator(".badge", has_text="Completed")).to_be_visible()
    expect(row).not_to_contain_text("Holds to confirm")
    screenshot("today-done")
    row.get_by_role("link").click()

    page.get_by_role("link", name="Nur Keskin").first.click()
    sessions = page.locator("#sessions")
    expect(sessions).to_contain_text("lot LS-2411")
    expect(sessions).to_contain_text("Bruising (moderate)")
    expect(page.locator(".status-tile", has_text="Follow-ups")).to_contain_text("Bruising")
    screenshot("patient")
    chart = Chart.objects.get(session=session)
    assert chart.is_signed
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.COMPLETED
