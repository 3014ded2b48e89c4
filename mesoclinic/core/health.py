"""Checks behind /healthz: can this process serve pages?

The database and the Celery broker are asked on every call (they come and go). What a page also
needs, and what only a deploy changes, is checked until it passes and then remembered for the
life of the process: the static files (in production, the manifest that collectstatic writes:
without it every page is a 500) and the migrations. The knowledge base is asked each time, at the
cost of one query, because it is data: the compiled copy is cached per revision (screening.knowledge).

Each check answers {"state": "up" | "down", ...}; any "down" makes /healthz a 503. Apps after core
add checks of their own with `register_check` (core may not import them).
"""

import threading
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import storages
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor
from kombu import Connection

# Files every page links (templates/base.html), and the stylesheet PDFs are drawn with.
KNOWN_ASSETS = (
    "css/app.css",
    "css/pdf.css",
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/htmx/htmx.min.js",
    "js/app.js",
)

_passed = {}  # name -> the answer of a deploy-time check that has passed in this process
_lock = threading.Lock()
_checks = {}  # name -> callable answering a state dict; registered by later apps


def register_check(name, check):
    """Add a check answered under `name` in /healthz; `check()` returns {"state": ..., ...}."""
    _checks[name] = check


def report():
    """The whole answer of /healthz: (body, healthy)."""
    body = {"status": "ok", "database": database_state(), "broker": broker_state(), "static": static_state()}
    database_up = body["database"]["state"] == "up"
    checks = {"migrations": migrations_state, **_checks}
    for name, check in checks.items():
        if not database_up:
            body[name] = {"state": "unknown", "error": "database down"}
            continue
        try:
            body[name] = check()
        except Exception as error:  # a check that breaks is a check that failed
            body[name] = {"state": "down", "error": type(error).__name__}
    healthy = all(state["state"] == "up" for key, state in body.items() if key != "status")
    body["status"] = "ok" if healthy else "unavailable"
    return body, healthy


def _remembered(name, check):
    """Run `check` until it answers "up" once; after that this process answers "up" from memory."""
    state = _passed.get(name)
    if state is None:
        state = check()
        if state["state"] == "up":
            with _lock:
                _passed[name] = state
    return state


def forget_passed_checks():
    """For tests: ask the deploy-time checks again."""
    with _lock:
        _passed.clear()


def static_state():
    return _remembered("static", _static_state)


def _static_state():
    storage = storages["staticfiles"]
    manifest = isinstance(storage, ManifestFilesMixin)
    kind = "manifest" if manifest else "files"
    missing = []
    for name in KNOWN_ASSETS:
        if manifest:
            # The name a page's {% static %} would write; raises when the manifest lacks it.
            try:
                stored = storage.stored_name(name)
            except ValueError:
                missing.append(name)
                continue
            if not Path(storage.path(stored)).is_file():
                missing.append(name)
        elif not finders.find(name):
            missing.append(name)
    if missing:
        hint = "run `manage.py collectstatic`" if manifest else "run `npm ci` (make install)"
        return {"state": "down", "storage": kind, "missing": missing, "error": hint}
    return {"state": "up", "storage": kind}


def migrations_state():
    return _remembered("migrations", _migrations_state)


def _migrations_state():
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        first = plan[0][0]
        return {"state": "down", "unapplied": len(plan), "next": f"{first.app_label}.{first.name}"}
    return {"state": "up"}


def database_state():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the class name says why
        # Drop the broken connection so the next request opens a fresh one.
        connection.close_if_unusable_or_obsolete()
        return {"state": "down", "vendor": connection.vendor, "error": type(error).__name__}
    return {"state": "up", "vendor": connection.vendor}


def broker_state():
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    if transport == "filesystem":
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        up = folder.is_dir() and _writable(folder)
        return {"state": "up" if up else "down", "transport": transport}
    try:
        with Connection(url, connect_timeout=2, transport_options={"socket_timeout": 2}) as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as error:
        return {"state": "down", "transport": transport, "error": type(error).__name__}
    return {"state": "up", "transport": transport}


def _writable(folder):
    probe = folder / ".healthz"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError:
        return False
    return True
