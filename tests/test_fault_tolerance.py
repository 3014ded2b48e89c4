"""The database or the broker goes away, for real, under a running app and worker.

A TCP proxy sits between the processes under test and PostgreSQL or Redis; stopping it cuts
the open connections and refuses new ones, which is what a failed-over or restarted server
looks like from the app's side.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from mesoclinic.treatment_sessions.models import Reminder, ReminderStatus
from tests.builders import PatientFactory, PractitionerFactory
from tests.core.test_worker import REDIS_URL, ROOT, Worker, database_url, send_task, wait_for
from tests.support import TcpProxy
from tests.treatment_sessions.reminders.test_reminder_worker import due_reminder, emails_for

__all__ = ["due_reminder"]  # a fixture, used by name below

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Just enough of a browser: cookies, CSRF tokens, and status codes instead of raises."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path, data):
        body = urllib.parse.urlencode(data).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path}))

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_in(self, username, password):
        _, page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.post("/accounts/login/", {"csrfmiddlewaretoken": token, "username": username, "password": password})


class Server:
    """The app under gunicorn, as production runs it, talking to the database through `database_url`."""

    def __init__(self, database_url, broker_url, workers=1, port=None):
        self.port = port or free_port()
        self.workers = workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_DEBUG": "",  # no debug pages: the visitor gets the error page, not a traceback
            "DATABASE_CONN_MAX_AGE": "600",  # persistent connections, as in production
        }

    def __enter__(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "mesoclinic.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(self.workers),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        assert wait_for(self._answers, seconds=30), self.log()
        return self

    def _answers(self):
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def log(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        return self.process.stdout.read()

    def __exit__(self, *exc):
        self.log()


def through(proxy, url):
    """The same URL, with its host and port replaced by the proxy's."""
    parts = urllib.parse.urlsplit(url)
    return parts._replace(
        netloc=parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    ).geturl()


@pytest.mark.postgres
def test_the_database_going_away_mid_request_gives_the_error_page_and_healthz_503_then_the_app_recovers(db):
    settings = connection.settings_dict
    proxy = TcpProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)).start()
    # The server hashes as production does, not with the tests' fast hasher.
    dana = PractitionerFactory(username="dana")
    dana.password = PBKDF2PasswordHasher().encode("a long clinic password", "somesalt")
    dana.save()
    patient = PatientFactory(given_name="Lale", family_name="Sezer")
    try:
        with Server(through(proxy, database_url()), REDIS_URL) as server:
            browser = Browser(server.url)
            status, _ = browser.log_in("dana", "a long clinic password")
            assert status == 200
            status, page = browser.get(patient.get_absolute_url())
            assert status == 200 and "Lale Sezer" in page

            # The next request's first queries get through, then the database vanishes.
            proxy.stop_after(messages=2)
            status, page = browser.get(patient.get_absolute_url())
            assert status == 500
            assert "Something went wrong on our side" in page
            assert "Traceback" not in page
            assert not proxy.running

            status, health = browser.get("/healthz")
            assert status == 503
            assert '"database": {"state": "down"' in health

            proxy.start()  # the database is back, on the same address
            status, health = browser.get("/healthz")
            assert status == 200, health
            status, page = browser.get(patient.get_absolute_url())
            assert status == 200 and "Lale Sezer" in page  # same session: nothing was lost
            log = server.log()
    finally:
        proxy.stop()
    assert "OperationalError" in log or "InterfaceError" in log, log  # it was the database, and it was logged


def test_a_broker_outage_loses_no_reminder_and_it_goes_out_once_the_broker_is_back(
    due_reminder, tmp_path, settings, client
):
    redis = urllib.parse.urlsplit(REDIS_URL)
    proxy = TcpProxy(redis.hostname, redis.port).start()
    broker_url = through(proxy, REDIS_URL)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        queue,
        CELERY_BROKER_URL=broker_url,
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        MESOCLINIC_EMAIL_DIR=str(tmp_path),
    ).start()
    try:
        proxy.stop()  # the broker goes away under a running worker

        settings.CELERY_BROKER_URL = broker_url
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["broker"]["state"] == "down"

        # The minute's sweep runs (as beat would start it) and cannot hand the reminder over.
        sweep = subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); from mesoclinic.treatment_sessions.reminders.services "
                "import sweep; print(sweep())",
            ],
            cwd=ROOT,
            env={**worker.env, "DJANGO_SETTINGS_MODULE": "mesoclinic.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sweep.returncode == 0, sweep.stderr
        assert "not enqueued, the broker is unreachable" in sweep.stderr
        reminder = Reminder.objects.get(pk=due_reminder.pk)
        assert reminder.status == ReminderStatus.PENDING
        assert reminder.enqueued_at is None  # so the next sweep picks it up at once
        assert emails_for(tmp_path, due_reminder) == 0

        proxy.start()  # the broker is back; the worker reconnects by itself
        assert client.get("/healthz").status_code == 200
        send_task("reminders.sweep", queue)
        sent = wait_for(lambda: Reminder.objects.get(pk=due_reminder.pk).status == ReminderStatus.SENT, seconds=90)
    finally:
        log = worker.stop()
        proxy.stop()
    assert sent, log
    assert emails_for(tmp_path, due_reminder) == 1
