from django.db import migrations, models


def rename_kind(apps, old, new):
    Screening = apps.get_model("screening", "Screening")
    Screening.objects.filter(kind=old).update(kind=new)


class Migration(migrations.Migration):
    """One name for the re-check on the day: "recheck", as its page, URL and module say."""

    dependencies = [("screening", "0002_rule_policy_prescriber_decisions")]

    operations = [
        migrations.AlterField(
            model_name="screening",
            name="kind",
            field=models.CharField(
                choices=[("consultation", "Screening"), ("recheck", "Re-check on the day")],
                default="consultation",
                max_length=20,
            ),
        ),
        migrations.RunPython(
            lambda apps, schema_editor: rename_kind(apps, "day_check", "recheck"),
            lambda apps, schema_editor: rename_kind(apps, "recheck", "day_check"),
        ),
    ]
