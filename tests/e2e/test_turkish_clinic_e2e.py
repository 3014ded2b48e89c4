"""A Turkish clinic, end to end in the browser: a Turkish-speaking practitioner screens
"Ayşe Gülşen Öztürk" and plans her treatment with every page in Turkish, the patient signs
her consent in Turkish, and the printed PDF reads right to a person (drawn to an image and read
back with Tesseract's Turkish data, so wrong glyphs fail even when the text layer is right).

Labels are looked up in the Turkish catalogue (`tr`), and the clinical terms in the knowledge
base's Turkish: the test holds the pages to the translations, whatever their wording."""

import datetime
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from mesoclinic.core.models import Clinic
from mesoclinic.patients.models import Language
from mesoclinic.plans.models import Consent, ConsentClause, Plan
from mesoclinic.screening.models import Screening, Term
from tests.builders import PatientFactory
from tests.e2e.conftest import draw_signature, login

TOOLS = ("pdftoppm", "tesseract")


def tr(text):
    with translation.override("tr"):
        found = gettext(text)
    assert found != text, f"no Turkish for {text!r}"
    return found


def term(kind, code):
    return Term.objects.get(kind=kind, code=code).label_tr


@pytest.fixture
def ayse(alice):
    clinic = Clinic.current()
    clinic.timezone = "Europe/Istanbul"
    clinic.address = "Halaskargazi Cad. 1, Şişli, İstanbul"
    clinic.save()
    alice.language = "tr"
    alice.save()
    return PatientFactory(
        given_name="Ayşe Gülşen",
        family_name="Öztürk",
        preferred_language=Language.TURKISH,
        sex="female",
        date_of_birth=datetime.date(1986, 4, 12),
    )


def test_a_turkish_practitioner_screens_and_plans_and_the_patient_signs_a_turkish_consent(
    page, screenshot, alice, ayse, tmp_path
):
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"needs {', '.join(missing)}: `make ocr` installs them")
    login(page, "alice")
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    page.goto(ayse.get_absolute_url())
    expect(page.get_by_role("heading", name="Ayşe Gülşen Öztürk")).to_be_visible()
    screenshot("patient-page-tr")

    # The screening, in Turkish: a face and neck rejuvenation in two weeks, nothing to report.
    page.get_by_role("link", name=tr("Start a screening")).first.click()
    expect(page.locator("#findings .verdict-bar")).to_be_visible()
    page.get_by_label(tr("Planned treatment date")).fill(
        (datetime.date.today() + datetime.timedelta(days=14)).isoformat()
    )
    page.get_by_label(tr("What to treat")).select_option("skin_rejuvenation")
    page.get_by_label(term("area", "face"), exact=True).check()
    page.get_by_label(term("area", "neck"), exact=True).check()
    planned = page.get_by_role("group", name=tr("Planned ingredients"))
    for code in ("hyaluronic_acid", "vitamin_c", "amino_acids"):
        planned.get_by_label(term("ingredient", code), exact=True).check()
    expect(page.locator("#findings .verdict-bar")).to_be_visible()
    screenshot("screening-tr")
    body = page.locator("main").inner_text()
    for english in ("Planned treatment date", "What to treat", "Save screening", "Findings"):
        assert english not in body, f"{english!r} left in English on the Turkish screening page"
    page.get_by_role("button", name=tr("Save screening")).click()
    expect(page.locator(".alert-success")).to_be_visible()
    screening = Screening.objects.get(patient=ayse)
    assert set(screening.answers["areas"]) == {"face", "neck"}

    # The plan, on the protocol's defaults, which the screening covered.
    page.goto(ayse.get_absolute_url())
    page.get_by_role("link", name=tr("New plan")).click()
    page.wait_for_load_state()
    page.get_by_label(tr("What to treat")).select_option("skin_rejuvenation")
    expect(page.locator("#plan-builder").get_by_label(term("area", "face"), exact=True)).to_be_checked()
    page.get_by_role("button", name=tr("Save draft plan")).click()
    expect(page.locator(".gate")).to_be_visible()
    plan = Plan.objects.get(patient=ayse)
    screenshot("plan-tr")

    # The patient reads her consent in Turkish and signs it with her finger (the mouse here).
    page.get_by_role("link", name=tr("Sign consent")).click()
    document = page.locator(".consent-document")
    expect(document.locator("article")).to_have_attribute("lang", "tr")
    expect(document).to_contain_text(ConsentClause.objects.get(code="what-is-mesotherapy").heading_tr)
    form = page.locator("#consent-form")
    form.locator("input[name=photo_consent][value=yes]").check()
    form.locator("input[name=confirmed]").check()
    form.locator("input[name=signed_name]").fill("Ayşe Gülşen Öztürk")
    draw_signature(page)
    screenshot("consent-tr")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    consent = Consent.objects.get(plan=plan)
    assert consent.language == "tr"

    # The printed PDF, as a person sees it.
    response = page.request.get(reverse("plans:consent_pdf", args=[consent.pk]))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "consent.pdf"
    pdf.write_bytes(response.body())
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "200", "-png", str(pdf), str(tmp_path / "p")], check=True)
    [image] = sorted(tmp_path.glob("p-*.png"))
    seen = subprocess.run(
        ["tesseract", str(image), "-", "-l", "tur"], capture_output=True, text=True, check=True
    ).stdout
    words = " ".join(seen.split())
    for word in ("Ayşe", "Gülşen", "Öztürk", "Şişli", "İstanbul"):
        assert word in words, f"{word!r} not read back from the consent PDF: {words[:600]}"
