"""A signed chart makes its aftercare sheet through a Celery task queued after commit: the
session app never imports aftercare, a sheet that cannot be built never unsigns the chart or
answers 500, and the sweep queues again what the task could not make."""

import datetime
import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.aftercare import services, tasks
from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.celery import app
from mesoclinic.core.selectors import clinic_today
from mesoclinic.treatment_sessions.models import Chart, Reminder, ReminderKind, SessionStatus
from tests.builders import (
    CHART_VALUES,
    active_plan,
    booked_long_ago,
    charted,
    moment,
    rechecked,
    session_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Tasks run in the process, as a worker would run them: the sheet's path end to end."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def rechecked_session(clinic, alice, room, patient):
    plan = active_plan(alice, "skin_rejuvenation", patient=patient, areas=["face"])
    session = booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), 12)))
    rechecked(session, alice)
    session.refresh_from_db()
    return session


def _sign_on_the_page(client, session):
    data = {
        **{name: str(value) for name, value in CHART_VALUES.items()},
        "action": "sign",
        "confirm_sign": "on",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "face",
        "areas-0-volume_ml": "1.5",
        "products-TOTAL_FORMS": "0",
        "products-INITIAL_FORMS": "0",
    }
    return client.post(reverse("session_day:chart", args=[session.pk]), data)


def test_signing_queues_the_sheet_after_commit_and_the_task_makes_it_and_its_email(
    eager, rechecked_session, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        charted(rechecked_session, alice)
    assert callbacks, "the sheet waits for the commit"
    sheet = AftercareSheet.objects.get(session=rechecked_session)
    assert sheet.patient == rechecked_session.patient
    assert Reminder.objects.filter(session=rechecked_session, kind=ReminderKind.AFTERCARE).count() == 1


def test_a_sheet_that_cannot_be_built_leaves_the_chart_signed_and_the_page_says_it_is_coming(
    eager, rechecked_session, alice_client, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(session):
        raise RuntimeError("the sheet's template is broken")

    monkeypatch.setattr(services, "sheet_build", broken)
    with django_capture_on_commit_callbacks(execute=True):
        response = _sign_on_the_page(alice_client, rechecked_session)
    assert response.status_code == 302
    chart = Chart.objects.get(session=rechecked_session)
    rechecked_session.refresh_from_db()
    assert chart.is_signed and rechecked_session.status == SessionStatus.COMPLETED
    assert not AftercareSheet.objects.exists()
    page = alice_client.get(rechecked_session.get_absolute_url()).content.decode()
    assert "aftercare sheet is being prepared" in page

    # Mended (a deploy later): the sweep finds the signed chart without a sheet and queues it again.
    monkeypatch.undo()
    later = timezone.now() + tasks.SWEEP_AFTER + datetime.timedelta(minutes=1)
    assert tasks.sweep_missing_sheets(now=later) == 1
    sheet = AftercareSheet.objects.get(session=rechecked_session)
    page = alice_client.get(rechecked_session.get_absolute_url()).content.decode()
    assert sheet.get_absolute_url() in page and "being prepared" not in page
    assert tasks.sweep_missing_sheets(now=later) == 0  # made once: nothing left to queue


def test_a_broker_that_is_down_does_not_stop_the_signing(rechecked_session, alice, monkeypatch, caplog):
    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(tasks.make_sheet, "delay", unreachable)
    with caplog.at_level(logging.WARNING, logger="mesoclinic.aftercare.tasks"):
        tasks.queue_sheet(rechecked_session.pk)
    assert "the sweep retries" in caplog.text


def test_the_sweep_leaves_fresh_signings_to_their_own_task(rechecked_session, alice):
    charted(rechecked_session, alice)  # its on-commit task never ran: the test's transaction is open
    assert tasks.sweep_missing_sheets(now=timezone.now()) == 0  # too fresh: its own task is on the way
    assert services.sessions_without_sheet(timezone.now() - tasks.SWEEP_BACK, timezone.now()) == [rechecked_session.pk]
