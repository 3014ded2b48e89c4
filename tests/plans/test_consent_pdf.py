"""The signed consent as printed: the document a clinic shows a court.

It carries the signature the patient drew (not only the typed name), the moment of signing in
the clinic's own zone with that zone named, and the consent's version (the fingerprint of the
document as signed), in the language the patient signed in. The drawn signature is looked for
on the drawn page too (pdftoppm), not only in the file: the test signs in red ink, which
nothing else on a consent is printed in.
"""

import base64
import datetime
import io
import shutil
import subprocess

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw
from pypdf import PdfReader

from mesoclinic.core.models import Clinic
from mesoclinic.patients.models import Language
from mesoclinic.plans.models import Consent

pytestmark = pytest.mark.django_db

SIGNED_AT = datetime.datetime(2026, 3, 29, 0, 30, tzinfo=datetime.UTC)  # 03:30 in İstanbul


def red_signature(size=(300, 100)):
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(15, 70), (70, 15), (120, 75), (180, 25), (285, 60)], fill=(220, 0, 0, 255), width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def istanbul():
    clinic = Clinic.current()
    clinic.timezone = "Europe/Istanbul"
    clinic.save()
    return clinic


def sign(client, plan, signature):
    url = reverse("plans:consent_sign", args=[plan.pk])
    page = client.get(url)
    response = client.post(
        url,
        {
            "document_sha256": page.context["fingerprint"],
            "language": page.context["language"],
            "signed_name": plan.patient.display_name,
            "confirmed": "on",
            "photo_consent": "yes",
            "signature": signature,
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get(plan=plan)
    # Pin the moment (a signed consent cannot be changed through the model; the test sets it).
    Consent.objects.filter(pk=consent.pk).update(signed_at=SIGNED_AT)
    consent.refresh_from_db()
    return consent


def pdf_of(client, consent):
    response = client.get(reverse("plans:consent_pdf", args=[consent.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return response.content


def text_of(pdf):
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_carries_the_drawn_signature_the_istanbul_time_and_the_version(alice_client, hair_plan, istanbul):
    consent = sign(alice_client, hair_plan, red_signature())
    pdf = pdf_of(alice_client, consent)
    text = text_of(pdf)
    assert "Signed on: 29 March 2026, 03:30 (Europe/Istanbul, UTC+03:00)" in text
    assert "00:30" not in text
    assert f"Consent version: {consent.document_sha256[:12]}" in text
    assert consent.document_sha256 in text.replace(" ", "")
    assert f"Signed by the patient: {hair_plan.patient.display_name}" in text
    # The drawn signature is the file's one image, at the size it was drawn (WeasyPrint lists
    # it in every page's resources; the next test shows it is drawn on the last page only).
    images = {image.data: image for page in PdfReader(io.BytesIO(pdf)).pages for image in page.images}
    assert len(images) == 1
    assert next(iter(images.values())).image.size == (300, 100)


def test_the_drawn_signature_shows_on_the_printed_page(alice_client, hair_plan, istanbul, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("needs poppler's pdftoppm (make test installs it)")
    consent = sign(alice_client, hair_plan, red_signature())
    path = tmp_path / "consent.pdf"
    path.write_bytes(pdf_of(alice_client, consent))
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages

    def red_pixels(png):
        with Image.open(png) as image:
            raw = image.convert("RGB").tobytes()
        return sum(1 for i in range(0, len(raw), 3) if raw[i] > 150 and raw[i + 1] < 90 and raw[i + 2] < 90)

    counts = [red_pixels(png) for png in pages]
    # The last page, where the signature block is, shows the red ink; no other page has any.
    assert counts[-1] > 50, counts
    assert all(count == 0 for count in counts[:-1]), counts


def test_a_consent_signed_in_turkish_prints_in_turkish(alice_client, hair_plan, istanbul):
    hair_plan.patient.preferred_language = Language.TURKISH
    hair_plan.patient.save()
    consent = sign(alice_client, hair_plan, red_signature())
    assert consent.language == "tr"
    pdf = pdf_of(alice_client, consent)
    text = text_of(pdf)
    assert "Mezoterapi nedir" in text
    assert "Amerika Birleşik Devletleri'nde mezoterapi" in text
    assert "Geleneksel ve Tamamlayıcı Tıp Uygulamaları" in text  # the clinic's notice, in Turkish
    assert "29 Mart 2026, 03:30 (Europe/Istanbul, UTC+03:00)" in text
    assert consent.document_sha256[:12] in text
    assert "What mesotherapy is" not in text


def test_a_consent_without_a_drawn_signature_prints_the_typed_name_and_no_image(alice_client, hair_plan, istanbul):
    istanbul.consent_requires_signature = False
    istanbul.save()
    consent = sign(alice_client, hair_plan, "")
    pdf = pdf_of(alice_client, consent)
    assert not [image for page in PdfReader(io.BytesIO(pdf)).pages for image in page.images]
    assert f"Signed by the patient: {hair_plan.patient.display_name}" in text_of(pdf)


def test_a_withdrawn_consent_prints_when_it_was_withdrawn_in_clinic_time(alice_client, alice, hair_plan, istanbul):
    consent = sign(alice_client, hair_plan, red_signature())
    alice_client.post(
        reverse("plans:consent_withdraw", args=[consent.pk]), {"reason": "Changed her mind.", "confirm": "on"}
    )
    Consent.objects.filter(pk=consent.pk).update(withdrawn_at=SIGNED_AT + datetime.timedelta(days=2, hours=12))
    text = text_of(pdf_of(alice_client, Consent.objects.get(pk=consent.pk)))
    assert "Withdrawn on: 31 March 2026, 15:30: Changed her mind." in text
