"""What a person sees in a PDF, not its text layer.

Turkish PDFs once printed "Ayşe" as "AyÞe" and "Şişli, İstanbul" as "ŸiÞli, ²stanbul" while their
text layer was right, so every test reading the text passed. WeasyPrint keys a PDF's fonts by
family, weight and style: the Latin and Latin Extended files of Noto Sans under one family name
became one PDF font, and the glyph numbers of one file were drawn from the other (static/css/pdf.css).

Here the PDFs a Turkish patient gets are drawn to images (poppler's pdftoppm) and read back by
Tesseract with Debian's Turkish data, and their fonts are listed with pdffonts: only Noto Sans,
the app's own copy, embedded. `make ocr` (part of `make test`) installs the tools; without them the
test is skipped on a laptop and fails in CI (CI=1), like the tests marked `postgres`.
"""

import base64
import datetime
import io
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from mesoclinic.aftercare.services import sheet_for
from mesoclinic.core import pdf
from mesoclinic.core.pdf import html_to_pdf, pdf_stylesheet
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Language
from mesoclinic.plans.consent import consent_document
from mesoclinic.plans.services import consent_sign, plan_activate
from tests.builders import (
    PatientFactory,
    PatientUserFactory,
    booked_long_ago,
    charted,
    covering,
    moment,
    plan_for,
    rechecked,
    screened,
    session_at,
)

PATIENT = ("Ayşe Gülşen", "Öztürk")
ADDRESS = "Şişli, İstanbul"
# Words that must come back exactly as printed; between them every letter Turkish adds to Latin.
NAMED_WORDS = ("Ayşe", "Gülşen", "Öztürk", "Şişli", "İstanbul", "Çağlayan", "Işıklı")
TURKISH_LETTERS = "şğıİüöç"
# Of the other words with Turkish letters in the text layer, this share must be read back: OCR
# misreads the odd word of clean text, and a font that draws the wrong glyphs misses nearly all.
READ_BACK_SHARE = 0.9
PAGES = 2  # the name, the address and most of the text; drawing every page only costs time

TOOLS = ("pdftoppm", "pdftotext", "pdffonts", "tesseract")


@pytest.fixture(scope="session")
def ocr_tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        languages = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
        if "tur" not in languages:
            missing.append("tesseract-ocr-tur (Tesseract's Turkish data)")
    if missing:
        message = f"the PDF glyph test needs {', '.join(missing)}: run `make ocr` (Debian's poppler-utils, tesseract-ocr, tesseract-ocr-tur)"
        if os.environ.get("CI"):
            pytest.fail(message + ", and CI must not skip it", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def ayse(clinic, alice, room):
    """Ayşe Gülşen Öztürk of Şişli, İstanbul, who reads Turkish, at a clinic in Şişli: a signed
    consent in her language and the aftercare sheet of her first session."""
    clinic.name = "Çağlayan Işıklı Estetik"
    clinic.address = f"Halaskargazi Caddesi 12, {ADDRESS}"
    clinic.phone = "+90 212 555 01 02"
    clinic.save()
    user = PatientUserFactory(username="ayse", first_name=PATIENT[0], last_name=PATIENT[1])
    patient = PatientFactory(
        given_name=PATIENT[0],
        family_name=PATIENT[1],
        address=f"Büyükdere Caddesi 5, {ADDRESS}",
        preferred_language=Language.TURKISH,
        user=user,
    )
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face", "neck"])
    screened(patient, alice, fitzpatrick_skin_type=2, medications=["ibuprofen"], **covering(plan))
    # The document the consent page shows her, in her language (plans.views._document).
    document = consent_document(plan, practitioner=alice, on_date=clinic_today())
    consent = consent_sign(
        plan=plan,
        document_html=document,
        signed_name=patient.display_name,
        signature=_drawn_signature(),
        confirmed=True,
        photo_consent=True,
        witnessed_by=alice,
    )
    plan = plan_activate(plan=plan, by=alice)
    start = moment(clinic_today(), 12)
    session = session_at(plan, alice, room, start)
    session_at(plan, alice, room, start + datetime.timedelta(days=14), sequence=2, series=session.series)
    rechecked(booked_long_ago(session), alice, decisions=[])
    session.refresh_from_db()
    charted(session, alice, areas=("face", "neck"), events=("bruising",))
    return {"user": user, "consent": consent, "sheet": sheet_for(session)}


def _drawn_signature():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 80), "white")
    ImageDraw.Draw(image).line([(10, 60), (60, 15), (110, 60), (170, 20), (230, 55), (290, 25)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def _words(text):
    """Words (letters only) in Turkish lower case: İ is i, I is ı; composed letters."""
    text = unicodedata.normalize("NFC", text)
    return [w.replace("İ", "i").replace("I", "ı").lower() for w in re.findall(r"[^\W\d_]+", text)]


def _is_turkish(word):
    return any(letter in word for letter in "şŞğĞıİüÜöÖçÇ")


def pdf_fonts(pdf):
    """(name, embedded, subset) of every font pdffonts lists."""
    fonts = []
    for line in _run("pdffonts", str(pdf)).splitlines()[2:]:
        match = re.match(r"(\S+)\s.*\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line)
        assert match, line
        fonts.append((match[1], match[2] == "yes", match[3] == "yes"))
    return fonts


def read_back(pdf, folder):
    """What the text layer says and what Tesseract reads off the drawn pages (200 dpi, Turkish)."""
    pages = ("-f", "1", "-l", str(PAGES))
    _run("pdftoppm", *pages, "-r", "200", "-gray", "-png", str(pdf), str(folder / pdf.stem))
    images = sorted(folder.glob(f"{pdf.stem}-*.png"))
    assert images
    seen = " ".join(_run("tesseract", str(image), "-", "-l", "tur") for image in images)
    return _run("pdftotext", *pages, str(pdf), "-"), seen, images


def assert_reads_right(pdf, folder):
    text_layer, seen, images = read_back(pdf, folder)
    seen_words = set(_words(seen))
    named = {word: _words(word)[0] for word in NAMED_WORDS}
    assert all(word in set(_words(text_layer)) for word in named.values()), "the document lacks a named word"
    missing_named = [word for word, lower in named.items() if lower not in seen_words]
    turkish = {w for w in _words(text_layer) if _is_turkish(w) and len(w) >= 4} - set(named.values())
    read = {w for w in turkish if w in seen_words}
    # Each letter, as printed (İ, not its lower case), in some word that came back.
    came_back = read | set(named.values())
    printed = re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", text_layer))
    letters_read = {letter for letter in TURKISH_LETTERS for w in printed if letter in w and _words(w)[0] in came_back}
    summary = (
        f"{pdf.name}: named words missing {missing_named}; {len(read)}/{len(turkish)} other Turkish words read "
        f"back, e.g. not {sorted(turkish - read)[:8]}; images {[str(i) for i in images]}; OCR read: {seen[:600]!r}"
    )
    assert not missing_named, summary
    assert len(turkish) >= 10, summary  # a Turkish document, not a name on an English one
    assert len(read) >= READ_BACK_SHARE * len(turkish), summary
    assert letters_read == set(TURKISH_LETTERS), summary
    print(summary)


def assert_only_the_apps_noto_sans(pdf):
    fonts = pdf_fonts(pdf)
    names = [name for name, _, _ in fonts]
    assert fonts, "no fonts at all"
    # "ABCDEF+Noto-Sans-Ext-Bold": a subset of one of pdf.css's families, never DejaVu or another
    # font the server has installed.
    assert all(re.fullmatch(r"[A-Z]{6}\+Noto-Sans(-[A-Za-z]+)*", name) for name in names), names
    assert all(embedded and subset for _, embedded, subset in fonts), fonts
    assert any(name.split("+")[1].startswith("Noto-Sans-Ext") for name in names), names  # ş, ğ, İ


@pytest.mark.django_db
def test_a_turkish_aftercare_sheet_reads_right_when_printed(ocr_tools, ayse, client, tmp_path):
    client.force_login(ayse["user"])
    response = client.get(reverse("aftercare:sheet_pdf", args=[ayse["sheet"].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "aftercare-tr.pdf"
    pdf.write_bytes(response.content)
    assert_reads_right(pdf, tmp_path)
    assert_only_the_apps_noto_sans(pdf)


@pytest.mark.django_db
def test_a_turkish_consent_reads_right_when_printed(ocr_tools, ayse, alice_client, tmp_path):
    response = alice_client.get(reverse("plans:consent_pdf", args=[ayse["consent"].pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = tmp_path / "consent-tr.pdf"
    pdf.write_bytes(response.content)
    assert_reads_right(pdf, tmp_path)
    assert_only_the_apps_noto_sans(pdf)


def _base_fonts(pdf_bytes):
    from pypdf import PdfReader

    fonts = {}
    for page in PdfReader(io.BytesIO(pdf_bytes)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    return fonts


@pytest.mark.parametrize(
    "name",
    [
        "Ayşe Gülşen Öztürk İnceoğlu",
        "Ays\u0327e O\u0308ztu\u0308rk",  # typed with combining marks (decomposed, NFD)
        "Nguyễn Thị Ánh",
        "Αλέξης Παπαδόπουλος",
        "Ірина Шевченко",
        "Zofia Łukasiewicz-Żak",
    ],
)
def test_names_in_any_script_noto_sans_ships_are_drawn_in_the_apps_noto_sans(name):
    fonts = _base_fonts(html_to_pdf(f"<p>{name}</p><p><b>{name}</b></p>"))
    assert fonts and all(re.fullmatch(r"/[A-Z]{6}\+Noto-Sans(-[A-Za-z]+)*", font) for font in fonts), fonts
    assert all(fonts.values()), fonts  # embedded


def test_collected_static_files_alone_give_the_pdf_its_fonts(settings, tmp_path, monkeypatch):
    """Production after collectstatic: the fonts come from STATIC_ROOT even where node_modules and
    the static folders are gone, and also when only the hashed copies are kept
    (WHITENOISE_KEEP_ONLY_HASHED_FILES)."""
    root = tmp_path / "static"
    settings.STATIC_ROOT = str(root)
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    monkeypatch.setattr(finders, "find", lambda *args, **kwargs: None)
    source = (Path(settings.BASE_DIR) / "static" / "css" / "pdf.css").read_text()
    truetype = pdf._truetype

    for only_hashed in (False, True):
        if only_hashed:
            for original in [root / "css" / "pdf.css", *(root / "vendor" / "noto-sans").glob("*-normal.woff2")]:
                original.unlink()
        read = []

        def truetype_of(woff2, read=read):
            read.append(woff2)
            return truetype(woff2)

        monkeypatch.setattr(pdf, "_truetype", truetype_of)
        fonts = re.findall(r'url\("file://([^"]+)"\)', pdf_stylesheet())
        # Each font is the TrueType made from the collected WOFF2 (pdf._truetype).
        assert len(fonts) == source.count("url(") == len(read), fonts
        assert all(str(woff2).startswith(str(root)) for woff2 in read), read
        assert all(Path(font).is_file() and font.endswith(".ttf") for font in fonts)
        drawn = _base_fonts(html_to_pdf("<p>Ayşe Gülşen Öztürk, <b>Şişli, İstanbul</b></p>"))
        assert all("Noto-Sans" in font for font in drawn) and any("Noto-Sans-Ext" in font for font in drawn), drawn


def test_the_page_footer_is_in_the_documents_language(monkeypatch):
    from pypdf import PdfReader

    from mesoclinic.core import pdf

    catalogue = {"tr": {"Page %(page)s of %(pages)s": 'Sayfa %(page)s / %(pages)s "son"'}}
    monkeypatch.setattr(pdf, "gettext", lambda text: catalogue.get(translation.get_language(), {}).get(text, text))

    def footer(html):
        return PdfReader(io.BytesIO(html_to_pdf(html))).pages[-1].extract_text().splitlines()[-1]

    assert footer('<html lang="tr"><body><p>Şişli</p><p style="break-before: page">İstanbul</p>') == 'Sayfa 2 / 2 "son"'
    assert footer('<html lang="en"><body><p>Şişli</p>') == "Page 1 of 1"
    assert footer("<p>No language</p>") == "Page 1 of 1"
