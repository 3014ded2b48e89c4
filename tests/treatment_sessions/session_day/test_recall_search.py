"""Lot recall finds a lot however the number is written: HG2611, hg-2611 and "HG 2611" are one."""

import pytest
from django.urls import reverse

from mesoclinic.core.models import Clinic
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.session_day.recall import lot_key, lot_recall
from tests.builders import PatientFactory, active_plan, booked, next_monday
from tests.treatment_sessions.session_day.test_recall import make_lot, search, use

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    return Product.objects.create(name="Lipo Cocktail", manufacturer="MesoLab")


@pytest.fixture
def sessions(clinic, alice, room):
    # The builders' consent carries no drawn signature; this file is about lot numbers.
    Clinic.objects.update(consent_requires_signature=False)
    patient = PatientFactory(given_name="Ayşe", family_name="Öztürk", phone="+905321234567")
    plan = active_plan(alice, "cellulite", patient=patient)
    return list(booked(plan, alice, room, next_monday()).sessions.order_by("sequence"))


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("HG-2611", "HG2611"),
        (" hg 2611 ", "HG2611"),
        ("hg.26/11", "HG2611"),
        ("HG–2611", "HG2611"),
        ("lıt-İ9", "LITI9"),
    ],
)
def test_a_lot_key_ignores_capitals_separators_and_turkish_is(typed, key):
    assert lot_key(typed) == key


@pytest.mark.parametrize("typed", ["HG2611", "hg2611", "HG-2611", "hg 2611", " HG/2611 ", "HG_2611"])
def test_the_lot_is_found_however_its_number_is_typed(alice_client, sessions, product, alice, typed):
    charted = use(sessions[0], make_lot(product, "HG-2611"), alice)
    use(sessions[1], make_lot(product, "HG-2612"), alice)
    response = search(alice_client, typed)
    recall = response.context["recall"]
    assert recall.exact == [charted] and recall.partial == []
    page = response.content.decode()
    # Shown as charted, not as typed or as compared.
    assert "Lot HG-2611: 1 patient, 1 use" in page
    assert "Ayşe Öztürk" in page and "+90 532 123 45 67" in page


def test_a_number_charted_without_the_dash_is_found_from_the_notice_with_it(sessions, product, alice):
    charted = use(sessions[0], make_lot(product, "hg2611"), alice)
    assert lot_recall("HG-2611").exact == [charted]


def test_partial_matches_also_ignore_separators_and_stay_apart(sessions, product, alice):
    exact = use(sessions[0], make_lot(product, "HG-2611"), alice)
    longer = use(sessions[1], make_lot(product, "HG-2611-B"), alice)
    other = use(sessions[2], make_lot(product, "XHG 26 11"), alice)
    use(sessions[3], make_lot(product, "HG-2612"), alice)
    recall = lot_recall("hg2611")
    assert recall.exact == [exact]
    assert recall.partial == [longer, other]


def test_separators_alone_search_nothing(alice_client, sessions, product, alice):
    use(sessions[0], make_lot(product, "HG-2611"), alice)
    response = search(alice_client, " - / ")
    assert response.status_code == 200 and response.context["recall"].rows == []


def test_the_csv_export_finds_the_lot_the_same_way(alice_client, sessions, product, alice):
    use(sessions[0], make_lot(product, "HG-2611"), alice)
    response = alice_client.get(reverse("session_day:recall_export"), {"lot": "hg2611"})
    text = response.content.decode("utf-8-sig")
    assert "exact,Ayşe Öztürk" in text and "HG-2611" in text
