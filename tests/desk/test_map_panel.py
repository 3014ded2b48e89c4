"""The patient page's injection map costs the same however many points were charted."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import InjectionPoint, Syringe, SyringeComponent
from tests.builders import signed_session

pytestmark = pytest.mark.django_db


def _map(chart, points):
    """A signed chart's map, written as the chart's save writes it (rows in bulk)."""
    [syringe] = Syringe.objects.bulk_create([Syringe(chart=chart, label="A")])
    lot = chart.products_used.first().lot
    SyringeComponent.objects.bulk_create([SyringeComponent(syringe=syringe, lot=lot, percent=Decimal("100"))])
    face = Term.objects.get(kind="area", code="face")
    InjectionPoint.objects.bulk_create(
        InjectionPoint(
            chart=chart,
            syringe=syringe,
            diagram="face_front",
            area=face,
            x=Decimal(20 + n % 60),
            y=Decimal(20 + n // 60 * 5),
            depth_mm=Decimal("1.0"),
            technique="nappage",
            needle_gauge=32,
            volume_ml=Decimal("0.01"),
            position=n + 1,
        )
        for n in range(points)
    )


def _queries(client, patient):
    url = reverse("desk:patient", args=[patient.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as seen:
        page = client.get(url)
    assert page.status_code == 200 and 'id="patient-map"' in page.content.decode()
    return len(seen.captured_queries)


def test_the_map_panel_costs_the_same_for_3_points_and_for_200(alice_client, alice, room):
    from tests.builders import PatientFactory

    few, many = PatientFactory(), PatientFactory()
    first = signed_session(alice, room, few, next_in_days=0)
    _map(first.chart, 3)
    later = signed_session(alice, room, many, next_in_days=0, start=first.starts_at + datetime.timedelta(hours=2))
    _map(later.chart, 200)
    assert _queries(alice_client, few) == _queries(alice_client, many)
