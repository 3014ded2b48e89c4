"""The clinical knowledge in Turkish for Turkish-speaking staff, the English source beside it.

The fixtures carry both languages; a Turkish reader sees the Turkish, and the English wherever a
text has none. A recorded screening reads as it was recorded: its findings carry the Turkish
they were shown with, and one recorded before the knowledge base had Turkish stays in English.
"""

import re

import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from mesoclinic.screening import bilingual, engine
from mesoclinic.screening.knowledge import untranslated
from mesoclinic.screening.models import Outcome, Screening

from .conftest import answers, screen

pytestmark = pytest.mark.django_db

FIXTURES = settings.BASE_DIR / "fixtures"
# (fixture, the translated fields of each of its rows)
TRANSLATED = [
    ("rules.yaml", ("title", "detail", "action", "hold_substance")),
    ("protocols.yaml", ("title", "summary")),
    ("evaluation.yaml", ("label", "help_text")),
    ("adverse_events.yaml", ("label", "description")),
    ("vocabulary.yaml", ("label",)),
]


def _reads(user, language):
    """`user` reads the staff app in `language` (their profile's choice)."""
    user.language = language
    user.save(update_fields=["language"])


def _pairs():
    for name, fields in TRANSLATED:
        for row in yaml.safe_load((FIXTURES / name).read_text()):
            for field in fields:
                english = row["fields"].get(field)
                if english:
                    ident = row.get("pk") or row["fields"].get("code")
                    yield f"{name} {ident} {field}", english, row["fields"].get(f"{field}_tr") or ""


def test_no_shipped_text_lacks_its_turkish():
    # The database the test run loaded from fixtures/, as `load_knowledge` loads it.
    assert untranslated("tr") == []
    assert [where for where, _english, turkish in _pairs() if not turkish.strip()] == []


def test_the_turkish_keeps_every_number_citation_key_and_placeholder():
    """A translation never changes a fact: the hold durations, depths, session counts, the
    documents it cites and the {placeholders} the engine fills in are the English ones."""
    problems = []
    for where, english, turkish in _pairs():
        for pattern in (r"\d+(?:\.\d+)?", r"\b[a-z]+-20\d\d\b", r"\{\w+\}"):
            if sorted(re.findall(pattern, english)) != sorted(re.findall(pattern, turkish)):
                problems.append(f"{where}: {re.findall(pattern, english)} != {re.findall(pattern, turkish)}")
    assert problems == []


def test_a_finding_carries_the_turkish_it_was_made_with(kb):
    (finding,) = [f for f in screen(kb, pregnant=True).findings if f.rule == "pregnancy"]
    recorded = finding.as_json()
    assert recorded["title"] == "Pregnancy"  # the English stays the record's text
    assert recorded["translations"]["tr"]["title"] == "Gebelik"
    assert "geçersiz kılınamaz" in recorded["translations"]["tr"]["action"]
    with translation.override("tr"):
        assert bilingual.text(recorded, "title") == "Gebelik"
    with translation.override("en"):
        assert bilingual.text(recorded, "title") == "Pregnancy"


def test_a_hold_names_the_medicine_and_its_class_in_turkish(kb):
    (finding,) = [f for f in screen(kb, medications=["ibuprofen"]).findings if f.rule == "nsaid-hold"]
    assert finding.hold.substance == "ibuprofen (NSAID)"  # what the patient's instruction is made from
    assert finding.translations["tr"]["hold_substance"] == "ibuprofen (NSAİİ)"
    assert finding.hold.hours_before == 168


def test_a_hold_that_cannot_be_kept_is_filled_in_in_turkish(kb):
    parsed = engine.parse_answers(answers(medications=["ibuprofen"]), kb)
    (late,) = [f for f in engine.evaluate(parsed, kb, hours_to_prepare=72).findings if f.rule == "hold-cannot-be-kept"]
    turkish = late.translations["tr"]
    assert turkish["title"] == "Yeterli süre yok: ibuprofen (NSAİİ) zamanında bırakılamaz"
    assert turkish["detail"].startswith("Uygulamadan önce NSAİİ'leri bırakma: hastanın seanstan önce 7 gün boyunca")
    assert "planlanan tarihe 3 gün kaldı" in turkish["detail"]
    assert "{" not in "".join(turkish.values())
    assert "7 days" in late.detail and "3 days are left" in late.detail  # the English, as before


def test_an_unlisted_answer_is_quoted_as_said_in_turkish(kb):
    result = screen(kb, unlisted={"medications": ["fish oil"]})
    (finding,) = [f for f in result.findings if f.rule == "unlisted-answer"]
    assert finding.translations["tr"]["title"] == "fish oil: kurallarca kapsanmıyor"
    assert "yanıtını ilaç olarak bildirdi" in finding.translations["tr"]["detail"]


def test_a_missing_turkish_text_shows_the_english(kb):
    old = {"rule": "pregnancy", "title": "Pregnancy", "detail": "d", "action": "a", "hold": None}
    partial = {**old, "translations": {"tr": {"title": "Gebelik"}}}
    with translation.override("tr"):
        assert bilingual.text(old, "title") == "Pregnancy"
        assert bilingual.text(partial, "title") == "Gebelik"
        assert bilingual.text(partial, "action") == "a"
        assert kb.term("area", "submental").label_in("tr") == "Çene altı (gıdı bölgesi)"
        assert engine.TermInfo("area", "x", "Elbow", frozenset({"x"})).label_in("tr") == "Elbow"


def test_the_turkish_is_part_of_the_rules_version(kb):
    from mesoclinic.screening.knowledge import build_knowledge_base
    from mesoclinic.screening.models import Rule

    Rule.objects.filter(pk="pregnancy").update(title_tr="Hamilelik")
    assert build_knowledge_base().version != kb.version


def test_a_turkish_practitioner_reads_a_rule_in_turkish_with_the_english_source_beside_it(alice, alice_client):
    url = reverse("screening:rule", args=["nsaid-hold"])
    _reads(alice, "tr")
    page = alice_client.get(url).content.decode()
    assert "Uygulamadan önce NSAİİ&#x27;leri bırakma" in page
    assert "7 gün önce bırakmasını isteyin" in page
    with translation.override("tr"):
        summary = gettext("English source")
    assert summary != "English source" and summary in page  # the catalogue words it; the English follows
    assert 'lang="en"' in page and "Stop NSAIDs before treatment" in page
    assert "Ask the patient to stop these painkillers 7 days before each session" in page

    _reads(alice, "en")
    english = alice_client.get(url).content.decode()
    assert "Stop NSAIDs before treatment" in english
    assert "NSAİİ" not in english and "english-source" not in english


def test_the_knowledge_base_lists_rules_and_terms_in_turkish(alice, alice_client):
    _reads(alice, "tr")
    rules = alice_client.get(reverse("screening:knowledge")).content.decode()
    terms = alice_client.get(reverse("screening:terms")).content.decode()
    term = alice_client.get(reverse("screening:term", args=["condition", "autoimmune_disease"])).content.decode()
    assert "Otoimmün hastalık" in rules and "Gebelik" in rules
    assert "Çene altı (gıdı bölgesi)" in terms and "Under the chin (submental)" in terms
    assert "<h1" in term and "Otoimmün hastalık" in term and "(Autoimmune disease)" in term


def _recorded(patient, alice, findings, rules_version):
    now = timezone.now()
    return Screening.objects.create(
        patient=patient,
        recorded_by=alice,
        recorded_at=now,
        expires_at=now + timezone.timedelta(days=30),
        answers={"date_of_birth": "1988-03-14", "on_date": "2026-12-01"},
        findings=findings,
        verdict="defer",
        outcome=Outcome.DEFERRED,
        rules_version=rules_version,
    )


def test_a_screening_reads_as_recorded_in_turkish_and_an_older_one_stays_in_english(kb, alice, alice_client, patient):
    (finding,) = [f for f in screen(kb, pregnant=True).findings if f.rule == "pregnancy"]
    with_turkish = _recorded(patient, alice, [finding.as_json()], kb.version)
    before_turkish = {k: v for k, v in finding.as_json().items() if k != "translations"}
    older = _recorded(patient, alice, [before_turkish], "kb-000000000000")

    _reads(alice, "tr")
    page = alice_client.get(with_turkish.get_absolute_url()).content.decode()
    old_page = alice_client.get(older.get_absolute_url()).content.decode()
    assert "Gebelik" in page and "geçersiz kılınamaz" in page
    assert "Gebelik" not in old_page  # never re-translated: it shows what was recorded
    assert '<h3 id="finding-pregnancy" lang="en">Pregnancy</h3>' in old_page


def test_live_findings_show_the_turkish_action_and_the_terms_in_turkish(alice, alice_client, patient):
    url = reverse("screening:evaluate", args=[patient.pk])
    in_a_month = (timezone.localdate() + timezone.timedelta(days=20)).isoformat()
    data = {"on_date": in_a_month, "fitzpatrick_skin_type": "3", "conditions": ["lupus", "eczema"]}
    _reads(alice, "tr")
    page = alice_client.post(url, data).content.decode()
    assert "Otoimmün hastalık" in page
    assert "Uygulamayı erteleyin." in page
    assert "Neden: Egzama" in page or "Because: Egzama" in page  # the answer that matched, by its Turkish label
