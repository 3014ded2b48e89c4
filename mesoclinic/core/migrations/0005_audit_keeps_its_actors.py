"""Deleting a user the audit trail names, or a content type it names, is refused (PROTECT).

auditlog's defaults (SET_NULL on the actor, CASCADE on the content type) would rewrite or drop
entries, which the append-only trigger refuses halfway through a delete. No SQL runs: Django
enforces on_delete itself, and the database's foreign keys already refuse to leave an entry
pointing at nothing.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0004_audit_refuses_truncate"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="content_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="contenttypes.contenttype",
                verbose_name="content type",
            ),
        ),
    ]
