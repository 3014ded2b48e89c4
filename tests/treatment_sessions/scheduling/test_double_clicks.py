"""A second identical move or cancel is a clear message, never a second change; cancelling
asks for a confirmation."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from mesoclinic.core.selectors import wall_clock
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession
from tests.builders import CLINIC_ZONE, booked, next_monday

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)


@pytest.fixture
def session(cellulite_plan, alice, room):
    return booked(cellulite_plan, alice, room, next_monday()).sessions.order_by("sequence").first()


def test_a_second_identical_move_changes_nothing_and_says_so(alice_client, session):
    url = reverse("scheduling:move", args=[session.pk])
    new = wall_clock(session.starts_at, LONDON) + datetime.timedelta(hours=2)
    data = {"new_start": new.strftime("%Y-%m-%dT%H:%M"), "following": "no", "note": ""}
    assert alice_client.post(url, data).status_code == 302
    moved = TreatmentSession.objects.get(pk=session.pk)
    again = alice_client.post(url, data)
    assert again.status_code == 200
    assert "The session is already at that time: nothing to move." in again.content.decode()
    after = TreatmentSession.objects.get(pk=session.pk)
    assert (after.starts_at, after.change_note, after.updated_at) == (
        moved.starts_at,
        moved.change_note,
        moved.updated_at,
    )


def test_cancelling_asks_for_confirmation_and_a_second_cancel_is_refused_clearly(alice_client, session):
    url = reverse("scheduling:cancel", args=[session.pk])
    page = alice_client.post(url, {"scope": "one", "reason": "Patient ill"})
    assert page.status_code == 200 and "Tick the box to confirm the cancellation." in page.content.decode()
    assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.SCHEDULED

    data = {"scope": "one", "reason": "Patient ill", "confirm": "on"}
    assert alice_client.post(url, data).status_code == 302
    again = alice_client.post(url, data)
    assert again.status_code == 200
    assert "Only a scheduled session can be cancelled." in again.content.decode()
    assert TreatmentSession.objects.filter(pk=session.pk, status=SessionStatus.CANCELLED).count() == 1
