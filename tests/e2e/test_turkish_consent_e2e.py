"""A Turkish-speaking patient reads her consent in Turkish, draws her signature with the mouse,
signs, and the printed PDF shows what a court would look for: the drawn signature, the date and
time of signing in İstanbul, and the consent's version.

The PDF is drawn to an image (pdftoppm) and read the way a person reads it: Tesseract with the
Turkish data reads the signing line back, and the band above it, where the signature is printed
and no text is, must carry ink.
"""

import datetime
import re
import shutil
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from mesoclinic.core.models import Clinic
from mesoclinic.patients.models import Language
from mesoclinic.plans.models import Consent, ConsentClause
from tests.builders import PatientFactory, covering, plan_for, screened
from tests.e2e.conftest import SCREENSHOTS, draw_signature, login

TOOLS = ("pdftoppm", "pdftotext", "tesseract")
DPI = 150


@pytest.fixture
def ayse(alice):
    clinic = Clinic.current()
    clinic.timezone = "Europe/Istanbul"
    clinic.save()
    patient = PatientFactory(
        given_name="Ayşe Gülşen", family_name="Öztürk", preferred_language=Language.TURKISH, sex="female"
    )
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face", "neck"])
    screened(patient, alice, **covering(plan))
    return plan


def _tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"needs {', '.join(missing)}: `make ocr` installs them (poppler-utils, tesseract-ocr-tur)")


def _run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def _words_with_boxes(pdf, page_number):
    """(word, xMin, yMin, xMax, yMax) in points, from pdftotext's bounding boxes."""
    html = _run("pdftotext", "-f", str(page_number), "-l", str(page_number), "-bbox", str(pdf), "-")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in re.findall(pattern, html)]


def test_a_turkish_patient_signs_a_turkish_consent_and_the_pdf_shows_her_signature(
    page, screenshot, alice, ayse, tmp_path
):
    _tools()
    login(page, "alice")
    page.goto(reverse("plans:consent_sign", args=[ayse.pk]))
    document = page.locator(".consent-document")
    expect(document.locator("article")).to_have_attribute("lang", "tr")
    for code in ("what-is-mesotherapy", "not-fda-approved", "evidence-skin", "when-to-call"):
        expect(document).to_contain_text(ConsentClause.objects.get(code=code).heading_tr)
    expect(document).to_contain_text("Amerika Birleşik Devletleri'nde mezoterapi")
    expect(document).to_contain_text("Geleneksel ve Tamamlayıcı Tıp Uygulamaları")
    expect(document).not_to_contain_text("What mesotherapy is")

    form = page.locator("#consent-form")
    # Without a drawn signature the clinic's default refuses, beside the pad, keeping the rest.
    form.locator("input[name=photo_consent][value=yes]").check()
    form.locator("input[name=confirmed]").check()
    form.locator("input[name=signed_name]").fill("Ayşe Gülşen Öztürk")
    form.locator("button[type=submit]").click()
    expect(page.locator("#signature-error")).to_be_visible()
    expect(form.locator("input[name=signed_name]")).to_have_value("Ayşe Gülşen Öztürk")
    expect(form.locator("input[name=photo_consent][value=yes]")).to_be_checked()
    assert not Consent.objects.filter(plan=ayse).exists()

    expect(form.locator("input[name=confirmed]")).to_be_checked()
    draw_signature(page)
    screenshot("signing")
    before = timezone.now()
    form.locator("button[type=submit]").click()
    expect(page.get_by_text("Consent signed and stored.")).to_be_visible()

    consent = Consent.objects.get(plan=ayse)
    assert consent.language == "tr"
    assert bytes(consent.signature_png).startswith(b"\x89PNG")
    assert before - datetime.timedelta(seconds=5) <= consent.signed_at <= timezone.now()

    response = page.request.get(reverse("plans:consent_pdf", args=[consent.pk]))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "turkish-consent.pdf"
    pdf.write_bytes(response.body())
    last = len(PdfReader(pdf).pages)  # the signature block closes the document
    _run(
        "pdftoppm", "-f", str(last), "-l", str(last), "-r", str(DPI), "-gray", "-png", str(pdf), str(tmp_path / "page")
    )
    [image] = sorted(tmp_path.glob("page-*.png"))
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copy(image, SCREENSHOTS / "turkish-consent-pdf-last-page.png")  # for review

    # What a person reads on the printed page: the Istanbul time and the version.
    local = timezone.localtime(consent.signed_at, Clinic.current().zone)
    seen = " ".join(_run("tesseract", str(image), "-", "-l", "tur+eng").split())
    assert local.strftime("%H:%M") in seen, seen
    assert "Europe/Istanbul" in seen and "UTC+03:00" in seen, seen
    assert consent.document_sha256[:12] in seen.replace(" ", ""), seen
    assert "Öztürk" in seen, seen

    # The signature is drawn in the band just above the signer's name, where no text is.
    from PIL import Image

    words = _words_with_boxes(pdf, last)
    name = [w for w in words if w[0] == "Öztürk"][-1]
    top = name[2] * DPI / 72
    with Image.open(image) as drawn:
        band = drawn.convert("L").crop((0, int(top - 2.6 / 2.54 * DPI), drawn.width, int(top - 0.3 / 2.54 * DPI)))
        ink = sum(1 for value in band.tobytes() if value < 100)
    assert ink > 100, f"no signature drawn above the name on {image}"
    assert not [w for w in words if top - 2.6 / 2.54 * DPI < w[4] * DPI / 72 < top - 0.3 / 2.54 * DPI]
