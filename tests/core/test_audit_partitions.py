"""The audit trail in yearly partitions (core migration 0008, mesoclinic/core/audit_partitions.py):
entries land in their year, a far date in the default partition, the upkeep is idempotent,
the trail stays append-only on every partition (a new one too), an old year is archived to a
checked file and restored, and a patient's access history is read by index."""

import datetime
import gzip
import hashlib

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from mesoclinic.core import audit_partitions
from mesoclinic.core.models import AuditEntry
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_history

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UTC = datetime.UTC


def entry_at(patient, when, **extra):
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Patient),
        object_pk=str(patient.pk),
        object_id=patient.pk,
        object_repr=str(patient),
        action=AuditEntry.Action.ACCESS,
        patient_id=patient.pk,
        timestamp=when,
        additional_data={"page": "patient record"},
        **extra,
    )


def views_of(patient):
    """The entries this file writes (creating the patient wrote one of auditlog's too)."""
    return AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS)


def partition_of(entry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM core_auditentry WHERE id = %s", [entry.pk])
        return cursor.fetchone()[0]


def refused(statement):
    """The error PostgreSQL raises for `statement`, in a savepoint rolled back after."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending on the table
            cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_truncate")
            cursor.execute(statement)
    except DatabaseError as error:
        return str(error)
    return None


def test_the_audit_table_is_partitioned_by_year_with_a_default():
    assert audit_partitions.is_partitioned()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_partkeydef('core_auditentry'::regclass)")
        assert cursor.fetchone()[0] == 'RANGE ("timestamp")'
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'core_auditentry'::regclass "
            "AND contype = 'p'"
        )
        assert cursor.fetchone()[0] == 'PRIMARY KEY (id, "timestamp")'
    names = [name for name, _ in audit_partitions.partitions()]
    this_year = datetime.datetime.now(UTC).year
    for year in range(this_year, this_year + audit_partitions.YEARS_AHEAD + 1):
        assert audit_partitions.partition_name(year) in names
    assert names[-1] == "core_auditentry_default"


def test_an_entry_lands_in_its_years_partition_and_the_orm_gets_its_id(patient):
    entry = entry_at(patient, datetime.datetime.now(UTC))
    assert isinstance(entry.pk, int)  # INSERT ... RETURNING id through the parent
    assert partition_of(entry) == audit_partitions.partition_name(entry.timestamp.year)
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == str(patient)
    # Year boundaries are UTC: the last microsecond of a year is in that year, the next in the next.
    this_year = datetime.datetime.now(UTC).year
    edge = entry_at(patient, datetime.datetime(this_year + 1, 1, 1, tzinfo=UTC) - datetime.timedelta(microseconds=1))
    assert partition_of(edge) == audit_partitions.partition_name(this_year)
    new_year = entry_at(patient, datetime.datetime(this_year + 1, 1, 1, tzinfo=UTC))
    assert partition_of(new_year) == audit_partitions.partition_name(this_year + 1)
    bulk = AuditEntry.objects.bulk_create([AuditEntry(**_fields(patient)) for _ in range(3)])
    assert all(isinstance(item.pk, int) for item in bulk)
    assert len({entry.pk, edge.pk, new_year.pk, *(item.pk for item in bulk)}) == 6


def _fields(patient):
    return {
        "content_type": ContentType.objects.get_for_model(Patient),
        "object_pk": str(patient.pk),
        "object_repr": str(patient),
        "action": AuditEntry.Action.ACCESS,
        "patient_id": patient.pk,
    }


def test_a_page_view_writes_its_entry_through_the_partitioned_table(alice_client, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]))
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS)
    assert partition_of(entry).startswith("core_auditentry_2")


def test_a_far_date_lands_in_the_default_partition_and_is_not_refused(patient):
    future = entry_at(patient, datetime.datetime(2099, 5, 1, tzinfo=UTC))
    past = entry_at(patient, datetime.datetime(1999, 5, 1, tzinfo=UTC))
    assert partition_of(future) == partition_of(past) == "core_auditentry_default"
    assert views_of(patient).count() == 2


def test_the_upkeep_creates_the_coming_years_once(patient):
    later = datetime.date(2031, 11, 20)
    assert audit_partitions.ensure_years(today=later) == {2031: "created", 2032: "created"}
    assert audit_partitions.ensure_years(today=later) == {2031: "exists", 2032: "exists"}
    entry = entry_at(patient, datetime.datetime(2032, 12, 31, 23, 59, tzinfo=UTC))
    assert partition_of(entry) == "core_auditentry_2032"


def test_a_year_the_default_partition_holds_entries_for_is_left_there(patient):
    stray = entry_at(patient, datetime.datetime(2040, 3, 15, tzinfo=UTC))  # e.g. beat stopped for a year
    assert audit_partitions.ensure_years(today=datetime.date(2040, 1, 1)) == {2040: "held by default", 2041: "created"}
    assert partition_of(stray) == "core_auditentry_default"


def test_the_upkeep_command_reports_each_year_and_is_idempotent(capsys):
    call_command("audit_partitions")
    call_command("audit_partitions")
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 * (audit_partitions.YEARS_AHEAD + 1)
    assert all(line.endswith(": exists") for line in out)  # the migration made them already


def test_the_beat_task_creates_the_years():
    from mesoclinic.core.tasks import ensure_audit_partitions

    assert set(ensure_audit_partitions.apply().get().values()) == {"exists"}


@pytest.mark.parametrize("where", ["parent", "this year", "default", "a new year"])
def test_update_delete_and_truncate_are_refused_on_every_partition(patient, where):
    assert audit_partitions.ensure_years(today=datetime.date(2035, 7, 1), ahead=0) == {2035: "created"}
    when = {
        "parent": datetime.datetime.now(UTC),
        "this year": datetime.datetime.now(UTC),
        "default": datetime.datetime(2099, 1, 1, tzinfo=UTC),
        "a new year": datetime.datetime(2035, 7, 9, tzinfo=UTC),
    }[where]
    entry = entry_at(patient, when)
    table = "core_auditentry" if where == "parent" else partition_of(entry)
    assert "append-only: UPDATE refused" in refused(f"UPDATE {table} SET object_repr = 'x'")
    assert "append-only: DELETE refused" in refused(f"DELETE FROM {table}")
    assert "TRUNCATE refused" in refused(f"TRUNCATE {table}")
    assert AuditEntry.objects.filter(pk=entry.pk, object_repr=str(patient)).exists()


def test_the_partitions_truncate_guard_follows_the_parents_switch(patient):
    """One switch for the whole trail: the test database turns the parent's off (conftest), so
    Django can empty tables between tests; the partitions obey it."""
    entry = entry_at(patient, datetime.datetime.now(UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'core_auditentry_no_truncate' "
            "AND tgrelid = 'core_auditentry'::regclass"
        )
        assert cursor.fetchone()[0] == "D"
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {partition_of(entry)}")
    assert not AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_migration_moves_existing_rows_and_keeps_the_numbers_going(patient):
    """Back to a plain table and forward again (migration 0008's own code), with rows in it."""
    import importlib

    migration = importlib.import_module("mesoclinic.core.migrations.0008_audit_partitioned_by_year")
    old = entry_at(patient, datetime.datetime(2019, 2, 3, tzinfo=UTC))
    older = entry_at(patient, datetime.datetime(2017, 12, 31, 23, 59, tzinfo=UTC))
    new = entry_at(patient, datetime.datetime.now(UTC))
    far = entry_at(patient, datetime.datetime(2099, 1, 1, tzinfo=UTC))
    with connection.cursor() as cursor:
        migration._rebuild(cursor, partitioned=False)
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'core_auditentry'::regclass")
        assert cursor.fetchone()[0] == "r"
        migration._rebuild(cursor, partitioned=True)
    assert partition_of(old) == "core_auditentry_2019"
    assert partition_of(older) == "core_auditentry_2017"
    assert partition_of(new) == audit_partitions.partition_name(new.timestamp.year)
    # A wrong clock's far date goes to the default, not decades of years made for it.
    assert partition_of(far) == "core_auditentry_default"
    names = [name for name, _ in audit_partitions.partitions()]
    assert "core_auditentry_2018" not in names  # no entries that year: no partition made for it
    assert views_of(patient).count() == 4
    later = entry_at(patient, datetime.datetime.now(UTC))
    assert later.pk > far.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'core_auditentry'")
        indexes = {name for (name,) in cursor.fetchall()}
    assert {"audit_patient_time", "core_auditentry_pkey"} <= indexes
    assert "append-only: DELETE refused" in refused("DELETE FROM core_auditentry_2019")


# --- Archiving: detach, file, check, drop; and back ------------------------------------------


def test_an_old_year_is_archived_to_a_checked_file_and_restored(patient, tmp_path, capsys):
    audit_partitions.ensure_years(today=datetime.date(2018, 3, 1), ahead=0)
    kept = [entry_at(patient, datetime.datetime(2018, month, 1, 9, tzinfo=UTC)) for month in (1, 6, 12)]
    recent = entry_at(patient, datetime.datetime.now(UTC))

    call_command("audit_partitions", archive_before=2019, dry_run=True)
    assert "Would archive core_auditentry_2018." in capsys.readouterr().out
    assert views_of(patient).count() == 4  # a dry run changes nothing

    call_command("audit_partitions", archive_before=2019, to=str(tmp_path))
    assert "Archived 3 entries of 2018" in capsys.readouterr().out
    archive = tmp_path / "core_auditentry_2018.csv.gz"
    digest, name = (tmp_path / "core_auditentry_2018.csv.gz.sha256").read_text().split()
    assert name == archive.name and digest == hashlib.sha256(archive.read_bytes()).hexdigest()
    with gzip.open(archive, "rt") as file:
        lines = file.read().splitlines()
    assert lines[0].startswith("id,object_pk,") and len(lines) == 4
    assert [line.split(",")[0] for line in lines[1:]] == [str(entry.pk) for entry in kept]
    assert list(views_of(patient)) == [recent]
    assert "core_auditentry_2018" not in dict(audit_partitions.partitions())

    call_command("audit_partitions", restore=str(archive))
    assert views_of(patient).count() == 4
    assert partition_of(kept[1]) == "core_auditentry_2018"
    assert "append-only: DELETE refused" in refused("DELETE FROM core_auditentry_2018")
    assert "TRUNCATE refused" in refused("TRUNCATE core_auditentry_2018")


def test_a_tampered_archive_is_not_restored_and_an_archive_is_never_overwritten(patient, tmp_path):
    audit_partitions.ensure_years(today=datetime.date(2015, 5, 1), ahead=0)
    entry_at(patient, datetime.datetime(2015, 5, 2, tzinfo=UTC))
    archived = audit_partitions.archive_year(2015, tmp_path)
    archived.path.write_bytes(archived.path.read_bytes() + b"\0")
    with pytest.raises(RuntimeError, match="does not match its checksum"):
        audit_partitions.restore_year(archived.path)
    audit_partitions.ensure_years(today=datetime.date(2015, 5, 1), ahead=0)
    with pytest.raises(FileExistsError):
        audit_partitions.archive_year(2015, tmp_path)
    assert "core_auditentry_2015" in dict(audit_partitions.partitions())  # the failed archive kept it


def test_archiving_needs_a_folder_and_never_takes_the_current_year():
    with pytest.raises(CommandError, match="--to"):
        call_command("audit_partitions", archive_before=datetime.date.today().year)
    with pytest.raises(CommandError, match="before the current one"):
        call_command("audit_partitions", archive_before=2200, dry_run=True)


# --- Reading: a patient's history is an index scan on every partition -----------------------


def test_the_access_history_query_is_an_index_scan_on_every_partition(patient):
    """Twelve years of 20,000 entries each for 2,000 patients, analysed: the planner could pick
    a sequential scan of a year if it were cheaper, and must not."""
    this_year = datetime.datetime.now(UTC).year
    audit_partitions.ensure_years(today=datetime.date(this_year - 11, 1, 1), ahead=11)
    start = datetime.date(this_year - 11, 1, 1)
    content_type = ContentType.objects.get_for_model(Patient).pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditentry (content_type_id, object_pk, object_id, object_repr, action, changes_text,"
            " timestamp, patient_id, additional_data)"
            " SELECT %s, g %% 2000, g %% 2000, 'someone', 3, '', %s + (g * interval '1 year' / 20000),"
            ' CASE WHEN g %% 2000 = 0 THEN %s ELSE 1000000 + g %% 2000 END, \'{"page": "patient record"}\''
            " FROM generate_series(0, 12 * 20000 - 1) g",
            [content_type, datetime.datetime.combine(start, datetime.time(), UTC), patient.pk],
        )
        cursor.execute("ANALYZE core_auditentry")
    history = patient_history(patient)
    # The page's two queries: its 50 newest entries, and the count the paginator asks for.
    page = history[:50].explain(analyze=True)
    # The audit partitions are read by their index; a tiny table joined in (the users) may be
    # read whole, which is the planner's right and costs nothing as the trail grows.
    assert "Seq Scan on core_auditentry" not in page, page
    scans = [line for line in page.splitlines() if " on core_auditentry_" in line]
    assert len(scans) >= 12 and all("Index Scan" in line for line in scans), page  # a year each
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT count(*) FROM core_auditentry WHERE patient_id IN (%s)", [patient.pk])
        count = "\n".join(line for (line,) in cursor.fetchall())
    # Counting, the planner may read an empty partition (next year's, the default) whole: it
    # has no page to read. Every partition that holds entries is read by its index.
    seq_scanned = {line.split(" on ")[1].split()[0] for line in count.splitlines() if "Seq Scan" in line}
    with connection.cursor() as cursor:
        for name in seq_scanned:
            cursor.execute(f"SELECT count(*) FROM {name}")
            assert cursor.fetchone()[0] == 0, count
    scans = [line for line in count.splitlines() if " on core_auditentry_" in line and "Seq Scan" not in line]
    assert len(scans) >= 12 and all("Index" in line or "Bitmap Heap Scan" in line for line in scans), count
    assert history.count() == 121  # and the entry of the patient's creation


# --- secure_audit: every partition is the owner's; the app's role only adds years -------------

APP_ROLE, OWNER_ROLE = "hd_test_partitions_app", "hd_test_partitions_owner"


def _drop_roles(cursor):
    for role in (APP_ROLE, OWNER_ROLE):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def _owners():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relowner::regrole::text FROM pg_class c WHERE c.oid = 'core_auditentry'::regclass "
            "OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'core_auditentry'::regclass)"
        )
        return dict(cursor.fetchall())


@pytest.fixture
def as_the_secured_app_role(transactional_db):
    """The app's role as after `migrate` (it owns the trail, reads and writes every table), then
    `secure_audit`; afterwards the trail goes back to the test's superuser in one statement."""
    import psycopg2

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        admin = cursor.fetchone()[0]
        _drop_roles(cursor)
        cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        for name in _owners():
            cursor.execute(f"ALTER TABLE {name} OWNER TO {APP_ROLE}")
        for function in (
            "core_auditentry_refuse_change()",
            "core_auditentry_refuse_truncate()",
            "core_auditentry_partition_refuse_truncate()",
            "core_auditentry_add_year(date)",
        ):
            cursor.execute(f"ALTER FUNCTION {function} OWNER TO {APP_ROLE}")
    call_command("secure_audit", app_role=APP_ROLE, owner_role=OWNER_ROLE)
    db = connection.settings_dict
    app = psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, dbname=db["NAME"], user=APP_ROLE)
    app.autocommit = True
    try:
        yield app
    finally:
        app.close()
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE core_auditentry OWNER TO {admin}")
            assert set(_owners().values()) == {admin}  # the partitions followed the parent
            cursor.execute("DROP TABLE IF EXISTS core_auditentry_2036")
            _drop_roles(cursor)


def test_secure_audit_gives_every_partition_to_the_owner_and_the_app_may_only_add_years(as_the_secured_app_role):
    import psycopg2

    app = as_the_secured_app_role
    assert set(_owners().values()) == {OWNER_ROLE}
    with app.cursor() as cursor:
        cursor.execute("SELECT core_auditentry_add_year('2036-01-01')")
        assert cursor.fetchone()[0] == "created"
        cursor.execute(
            "INSERT INTO core_auditentry (content_type_id, object_pk, object_repr, action, changes_text, timestamp)"
            " VALUES (%s, '1', 'x', 3, '', '2036-01-02+00') RETURNING id",
            [ContentType.objects.get_for_model(Patient).pk],
        )
        assert isinstance(cursor.fetchone()[0], int)
    assert _owners()["core_auditentry_2036"] == OWNER_ROLE  # a new year is the owner's too
    this_year = audit_partitions.partition_name(datetime.datetime.now(UTC).year)
    refused = {}
    statements = []
    for partition in (this_year, "core_auditentry_default", "core_auditentry_2036"):
        statements += [
            f"SELECT count(*) FROM {partition}",  # through the parent only
            f"UPDATE {partition} SET object_repr = 'tampered'",
            f"DELETE FROM {partition}",
            f"TRUNCATE {partition}",
            f"ALTER TABLE {partition} DISABLE TRIGGER ALL",
            f"ALTER TABLE core_auditentry DETACH PARTITION {partition}",
            f"DROP TABLE {partition}",
        ]
    for statement in statements:
        with app.cursor() as cursor:
            try:
                cursor.execute(statement)
            except psycopg2.errors.InsufficientPrivilege as error:
                refused[statement] = str(error).splitlines()[0]
    assert set(refused) == set(statements), set(statements) - set(refused)
