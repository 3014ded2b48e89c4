# Issue 19, ten years of history: the outbox's history and the open follow-ups read along an index, not from every row.

import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_patient_contact_by_email_sms"),
        ("treatment_sessions", "0015_outcomes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="adverseevent",
            index=models.Index(
                condition=models.Q(("follow_up_on__isnull", False)),
                fields=["follow_up_on"],
                name="adverse_event_follow_up",
            ),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(
                models.OrderBy(django.db.models.functions.comparison.Coalesce("sent_at", "due_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("status__in", ["sent", "failed", "cancelled"])),
                name="reminder_history",
            ),
        ),
        migrations.AddIndex(
            model_name="reminder",
            index=models.Index(
                models.F("status"),
                models.OrderBy(django.db.models.functions.comparison.Coalesce("sent_at", "due_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="reminder_history_status",
            ),
        ),
    ]
