from playwright.sync_api import expect

from tests.builders import signed_session
from tests.e2e.conftest import login


def test_patient_logs_in_opens_her_sheet_prints_it_and_downloads_the_pdf(page, screenshot, clinic, alice, room, pat):
    session = signed_session(alice, room, pat, areas=("face", "neck"), events=("bruising",), medications=("ibuprofen",))
    login(page, "pat")
    expect(page.get_by_role("heading", name="My aftercare")).to_be_visible()
    expect(page.get_by_text("Your next session")).to_be_visible()
    screenshot("mine")
    page.get_by_role("link", name="Read").first.click()
    sheet = page.locator("article.sheet")
    expect(sheet.get_by_role("heading", name="Your aftercare")).to_be_visible()
    expect(sheet).to_contain_text("Stay out of strong sun")
    expect(sheet).to_contain_text("We saw some bruising today")
    expect(sheet).to_contain_text(clinic.phone or "Call us")
    screenshot("sheet")

    page.emulate_media(media="print")
    expect(page.locator(".app-navbar")).to_be_hidden()
    expect(page.locator(".sheet-actions")).to_be_hidden()
    screenshot("printed")
    page.emulate_media(media="screen")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot("phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = download.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert pdf.path().read_bytes().startswith(b"%PDF")
    assert session.aftercare_sheet.pk
