"""The audit trail in yearly partitions (PostgreSQL; core migration 0008).

A clinic keeps its access history for years: ten million rows and more. In one table every
index grows with all of history, and the only way to let an old year go is DELETE, which the
trail refuses. Partitioned by year on `timestamp`, each year is its own table: a new entry
goes into this year's partition (its indexes hold one year, whatever the history), and a
year past the retention period is detached, written to a file and dropped whole, without
ever deleting a row. Years rather than months: a patient's history is read newest first with
no date to prune by, so PostgreSQL plans every partition; 125 monthly ones cost 40-53 ms of
planning on the access-history query, 13 yearly ones 1-2.5 ms (migration 0008).

The parent table `core_auditentry` keeps its name, so the app, Django and auditlog see one
table. Partitions are `core_auditentry_YYYY` (UTC years) and `core_auditentry_default`, which
takes any entry no year partition covers (a wrong clock, a year the upkeep missed): no write
is ever refused. `manage.py audit_partitions` (and Celery beat, daily) creates next year's
ahead of time; `manage.py audit_partitions --archive-before` lets old years go.

The functions the database holds for this (created by migration 0008, owned after
`secure_audit` by the audit owner role) let the app's role add a year's partition through
`core_auditentry_add_year()` and nothing else.
"""

import csv
import datetime
import gzip
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import connection as default_connection
from django.db import transaction

PARENT = "core_auditentry"
DEFAULT_PARTITION = "core_auditentry_default"
YEAR_PARTITION = re.compile(r"^core_auditentry_(\d{4})$")
# Years created ahead of this one: beat runs daily, so next year's partition is there all year
# long, and a stopped beat has a year to be noticed before entries go to the default partition.
YEARS_AHEAD = 1


def is_partitioned(connection=default_connection):
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return bool(row) and row[0] == "p"


def partition_name(year):
    return f"{PARENT}_{year:04d}"


def partitions(connection=default_connection):
    """The parent's partitions, oldest year first, the default last: [(name, year or None)]."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [PARENT],
        )
        names = [name for (name,) in cursor.fetchall()]
    years = [(name, int(match[1]) if (match := YEAR_PARTITION.match(name)) else None) for name in names]
    return sorted(years, key=lambda item: (item[1] is None, item[1] or 0))


def ensure_years(today=None, ahead=YEARS_AHEAD, connection=default_connection):
    """Create this year's partition and the next `ahead` years' (those missing). Idempotent.

    Returns {year: 'created' | 'exists' | 'held by default'}."""
    this_year = (today or datetime.datetime.now(datetime.UTC).date()).year
    outcome = {}
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for year in range(this_year, this_year + ahead + 1):
            cursor.execute("SELECT core_auditentry_add_year(%s)", [datetime.date(year, 1, 1)])
            outcome[year] = cursor.fetchone()[0]
    return outcome


# --- Archiving: detach, write to a file, check the file, and only then drop ----------------


@dataclass
class Archived:
    year: int
    rows: int
    path: Path
    sha256: str


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_year(year, directory, connection=default_connection):
    """Detach `year`'s partition, COPY it to `directory`/core_auditentry_YYYY.csv.gz (with a
    .sha256 beside it in `sha256sum` format), read the file back and compare rows and checksum,
    and only then drop the partition. Any failure before the drop rolls the detach back.

    Needs the audit table's owner (a PostgreSQL superuser, as for secure_audit)."""
    name = partition_name(year)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv.gz"
    if path.exists():
        raise FileExistsError(f"{path} exists: an archive is never overwritten.")
    partial = path.with_name(path.name + ".partial")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no check may be pending on a table dropped
        cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"')
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        rows = cursor.fetchone()[0]
        try:
            with gzip.open(partial, "wb") as file:
                cursor.copy_expert(
                    f'COPY (SELECT * FROM "{name}" ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)', file
                )
                file.flush()
            with open(partial, "rb") as file:
                os.fsync(file.fileno())
            with gzip.open(partial, "rt", encoding="utf-8", newline="") as file:
                read_back = sum(1 for _ in csv.reader(file)) - 1  # the header
            if read_back != rows:
                raise RuntimeError(f"{partial} holds {read_back} rows, the partition {rows}: nothing dropped.")
            digest = _sha256(partial)
            os.replace(partial, path)
            path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if _sha256(path) != digest:
            raise RuntimeError(f"{path} changed while being written: nothing dropped.")
        cursor.execute(f'DROP TABLE "{name}"')
    return Archived(year=year, rows=rows, path=path, sha256=digest)


def years_to_archive(before, connection=default_connection):
    """The year partitions before the year `before`, oldest first."""
    return [year for _, year in partitions(connection) if year is not None and year < before]


def restore_year(path, connection=default_connection):
    """Put an archived year back as a partition, after checking the file's checksum."""
    path = Path(path)
    match = re.match(r"^(core_auditentry_(\d{4}))\.csv\.gz$", path.name)
    if not match:
        raise ValueError(f"{path.name} is not an archived year (core_auditentry_YYYY.csv.gz).")
    name, year = match[1], int(match[2])
    expected = path.with_name(path.name + ".sha256").read_text().split()[0]
    if _sha256(path) != expected:
        raise RuntimeError(f"{path} does not match its checksum: not restored.")
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            raise RuntimeError(f"{name} is in the database already.")
        cursor.execute(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
        with gzip.open(path, "rb") as file:
            cursor.copy_expert(f'COPY "{name}" FROM STDIN WITH (FORMAT csv, HEADER)', file)
        starts = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC)
        ends = datetime.datetime(year + 1, 1, 1, tzinfo=datetime.UTC)
        # Attaching builds the partition's indexes and clones the row trigger; the statement
        # trigger is added here, as for a new year.
        cursor.execute(f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" FOR VALUES FROM (%s) TO (%s)', [starts, ends])
        cursor.execute(
            f'CREATE TRIGGER core_auditentry_no_truncate BEFORE TRUNCATE ON "{name}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_partition_refuse_truncate()"
        )
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        return cursor.fetchone()[0]
