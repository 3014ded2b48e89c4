"""Which lot to use first (FEFO), whether a lot may be used, and the shelf as a list, in a fixed
number of queries whatever the number of lots."""

from decimal import Decimal

import pytest
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Lot
from mesoclinic.treatment_sessions.stock.selectors import (
    lot_problem,
    lots_first_to_expire,
    product_for_gtin,
    stock_list,
)

from .conftest import in_days, received

pytestmark = pytest.mark.django_db


def lot(product, number, days, on_hand="10", **extra):
    """A lot straight in the database: past expiry dates included, which a delivery refuses."""
    return Lot.objects.create(
        product=product,
        lot_number=number,
        expires_on=in_days(days),
        on_hand_ml=None if on_hand is None else Decimal(on_hand),
        **extra,
    )


def test_the_lot_that_expires_first_is_offered_first_and_unusable_lots_not_at_all(hydra, vitamin):
    later = lot(hydra, "LATER", 200)
    soon = lot(hydra, "SOON", 20)
    uncounted = lot(hydra, "TYPED", 100, on_hand=None)  # typed at a chart before stock was counted
    today = lot(hydra, "TODAY", 0)  # may still be used today
    lot(hydra, "EXPIRED", -1)
    lot(hydra, "EMPTY", 5, on_hand="0")
    lot(hydra, "RECALLED", 3, recalled_at=timezone.now())
    lot(vitamin, "OTHER", 1)
    offered = list(lots_first_to_expire(hydra, clinic_today()))
    assert offered == [today, soon, uncounted, later]


def test_fefo_is_as_of_the_day_asked(hydra):
    soon = lot(hydra, "SOON", 5)
    later = lot(hydra, "LATER", 50)
    assert list(lots_first_to_expire(hydra, in_days(6))) == [later]
    assert list(lots_first_to_expire(hydra, in_days(5))) == [soon, later]


def test_a_lot_s_problem_says_why_it_must_not_be_used(hydra):
    today = clinic_today()
    assert lot_problem(lot(hydra, "OK", 10), today) == ""
    assert lot_problem(lot(hydra, "TYPED", 10, on_hand=None), today) == ""
    expired = lot_problem(lot(hydra, "OLD", -3), today)
    assert expired.startswith("Lot OLD of Hydra Boost (Meso Labs) expired on ") and expired.endswith(
        ": it must not be used."
    )
    assert lot_problem(lot(hydra, "EMPTY", 10, on_hand="0"), today) == (
        "None of lot EMPTY of Hydra Boost (Meso Labs) is left on the shelf: check the lot number, "
        "or receive the delivery first."
    )
    recalled = lot(hydra, "BAD", 10, recalled_at=timezone.now(), recall_reason="sterility not assured")
    assert "was recalled on" in lot_problem(recalled, today)
    assert lot_problem(recalled, today).endswith("(sterility not assured): it must not be used.")
    # A recall outranks everything else said about the lot.
    assert "recalled" in lot_problem(lot(hydra, "BAD2", -3, recalled_at=timezone.now()), today)


def test_a_product_is_found_by_its_gtin_in_any_length(hydra):
    assert product_for_gtin("08699536090122") == hydra
    hydra.gtin = "8699536090122"  # stored as the GTIN-13 printed under the barcode
    hydra.save()
    assert product_for_gtin("08699536090122") == hydra
    assert product_for_gtin("08690000000012") is None and product_for_gtin("") is None


def test_the_shelf_lists_each_product_s_lots_with_totals_and_flags(hydra, vitamin, alice):
    received(hydra, "LATER", "12", alice, days=200)
    received(hydra, "SOON", "5", alice, days=10)
    lot(hydra, "OLD", -2, on_hand="1.5")  # expired, still on the shelf: to discard
    lot(hydra, "GONE", -40, on_hand=None)  # expired, never counted: long gone, not listed
    lot(hydra, "BAD", 100, on_hand="4", recalled_at=timezone.now())
    lot(hydra, "EMPTY", 100, on_hand="0")
    Product.objects.create(name="Retired", is_active=False)
    listing = stock_list(clinic_today())
    rows = {row.product.name: row for row in listing.rows}
    assert list(rows) == ["Hydra Boost", "Vitamin Mix"]  # inactive with nothing on the shelf: not listed
    hydra_row = rows["Hydra Boost"]
    assert [(line.lot.lot_number, line.expired, line.expiring_soon, line.recalled) for line in hydra_row.lines] == [
        ("OLD", True, False, False),
        ("SOON", False, True, False),
        ("BAD", False, False, True),
        ("LATER", False, False, False),
    ]
    assert hydra_row.usable_ml == Decimal("17.00") and hydra_row.to_discard_ml == Decimal("5.50")
    assert hydra_row.below_reorder  # 17 ml usable, reorder below 20
    assert hydra_row.expiring_soon and hydra_row.recalled
    assert rows["Vitamin Mix"].lines == [] and not rows["Vitamin Mix"].below_reorder  # no reorder level
    assert (listing.expiring_count, listing.reorder_count) == (1, 1)


def test_a_product_with_lots_not_counted_is_not_flagged_for_reorder(hydra):
    lot(hydra, "TYPED", 100, on_hand=None)
    row = stock_list(clinic_today()).rows[0]
    assert row.uncounted and not row.below_reorder


def test_the_filters_show_what_expires_soon_and_what_to_reorder(hydra, vitamin, alice):
    received(hydra, "SOON", "50", alice, days=30)  # the 30th day still counts as soon
    received(hydra, "LATER", "50", alice, days=31)
    received(vitamin, "V1", "1", alice, days=300)
    vitamin.reorder_ml = Decimal("2")
    vitamin.save()
    expiring = stock_list(clinic_today(), "expiring")
    assert [(row.product.name, [line.lot.lot_number for line in row.lines]) for row in expiring.rows] == [
        ("Hydra Boost", ["SOON"])
    ]
    assert expiring.rows[0].usable_ml == Decimal("100.00")  # the totals still count every lot
    reorder = stock_list(clinic_today(), "reorder")
    assert [row.product.name for row in reorder.rows] == ["Vitamin Mix"]


@pytest.mark.parametrize("lots", [1, 50])
def test_the_shelf_takes_two_queries_whatever_the_number_of_lots(hydra, vitamin, lots, django_assert_num_queries):
    for number in range(lots):
        lot(hydra if number % 2 else vitamin, f"L{number}", number - 3, on_hand=str(number))
    with django_assert_num_queries(2):
        listing = stock_list(clinic_today())
        seen = [
            (str(line.lot.product), line.lot.on_hand_ml, row.usable_ml, row.below_reorder, row.expiring_soon)
            for row in listing.rows
            for line in row.lines
        ]
    assert len(seen) == len([n for n in range(lots) if n > 0])  # lot 0 is empty: not on the shelf
