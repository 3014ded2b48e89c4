"""Checks behind /healthz: can we reach the database and the Celery broker?"""

from pathlib import Path

from django.conf import settings
from django.db import connection
from kombu import Connection


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
