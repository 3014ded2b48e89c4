import datetime
from decimal import Decimal

import pytest

from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.stock import services
from tests.builders import PatientFactory, signed_session


@pytest.fixture
def hydra(db):
    """A product sold in 5 ml vials, reordered below 20 ml, with its GTIN on the pack."""
    return Product.objects.create(
        name="Hydra Boost",
        manufacturer="Meso Labs",
        unit_ml=Decimal("5"),
        reorder_ml=Decimal("20"),
        gtin="08699536090122",
    )


@pytest.fixture
def vitamin(db):
    return Product.objects.create(name="Vitamin Mix", manufacturer="Derma", unit_ml=Decimal("2"))


def in_days(days):
    return clinic_today() + datetime.timedelta(days=days)


def received(product, lot_number, ml, by, days=300, **extra):
    """A delivery of `ml` millilitres of a lot expiring in `days` days."""
    return services.delivery_receive(
        product=product, lot_number=lot_number, expires_on=in_days(days), quantity_ml=Decimal(ml), by=by, **extra
    )


@pytest.fixture
def chart(clinic, alice, room):
    """A signed chart to draw down for (its own lots are not counted: nothing is taken from them)."""
    return signed_session(alice, room, PatientFactory()).chart
