import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """One name for the re-check on the day: the session's field is `recheck`."""

    dependencies = [("treatment_sessions", "0005_session_timed_at"), ("screening", "0003_recheck_kind")]

    operations = [
        migrations.RenameField(model_name="treatmentsession", old_name="day_check", new_name="recheck"),
        migrations.AlterField(
            model_name="treatmentsession",
            name="recheck",
            field=models.OneToOneField(
                blank=True,
                help_text="The re-check on the day (a screening of kind recheck).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="session",
                to="screening.screening",
            ),
        ),
    ]
