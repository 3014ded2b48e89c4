"""The app through PgBouncer in transaction mode, as several app machines share one PostgreSQL
(README, "Growth beyond one machine"). .ci/run starts PgBouncer on 127.0.0.1:6432 in front of
the loopback PostgreSQL; PGBOUNCER_PORT points these tests at another one. Without a PgBouncer
there they are skipped, except in CI (CI set), where they fail: CI must not lose them."""

import os

import pytest
from django.db import connection

from tests.pgbouncer.pooler import HOST, PORT, answers, console


def pytest_configure(config):
    config.addinivalue_line("markers", "pgbouncer: runs the app through PgBouncer in transaction mode (.ci/run)")


@pytest.fixture
def pgbouncer(transactional_db):
    """(host, port) of the PgBouncer the test goes through. Afterwards PgBouncer lets go of its
    server connections to the test database, or the test run could not drop it."""
    if not answers(HOST, PORT):
        message = f"no PgBouncer on {HOST}:{PORT} (.ci/run starts one)"
        if os.environ.get("CI"):
            pytest.fail(message + ", and CI must not skip the test through it", pytrace=False)
        pytest.skip(message)
    yield HOST, PORT
    user, name = connection.settings_dict["USER"], connection.settings_dict["NAME"]
    if any(row["name"] == name for row in console("SHOW DATABASES", user)):
        console(f"KILL {name}", user)
        console(f"RESUME {name}", user)
