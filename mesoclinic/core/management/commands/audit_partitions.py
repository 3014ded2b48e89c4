"""Keep the audit trail's yearly partitions (PostgreSQL; core migration 0008, README "Keeping
years of audit").

    manage.py audit_partitions                       # this year's and next year's (idempotent)
    manage.py audit_partitions --list                # each partition and its entries
    manage.py audit_partitions --archive-before 2017 --to /srv/audit-archive --dry-run
    manage.py audit_partitions --archive-before 2017 --to /srv/audit-archive
    manage.py audit_partitions --restore /srv/audit-archive/core_auditentry_2016.csv.gz

Creating years is what Celery beat does daily, as the app's role. Archiving and restoring
detach, drop and attach partitions: run them as a PostgreSQL superuser, like secure_audit.
An archived year is written to a file, read back and checked (rows and SHA-256) before its
partition is dropped; without --to (or with --dry-run) nothing is archived.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from mesoclinic.core import audit_partitions


class Command(BaseCommand):
    help = "Create the audit trail's coming yearly partitions; archive or restore old years."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=audit_partitions.YEARS_AHEAD, help="years ahead to create")
        parser.add_argument("--list", action="store_true", help="list the partitions and their entries")
        parser.add_argument("--archive-before", type=int, metavar="YYYY", help="archive the years before this one")
        parser.add_argument("--to", help="the folder archived years are written to")
        parser.add_argument("--dry-run", action="store_true", help="say what would be archived, change nothing")
        parser.add_argument("--restore", metavar="FILE", help="put an archived year back")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *, ahead, archive_before, to, dry_run, restore, database, **options):
        connection = connections[database]
        if not audit_partitions.is_partitioned(connection):
            raise CommandError(
                f"The audit trail is partitioned on PostgreSQL only (core migration 0008); this is {connection.vendor}."
            )
        if restore:
            rows = audit_partitions.restore_year(restore, connection=connection)
            self.stdout.write(f"Restored {rows} entries from {restore}.")
        elif archive_before:
            self._archive(connection, archive_before, to, dry_run)
        elif options["list"]:
            self._list(connection)
        else:
            outcome = audit_partitions.ensure_years(ahead=ahead, connection=connection)
            for year, result in outcome.items():
                self.stdout.write(f"{year}: {result}")
            held = [year for year, result in outcome.items() if result == "held by default"]
            if held:
                # The entries are safe in the default partition, but that year will never be a
                # partition of its own, nor archived as one: someone must look.
                self.stderr.write(
                    "The default partition holds entries of "
                    + ", ".join(str(year) for year in held)
                    + ": was the upkeep stopped? README, Keeping years of audit."
                )

    def _archive(self, connection, before, to, dry_run):
        if before > datetime.datetime.now(datetime.UTC).year:
            raise CommandError("Only years before the current one can be archived.")
        if not to and not dry_run:
            raise CommandError("Say where the archive goes: --to FOLDER (or --dry-run).")
        years = audit_partitions.years_to_archive(before, connection=connection)
        if not years:
            self.stdout.write(f"No year partition before {before}.")
            return
        for year in years:
            if dry_run:
                self.stdout.write(f"Would archive {audit_partitions.partition_name(year)}.")
                continue
            archived = audit_partitions.archive_year(year, to, connection=connection)
            self.stdout.write(f"Archived {archived.rows} entries of {year} to {archived.path} ({archived.sha256}).")

    def _list(self, connection):
        with connection.cursor() as cursor:
            for name, _ in audit_partitions.partitions(connection):
                cursor.execute(f'SELECT count(*) FROM "{name}"')
                self.stdout.write(f"{name}: {cursor.fetchone()[0]}")
