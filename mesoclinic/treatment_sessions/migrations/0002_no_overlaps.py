"""PostgreSQL refuses overlapping sessions for one practitioner, room or patient.

Exclusion constraints (btree_gist) on the session's time range, ignoring cancelled
sessions. They are not in the model's Meta because SQLite cannot have them; there the
booking services enforce the same rule inside an IMMEDIATE transaction.
"""

from django.db import migrations

COLUMNS = {"practitioner": "practitioner_id", "room": "room_id", "patient": "patient_id"}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in COLUMNS.items():
        schema_editor.execute(
            f"ALTER TABLE treatment_sessions_treatmentsession ADD CONSTRAINT session_no_overlap_{name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            f"WHERE (status <> 'cancelled')"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in COLUMNS:
        schema_editor.execute(
            f"ALTER TABLE treatment_sessions_treatmentsession DROP CONSTRAINT IF EXISTS session_no_overlap_{name}"
        )


class Migration(migrations.Migration):
    dependencies = [("treatment_sessions", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
