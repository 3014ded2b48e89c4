"""A real Celery worker process, started here, runs a task that arrived through Redis."""

import datetime
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("MESOCLINIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def database_url():
    """The URL of the test database, so the worker process writes where the test reads."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"


class Worker:
    def __init__(self, queue, **env):
        self.queue = queue
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            **env,
        }
        self.process = None

    def start(self, *extra):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "mesoclinic",
                "worker",
                "-Q",
                self.queue,
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                *extra,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.stdout.read() if self.process else ""


def send_task(name, queue, **options):
    """Send through Redis explicitly: Celery lets a CELERY_BROKER_URL in the environment win
    over the broker an app is given, and the worker here listens on REDIS_URL."""
    # Not the current app: shared tasks (a sheet queued on commit) must keep finding the project's.
    app = Celery("producer", set_as_current=False)
    with app.connection_for_write(REDIS_URL) as connection:
        return app.send_task(name, queue=queue, connection=connection, **options)


def wait_for(predicate, seconds=45):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def test_a_real_worker_runs_a_task_sent_through_redis():
    redis.Redis.from_url(REDIS_URL).ping()  # Redis must be there: this machine kind runs it
    Session.objects.create(session_key="old", session_data="", expire_date=timezone.now() - datetime.timedelta(days=1))
    Session.objects.create(session_key="live", session_data="", expire_date=timezone.now() + datetime.timedelta(days=1))
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = Worker(queue).start()
    try:
        send_task("core.purge_expired_sessions", queue=queue)
        done = wait_for(lambda: not Session.objects.filter(session_key="old").exists())
    finally:
        log = worker.stop()
    assert done, log
    assert Session.objects.filter(session_key="live").exists()
    assert "core.purge_expired_sessions" in log
