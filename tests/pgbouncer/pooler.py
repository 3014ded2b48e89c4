"""Where the tests' PgBouncer is, and its admin console."""

import os
import socket

import psycopg2

HOST = "127.0.0.1"
PORT = int(os.environ.get("PGBOUNCER_PORT", "6432"))


def answers(host=HOST, port=PORT):
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def console(command, user, host=HOST, port=PORT):
    """A command on PgBouncer's admin console (SHOW STATS, KILL db): its rows as dicts."""
    admin = psycopg2.connect(host=host, port=port, dbname="pgbouncer", user=user)
    admin.autocommit = True  # the console takes no BEGIN
    try:
        with admin.cursor() as cursor:
            cursor.execute(command)
            if cursor.description is None:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        admin.close()
