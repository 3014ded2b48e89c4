"""Many front-desk tabs book sessions of one plan at the same moment, over real HTTP against
gunicorn with several workers on PostgreSQL: the plan never gets more sessions than it plans,
no two live sessions share a number, and every request that lost gets a page saying why."""

import datetime
import re
import socket
import subprocess
import sys
import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from mesoclinic.core.models import Room
from mesoclinic.treatment_sessions.models import OCCUPYING, TreatmentSession
from tests.builders import SchedulerFactory, active_plan, next_monday
from tests.core.test_worker import REDIS_URL, ROOT, database_url, wait_for
from tests.test_fault_tolerance import Browser, Server

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long front desk password"
PORTS = range(8400, 8450)  # the ports this suite's servers may use


def free_port_in_range():
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8400-8449")


class Gunicorn(Server):
    """The app under gunicorn with several worker processes: requests really run in parallel."""

    def __init__(self, database_url, broker_url, workers=4):
        super().__init__(database_url, broker_url)
        self.port = free_port_in_range()
        self.workers = workers

    def __enter__(self):
        command = [sys.executable, "-m", "gunicorn", "mesoclinic.wsgi", "-b", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            [*command, "-w", str(self.workers), "--timeout", "60"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        assert wait_for(self._answers, seconds=90), self.log()
        return self


def weekly(k, planned):
    """Request k's slot: one of the plan's `planned` weeks, so that several requests want each
    week and whichever sessions win are a week apart (the protocol's spacing holds)."""
    day = next_monday() + datetime.timedelta(weeks=k % planned)
    return datetime.datetime.combine(day, datetime.time(10))


def fire(server, plans, slot):
    """One logged-in scheduler per plan in `plans` POSTs a booking of `slot(k)` at the same moment."""
    requests = len(plans)
    browsers = []
    for plan in plans:
        path = reverse("scheduling:book", args=[plan.pk])
        browser = Browser(server.url)
        status, _ = browser.log_in("sam", PASSWORD)
        assert status == 200
        status, page = browser.get(path)
        assert status == 200, page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        browsers.append((browser, token, path))
    practitioner = plans[0].created_by
    room_pk = Room.objects.get(name="Room 1").pk
    barrier = threading.Barrier(requests)
    answers = [None] * requests

    def book(k, browser, token, path):
        when = slot(k)
        data = {
            "csrfmiddlewaretoken": token,
            "start_date": when.date().isoformat(),
            "start_time": when.strftime("%H:%M"),
            "practitioner": practitioner.pk,
            "room": room_pk,
            "session_1": when.strftime("%Y-%m-%dT%H:%M"),
            "too_soon_confirmed": "on",
            "action": "book",
        }
        barrier.wait()
        try:
            answers[k] = browser.post(path, data)
        except Exception as error:  # a dropped connection is as bad as a 500
            answers[k] = (599, repr(error))

    threads = [threading.Thread(target=book, args=(k, *row)) for k, row in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def live_numbers(plan):
    return sorted(TreatmentSession.objects.filter(plan=plan, status__in=OCCUPYING).values_list("sequence", flat=True))


@pytest.fixture
def front_desk(clinic):
    sam = SchedulerFactory(username="sam")
    sam.password = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt", iterations=1000)  # fast, as the server checks
    sam.save()
    return sam


@pytest.mark.parametrize(("planned", "requests"), [(6, 20), (2, 2)])
def test_simultaneous_bookings_over_http_never_exceed_the_plan_and_keep_numbers_unique(
    front_desk, alice, planned, requests
):
    # A long last gap widens the spacing the plan allows (services.spacing_bounds), so that any
    # weeks that win are far enough apart and close enough: only the race decides who wins.
    plan = active_plan(alice, "cellulite", sessions_planned=planned, intervals=[7] * (planned - 2) + [60])
    with Gunicorn(database_url(), REDIS_URL) as server:
        answers = fire(server, [plan] * requests, lambda k: weekly(k, planned))
        log = server.log()
    statuses = [status for status, _ in answers]
    assert not [s for s in statuses if s >= 500], (statuses, log)
    numbers = live_numbers(plan)
    assert len(numbers) <= planned, numbers
    assert numbers == list(range(1, len(numbers) + 1)), numbers  # unique, and no gaps
    assert len(numbers) == min(planned, requests), numbers  # each week is won by one request
    refusals = [page for status, page in answers if "left to book" in page or "already booked" in page]
    assert len(refusals) == requests - len(numbers), [page[:300] for _, page in answers]


def test_twenty_bookings_of_one_slot_over_http_give_one_winner(front_desk, alice):
    """Twenty patients' first sessions, the same practitioner and room at the same minute."""
    plans = [active_plan(alice, "cellulite") for _ in range(20)]
    with Gunicorn(database_url(), REDIS_URL) as server:
        answers = fire(server, plans, lambda k: weekly(0, 1))
        log = server.log()
    statuses = [status for status, _ in answers]
    assert not [s for s in statuses if s >= 500], (statuses, log)
    assert TreatmentSession.objects.filter(status__in=OCCUPYING).count() == 1
    winners = [page for status, page in answers if status == 200 and "Booked 1 session" in page]
    assert len(winners) == 1, statuses
    losers = [page for status, page in answers if "already booked" in page or "a moment ago" in page]
    assert len(losers) == 19, [page[:300] for _, page in answers if page not in winners]
