from playwright.sync_api import expect

from mesoclinic.plans.models import Consent, Plan, PlanStatus
from tests.builders import PatientFactory
from tests.e2e.conftest import draw_signature, login


def test_practitioner_builds_a_hair_loss_plan_screens_for_it_signs_consent_and_activates(page, screenshot, alice):
    patient = PatientFactory(given_name="Kerem", family_name="Tan", sex="male")
    login(page, "alice")
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="New plan").click()
    page.wait_for_load_state()  # htmx must be listening before the first change

    page.get_by_label("What to treat").select_option("hair_loss")
    builder = page.locator("#plan-builder")
    expect(builder.get_by_label("Scalp", exact=True)).to_be_checked()
    expect(builder.get_by_label("Biotin", exact=True)).to_be_checked()
    expect(builder.get_by_label("Number of sessions")).to_have_value("6")
    expect(builder.get_by_label("Depth (mm)")).to_have_value("2.0")
    expect(builder.get_by_label("Days between sessions")).to_have_value("7, 7, 7, 14, 14")
    screenshot("defaults")

    # A value outside the protocol is flagged beside it; one outside what is sensible is refused.
    builder.get_by_label("Needle gauge (G)").fill("27")
    expect(page.locator("#flag-needle_gauge")).to_contain_text("27 G is outside")
    builder.get_by_label("Needle gauge (G)").fill("32")
    expect(page.locator("#flag-needle_gauge")).to_be_empty()
    builder.locator("#div_id_combinations").get_by_label("Minoxidil").check()
    page.get_by_role("button", name="Save draft plan").click()

    expect(page.get_by_role("heading", name="Hair loss plan: Kerem Tan")).to_be_visible()
    gate = page.locator(".gate")
    expect(gate).to_contain_text("no screening")
    expect(gate).to_contain_text("not signed consent")
    screenshot("gate-closed")

    gate.get_by_role("link", name="Screen for this plan").click()
    expect(page.get_by_label("Scalp", exact=True)).to_be_checked()
    expect(page.locator("#findings .verdict-bar")).to_be_visible()
    for box in page.locator("#findings").get_by_label("I have considered this and will proceed with care").all():
        box.check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("Screening saved")).to_be_visible()

    page.goto(Plan.objects.get(patient=patient).get_absolute_url())
    page.get_by_role("link", name="Sign consent").click()
    document = page.get_by_label("Consent document")
    expect(document).to_contain_text("Food and Drug Administration")
    page.get_by_label("No photos, please").check()
    page.get_by_label("I have read this document").check()
    page.get_by_label("Your full name").fill("Kerem Tan")
    draw_signature(page)
    screenshot("consent")
    page.get_by_role("button", name="Sign consent").click()

    expect(page.get_by_text("Consent signed and stored.")).to_be_visible()
    expect(page.locator(".gate")).to_contain_text("The screening covers this plan")
    page.get_by_role("button", name="Activate plan").click()
    expect(page.get_by_text("The plan is active.")).to_be_visible()
    screenshot("active")

    plan = Plan.objects.get(patient=patient)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.combinations == ["minoxidil"]
    consent = Consent.objects.get(plan=plan)
    assert consent.photo_consent is False and bytes(consent.signature_png).startswith(b"\x89PNG")
