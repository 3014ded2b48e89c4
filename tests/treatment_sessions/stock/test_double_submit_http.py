"""A delivery form sent several times at once (a double click, a tablet resending), over real HTTP
against gunicorn with several workers on PostgreSQL: the delivery is received once, every
request gets an answer, none fails."""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from mesoclinic.treatment_sessions.models import Lot, StockMovement
from tests.core.test_worker import database_url
from tests.test_fault_tolerance import Server
from tests.treatment_sessions.session_day.test_double_clicks_http import BROKER_URL, Clicker, all_at_once, csrf_token

from .conftest import in_days

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long clinic password"


@pytest.fixture
def server(alice, clinic):
    # The server hashes as production does, not with the tests' fast hasher.
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt", iterations=1000)
    alice.save()
    with Server(database_url(), BROKER_URL, workers=4) as running:
        yield running


def test_a_delivery_posted_six_times_at_once_is_received_once(server, hydra):
    browser = Clicker(server.url)
    status, _ = browser.log_in("alice", PASSWORD)
    assert status == 302
    path = reverse("stock:receive")
    status, page = browser.get(path)
    assert status == 200, page
    data = {
        "csrfmiddlewaretoken": csrf_token(page),
        "product": hydra.pk,
        "lot_number": "HB2611",
        "expires_on": in_days(200).isoformat(),
        "units": "4",
        "quantity_ml": "",
        "supplier": "Depo",
    }
    statuses = all_at_once(browser, path, data, clicks=6)
    print(f"receive: statuses {statuses}")
    assert statuses == [302] * 6, statuses
    assert Lot.objects.get(lot_number="HB2611").on_hand_ml == Decimal("20.00")
    assert StockMovement.objects.count() == 1
