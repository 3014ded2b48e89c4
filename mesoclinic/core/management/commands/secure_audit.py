"""Put the audit trail out of the app's own reach, in PostgreSQL's privileges.

The append-only triggers (core migrations 0002 and 0004) stop UPDATE, DELETE and TRUNCATE, but
the owner of a table may disable its triggers, and `migrate` makes the app's role the owner.
This command, run once as a PostgreSQL superuser after `migrate`, gives the audit table and its
trigger functions to a separate role that never logs in, and leaves the app's role INSERT and
SELECT on it (and USAGE on its sequence): the app can write entries and read them, never
change, delete, truncate or disable anything. It is safe to run again.

    DATABASE_URL=postgres://postgres@db/mesoclinic python manage.py secure_audit --app-role mesoclinic

A later migration that alters the audit table must then be run as the superuser too.
"""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

TABLE = "core_auditentry"
TRIGGER_FUNCTIONS = ("core_auditentry_refuse_change()", "core_auditentry_refuse_truncate()")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Command(BaseCommand):
    help = "PostgreSQL: a separate role owns the audit trail; the app's role may only add and read entries."

    def add_arguments(self, parser):
        parser.add_argument("--app-role", required=True, help="the role the app connects as (gunicorn, Celery)")
        parser.add_argument(
            "--owner-role",
            default="mesoclinic_audit_owner",
            help="the role that owns the audit table (created without login if missing)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *, app_role, owner_role, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"secure_audit is for PostgreSQL; on {connection.vendor} only the app's own guards keep the trail."
            )
        for name in (app_role, owner_role):
            if not ROLE_NAME.match(name):
                raise CommandError(f"{name!r} is not a plain role name (lower-case letters, digits, underscores).")
        if app_role == owner_role:
            raise CommandError("The app's role and the audit table's owner must be two roles.")
        app, owner = connection.ops.quote_name(app_role), connection.ops.quote_name(owner_role)
        with transaction.atomic(using=database), connection.cursor() as cursor:
            self._check(cursor, app_role)
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner_role])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {owner} NOLOGIN")
            cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, owner_role])
            if cursor.fetchone()[0]:
                raise CommandError(f"{app_role} is a member of {owner_role}: it would have the owner's powers.")
            cursor.execute(f"ALTER TABLE {TABLE} OWNER TO {owner}")  # its identity sequence follows
            for function in TRIGGER_FUNCTIONS:
                cursor.execute(f"ALTER FUNCTION {function} OWNER TO {owner}")
            cursor.execute(f"REVOKE ALL ON {TABLE} FROM PUBLIC, {app}")
            cursor.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {app}")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
            sequence = cursor.fetchone()[0]
            if sequence:
                cursor.execute(f"REVOKE ALL ON SEQUENCE {sequence} FROM PUBLIC, {app}")
                cursor.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {app}")
            cursor.execute("SELECT relacl::text FROM pg_class WHERE oid = %s::regclass", [TABLE])
            privileges = cursor.fetchone()[0]
        self.stdout.write(
            f"{TABLE} is owned by {owner_role}; {app_role} may INSERT and SELECT only. Privileges: {privileges}"
        )

    def _check(self, cursor, app_role):
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            raise CommandError("Run secure_audit as a PostgreSQL superuser: it creates a role and changes owners.")
        cursor.execute("SELECT to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] is None:
            raise CommandError(f"There is no {TABLE} table here: run migrate first.")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [app_role])
        row = cursor.fetchone()
        if row is None:
            raise CommandError(f"There is no role {app_role}.")
        if row[0]:
            raise CommandError(f"{app_role} is a superuser: no privilege binds it. The app must use an ordinary role.")
        # The owner of the database, or of its schema, could drop either and the trail with it.
        cursor.execute(
            "SELECT pg_has_role(%s, datdba, 'MEMBER') FROM pg_database WHERE datname = current_database()", [app_role]
        )
        if cursor.fetchone()[0]:
            raise CommandError(
                f"{app_role} owns the database, and could drop it with the audit trail. Give it to another role and "
                f"grant {app_role} what migrate needs: ALTER DATABASE <name> OWNER TO <admin>; "
                f"GRANT CREATE ON DATABASE <name> TO {app_role}; GRANT CREATE ON SCHEMA public TO {app_role};"
            )
        cursor.execute(
            "SELECT pg_has_role(%s, nspowner, 'MEMBER') FROM pg_namespace WHERE nspname = current_schema()", [app_role]
        )
        if cursor.fetchone()[0]:
            raise CommandError(
                f"{app_role} owns the schema, and could drop it with the audit trail: "
                f"ALTER SCHEMA public OWNER TO <admin>; GRANT USAGE, CREATE ON SCHEMA public TO {app_role};"
            )
