import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from mesoclinic.screening.knowledge import KnowledgeBaseError, build_knowledge_base, knowledge_base
from mesoclinic.screening.models import Rule, SourceDocument, Term

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_cached_knowledge_base_reloads_when_a_rule_changes():
    before = knowledge_base()
    assert knowledge_base() is before  # cached while nothing changes
    rule = Rule.objects.get(code="keloid-tendency")
    rule.action = "Do not treat."
    rule.save()
    after = knowledge_base()
    assert after is not before
    assert after.version != before.version
    assert next(r for r in after.rules if r.code == "keloid-tendency").action == "Do not treat."


def test_a_new_class_member_changes_the_version_and_is_matched():
    before = knowledge_base().version
    new = Term.objects.create(kind="condition", code="dermatomyositis", label="Dermatomyositis")
    new.parents.add(Term.objects.get(kind="condition", code="autoimmune_disease"))
    kb = knowledge_base()
    assert kb.version != before
    assert "autoimmune_disease" in kb.term("condition", "dermatomyositis").ancestors


def test_loading_the_fixtures_twice_gives_the_same_version():
    first = build_knowledge_base().version
    call_command("load_knowledge", verbosity=0)
    assert build_knowledge_base().version == first


def test_a_rule_citing_a_missing_document_is_refused():
    rule = Rule.objects.get(code="pregnancy")
    rule.sources = [{"document": "wikipedia", "citation": "Pregnancy"}]
    with pytest.raises(ValidationError, match="unknown document 'wikipedia'"):
        rule.full_clean()
    Rule.objects.filter(code="pregnancy").update(sources=rule.sources)
    with pytest.raises(KnowledgeBaseError, match="wikipedia"):
        build_knowledge_base()


def test_a_rule_naming_a_term_that_does_not_exist_is_refused():
    rule = Rule.objects.get(code="pregnancy")
    rule.when = {"condition": "pregnancy_complication"}
    with pytest.raises(ValidationError, match="no condition term with code 'pregnancy_complication'"):
        rule.full_clean()


def test_every_rule_and_evaluation_step_cites_at_least_one_of_the_five_documents():
    keys = set(SourceDocument.objects.values_list("key", flat=True))
    assert keys == {"osmane-2024", "guide-2024", "prep-2023", "face-2023", "basaksehir-2025"}
    for rule in Rule.objects.all():
        assert rule.sources and {s["document"] for s in rule.sources} <= keys, rule.code


def test_the_coverage_table_names_only_codes_that_exist():
    from mesoclinic.plans.models import ConsentClause

    table = (ROOT / "fixtures" / "COVERAGE.md").read_text()
    named = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", table))
    known = (
        set(Rule.objects.values_list("code", flat=True))
        | set(ConsentClause.objects.values_list("code", flat=True))
        | set(SourceDocument.objects.values_list("key", flat=True))
    )
    assert named and named <= known, named - known
