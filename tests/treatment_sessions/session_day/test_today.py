import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.selectors import clinic_today
from tests.builders import active_plan, moment, session_at

pytestmark = pytest.mark.django_db


def test_today_lists_my_sessions_with_what_needs_attention(alice_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    start = moment(clinic_today(), 23)
    session_at(plan, alice, room, start)
    plan.consents.update(withdrawn_at=start)
    response = alice_client.get(reverse("session_day:today"))
    [row] = response.context["rows"]
    assert ("danger", "Consent missing") in row["badges"]
    assert ("info", "Holds to confirm (re-check)") in row["badges"]
    assert "Session 1 of 8" in response.content.decode()


def test_today_loads_in_the_same_queries_for_one_session_or_six(alice_client, clinic, alice, room):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("session_day:today")).status_code == 200
        return len(queries)

    session_at(active_plan(alice, "cellulite"), alice, room, moment(clinic_today(), 8))
    one = count()
    for hour in range(9, 14):
        session_at(active_plan(alice, "cellulite"), alice, room, moment(clinic_today(), hour))
    assert count() == one
