"""How reminders reach each patient: email, text message (SMS) or both.

A record that has a phone and no email address gets text messages: email is the default only
where there is an address to send to (until now such a patient's reminders were "Not sent")."""

from django.db import migrations, models


def choose_for_existing_records(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    Patient.objects.filter(email="").exclude(phone="").update(contact_by="sms")
    Patient.objects.filter(contact_by="").update(contact_by="email")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0004_search_name_and_e164_phones"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="contact_by",
            field=models.CharField(
                blank=True,
                choices=[("email", "Email"), ("sms", "Text message (SMS)"), ("both", "Email and text message")],
                help_text="Reminders and aftercare links. Text messages go to the phone number above.",
                max_length=5,
                verbose_name="send reminders by",
            ),
        ),
        migrations.RunPython(choose_for_existing_records, migrations.RunPython.noop),
    ]
