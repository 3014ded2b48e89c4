"""A series repeats itself: the chart of session 2 starts from the signed chart of session 1
(areas and volumes, lots still in date, technique), so charting is mostly confirming."""

import datetime
from decimal import Decimal

import pytest

from mesoclinic.treatment_sessions.models import Lot, TreatmentSession
from mesoclinic.treatment_sessions.session_day.selectors import chart_initial
from tests.builders import PatientFactory, signed_session

pytestmark = pytest.mark.django_db


def test_the_next_chart_starts_from_the_last_signed_one(clinic, alice, room):
    first = signed_session(alice, room, PatientFactory(), areas=("face", "neck"))
    second = TreatmentSession.objects.get(plan=first.plan, sequence=2)
    start = chart_initial(second, None)
    assert [(row["area"], row["volume_ml"]) for row in start.areas[:-1]] == [
        ("face", Decimal("1.5")),
        ("neck", Decimal("1.5")),
    ]
    assert [row["lot_number"] for row in start.products[:-1]] == ["HB-1"]
    assert start.chart["technique"] == first.chart.technique
    assert start.areas[-1] == {} and start.products[-1] == {}  # a free row to add one


def test_a_lot_expired_by_the_next_session_is_not_offered_again(clinic, alice, room):
    first = signed_session(alice, room, PatientFactory())
    second = TreatmentSession.objects.get(plan=first.plan, sequence=2)
    Lot.objects.filter(lot_number="HB-1").update(expires_on=datetime.date.today() + datetime.timedelta(days=3))
    assert chart_initial(second, None).products == [{}]


def test_the_first_chart_of_a_plan_starts_from_the_plan(clinic, alice, room):
    first = signed_session(alice, room, PatientFactory())
    start = chart_initial(first, None)  # nothing signed before it
    assert start.chart["duration_minutes"] == first.plan.session_minutes
    assert "volume_ml" not in start.areas[0]
