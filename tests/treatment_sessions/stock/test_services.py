"""Receiving, counting and drawing down a lot: the arithmetic, the movements, the audit trail,
and what is refused."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.treatment_sessions.models import Lot, StockMovement, StockMovementKind
from mesoclinic.treatment_sessions.stock import services

from .conftest import in_days, received

pytestmark = pytest.mark.django_db


def movements(lot):
    return list(StockMovement.objects.filter(lot=lot).order_by("at", "id"))


def quantity_entries(lot):
    return [
        entry.changes
        for entry in AuditEntry.objects.get_for_object(lot).order_by("timestamp", "id")
        if "on_hand_ml" in (entry.changes or {})
    ]


# --- Receiving ------------------------------------------------------------------------------


def test_a_delivery_in_vials_is_counted_in_millilitres_and_creates_its_lot(hydra, alice):
    lot = services.delivery_receive(
        product=hydra, lot_number=" hb-2611 ", expires_on=in_days(200), units=10, supplier="Medikal A.Ş.", by=alice
    )
    lot.refresh_from_db()
    assert (lot.lot_number, lot.on_hand_ml, lot.expires_on) == ("HB-2611", Decimal("50.00"), in_days(200))
    [movement] = movements(lot)
    assert (movement.kind, movement.change_ml, movement.on_hand_after_ml, movement.units, movement.supplier) == (
        StockMovementKind.RECEIVED,
        Decimal("50.00"),
        Decimal("50.00"),
        10,
        "Medikal A.Ş.",
    )
    assert movement.by == alice and movement.chart is None


def test_a_second_delivery_of_the_same_lot_adds_to_it(hydra, alice):
    received(hydra, "HB2611", "12.5", alice)
    lot = services.delivery_receive(product=hydra, lot_number="hb2611", expires_on=in_days(300), units=2, by=alice)
    assert Lot.objects.get(pk=lot.pk).on_hand_ml == Decimal("22.50")
    assert [m.on_hand_after_ml for m in movements(lot)] == [Decimal("12.50"), Decimal("22.50")]
    assert Lot.objects.count() == 1


def test_a_lot_typed_at_a_chart_and_never_counted_is_counted_from_its_first_delivery(hydra, alice):
    lot = Lot.objects.create(product=hydra, lot_number="HB2611", expires_on=in_days(100))
    services.delivery_receive(product=hydra, lot_number="HB2611", expires_on=in_days(100), units=3, by=alice)
    lot.refresh_from_db()
    assert lot.on_hand_ml == Decimal("15.00")
    assert quantity_entries(lot) == [{"on_hand_ml": [None, "15.00"], "stock_movement": [None, "Received +15.00 ml"]}]


def test_every_quantity_change_is_in_the_audit_trail_with_who_made_it(hydra, alice, sam):
    lot = received(hydra, "HB2611", "10", alice, supplier="Depo")
    services.stock_adjust(lot=lot, counted_ml=Decimal("8"), note="a vial broke", by=sam)
    entries = list(AuditEntry.objects.get_for_object(lot).order_by("timestamp", "id"))
    created = entries.pop(0)  # the lot itself, new with this delivery (auditlog; its quantity is not its field)
    assert created.action == AuditEntry.Action.CREATE and "on_hand_ml" not in created.changes
    assert [(e.actor, e.action, e.changes["on_hand_ml"]) for e in entries] == [
        (alice, AuditEntry.Action.UPDATE, [None, "10.00"]),
        (sam, AuditEntry.Action.UPDATE, ["10.00", "8.00"]),
    ]
    assert entries[0].changes["stock_movement"] == [None, "Received +10.00 ml from Depo"]
    assert entries[1].changes["stock_movement"] == [None, "Counted and corrected -2.00 ml: a vial broke"]


def test_units_and_millilitres_given_together_must_agree(hydra, alice):
    lot = services.delivery_receive(
        product=hydra, lot_number="A1", expires_on=in_days(90), units=4, quantity_ml=Decimal("20"), by=alice
    )
    assert lot.on_hand_ml == Decimal("20.00")
    with pytest.raises(ValidationError) as refused:
        services.delivery_receive(
            product=hydra, lot_number="A1", expires_on=in_days(90), units=4, quantity_ml=Decimal("25"), by=alice
        )
    assert refused.value.message_dict == {
        "quantity_ml": ["4 × 5 ml of Hydra Boost (Meso Labs) are 20 ml, not 25 ml: check the count or the millilitres."]
    }


def test_units_of_a_product_without_a_unit_volume_need_the_millilitres(vitamin, alice):
    vitamin.unit_ml = None
    vitamin.save()
    with pytest.raises(ValidationError) as refused:
        services.delivery_receive(product=vitamin, lot_number="V1", expires_on=in_days(90), units=3, by=alice)
    assert list(refused.value.message_dict) == ["quantity_ml"]
    lot = services.delivery_receive(
        product=vitamin, lot_number="V1", expires_on=in_days(90), units=3, quantity_ml=Decimal("7.5"), by=alice
    )
    assert lot.on_hand_ml == Decimal("7.50") and movements(lot)[0].units == 3


@pytest.mark.parametrize(
    ("units", "quantity", "field"),
    [
        (None, None, "units"),
        (0, None, "units"),
        (None, Decimal("0"), "quantity_ml"),
        (None, Decimal("-3"), "quantity_ml"),
    ],
)
def test_a_delivery_of_nothing_is_refused(hydra, alice, units, quantity, field):
    with pytest.raises(ValidationError) as refused:
        services.delivery_receive(
            product=hydra, lot_number="A1", expires_on=in_days(90), units=units, quantity_ml=quantity, by=alice
        )
    assert field in refused.value.message_dict
    assert not Lot.objects.exists() and not StockMovement.objects.exists()


def test_an_expiry_that_contradicts_the_known_lot_is_refused(hydra, alice):
    received(hydra, "HB2611", "10", alice, days=200)
    with pytest.raises(ValidationError) as refused:
        received(hydra, "hb2611", "10", alice, days=201)
    [message] = refused.value.message_dict["expires_on"]
    assert message.startswith("Lot HB2611 of Hydra Boost (Meso Labs) expires on ") and message.endswith(
        ": check the box."
    )
    assert Lot.objects.get().on_hand_ml == Decimal("10.00")


def test_an_expired_lot_is_not_put_on_the_shelf(hydra, alice):
    with pytest.raises(ValidationError) as refused:
        received(hydra, "OLD1", "10", alice, days=-1)
    assert "it must not be put on the shelf" in refused.value.message_dict["expires_on"][0]
    assert not Lot.objects.exists()
    lot = received(hydra, "TODAY1", "10", alice, days=0)  # the last day it may be used
    assert lot.on_hand_ml == Decimal("10.00")


def test_a_recalled_lot_is_not_received_again(hydra, alice):
    lot = received(hydra, "R1", "10", alice)
    Lot.objects.filter(pk=lot.pk).update(recalled_at=timezone.now(), recall_reason="contamination")
    with pytest.raises(ValidationError) as refused:
        received(hydra, "R1", "10", alice)
    assert "was recalled" in refused.value.message_dict["lot_number"][0]


def test_the_same_lot_number_of_two_products_is_two_lots(hydra, vitamin, alice):
    received(hydra, "X1", "10", alice)
    received(vitamin, "X1", "4", alice)
    assert sorted(Lot.objects.values_list("product__name", "on_hand_ml")) == [
        ("Hydra Boost", Decimal("10.00")),
        ("Vitamin Mix", Decimal("4.00")),
    ]


def test_the_same_delivery_sent_twice_at_once_is_received_once(hydra, alice, sam):
    args = {"product": hydra, "lot_number": "HB2611", "expires_on": in_days(90), "units": 2, "supplier": "Depo"}
    first, repeated = services.delivery_receive_once(**args, by=alice)
    again, repeated_again = services.delivery_receive_once(**args, by=alice)
    assert (repeated, repeated_again, again.pk) == (False, True, first.pk)
    assert Lot.objects.get().on_hand_ml == Decimal("10.00")
    # Another person, or another quantity, is another delivery.
    services.delivery_receive_once(**args, by=sam)
    services.delivery_receive_once(**{**args, "units": 3}, by=alice)
    assert Lot.objects.get().on_hand_ml == Decimal("35.00")
    # And the same one later is a second delivery.
    StockMovement.objects.update(at=timezone.now() - datetime.timedelta(minutes=5))
    services.delivery_receive_once(**args, by=alice)
    assert Lot.objects.get().on_hand_ml == Decimal("45.00")


# --- Counting -------------------------------------------------------------------------------


def test_a_count_sets_the_quantity_and_records_the_difference_with_its_reason(hydra, alice):
    lot = received(hydra, "HB2611", "20", alice)
    services.stock_adjust(lot=lot, counted_ml=Decimal("17.5"), note="  miscounted at delivery ", by=alice)
    lot.refresh_from_db()
    assert lot.on_hand_ml == Decimal("17.50")
    last = movements(lot)[-1]
    assert (last.kind, last.change_ml, last.on_hand_after_ml, last.note) == (
        StockMovementKind.ADJUSTED,
        Decimal("-2.50"),
        Decimal("17.50"),
        "miscounted at delivery",
    )
    services.stock_adjust(lot=lot, counted_ml=Decimal("17.5"), note="checked", by=alice)  # a count that agrees
    assert movements(lot)[-1].change_ml == Decimal("0.00")


def test_a_lot_never_counted_is_counted_by_its_first_count(hydra, alice):
    lot = Lot.objects.create(product=hydra, lot_number="OLD", expires_on=in_days(30))
    services.stock_adjust(lot=lot, counted_ml=Decimal("3"), note="first count", by=alice)
    assert movements(lot)[0].change_ml == Decimal("3.00") and Lot.objects.get().on_hand_ml == Decimal("3.00")


@pytest.mark.parametrize(
    ("counted", "note", "fields"), [(Decimal("5"), " ", ["note"]), (Decimal("-1"), "x", ["counted_ml"])]
)
def test_a_count_needs_a_reason_and_cannot_be_negative(hydra, alice, counted, note, fields):
    lot = received(hydra, "HB2611", "20", alice)
    with pytest.raises(ValidationError) as refused:
        services.stock_adjust(lot=lot, counted_ml=counted, note=note, by=alice)
    assert list(refused.value.message_dict) == fields
    assert Lot.objects.get().on_hand_ml == Decimal("20.00")


# --- Drawing down ---------------------------------------------------------------------------


def test_a_signed_chart_draws_down_each_lot_it_used(hydra, vitamin, alice, chart):
    a = received(hydra, "A", "10", alice)
    b = received(vitamin, "B", "4", alice)
    uncounted = Lot.objects.create(product=vitamin, lot_number="C", expires_on=in_days(10))
    # Lot A used from two syringes: added up.
    made = services.draw_down(
        chart=chart, uses=[(b, Decimal("1.5")), (a, Decimal("2")), (uncounted, Decimal("1")), (a, "0.75")], by=alice
    )
    assert [(m.lot_id, m.change_ml, m.on_hand_after_ml) for m in made] == [
        (a.pk, Decimal("-2.75"), Decimal("7.25")),
        (b.pk, Decimal("-1.50"), Decimal("2.50")),
    ]
    assert {m.kind for m in made} == {StockMovementKind.USED} and {m.chart for m in made} == {chart}
    assert Lot.objects.get(pk=a.pk).on_hand_ml == Decimal("7.25")
    assert Lot.objects.get(pk=uncounted.pk).on_hand_ml is None  # used as before, not counted
    assert quantity_entries(a)[-1] == {
        "on_hand_ml": ["10.00", "7.25"],
        "stock_movement": [None, f"Used at a session -2.75 ml (chart {chart.pk})"],
    }


def test_a_chart_using_more_than_is_on_hand_takes_nothing_and_says_what_is_left(hydra, vitamin, alice, chart):
    a = received(hydra, "A", "10", alice)
    b = received(vitamin, "B", "1", alice)
    with pytest.raises(ValidationError) as refused:
        services.draw_down(chart=chart, uses=[(a, Decimal("3")), (b, Decimal("1.25"))], by=alice)
    assert refused.value.messages == ["Lot B of Vitamin Mix (Derma): 1 ml on hand, 1.25 ml charted."]
    assert refused.value.error_list[0].code == "not_enough_stock"
    assert Lot.objects.get(pk=a.pk).on_hand_ml == Decimal("10.00")  # A not touched either
    assert not StockMovement.objects.filter(kind=StockMovementKind.USED).exists()


def test_the_last_millilitre_may_be_used_and_the_lot_is_then_empty(hydra, alice, chart):
    a = received(hydra, "A", "2", alice)
    services.draw_down(chart=chart, uses=[(a, Decimal("2"))], by=alice)
    assert Lot.objects.get(pk=a.pk).on_hand_ml == Decimal("0.00")
    with pytest.raises(ValidationError, match=r"Lot A of Hydra Boost \(Meso Labs\): 0 ml on hand, 0.05 ml charted."):
        services.draw_down(chart=chart, uses=[(a, Decimal("0.05"))], by=alice)


def test_nothing_used_draws_nothing_and_a_negative_volume_is_refused(hydra, alice, chart):
    a = received(hydra, "A", "2", alice)
    assert services.draw_down(chart=chart, uses=[], by=alice) == []
    assert services.draw_down(chart=chart, uses=[(a, Decimal("0.001"))], by=alice) == []  # rounds to nothing
    with pytest.raises(ValidationError):
        services.draw_down(chart=chart, uses=[(a, Decimal("-1"))], by=alice)
    assert Lot.objects.get(pk=a.pk).on_hand_ml == Decimal("2.00")


def test_the_database_itself_refuses_a_negative_quantity(hydra, alice):
    """Past every service, straight through the ORM: the check constraint holds."""
    a = received(hydra, "A", "2", alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Lot.objects.filter(pk=a.pk).update(on_hand_ml=Decimal("-0.01"))
    assert Lot.objects.get(pk=a.pk).on_hand_ml == Decimal("2.00")


def test_a_movement_is_history_and_cannot_be_edited(hydra, alice):
    movement = movements(received(hydra, "A", "2", alice))[0]
    movement.change_ml = Decimal("100")
    with pytest.raises(ValueError, match="history"):
        movement.save()
