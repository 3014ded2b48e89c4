import datetime
import io
import re
import zoneinfo

import pytest
import textstat
from pypdf import PdfReader

from mesoclinic.aftercare.render import sheet_words
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")


def text_of(sheet, language="en"):
    words = sheet_words(sheet, language)
    lines = [line for section in words["sections"] for line in section["lines"]]
    return words, " ".join(lines)


def test_a_facial_sheet_has_the_face_advice_and_not_the_scalp_advice(make_sheet, patient):
    words, text = text_of(make_sheet(patient, areas=("face", "neck")))
    assert "Do not put make-up on the treated skin until" in text
    assert "high-SPF sunscreen on treated skin" in text
    assert "wash your hair" not in text
    assert words["areas"] == ["Face", "Neck"]


def test_a_scalp_sheet_speaks_of_hair(make_sheet, patient):
    _, text = text_of(make_sheet(patient, indication="hair_loss", areas=("scalp",)))
    assert "Do not wash your hair with hot water until" in text
    assert "More hair falls out than usual" in text
    assert "make-up" not in text


def test_a_body_sheet_with_lipolytics_warns_of_swelling_and_says_keep_moving(make_sheet, patient):
    _, text = text_of(make_sheet(patient, indication="cellulite", areas=("thighs",)))
    assert "fat-melting part of your treatment" in text
    assert "Walk and move about as usual" in text
    assert "make-up" not in text


def test_darker_skin_gets_the_pigment_advice(make_sheet, patient):
    _, text = text_of(make_sheet(patient, skin=5))
    assert "higher chance of dark or light patches" in text
    _, light = text_of(make_sheet(PatientFactory(), skin=2))
    assert "dark or light patches" not in light


def test_an_adverse_event_is_noted_with_its_follow_up(make_sheet, patient):
    _words, text = text_of(make_sheet(patient, events=("bruising",)))
    assert "We saw some bruising today" in text
    assert re.search(r"We will check on your bruising on \w+ \d+ \w+\.", text)


def test_times_say_until_which_day_and_hour(make_sheet, patient):
    sheet = make_sheet(patient)
    session = sheet.session
    until = (session.ends_at + datetime.timedelta(hours=48)).astimezone(LONDON)
    _, text = text_of(sheet)
    assert f"until {until:%A} {until.day} {until:%B}, {until:%H:%M}" in text


def test_the_next_session_and_the_holds_to_start_before_it(make_sheet, patient):
    words, _ = text_of(make_sheet(patient, medications=("ibuprofen",)))
    assert words["next_session"]
    holds = {h["substance"]: h for h in words["holds"]}
    assert set(holds) == {"ibuprofen", "alcohol"}
    assert holds["ibuprofen"]["kind"] == "stop" and holds["ibuprofen"]["is_medicine"]


def test_the_sheet_is_made_once_and_kept_as_given(make_sheet, patient):
    from mesoclinic.aftercare.services import sheet_for

    sheet = make_sheet(patient)
    assert sheet_for(sheet.session) == sheet


def test_english_sheets_read_at_grade_8_or_below(make_sheet):
    cases = [
        {"areas": ("face", "neck"), "events": ("bruising",)},
        {"indication": "hair_loss", "areas": ("scalp",), "skin": 5},
        {"indication": "cellulite", "areas": ("thighs", "buttocks"), "events": ("swelling", "redness")},
        {"indication": "pigmentation", "areas": ("face",), "skin": 6, "medications": ("ibuprofen",)},
    ]
    for options in cases:
        _words, text = text_of(make_sheet(PatientFactory(), **options))
        grade = textstat.flesch_kincaid_grade(text)
        assert grade <= 8, (options, grade)


def test_the_pdf_renders_with_the_key_instructions_on_at_most_two_pages(alice_client, make_sheet, patient):
    sheet = make_sheet(patient, areas=("face",), events=("bruising",), medications=("ibuprofen",))
    response = alice_client.get(f"/aftercare/sheets/{sheet.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")
    for phrase in (
        "Stay out of strong sun",
        "Keep the treated skin clean and dry",
        "Call us if",
        "Your next session",
        "We saw some bruising today",
        patient.display_name,
    ):
        assert phrase in text, phrase
    fonts = {str(font) for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts  # the fonts travel inside the PDF
    assert all(
        page["/Resources"]["/Font"][name]["/FontDescriptor"].get("/FontFile2")
        or page["/Resources"]["/Font"][name]["/FontDescriptor"].get("/FontFile3")
        or page["/Resources"]["/Font"][name]["/FontDescriptor"].get("/FontFile")
        for page in reader.pages
        for name in page["/Resources"]["/Font"]
        if "/FontDescriptor" in page["/Resources"]["/Font"][name]
    )
