"""Two practitioners sign, at the same moment, two charts that together need more of one lot
than is on the shelf: over real HTTP, gunicorn with several workers on PostgreSQL. Exactly one
chart is signed and takes its share; the other is refused in words (never a 500) and stays a
draft; the lot is never below zero and its movements add up to what is on hand.

Each trial is a fresh lot and two fresh sessions; MESOCLINIC_STOCK_TRIALS=5 runs more."""

import datetime
import json
import os
import threading
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from mesoclinic.core.models import Room
from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import Chart, Lot, StockMovement, StockMovementKind
from mesoclinic.treatment_sessions.stock.services import delivery_receive
from tests.builders import (
    PatientFactory,
    PractitionerFactory,
    booked_long_ago,
    consented,
    covering,
    plan_for,
    rechecked,
    screened,
    session_at,
)
from tests.core.test_worker import database_url
from tests.test_fault_tolerance import Server
from tests.treatment_sessions.session_day.test_double_clicks_http import Clicker, csrf_token, report
from tests.treatment_sessions.session_day.test_session_day import later_today

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TRIALS = int(os.environ.get("MESOCLINIC_STOCK_TRIALS", "2"))
PASSWORD = "a long clinic password"
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
ON_HAND = Decimal("1.00")
EACH_NEEDS = Decimal("0.60")  # 12 points of 0.05 ml: two charts need 1.2 ml of the 1 ml on hand


@pytest.fixture
def bob(db):
    return PractitionerFactory(username="bob", first_name="Bob", last_name="Ince")


@pytest.fixture
def server(alice, bob, clinic):
    for practitioner in (alice, bob):  # the server hashes as production does
        practitioner.password = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt")
        practitioner.save()
    with Server(database_url(), BROKER_URL, workers=4) as running:
        yield running


def logged_in(server, username):
    browser = Clicker(server.url)
    status, _ = browser.log_in(username, PASSWORD)
    assert status == 302
    return browser


def chartable_session(practitioner, room, minutes):
    """A cellulite session of a new patient, `minutes` from now on the clinic's today, with
    `practitioner`, re-checked and ready to chart."""
    patient = PatientFactory()
    plan = plan_for(patient, practitioner, "cellulite")
    screened(patient, practitioner, **covering(plan))
    consented(plan, practitioner)
    plan = plan_activate(plan=plan, by=practitioner)
    session = booked_long_ago(session_at(plan, practitioner, room, later_today(minutes)))
    rechecked(session, practitioner)
    return session


def the_map(lot_number):
    """12 nappage points of 0.05 ml on the thighs, from one syringe of the lot."""
    return {
        "syringes": [{"label": "A", "components": [{"lot": lot_number, "product": None, "percent": "100"}]}],
        "points": [
            {
                "syringe": "A",
                "diagram": "thighs",
                "area": "thighs",
                "shape": "point",
                "x": str(30 + 3 * i),
                "y": "50",
                "depth_mm": "4.0",
                "technique": "nappage",
                "needle_gauge": 30,
                "volume_ml": "0.05",
            }
            for i in range(12)
        ],
    }


def chart_data(token, lot_number, action):
    return {
        "csrfmiddlewaretoken": token,
        "technique": "nappage",
        "depth_mm": "4.0",
        "needle_gauge": "30",
        "anaesthetic": "none",
        "duration_minutes": "40",
        "notes": "",
        "map": json.dumps(the_map(lot_number)),
        "action": action,
        **({"confirm_sign": "on"} if action == "sign" else {}),
        "areas-TOTAL_FORMS": "0",
        "areas-INITIAL_FORMS": "0",
        "products-TOTAL_FORMS": "0",
        "products-INITIAL_FORMS": "0",
    }


def draft(browser, session, lot_number):
    """The practitioner opens the chart, marks the map and saves a draft: the chart to sign."""
    path = reverse("session_day:chart", args=[session.pk])
    status, page = browser.get(path)
    assert status == 200, page
    token = csrf_token(page)
    status, page = browser.post(path, chart_data(token, lot_number, "save"))
    assert status == 302, page
    return path, token


def both_at_once(posts):
    """Each (browser, path, data) POSTed at the same moment; their (status, page)."""
    start = threading.Barrier(len(posts))
    answers = [None] * len(posts)

    def post(index, browser, path, data):
        start.wait()
        answers[index] = browser.post(path, data)

    threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_charts_signed_at_once_never_take_more_than_is_on_hand(server, alice, bob, room):
    other_room = Room.objects.get(name="Room 2")
    product = Product.objects.create(name="Lipo Serum", manufacturer="Meso Labs")
    product.ingredients.set(Term.objects.filter(kind="ingredient", code__in=["phosphatidylcholine"]))
    browsers = {"alice": logged_in(server, "alice"), "bob": logged_in(server, "bob")}
    trials = []
    for number in range(TRIALS):
        lot = delivery_receive(
            product=product,
            lot_number=f"LS-{number}",
            expires_on=datetime.date.today() + datetime.timedelta(days=300),
            quantity_ml=ON_HAND,
            supplier="Meso Depot",
            by=alice,
        )
        sessions = {
            "alice": chartable_session(alice, room, 60 + 50 * number),
            "bob": chartable_session(bob, other_room, 60 + 50 * number),
        }
        posts = []
        for who, session in sessions.items():
            path, token = draft(browsers[who], session, lot.lot_number)
            posts.append((browsers[who], path, chart_data(token, lot.lot_number, "sign")))
        answers = both_at_once(posts)
        statuses = [status for status, _page in answers]
        trials.append(statuses)

        assert sorted(statuses, key=str) == [200, 302], statuses  # one signed and left; one refused
        [refusal] = [page for status, page in answers if status == 200]
        assert "Saved as a draft, not signed" in refusal and f"Lot {lot.lot_number} of Lipo Serum" in refusal
        assert "0.4 ml on hand, 0.6 ml charted" in refusal
        charts = Chart.objects.filter(session__in=sessions.values())
        signed = [chart for chart in charts if chart.is_signed]
        assert len(signed) == 1 and len(charts) == 2  # the other stays a draft, its map kept
        assert all(chart.points.count() == 12 for chart in charts)
        lot.refresh_from_db()
        assert lot.on_hand_ml == ON_HAND - EACH_NEEDS >= 0
        movements = StockMovement.objects.filter(lot=lot).order_by("at", "id")
        assert [(m.kind, m.change_ml, m.on_hand_after_ml, m.chart_id) for m in movements] == [
            (StockMovementKind.RECEIVED, ON_HAND, ON_HAND, None),
            (StockMovementKind.USED, -EACH_NEEDS, ON_HAND - EACH_NEEDS, signed[0].pk),
        ]
        assert sum(m.change_ml for m in movements) == lot.on_hand_ml
        assert Lot.objects.filter(on_hand_ml__lt=0).count() == 0
    report("sign with stock", trials)
    assert all(status is not None and status < 500 for statuses in trials for status in statuses), trials
