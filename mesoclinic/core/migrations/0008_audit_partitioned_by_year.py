"""The audit trail becomes a table partitioned by year on `timestamp` (PostgreSQL only).

Why, and how it is kept: mesoclinic/core/audit_partitions.py and the README, "Keeping years of
audit". This migration rebuilds the table under the same name: the old table is renamed, a
partitioned one takes its place with the same columns, checks, identity (continuing from the
same number), indexes, foreign keys, triggers, owner and grants, one partition per year that
holds entries, for this year and the next, plus a DEFAULT partition, and every row is copied over.
The table is locked for the copy: at ten million entries that is minutes (README), so run it
in a maintenance window.

Years, not months: a patient's history is read newest first with no date to prune by, so the
planner considers every partition, and its planning time grows with their number. Measured
(the access-history query, ten years of entries): 125 monthly partitions 40-53 ms of planning,
13 yearly ones 1-2.5 ms, the same machine at the same moment. A year is also what retention
periods are counted in.

The primary key becomes (id, timestamp): PostgreSQL requires the partition key in every unique
index. `id` stays unique in practice (one identity hands them out) and Django still treats it
as the key; nothing references the table by a foreign key. Django's model state is unchanged.

SQLite (the embedded default) keeps its plain table: this migration does nothing there.
If the audit table was given to an owner role (`secure_audit`), run this as a superuser; the
owner and grants carry over, and `secure_audit` can be run again to check them.
"""

import datetime

from django.db import migrations

TABLE = "core_auditentry"
OLD = "core_auditentry_before_0008"
YEARS_AHEAD = 1  # as mesoclinic.core.audit_partitions.YEARS_AHEAD, frozen here

# Statement triggers are not inherited by partitions, and a TRUNCATE of one partition does not
# fire the parent's. Every partition gets this one; it obeys the parent's trigger, so one switch
# holds for the whole trail (the test database turns it off for Django's flushes: conftest).
PARTITION_TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION core_auditentry_partition_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_trigger
        WHERE tgrelid = 'core_auditentry'::regclass AND tgname = 'core_auditentry_no_truncate'
            AND tgenabled <> 'D'
    ) THEN
        RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$;
"""

# SECURITY DEFINER: after `secure_audit` the app's role owns nothing of the trail; this function,
# owned by the audit owner, lets it (Celery beat) create exactly a year's partition, no more.
# A year the default partition already holds entries for is not created (PostgreSQL would
# refuse, and moving them means deleting from the trail): they stay in the default.
ADD_MONTH_FUNCTION = """
CREATE OR REPLACE FUNCTION core_auditentry_add_year(day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    first_day date := date_trunc('year', day)::date;
    starts timestamptz := first_day::timestamp AT TIME ZONE 'UTC';
    ends timestamptz := (first_day + interval '1 year')::timestamp AT TIME ZONE 'UTC';
    name text := 'core_auditentry_' || to_char(first_day, 'YYYY');
    held boolean;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN 'exists';
    END IF;
    IF to_regclass('core_auditentry_default') IS NOT NULL THEN
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM core_auditentry_default WHERE "timestamp" >= %L AND "timestamp" < %L)',
            starts, ends
        ) INTO held;
        IF held THEN
            RETURN 'held by default';
        END IF;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF core_auditentry FOR VALUES FROM (%L) TO (%L)', name, starts, ends);
    EXECUTE format(
        'CREATE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_partition_refuse_truncate()', name
    );
    RETURN 'created';
END;
$$;
"""

DEFAULT_PARTITION = """
CREATE TABLE core_auditentry_default PARTITION OF core_auditentry DEFAULT;
CREATE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON core_auditentry_default
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_partition_refuse_truncate();
"""

APPEND_ONLY_TRIGGERS = """
CREATE TRIGGER core_auditentry_append_only
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION core_auditentry_refuse_change();
CREATE TRIGGER core_auditentry_no_truncate
    BEFORE TRUNCATE ON core_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_refuse_truncate();
"""

# Who holds what on a table or sequence, other than its owner: [(privilege, grantee)].
GRANTEES = """
SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = %s::regclass AND a.grantee <> c.relowner
"""


def _rebuild(cursor, partitioned):
    """Replace core_auditentry by a copy of itself, partitioned by year or plain."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no check may be pending on the table dropped
    cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    # What carries over, read before anything is renamed: definitions name the table as it is.
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = %s::regclass AND NOT indisprimary ORDER BY indexrelid",
        [TABLE],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [TABLE],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE])
    (primary_key,) = cursor.fetchone()
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    (sequence,) = cursor.fetchone()
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
    last_value, is_called = cursor.fetchone()
    cursor.execute("SELECT relowner::regrole::text FROM pg_class WHERE oid = %s::regclass", [TABLE])
    (owner,) = cursor.fetchone()
    cursor.execute(GRANTEES, [TABLE])
    table_grants = cursor.fetchall()
    cursor.execute(GRANTEES, [sequence])
    sequence_grants = cursor.fetchall()
    # The years that hold entries get a partition each; an entry dated past the years made
    # ahead (a wrong clock) goes to the default partition rather than make decades of them.
    cursor.execute(f"SELECT DISTINCT extract(year FROM \"timestamp\" AT TIME ZONE 'UTC')::int FROM {TABLE}")
    years_with_entries = [year for (year,) in cursor.fetchall()]

    # Out of the way: index names are the schema's, so the old ones go before the new are made.
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {primary_key} TO {OLD}_pkey")
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {OLD}_id_seq")

    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY"
        " INCLUDING STORAGE INCLUDING COMPRESSION)" + (' PARTITION BY RANGE ("timestamp")' if partitioned else "")
    )
    # The same numbers go on: never one handed out before.
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [TABLE, last_value, is_called])
    if partitioned:
        cursor.execute(PARTITION_TRUNCATE_FUNCTION)
        cursor.execute(ADD_MONTH_FUNCTION)
        cursor.execute(DEFAULT_PARTITION)
        this_year = datetime.datetime.now(datetime.UTC).year
        ahead = range(this_year, this_year + YEARS_AHEAD + 1)
        for year in sorted({*(year for year in years_with_entries if year < this_year), *ahead}):
            cursor.execute("SELECT core_auditentry_add_year(%s)", [datetime.date(year, 1, 1)])

    # Rows first, indexes after: building an index once is far cheaper than growing it per row.
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
    key = '(id, "timestamp")' if partitioned else "(id)"
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {primary_key} PRIMARY KEY {key}")
    for _, definition in indexes:
        cursor.execute(definition)
    for name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    cursor.execute(APPEND_ONLY_TRIGGERS)

    cursor.execute("SELECT current_user")
    if owner != cursor.fetchone()[0]:
        cursor.execute(f"ALTER TABLE {TABLE} OWNER TO {owner}")  # its identity sequence follows
        if partitioned:
            cursor.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass", [TABLE])
            for (partition,) in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {partition} OWNER TO {owner}")
            for function in ("core_auditentry_partition_refuse_truncate()", "core_auditentry_add_year(date)"):
                cursor.execute(f"ALTER FUNCTION {function} OWNER TO {owner}")
    for privilege, grantee in table_grants:
        cursor.execute(f"GRANT {privilege} ON {TABLE} TO {grantee}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
    (new_sequence,) = cursor.fetchone()
    for privilege, grantee in sequence_grants:
        cursor.execute(f"GRANT {privilege} ON SEQUENCE {new_sequence} TO {grantee}")
    cursor.execute(f"DROP TABLE {OLD}")
    if not partitioned:
        cursor.execute("DROP FUNCTION IF EXISTS core_auditentry_add_year(date)")
        cursor.execute("DROP FUNCTION IF EXISTS core_auditentry_partition_refuse_truncate()")
    # Autovacuum analyzes partitions, never a partitioned parent: the planner's row counts for
    # the parent come only from an explicit ANALYZE.
    cursor.execute(f"ANALYZE {TABLE}")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            _rebuild(cursor, partitioned=True)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            _rebuild(cursor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("core", "0007_staff_language")]

    operations = [migrations.RunPython(forward, backward)]
