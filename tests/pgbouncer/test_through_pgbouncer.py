"""The real app through PgBouncer in transaction mode: gunicorn with several workers and a Celery
worker, each connection's transactions landing on whichever server connection PgBouncer has
free. Concurrent bookings of one plan still never exceed it (select_for_update holds within a
transaction, which is what a transaction pooler keeps whole), pages read at the same moment
each write their audit entry, and a task runs through the pooler too."""

import datetime
import re
import threading
import urllib.parse
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from tests.builders import active_plan
from tests.core.test_worker import REDIS_URL, Worker, database_url, send_task, wait_for
from tests.pgbouncer import pooler
from tests.test_fault_tolerance import Browser
from tests.treatment_sessions.scheduling.test_http_concurrency import (
    PASSWORD,
    Gunicorn,
    fire,
    front_desk,
    live_numbers,
    weekly,
)

pytestmark = [pytest.mark.pgbouncer, pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

__all__ = ["front_desk"]  # the fixture, shared with the HTTP concurrency tests

POOLED = {"DATABASE_TRANSACTION_POOLING": "1"}  # what settings.py needs to hear behind such a pooler


def through(pgbouncer, url):
    """The database URL with PgBouncer's address instead of PostgreSQL's."""
    host, port = pgbouncer
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"{host}:{port}")).geturl()


def console(pgbouncer, command):
    host, port = pgbouncer
    return pooler.console(command, connection.settings_dict["USER"], host, port)


def transactions(pgbouncer):
    """Transactions PgBouncer has passed to the test database so far."""
    name = connection.settings_dict["NAME"]
    return sum(int(row["total_xact_count"]) for row in console(pgbouncer, "SHOW STATS") if row["database"] == name)


def server_connections(pgbouncer):
    name = connection.settings_dict["NAME"]
    return [row for row in console(pgbouncer, "SHOW SERVERS") if row["database"] == name]


def read_at_once(server, path, readers):
    """`readers` signed-in schedulers GET `path` at the same moment: [(status, page)]."""
    browsers = []
    for _ in range(readers):
        browser = Browser(server.url)
        assert browser.log_in("sam", PASSWORD)[0] == 200
        browsers.append(browser)
    barrier = threading.Barrier(readers)
    answers = [None] * readers

    def read(k):
        barrier.wait()
        try:
            answers[k] = browsers[k].get(path)
        except Exception as error:  # a dropped connection is as bad as a 500
            answers[k] = (599, repr(error))

    threads = [threading.Thread(target=read, args=(k,)) for k in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_through_pgbouncer_bookings_never_exceed_the_plan_and_every_page_read_is_audited(pgbouncer, front_desk, alice):
    planned, bookings, readers = 4, 12, 8
    # A long last gap widens the spacing the plan allows, so any weeks that win fit the plan.
    plan = active_plan(alice, "cellulite", sessions_planned=planned, intervals=[7] * (planned - 2) + [60])
    before = transactions(pgbouncer)
    server = Gunicorn(through(pgbouncer, database_url()), REDIS_URL, workers=3)
    server.env.update(POOLED)
    with server:
        answers = fire(server, [plan] * bookings, lambda k: weekly(k, planned))
        reads = read_at_once(server, reverse("desk:patient", args=[plan.patient.pk]), readers)
        servers = server_connections(pgbouncer)
        log = server.log()

    statuses = [status for status, _ in answers + reads]
    assert not [s for s in statuses if s >= 500], (statuses, log)
    numbers = live_numbers(plan)
    assert numbers == list(range(1, planned + 1)), numbers  # all weeks booked, once each, no gaps
    assert [status for status, _ in reads] == [200] * readers
    assert all(plan.patient.family_name in page for _, page in reads)
    # Every page read wrote its entry: the booking forms (of the plan) and the patient's page.
    seen = AuditEntry.objects.for_patient(plan.patient.pk).filter(action=AuditEntry.Action.ACCESS, actor=front_desk)
    assert seen.count() == bookings + readers
    assert seen.filter(content_type__model="patient").count() == readers
    # It all went through PgBouncer, on no more server connections than its pool holds.
    assert transactions(pgbouncer) - before >= bookings + readers
    pool_size = int({row["key"]: row["value"] for row in console(pgbouncer, "SHOW CONFIG")}["default_pool_size"])
    assert 1 <= len(servers) <= pool_size, servers


def test_a_celery_worker_runs_its_tasks_through_pgbouncer(pgbouncer):
    Session.objects.create(session_key="old", session_data="", expire_date=timezone.now() - datetime.timedelta(days=1))
    Session.objects.create(session_key="live", session_data="", expire_date=timezone.now() + datetime.timedelta(days=1))
    queue = f"test-pgbouncer-{uuid.uuid4().hex[:8]}"
    before = transactions(pgbouncer)
    worker = Worker(queue, DATABASE_URL=through(pgbouncer, database_url()), **POOLED).start()
    try:
        send_task("core.purge_expired_sessions", queue=queue)
        send_task("core.ensure_audit_partitions", queue=queue)
        done = wait_for(lambda: not Session.objects.filter(session_key="old").exists())
        partitions_done = wait_for(lambda: transactions(pgbouncer) - before >= 2, seconds=20)
    finally:
        log = worker.stop()
    assert done and partitions_done, log
    assert Session.objects.filter(session_key="live").exists()
    assert re.search(r"core\.ensure_audit_partitions\[[^]]+\] succeeded", log), log
