import datetime

from playwright.sync_api import expect

from mesoclinic.screening.models import Outcome, Screening
from tests.builders import PatientFactory
from tests.e2e.conftest import login


def findings(page):
    return page.locator("#findings")


def test_practitioner_screens_aspirin_for_pain_and_sensitive_skin_acknowledges_the_warning_and_saves(
    page, screenshot, alice
):
    patient = PatientFactory(given_name="Derya", family_name="Aksu")
    login(page, "alice")
    page.goto(patient.get_absolute_url())
    page.get_by_role("link", name="Start a screening").first.click()
    expect(findings(page).locator(".verdict-bar")).to_be_visible()  # the live panel has loaded

    page.get_by_label("Planned treatment date").fill((datetime.date.today() + datetime.timedelta(days=14)).isoformat())
    expect(findings(page)).to_contain_text("Clear")
    page.get_by_label("Face", exact=True).check()
    page.get_by_label("Sensitive skin", exact=True).check()
    page.get_by_label("aspirin for pain or fever", exact=True).check()
    expect(findings(page)).to_contain_text("Caution")
    hold = findings(page).locator(".finding-hold").filter(has_text="aspirin for pain or fever (NSAID)")
    expect(hold).to_contain_text("7 days before the session")
    sensitive = findings(page).locator("article.finding", has_text="Sensitive skin")
    expect(sensitive.locator(".severity-badge")).to_have_text("Warning")
    sensitive.get_by_text("Why, and the sources").click()
    expect(sensitive.get_by_role("link", name="What Is Mesotherapy and Can It Improve My Skin")).to_be_visible()
    screenshot("findings")

    page.get_by_role("button", name="Save screening").click()
    expect(page.locator(".invalid-feedback").first).to_contain_text("Acknowledge this warning before saving.")
    for box in findings(page).get_by_label("I have considered this and will proceed with care").all():
        box.check()
    page.get_by_role("button", name="Save screening").click()

    expect(page.get_by_role("heading", name=f"Screening: {patient}")).to_be_visible()
    expect(page.get_by_text("Treat with care (warnings acknowledged)", exact=True)).to_be_visible()
    screenshot("saved")
    screening = Screening.objects.get(patient=patient)
    assert screening.outcome == Outcome.CAUTION
    assert "aspirin_for_pain" in screening.answers["medications"]


def test_a_pregnant_patient_is_deferred_and_cannot_proceed_without_an_override_reason(page, screenshot, alice):
    patient = PatientFactory(given_name="Melis", family_name="Ergin")
    login(page, "alice")
    page.goto(f"/patients/{patient.pk}/screenings/new/")
    page.get_by_label("Pregnant, or may be pregnant").check()
    expect(findings(page).locator(".verdict-bar")).to_contain_text("Defer treatment")
    pregnancy = findings(page).locator("article.finding", has_text="Pregnancy")
    expect(pregnancy.locator(".severity-badge")).to_have_text("Critical")
    screenshot("deferred")

    # No reason makes an elective treatment safe in pregnancy: there is nothing to override with.
    expect(pregnancy).to_contain_text("Cannot be overridden.")
    expect(pregnancy.get_by_label("Override reason")).to_have_count(0)

    # The screening is saved (the warning for today's missing 24 hours acknowledged), and it defers.
    for box in findings(page).get_by_label("I have considered this and will proceed with care").all():
        box.check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("Deferred", exact=True)).to_be_visible()
    page.goto(patient.get_absolute_url())
    expect(page.locator(".status-tile").first).to_contain_text("Deferred")
    screenshot("hub")
    assert Screening.objects.get(patient=patient).outcome == Outcome.DEFERRED
