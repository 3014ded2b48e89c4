"""Two charts signed at once that together need more than is on the shelf: real threads, each on
its own database connection and in its own transaction, as two gunicorn workers would be.
Exactly one takes its share; the other is refused with what is left; never below zero."""

import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import F

from mesoclinic.core.selectors import clinic_today
from mesoclinic.treatment_sessions.models import Lot, StockMovement, StockMovementKind
from mesoclinic.treatment_sessions.stock import services
from tests.builders import PatientFactory, moment, signed_session

from .conftest import received

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def charts(clinic, alice, room):
    """Two signed charts of today, two hours apart."""
    return [
        signed_session(alice, room, PatientFactory(), start=moment(clinic_today(), 8 + 2 * n), next_in_days=0).chart
        for n in range(2)
    ]


def at_once(count, work):
    """`work(index)` in `count` threads started together; each outcome, or the error's text."""
    start = threading.Barrier(count)
    outcomes = [None] * count

    def run(index):
        try:
            start.wait()
            outcomes[index] = work(index)
        except ValidationError as refused:
            outcomes[index] = " ".join(refused.messages)
        except Exception as error:  # anything else would be a 500
            outcomes[index] = f"ERROR {type(error).__name__}: {error}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_charts_taking_6_ml_each_from_10_ml_one_succeeds_and_4_ml_are_left(hydra, alice, charts):
    lot = received(hydra, "HB2611", "10", alice)

    def sign(index):
        with transaction.atomic():
            services.draw_down(chart=charts[index], uses=[(lot, Decimal("6"))], by=alice)
            time.sleep(0.5)  # the signing goes on holding the lock: the other must wait for it
        return "drawn"

    outcomes = at_once(2, sign)
    assert sorted(outcomes) == ["Lot HB2611 of Hydra Boost (Meso Labs): 4 ml on hand, 6 ml charted.", "drawn"]
    assert Lot.objects.get(pk=lot.pk).on_hand_ml == Decimal("4.00")
    [used] = StockMovement.objects.filter(kind=StockMovementKind.USED)
    assert (used.change_ml, used.on_hand_after_ml) == (Decimal("-6.00"), Decimal("4.00"))


def test_eight_charts_taking_2_ml_each_from_10_ml_five_succeed_and_none_is_left(hydra, alice, charts):
    lot = received(hydra, "HB2611", "10", alice)

    def sign(index):
        with transaction.atomic():
            services.draw_down(chart=charts[index % 2], uses=[(lot, Decimal("2"))], by=alice)
        return "drawn"

    outcomes = at_once(8, sign)
    assert outcomes.count("drawn") == 5, outcomes
    assert all(o == "drawn" or o.endswith("0 ml on hand, 2 ml charted.") for o in outcomes), outcomes
    assert Lot.objects.get(pk=lot.pk).on_hand_ml == Decimal("0.00")
    after = sorted(StockMovement.objects.filter(kind=StockMovementKind.USED).values_list("on_hand_after_ml", flat=True))
    assert after == [Decimal(n) for n in ("0", "2", "4", "6", "8")]  # each saw what the one before left


def test_two_charts_sharing_two_lots_in_opposite_orders_do_not_deadlock(hydra, vitamin, alice, charts):
    a = received(hydra, "A", "10", alice)
    b = received(vitamin, "B", "10", alice)
    orders = [[(a, Decimal("1")), (b, Decimal("1"))], [(b, Decimal("1")), (a, Decimal("1"))]]

    def sign(index):
        with transaction.atomic():
            services.draw_down(chart=charts[index], uses=orders[index], by=alice)
            time.sleep(0.2)
        return "drawn"

    assert at_once(2, sign) == ["drawn", "drawn"]
    assert [Lot.objects.get(pk=lot.pk).on_hand_ml for lot in (a, b)] == [Decimal("8.00"), Decimal("8.00")]


def test_past_every_lock_the_database_still_refuses_to_go_below_zero(hydra, alice):
    """Two transactions subtracting 6 ml at once straight through the ORM, no lock taken first:
    the second's UPDATE waits for the first's row, re-reads it, and the check constraint refuses."""
    lot = received(hydra, "HB2611", "10", alice)

    def take(index):
        with transaction.atomic():
            Lot.objects.filter(pk=lot.pk).update(on_hand_ml=F("on_hand_ml") - Decimal("6"))
            time.sleep(0.3)
        return "taken"

    outcomes = at_once(2, take)
    assert outcomes.count("taken") == 1
    [refused] = [o for o in outcomes if o != "taken"]
    assert refused.startswith(f"ERROR {IntegrityError.__name__}") and "lot_stock_never_negative" in refused
    assert Lot.objects.get(pk=lot.pk).on_hand_ml == Decimal("4.00")
