"""Trigram indexes for patient search on PostgreSQL.

Django's icontains becomes UPPER(col::text) LIKE UPPER('%term%'); a GIN trigram index on
UPPER(col) serves exactly that expression, so search stays fast at 100,000 patients.
SQLite has no trigram indexes; it scans, which is fine at the sizes it is used for.
"""

from django.db import migrations

INDEXES = {
    "patient_given_name_trgm": "UPPER(given_name) gin_trgm_ops",
    "patient_family_name_trgm": "UPPER(family_name) gin_trgm_ops",
    "patient_phone_trgm": "phone gin_trgm_ops",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient USING gin ({expression})")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
