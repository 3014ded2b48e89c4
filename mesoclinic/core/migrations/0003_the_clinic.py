"""Every installation serves one clinic; create its row so settings pages have something to edit."""

from django.db import migrations


def create_clinic(apps, schema_editor):
    Clinic = apps.get_model("core", "Clinic")
    if not Clinic.objects.exists():
        Clinic.objects.create(name="MesoClinic", phone="", timezone="Europe/Istanbul")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_append_only")]

    operations = [migrations.RunPython(create_clinic, migrations.RunPython.noop)]
