"""What the migrations set on the PostgreSQL database itself, for every connection opened after them."""

import psycopg2
import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _fresh_connection():
    # The test's own connection was opened before the migrations ran: a database setting
    # reaches only connections opened after it, as a pooler's and a worker's are.
    settings = connection.settings_dict
    return psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or None,
    )


def test_a_new_connection_has_jit_off_and_nothing_else_of_the_defaults_changed():
    fresh = _fresh_connection()
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SHOW jit")
            assert cursor.fetchone() == ("off",)
            # Only JIT: the planner still plans as PostgreSQL's defaults say.
            cursor.execute(
                "SELECT setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
                " WHERE d.datname = current_database()"
            )
            settings = [item for row in cursor.fetchall() for item in row[0]]
            assert settings == ["jit=off"]
    finally:
        fresh.close()


def test_a_role_that_does_not_own_the_database_turns_jit_off_for_itself():
    """The README's production recipe migrates as the app's role, which owns nothing: the
    migration then sets JIT off for that role in this database, and the owner's stays as it was."""
    from importlib import import_module

    migration = import_module("mesoclinic.core.migrations.0009_database_without_jit")
    owner = _fresh_connection()
    owner.autocommit = True
    role = "mesoclinic_test_jit_role"
    try:
        with owner.cursor() as cursor:
            cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
            cursor.execute(f'CREATE ROLE "{role}" LOGIN')
            cursor.execute(f'ALTER DATABASE "{connection.settings_dict["NAME"]}" RESET jit')
        settings = connection.settings_dict
        app = psycopg2.connect(dbname=settings["NAME"], user=role, host=settings["HOST"], port=settings["PORT"] or None)
        app.autocommit = True
        with app.cursor() as cursor:
            cursor.execute(migration.JIT_OFF)
        app.close()
        with owner.cursor() as cursor:
            cursor.execute(
                "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
                " LEFT JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = current_database()"
            )
            assert cursor.fetchall() == [(role, ["jit=off"])]
    finally:
        with owner.cursor() as cursor:
            cursor.execute(f'ALTER ROLE "{role}" IN DATABASE "{connection.settings_dict["NAME"]}" RESET ALL')
            cursor.execute(f'ALTER DATABASE "{connection.settings_dict["NAME"]}" SET jit = off')
            cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        owner.close()
