"""The stock pages: the shelf, receiving a delivery (typed or scanned), a lot's history and its
count. Errors stand beside their fields with what was typed kept; query counts do not grow
with the number of lots or movements."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.core.selectors import clinic_today
from mesoclinic.treatment_sessions.models import Lot, StockMovement, StockMovementKind
from mesoclinic.treatment_sessions.stock import services

from .conftest import in_days, received

pytestmark = pytest.mark.django_db

LIST, RECEIVE, SCAN = reverse("stock:list"), reverse("stock:receive"), reverse("stock:scan")
GS = "\x1d"


def receive_data(chosen, **changes):
    return {
        "product": chosen.pk,
        "lot_number": "hb2611",
        "expires_on": in_days(200).isoformat(),
        "units": "4",
        "quantity_ml": "",
        "supplier": "Medikal Depo",
        **changes,
    }


def field_error(page, name):
    """The error shown under field `name` (crispy's invalid-feedback), or ""."""
    found = re.search(rf'id="error_\d+_id_{name}"[^>]*>\s*<strong>(.*?)</strong>', page, re.S)
    return found.group(1).strip() if found else ""


# --- The shelf --------------------------------------------------------------------------------


def test_the_shelf_shows_lots_quantities_and_flags(clinic, alice_client, alice, hydra, vitamin):
    received(hydra, "SOON1", "5", alice, days=12)
    received(hydra, "LATER1", "10", alice, days=300)
    page = alice_client.get(LIST).content.decode()
    assert "SOON1" in page and "LATER1" in page and "Expires soon" in page
    assert "15 ml usable" in page and "Below the reorder level" in page and "reorder below 20 ml" in page
    assert page.index("SOON1") < page.index("LATER1")  # the first to expire first
    assert reverse("stock:lot", args=[Lot.objects.get(lot_number="SOON1").pk]) in page
    assert f"{RECEIVE}?product={hydra.pk}" in page


def test_the_filters_list_only_what_needs_doing(clinic, alice_client, alice, hydra, vitamin):
    received(hydra, "SOON1", "50", alice, days=12)
    received(hydra, "LATER1", "10", alice, days=300)
    expiring = alice_client.get(LIST, {"show": "expiring"}).content.decode()
    assert "SOON1" in expiring and "LATER1" not in expiring and "Vitamin Mix" not in expiring
    reorder = alice_client.get(LIST, {"show": "reorder"}).content.decode()
    assert "No product is below its reorder level." in reorder
    assert alice_client.get(LIST, {"show": "everything"}).status_code == 400


def test_the_clinic_admin_keeps_the_stock_and_a_patient_may_not(clinic, sam_client, pat_client, hydra):
    assert sam_client.get(LIST).status_code == 200
    assert sam_client.get(RECEIVE).status_code == 200
    assert pat_client.get(LIST).status_code == 403
    assert pat_client.post(SCAN, {"code": "x"}).status_code == 403


def test_the_navigation_has_stock_for_practitioners_and_the_clinic_admin(clinic, alice_client, sam_client, pat_client):
    assert f'href="{LIST}"' in alice_client.get(reverse("patients:list")).content.decode()
    assert f'href="{LIST}"' in sam_client.get(reverse("patients:list")).content.decode()
    assert f'href="{LIST}"' not in pat_client.get(reverse("home"), follow=True).content.decode()


def _shelf_of(product, other, lots):
    for number in range(lots):
        Lot.objects.create(
            product=product if number % 2 else other,
            lot_number=f"L{number}",
            expires_on=in_days(number - 5),
            on_hand_ml=Decimal(number + 1),
        )


@pytest.mark.parametrize("lots", [1, 50])
def test_the_shelf_page_takes_the_same_queries_for_1_and_50_lots(
    clinic, alice_client, hydra, vitamin, lots, django_assert_num_queries
):
    _shelf_of(hydra, vitamin, lots)
    alice_client.get(LIST)  # the clinic and the session are cached after the first page
    with django_assert_num_queries(SHELF_QUERIES):
        page = alice_client.get(LIST).content.decode()
    assert page.count('href="/stock/lots/') == lots


SHELF_QUERIES = 4  # the session, its user, the products, their lots


# --- Receiving ----------------------------------------------------------------------------------


def test_a_delivery_typed_in_is_received_and_the_form_comes_back_for_the_next_lot(clinic, alice_client, hydra):
    response = alice_client.post(RECEIVE, receive_data(hydra))
    assert response.status_code == 302 and response["Location"] == f"{RECEIVE}?supplier=Medikal+Depo"
    lot = Lot.objects.get()
    assert (lot.lot_number, lot.on_hand_ml) == ("HB2611", Decimal("20.00"))
    page = alice_client.get(response["Location"]).content.decode()
    assert "Received 4 × 5 ml of Hydra Boost (Meso Labs), lot HB2611: 20 ml on hand." in page
    assert 'value="Medikal Depo"' in page  # the next lot of the same delivery


def test_a_refused_delivery_says_why_beside_the_field_and_keeps_what_was_typed(clinic, alice_client, alice, hydra):
    received(hydra, "HB2611", "5", alice, days=100)
    response = alice_client.post(RECEIVE, receive_data(hydra, expires_on=in_days(101).isoformat()))
    page = response.content.decode()
    assert response.status_code == 200
    assert field_error(page, "expires_on").startswith("Lot HB2611 of Hydra Boost (Meso Labs) expires on ")
    assert 'value="hb2611"' in page and 'value="Medikal Depo"' in page and 'value="4"' in page  # as typed
    assert f'value="{in_days(101).isoformat()}"' in page
    assert Lot.objects.get().on_hand_ml == Decimal("5.00")


def test_the_same_delivery_sent_twice_is_received_once_and_the_second_says_so(clinic, alice_client, hydra):
    alice_client.post(RECEIVE, receive_data(hydra))
    response = alice_client.post(RECEIVE, receive_data(hydra), follow=True)
    assert "This delivery was recorded a moment ago: it was not added again." in response.content.decode()
    assert Lot.objects.get().on_hand_ml == Decimal("20.00") and StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"units": "", "quantity_ml": ""},
            "units",
            "Give the number of vials or ampoules received, or the millilitres.",
        ),
        ({"units": "0"}, "units", "Ensure this value is greater than or equal to 1."),
        (
            {"units": "3", "quantity_ml": "14"},
            "quantity_ml",
            "3 × 5 ml of Hydra Boost (Meso Labs) are 15 ml, not 14 ml",
        ),
        ({"lot_number": "  "}, "lot_number", "This field is required."),
        ({"lot_number": "HB\x1d2611"}, "lot_number", "This holds control characters a scanner sent"),
        ({"expires_on": "2019-01-01"}, "expires_on", "it must not be put on the shelf"),
        ({"expires_on": "2206-01-01"}, "expires_on", "check the year"),
        ({"expires_on": "31.13.2027"}, "expires_on", "Enter a valid date."),
        ({"product": "999999"}, "product", "Select a valid choice."),
    ],
)
def test_each_refusal_stands_beside_its_field(clinic, alice_client, hydra, changes, field, message):
    response = alice_client.post(RECEIVE, receive_data(hydra, **changes))
    assert response.status_code == 200
    assert message in field_error(response.content.decode(), field)
    assert not Lot.objects.exists()


def test_the_receive_form_loads_the_scanner_without_inline_scripts(clinic, alice_client, hydra):
    response = alice_client.get(RECEIVE, {"product": hydra.pk})
    page = response.content.decode()
    assert f'<option value="{hydra.pk}" selected>' in page
    assert 'src="/static/vendor/zxing/zxing-browser.min.js"' in page and 'src="/static/js/scan.js"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # every script is a file
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_the_receive_page_takes_a_fixed_number_of_queries(
    clinic, alice_client, alice, hydra, django_assert_num_queries
):
    for number in range(20):
        received(hydra, f"L{number}", "1", alice)
    alice_client.get(RECEIVE)
    with django_assert_num_queries(RECEIVE_QUERIES):
        alice_client.get(RECEIVE)


RECEIVE_QUERIES = 3  # the session, its user, the products to choose from


# --- Scanning -----------------------------------------------------------------------------------

KAREKOD = f"]d201086995360901222112345678{GS}17270500" + "10HB2611"


def test_a_scanned_karekod_fills_product_lot_and_expiry(clinic, alice_client, hydra):
    answer = alice_client.post(SCAN, {"code": KAREKOD}).json()
    assert answer == {
        "ok": True,
        "complete": True,
        "message": "Read from the pack: Hydra Boost (Meso Labs), lot HB2611, expires 31 May 2027.",
        "gtin": "08699536090122",
        "product": hydra.pk,
        "lot_number": "HB2611",
        "expires_on": "2027-05-31",
        "serial": "12345678",
    }


def test_a_pack_whose_gtin_the_catalogue_does_not_know_fills_lot_and_expiry_and_says_so(clinic, alice_client, vitamin):
    answer = alice_client.post(SCAN, {"code": KAREKOD}).json()
    assert (answer["ok"], answer["complete"], answer["product"], answer["lot_number"]) == (True, False, None, "HB2611")
    assert "No product in the catalogue has the GTIN 08699536090122: choose the product" in answer["message"]


def test_a_code_that_cannot_be_read_is_said_to_be_so(clinic, alice_client, hydra):
    for code in ["hello", "0108699536090123" + "10X", "", "9" * 5000]:
        answer = alice_client.post(SCAN, {"code": code}).json()
        assert answer["ok"] is False and answer["message"], code
    assert alice_client.get(SCAN).status_code == 405


def test_an_expired_pack_is_flagged_at_the_scan(clinic, alice_client, hydra):
    answer = alice_client.post(SCAN, {"code": "010869953609012217200131" + "10OLD"}).json()
    assert answer["complete"] is False and "This lot expired on 31 Jan 2020" in answer["message"]


# --- A lot ------------------------------------------------------------------------------------


def test_a_lot_s_history_shows_every_movement(clinic, alice_client, alice, hydra, chart):
    lot = received(hydra, "HB2611", "10", alice, supplier="Depo", units=None)
    services.draw_down(chart=chart, uses=[(lot, Decimal("2.5"))], by=alice)
    page = alice_client.get(reverse("stock:lot", args=[lot.pk])).content.decode()
    assert "Received" in page and "from Depo" in page and "Used at a session" in page
    assert chart.session.get_absolute_url() in page
    assert "7.50 ml" in page and "Count and correct" in page
    assert chart.session.patient.family_name not in page  # no patient's name: no access to record


def test_a_count_corrects_the_lot_and_a_refused_count_keeps_what_was_typed(clinic, alice_client, alice, hydra):
    lot = received(hydra, "HB2611", "10", alice)
    url = reverse("stock:lot", args=[lot.pk])
    response = alice_client.post(url, {"counted_ml": "7,5", "note": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert field_error(page, "note") == "This field is required."
    assert "Enter a number." in field_error(page, "counted_ml") or 'value="7,5"' in page
    response = alice_client.post(url, {"counted_ml": "7.5", "note": "a vial broke"})
    assert response.status_code == 302
    assert Lot.objects.get().on_hand_ml == Decimal("7.50")
    last = StockMovement.objects.filter(lot=lot).first()
    assert (last.kind, last.change_ml, last.note, last.by) == (
        StockMovementKind.ADJUSTED,
        Decimal("-2.50"),
        "a vial broke",
        alice,
    )
    assert "Lot HB2611 counted: 7.5 ml on hand." in alice_client.get(url).content.decode()


def test_an_expired_or_recalled_lot_says_so_on_its_page(clinic, alice_client, hydra):
    lot = Lot.objects.create(product=hydra, lot_number="OLD", expires_on=clinic_today() - datetime.timedelta(days=1))
    page = alice_client.get(reverse("stock:lot", args=[lot.pk])).content.decode()
    assert "it must not be used." in page and "Not counted" in page
    assert alice_client.get(reverse("stock:lot", args=[999999])).status_code == 404


@pytest.mark.parametrize("uses", [1, 30])
def test_a_lot_s_page_takes_the_same_queries_whatever_its_history(
    clinic, alice_client, alice, hydra, chart, uses, django_assert_num_queries
):
    lot = received(hydra, "HB2611", "100", alice)
    for _ in range(uses):
        services.draw_down(chart=chart, uses=[(lot, Decimal("1"))], by=alice)
    url = reverse("stock:lot", args=[lot.pk])
    alice_client.get(url)
    with django_assert_num_queries(LOT_QUERIES):
        alice_client.get(url)


LOT_QUERIES = 4  # the session, its user, the lot and its product, its movements


# --- Hostile input ------------------------------------------------------------------------------

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (LIST, {"show": HUGE}),
        (LIST, {"show": "\x00"}),
        (RECEIVE, {"product": HUGE}),
        (RECEIVE, {"product": "-1"}),
        (RECEIVE, {"supplier": "x" * 10_000}),
        (RECEIVE, {"supplier": "a\x00b"}),
    ],
)
def test_a_hostile_query_is_a_400_never_a_500(clinic, alice_client, url, query):
    assert alice_client.get(url, query).status_code == 400


@pytest.mark.parametrize("value", [HUGE, "-1", "1e9999", "NaN", "\x00", "x" * 10_000, "9999-12-31", "0001-01-01"])
def test_hostile_values_posted_to_the_forms_are_refused_beside_their_fields(clinic, alice_client, alice, hydra, value):
    for name in ("product", "lot_number", "expires_on", "units", "quantity_ml", "supplier"):
        response = alice_client.post(RECEIVE, receive_data(hydra, **{name: value}))
        assert response.status_code in (200, 302), (name, value)
    lot = received(hydra, "COUNTED", "10", alice)
    for data in ({"counted_ml": value, "note": "count"}, {"counted_ml": "1", "note": value}):
        assert alice_client.post(reverse("stock:lot", args=[lot.pk]), data).status_code in (200, 302)
    answer = alice_client.post(SCAN, {"code": value}).json()
    assert answer["ok"] is False
