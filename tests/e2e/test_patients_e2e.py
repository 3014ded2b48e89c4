import datetime

from playwright.sync_api import expect

from tests.e2e.conftest import login


def test_practitioner_adds_a_patient_fixes_a_bad_birth_date_and_finds_her(page, screenshot, alice):
    login(page, "alice")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="New patient").click()

    page.get_by_label("Given name").fill("Leyla")
    page.get_by_label("Family name").fill("Korkmaz")
    next_month = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    page.get_by_label("Date of birth").fill(next_month)
    page.get_by_label("Phone", exact=True).fill("0532 123 45 67")
    page.get_by_label("Email").fill("leyla@example.com")
    page.get_by_role("button", name="Add patient").click()

    error = page.locator("#error_1_id_date_of_birth")
    expect(error).to_have_text("The date of birth cannot be in the future.")
    # the message sits with its field, and what was typed is still there
    expect(page.locator("#div_id_date_of_birth")).to_contain_text("cannot be in the future")
    expect(page.get_by_label("Given name")).to_have_value("Leyla")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("0532 123 45 67")
    expect(page.get_by_label("Email")).to_have_value("leyla@example.com")
    screenshot("bad-birth-date")

    page.get_by_label("Date of birth").fill("1990-05-17")
    page.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("heading", name="Leyla Korkmaz")).to_be_visible()
    screenshot("patient-hub")

    page.get_by_role("link", name="Patients").first.click()
    page.get_by_label("Search patients").fill("korkm")
    result = page.locator("#patient-results").get_by_role("link", name="Leyla Korkmaz")
    expect(result).to_be_visible()
    screenshot("search")
    result.click()
    expect(page.get_by_role("heading", name="Leyla Korkmaz")).to_be_visible()
