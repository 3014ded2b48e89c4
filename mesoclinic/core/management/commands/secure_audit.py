"""Put the audit trail out of the app's own reach, in PostgreSQL's privileges.

The append-only triggers (core migrations 0002 and 0004) stop UPDATE, DELETE and TRUNCATE, but
the owner of a table may disable its triggers, and `migrate` makes the app's role the owner.
This command, run once as a PostgreSQL superuser after `migrate`, gives the audit table and its
trigger functions to a separate role that never logs in, and leaves the app's role INSERT and
SELECT on it (and USAGE on its sequence): the app can write entries and read them, never
change, delete, truncate or disable anything. It is safe to run again.

    DATABASE_URL=postgres://postgres@db/mesoclinic python manage.py secure_audit --app-role mesoclinic

A later migration that alters the audit table must then be run as the superuser too.

On PostgreSQL the trail is partitioned by year (core migration 0008): every partition is given
to the owner too, the app's role gets no privilege on any partition (it reads and writes
through the parent), and may run `core_auditentry_add_year()` (Celery beat creates the coming
years with it). An event trigger makes the partitions and the trail's functions follow the
parent's owner from then on: a partition created or attached later, or an `ALTER TABLE
core_auditentry OWNER TO ...`, leaves no piece of the trail with another owner.
"""

import re

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

TABLE = "core_auditentry"
TRIGGER_FUNCTIONS = ("core_auditentry_refuse_change()", "core_auditentry_refuse_truncate()")
PARTITION_FUNCTIONS = ("core_auditentry_partition_refuse_truncate()", "core_auditentry_add_year(date)")

# Ownership of the trail is one switch, the parent's: after any CREATE or ALTER TABLE touching
# core_auditentry or one of its partitions, its partitions and functions get the parent's owner.
# Superuser-owned (event triggers must be); runs as whoever ran the statement.
OWNER_FOLLOWS_PARENT = """
CREATE OR REPLACE FUNCTION core_auditentry_owner_follows_parent() RETURNS event_trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    parent regclass := to_regclass('core_auditentry');
    owner oid;
    piece record;
BEGIN
    IF parent IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_event_trigger_ddl_commands() c
        WHERE c.objid = parent OR c.objid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = parent)
    ) THEN
        RETURN;
    END IF;
    SELECT relowner INTO owner FROM pg_class WHERE oid = parent;
    FOR piece IN
        SELECT 'TABLE' AS kind, c.oid::regclass::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent AND c.relowner <> owner
        UNION ALL
        SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
        WHERE p.proowner <> owner AND p.oid IN (
            SELECT to_regprocedure(f) FROM unnest(ARRAY[
                'core_auditentry_refuse_change()', 'core_auditentry_refuse_truncate()',
                'core_auditentry_partition_refuse_truncate()', 'core_auditentry_add_year(date)'
            ]) f
        )
    LOOP
        EXECUTE format('ALTER %s %s OWNER TO %I', piece.kind, piece.name, owner::regrole::text);
    END LOOP;
END;
$$;
DROP EVENT TRIGGER IF EXISTS core_auditentry_owner_follows_parent;
CREATE EVENT TRIGGER core_auditentry_owner_follows_parent ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION core_auditentry_owner_follows_parent();
"""
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
            partitions = self._partitions(cursor)
            if partitions:
                cursor.execute(OWNER_FOLLOWS_PARENT)
            cursor.execute(f"ALTER TABLE {TABLE} OWNER TO {owner}")  # its identity sequence follows
            for function in TRIGGER_FUNCTIONS + (PARTITION_FUNCTIONS if partitions else ()):
                cursor.execute(f"ALTER FUNCTION {function} OWNER TO {owner}")
            cursor.execute(f"REVOKE ALL ON {TABLE} FROM PUBLIC, {app}")
            cursor.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {app}")
            for partition in partitions:
                # The event trigger gave them to the owner already; said here too, to be plain.
                cursor.execute(f"ALTER TABLE {partition} OWNER TO {owner}")
                cursor.execute(f"REVOKE ALL ON {partition} FROM PUBLIC, {app}")
            if partitions:
                # Creating next year's partition: the owner creates it (SECURITY DEFINER), in the
                # schema the trail lives in; the app's role may ask for it and nothing more.
                cursor.execute("SELECT quote_ident(current_schema())")
                schema = cursor.fetchone()[0]
                cursor.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {owner}")
                cursor.execute("REVOKE ALL ON FUNCTION core_auditentry_add_year(date) FROM PUBLIC")
                cursor.execute(f"GRANT EXECUTE ON FUNCTION core_auditentry_add_year(date) TO {app}")
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
        if partitions:
            self.stdout.write(f"Its {len(partitions)} partitions too; {app_role} has no privilege on any of them.")

    def _partitions(self, cursor):
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass ORDER BY 1", [TABLE]
        )
        return [name for (name,) in cursor.fetchall()]

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
