"""Dr. Alice reaches Ayla's aftercare sheets from her record: opens one to print, downloads
the PDF, emails Ayla a fresh link, then switches the emailed links off, and the link Ayla
holds answers "this link no longer works"."""

import subprocess
import tempfile
from pathlib import Path

from django.core import mail
from playwright.sync_api import expect

from tests.builders import signed_session
from tests.e2e.conftest import SCREENSHOTS, login


def _token(email):
    [url] = [line for line in email.body.splitlines() if "/aftercare/link/" in line]
    return url[url.index("/aftercare/link/") :].split("/")[3]


def test_staff_print_download_resend_and_revoke_a_patients_sheet(
    page, browser, live_server, screenshot, clinic, alice, room, patient
):
    # Signing the chart makes the sheet and emails Ayla her link (tasks run at once here).
    session = signed_session(alice, room, patient, areas=("face", "neck"), events=("bruising",))
    sheet = session.aftercare_sheet
    [first_email] = mail.outbox
    # The print dialog cannot be seen headless: count the calls instead.
    page.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")

    login(page, "alice")
    page.goto(f"/patients/{patient.pk}/")
    section = page.locator("#aftercare")
    row = section.locator(f"#sheet-{sheet.pk}")
    expect(section.get_by_role("heading", name="Aftercare sheets")).to_be_visible()
    expect(row).to_contain_text("Skin rejuvenation, session 1 of")
    expect(row).to_contain_text("In English")
    expect(row).to_contain_text("Emailed")
    expect(row).to_contain_text("Link works")
    section.scroll_into_view_if_needed()
    screenshot("patient-page")

    # Print: the sheet opens and asks for the print dialog by itself.
    row.get_by_role("link", name="Print").click()
    expect(page.locator("article.sheet")).to_contain_text("We saw some bruising today")
    page.wait_for_function("window.__printed === 1")
    page.emulate_media(media="print")
    expect(page.locator(".sheet-actions")).to_be_hidden()
    expect(page.locator("#aftercare")).to_be_hidden()  # the staff's email/link card is not printed
    page.emulate_media(media="screen")
    screenshot("sheet-page")

    # PDF, from the patient page.
    page.goto(f"/patients/{patient.pk}/")
    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and download.value.suggested_filename.endswith(".pdf")
    SCREENSHOTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        prefix = SCREENSHOTS / "staff-sheet-pdf"
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(source), str(prefix)], check=True)
        text = subprocess.run(["pdftotext", str(source), "-"], check=True, capture_output=True, text=True).stdout
    assert "Your aftercare" in text and patient.display_name in text

    # Resend: Ayla gets a fresh link; the row says it went.
    row.get_by_role("button", name="Resend link").click()
    expect(page.locator(".messages")).to_contain_text(f"on its way to {patient.email}")
    assert len(mail.outbox) == 2
    fresh = _token(mail.outbox[1])
    assert fresh != _token(first_email)
    expect(page.locator(f"#sheet-{sheet.pk}")).to_contain_text("Link works")

    # Revoke asks first, then switches every emailed link off.
    row = page.locator(f"#sheet-{sheet.pk}")
    confirm = row.get_by_role("button", name="Switch the link off")
    expect(confirm).to_be_hidden()
    row.get_by_text("Revoke link").click()
    expect(row).to_contain_text("The patient can still sign in to read the sheet")
    screenshot("revoke-confirm", full_page=False)
    confirm.click()
    expect(page.locator(".messages")).to_contain_text("2 emailed links switched off")
    expect(page.locator(f"#sheet-{sheet.pk}")).to_contain_text("Link switched off")
    expect(page.locator(f"#sheet-{sheet.pk}").get_by_text("Revoke link")).to_have_count(0)
    screenshot("revoked")

    # The link in Ayla's email, on her phone, signed in as nobody.
    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    try:
        ayla = phone.new_page()
        for token in (fresh, _token(first_email)):
            response = ayla.goto(f"/aftercare/link/{token}/")
            assert response.status == 410
            expect(ayla.get_by_role("heading", name="This link was switched off")).to_be_visible()
            assert "This link no longer works" in ayla.title()
            expect(ayla.get_by_role("link", name="Sign in")).to_be_visible()
            assert patient.display_name not in ayla.content()
        ayla.screenshot(path=str(SCREENSHOTS / "staff-sheets-revoked-link-phone.png"), full_page=True)
    finally:
        phone.close()
