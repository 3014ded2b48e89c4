"""Reminders through real Celery workers on Redis: sent once, even when a worker is killed."""

import datetime
import os
import signal
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus
from tests.builders import booked, consented, covering, next_monday, plan_for, screened
from tests.core.test_worker import Worker, send_task, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def due_reminder(clinic, alice, room, patient):
    from mesoclinic.plans.services import plan_activate

    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    session = booked(plan, alice, room, next_monday(3)).sessions.get(sequence=1)
    reminder = Reminder.objects.get(session=session, kind="appointment")
    Reminder.objects.filter(pk=reminder.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    return reminder


def emails_for(folder, reminder):
    marker = f"appointment.{reminder.session_id}."
    return sum(path.read_text().count(marker) for path in Path(folder).glob("*.log"))


def test_a_real_worker_sweeps_and_sends_a_due_reminder(due_reminder, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        queue,
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        MESOCLINIC_EMAIL_DIR=str(tmp_path),
    ).start()
    try:
        send_task("reminders.sweep", queue)
        sent = wait_for(lambda: Reminder.objects.get(pk=due_reminder.pk).status == ReminderStatus.SENT)
    finally:
        log = worker.stop()
    assert sent, log
    assert emails_for(tmp_path, due_reminder) == 1


def test_a_worker_killed_mid_send_still_results_in_exactly_one_email(due_reminder, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    stall = tmp_path / "stalled-pid"
    outbox = tmp_path / "outbox"
    worker = Worker(
        queue,
        DJANGO_EMAIL_BACKEND="tests.support.SlowFirstEmailBackend",
        MESOCLINIC_EMAIL_DIR=str(outbox),
        MESOCLINIC_TEST_STALL_MARKER=str(stall),
    ).start()
    try:
        send_task("reminders.send", queue, args=[due_reminder.pk])
        assert wait_for(lambda: stall.exists() and stall.read_text().strip()), "the send never started"
        os.kill(int(stall.read_text()), signal.SIGKILL)  # the pool process dies holding the row lock, mid-send
        sent = wait_for(lambda: Reminder.objects.get(pk=due_reminder.pk).status == ReminderStatus.SENT, seconds=60)
    finally:
        log = worker.stop()
    assert sent, log
    assert "WorkerLostError" in log or "exited prematurely" in log, log
    assert emails_for(outbox, due_reminder) == 1
