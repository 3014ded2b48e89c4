"""Knowledge-base search as a clinic types it: brand names, synonyms, Turkish with or without its
letters, any case. The synonyms are the vocabulary's own (fixtures/vocabulary.yaml)."""

import pytest
from django.urls import reverse

from mesoclinic.screening.selectors import rule_index, search_words, vocabulary_index

pytestmark = pytest.mark.django_db


def rule_codes(query):
    return {item["rule"].code for _, items in rule_index(query=query)["groups"] for item in items}


def term_codes(query):
    return {(kind, item["info"].code) for _, kind, items in vocabulary_index(query=query)["kinds"] for item in items}


def test_search_words_fold_case_accents_and_turkish_letters():
    assert search_words("  OTOİMMÜN hastalık ") == ["otoimmun", "hastalik"]
    assert search_words("- _ ") == []


@pytest.mark.parametrize("typed", ["Advil", "ADVIL", "nurofen", "Brufen"])
def test_a_brand_name_finds_the_rules_on_its_medicine(typed):
    ibuprofen = rule_codes("ibuprofen")
    assert ibuprofen  # the NSAID rules cover ibuprofen
    assert rule_codes(typed) == ibuprofen


@pytest.mark.parametrize("typed", ["Roaccutane", "zoretanin", "İZOTRETİNOİN", "izotretinoin"])
def test_brand_and_turkish_names_of_isotretinoin_find_its_rule(typed):
    assert "isotretinoin" in rule_codes(typed)


@pytest.mark.parametrize("typed", ["otoimmün", "otoimmun", "OTOİMMÜN HASTALIK", "otoimmun hastalik"])
def test_turkish_synonyms_match_with_or_without_their_letters(typed):
    assert "autoimmune-disease" in rule_codes(typed)


@pytest.mark.parametrize("typed", ["Coumadin", "varfarin", "VARFARİN"])
def test_a_blood_thinners_names_find_the_same_rules_as_its_own(typed):
    assert rule_codes(typed) == rule_codes("warfarin") != set()


def test_a_word_no_rule_has_finds_nothing():
    assert rule_codes("zzqx") == set()
    assert rule_codes("advil zzqx") == set()  # every word must match


def test_the_terms_page_finds_brand_names_and_turkish_synonyms():
    assert ("medication", "ibuprofen") in term_codes("ADVIL")
    assert ("medication", "warfarin") in term_codes("coumadin")
    assert ("condition", "clotting_disorder") in term_codes("pihtilasma bozuklugu")
    assert ("condition", "clotting_disorder") in term_codes("PIHTILAŞMA")
    assert term_codes("zzqx") == set()


def test_the_knowledge_page_searches_as_the_practitioner_types(alice_client):
    response = alice_client.get(reverse("screening:knowledge"), {"q": "advil"})
    assert response.context["count"] == len(rule_codes("ibuprofen")) > 0
    assert "No rule matches your search." not in response.content.decode()
    page = alice_client.get(reverse("screening:knowledge"), {"q": "otoimmun"}).content.decode()
    assert "Autoimmune disease" in page
    page = alice_client.get(reverse("screening:knowledge"), {"q": "zzqx"}).content.decode()
    assert "No rule matches your search." in page
    page = alice_client.get(reverse("screening:terms"), {"q": "MAJEZIK"}).content.decode()
    assert "Flurbiprofen" in page
