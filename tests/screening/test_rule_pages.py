"""Every rule of the knowledge base has its page, and "When it applies" names its condition in
words: the two template rules (unlisted-answer, hold-cannot-be-kept) and the NSAID
cross-allergy rule once answered 500, because their conditions had no words."""

import pytest
from django.urls import reverse
from django.utils import translation

from mesoclinic.screening.selectors import describe_when, rule_index, vocabulary_index

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "code, words",
    [
        ("hold-cannot-be-kept", "needs more time than is left before the session"),
        ("unlisted-answer", "answer the vocabulary does not know is recorded"),
        ("nsaid-cross-allergy", "An allergy to one NSAID"),
    ],
)
def test_the_rules_whose_conditions_had_no_words_now_have_a_page(alice_client, code, words):
    response = alice_client.get(reverse("screening:rule", args=[code]))
    assert response.status_code == 200
    assert words in response.content.decode()


def test_every_rule_page_answers_and_says_when_it_applies(alice_client, kb):
    for rule in kb.rules:
        response = alice_client.get(reverse("screening:rule", args=[rule.code]))
        assert response.status_code == 200, rule.code
        assert "When it applies" in response.content.decode()


def test_every_clause_of_the_shipped_rules_has_its_own_words(kb):
    """No rule falls back to the raw "clause: value" a new kind of clause would show."""
    for rule in kb.rules:
        ((key, value),) = rule.when.items()
        assert describe_when(rule.when, kb) != f"{key}: {value}", rule.code


def test_a_term_condition_names_the_term_by_its_label(kb):
    assert describe_when({"condition": "lupus"}, kb) == "condition is Lupus (or one of its kind)"
    either = describe_when({"any": [{"flag": "pregnant"}, {"age_below": 18}]}, kb)
    assert either == "patient is pregnant or younger than 18 on the treatment date"


def test_an_unknown_clause_shows_itself_instead_of_failing(kb):
    assert describe_when({"new_kind_of_clause": 3}, kb) == "new_kind_of_clause: 3"


def test_turkish_rule_titles_find_their_rules(kb):
    """A Turkish-speaking practitioner searches in the words they read."""
    for rule in kb.rules:
        if not rule.title_tr:
            continue
        found = {item["rule"].code for _, items in rule_index(query=rule.title_tr)["groups"] for item in items}
        assert rule.code in found, rule.title_tr


def test_turkish_term_labels_find_their_terms(kb):
    """A Turkish label names its term, in the vocabulary search and in what is typed (a patient
    types what they read in the questionnaire)."""
    with_turkish = [(kind, info) for (kind, _code), info in kb.terms.items() if info.label_tr]
    assert len(with_turkish) > 100
    for kind, info in with_turkish:
        assert kb.lookup((kind,), info.label_tr) == (kind, info.code), info.label_tr
        found = {
            (k, item["info"].code) for _, k, items in vocabulary_index(query=info.label_tr)["kinds"] for item in items
        }
        assert (kind, info.code) in found, info.label_tr


def test_the_vocabulary_page_lists_turkish_labels_in_turkish_order(kb):
    with translation.override("tr"):
        kinds = vocabulary_index()["kinds"]
    areas = [
        item["info"].label_tr or item["info"].label for _, kind, items in kinds if kind == "area" for item in items
    ]
    # In the Turkish alphabet ç follows c: "Çene altı" comes before "Dekolte", not after "Yüz".
    assert areas.index("Çene altı (gıdı bölgesi)") < areas.index("Dekolte") < areas.index("Yüz")
