"""Turkish: every patient-facing sentence is translated, placeholders intact, sheets in Turkish."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from mesoclinic.aftercare.fixture_strings import FIXTURE_STRINGS
from mesoclinic.aftercare.management.commands.aftercare_strings import patient_strings
from mesoclinic.aftercare.render import sheet_words

PO = Path(__file__).resolve().parents[2] / "mesoclinic" / "locale" / "tr" / "LC_MESSAGES" / "django.po"
TURKISH_DAYS = ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar")


def po_entries():
    """(msgid, msgstr, flags) of the catalogue, read without extra dependencies. A plural
    entry gives two: the singular with msgstr[0], the plural with msgstr[1]."""
    entries, current, field, flags = [], {}, None, ""
    for line in [*PO.read_text().splitlines(), ""]:
        if line.startswith("#,"):
            flags = line
        elif line.startswith(("msgid ", "msgid_plural ", "msgstr ", "msgstr[")):
            field, _, rest = line.partition(" ")
            if field == "msgid":
                current = {"flags": flags}
            current[field] = _unquote(rest)
        elif line.startswith('"') and field:
            current[field] += _unquote(line)
        elif not line.strip() and field:
            if "msgid_plural" in current:
                entries.append({"msgid": current["msgid"], "msgstr": current.get("msgstr[0]", ""), "flags": flags})
                entries.append(
                    {"msgid": current["msgid_plural"], "msgstr": current.get("msgstr[1]", ""), "flags": flags}
                )
            else:
                entries.append({"msgid": current["msgid"], "msgstr": current.get("msgstr", ""), "flags": flags})
            field, flags = None, ""
    return [e for e in entries if e["msgid"]]


def _unquote(text):
    return text.strip()[1:-1].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")


def test_the_fixture_strings_file_matches_the_knowledge_base(db):
    assert patient_strings() == FIXTURE_STRINGS, "run: make messages, then translate the new entries"


def test_every_entry_is_translated_and_none_is_fuzzy():
    entries = po_entries()
    assert len(entries) > 100
    untranslated = [e["msgid"] for e in entries if not e["msgstr"].strip()]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, untranslated[:5]
    assert not fuzzy, fuzzy[:5]


def test_placeholders_survive_translation():
    for entry in po_entries():
        for pattern in (r"\{until\}", r"%\(\w+\)s"):
            assert sorted(re.findall(pattern, entry["msgid"])) == sorted(re.findall(pattern, entry["msgstr"])), entry[
                "msgid"
            ]


def test_every_fixture_sentence_has_turkish():
    with translation.override("tr"):
        missing = [text for text in FIXTURE_STRINGS if translation.gettext(text) == text and len(text) > 12]
    assert not missing, missing


@pytest.mark.django_db
def test_a_turkish_patient_gets_a_turkish_sheet(make_sheet):
    from tests.builders import PatientFactory

    patient = PatientFactory(preferred_language="tr")
    sheet = make_sheet(patient, areas=("face",), events=("bruising",), medications=("ibuprofen",))
    english, turkish = sheet_words(sheet, "en"), sheet_words(sheet, "tr")
    english_lines = [line for s in english["sections"] for line in s["lines"]]
    turkish_lines = [line for s in turkish["sections"] for line in s["lines"]]
    assert len(english_lines) == len(turkish_lines)
    assert all(e != t for e, t in zip(english_lines, turkish_lines, strict=True))
    text = " ".join(turkish_lines)
    assert "güneş" in text.lower()
    assert any(day in text for day in TURKISH_DAYS)
    assert "{until}" not in text
    assert turkish["areas"] == ["Yüz"]


@pytest.mark.django_db
def test_the_turkish_patients_portal_and_pdf_are_in_turkish(client, make_sheet):
    import io

    from pypdf import PdfReader

    from tests.builders import PatientFactory, PatientUserFactory

    user = PatientUserFactory(username="ayse")
    patient = PatientFactory(preferred_language="tr", user=user)
    sheet = make_sheet(patient)
    client.force_login(user)
    page = client.get(sheet.get_absolute_url()).content.decode()
    assert 'lang="tr"' in page and "Your aftercare" not in page
    listing = client.get("/aftercare/").content.decode()
    assert "My aftercare" not in listing
    pdf = client.get(f"/aftercare/sheets/{sheet.pk}/pdf/")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "ş" in text or "ğ" in text or "ı" in text  # Turkish letters made it into the PDF
