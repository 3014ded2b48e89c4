"""The audit trail refuses TRUNCATE too (migration 0002 refuses UPDATE and DELETE row by row).

TRUNCATE needs its own statement-level trigger. It has no way out: Django's test runner empties
tables with TRUNCATE between transactional tests, so the test database (tests/conftest.py)
disables this trigger for itself; nothing in production does. Who may do what to the table
is the other half, in PostgreSQL privileges: `manage.py secure_audit` gives the table to an
owner role and leaves the app's role INSERT and SELECT only (README, Privacy).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_auditentry_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_auditentry_no_truncate
    BEFORE TRUNCATE ON core_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION core_auditentry_refuse_truncate();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS core_auditentry_no_truncate ON core_auditentry;
DROP FUNCTION IF EXISTS core_auditentry_refuse_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_the_clinic")]

    operations = [migrations.RunPython(forward, backward)]
