"""Search that understands Turkish, and phone numbers kept as E.164.

`search_name` is the patient's name folded the way duplicate detection folds it ("Ayşe Öztürk"
is "ayse ozturk"); search compares the folded query with it. On PostgreSQL a GIN trigram index
on it serves the LIKE '%ozturk%' a search compiles to; the trigram indexes on UPPER(given_name)
and UPPER(family_name) that served the old case-only search go. SQLite scans, as before.

Existing records get their folded name, and their phone numbers in E.164 (+905321234567), read
in the clinic's country as a form would read them; a number that cannot be read is left as is.
"""

from django.conf import settings
from django.db import migrations, models

from mesoclinic.patients import phones
from mesoclinic.patients.names import fold_name

NEW_INDEX = "patient_search_name_trgm"
OLD_INDEXES = {
    "patient_given_name_trgm": "UPPER(given_name) gin_trgm_ops",
    "patient_family_name_trgm": "UPPER(family_name) gin_trgm_ops",
}
BATCH = 500


def _regions(apps):
    # The historical clinic, not core.selectors: later migrations may add columns to it.
    configured = getattr(settings, "MESOCLINIC_PHONE_REGION", "")
    if not configured:
        clinic = apps.get_model("core", "Clinic").objects.order_by("pk").first()
        configured = phones.region_of_zone(clinic.timezone) if clinic else ""
    first = configured or phones.FALLBACK_REGION
    others = [r for r in getattr(settings, "MESOCLINIC_PHONE_OTHER_REGIONS", ["GB"]) if r != first]
    return [first, *others]


def _e164(text, regions):
    try:
        return phones.to_e164(text, regions)
    except phones.PhoneNumberError:
        return text


def fill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    if not Patient.objects.exists():
        return
    regions = _regions(apps)
    fields = ["search_name", "phone", "emergency_contact_phone"]
    batch = []
    for patient in Patient.objects.only("pk", "given_name", "family_name", *fields[1:]).iterator(chunk_size=BATCH):
        patient.search_name = fold_name(f"{patient.given_name} {patient.family_name}")[:200]
        patient.phone = _e164(patient.phone, regions)[:24]
        patient.emergency_contact_phone = _e164(patient.emergency_contact_phone, regions)[:24]
        batch.append(patient)
        if len(batch) >= BATCH:
            Patient.objects.bulk_update(batch, fields)
            batch = []
    if batch:
        Patient.objects.bulk_update(batch, fields)


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NEW_INDEX} ON patients_patient USING gin (search_name gin_trgm_ops)"
    )
    for name in OLD_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NEW_INDEX}")
    for name, expression in OLD_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON patients_patient USING gin ({expression})")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_archive_and_merge"),
        ("core", "0003_the_clinic"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="search_name",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AlterField(
            model_name="patient",
            name="phone",
            field=models.CharField(
                blank=True, help_text="Any format, e.g. 0532 123 45 67 or +44 7700 900123.", max_length=24
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]
