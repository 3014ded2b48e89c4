"""Before live sessions of a plan may not share a number (0008): plans that already have two
live sessions with one number (simultaneous bookings, before the plan was locked) are
renumbered as the services now number them, "session 5 of 6" being the fifth in time.

A completed session or a no-show keeps its number if no other of them holds it (its chart and
aftercare sheet name it); the scheduled ones take the remaining numbers from 1 up, by start.
If two completed sessions share a number, every live session of that plan is numbered by time.
A plan with more live sessions than it plans keeps them all (numbered past its count): which
to cancel is the clinic's call; the plans are listed on the console.
"""

import itertools

from django.db import migrations
from django.db.models import Count, F

LIVE = ("scheduled", "completed", "no_show")
PARKED = 10_000


def numbering(live):
    """{pk: number} for the live sessions [(pk, status, sequence)] in time order."""
    done = [sequence for _, status, sequence in live if status != "scheduled"]
    if len(done) != len(set(done)):
        return {pk: number for number, (pk, _, _) in enumerate(live, start=1)}
    free = (number for number in itertools.count(1) if number not in set(done))
    return {pk: (sequence if status != "scheduled" else next(free)) for pk, status, sequence in live}


def renumber_duplicates(apps, schema_editor):
    Session = apps.get_model("treatment_sessions", "TreatmentSession")
    live = Session.objects.filter(status__in=LIVE)
    plans = live.values("plan_id", "sequence").annotate(n=Count("id")).filter(n__gt=1).values_list("plan_id", flat=True)
    for plan_id in sorted(set(plans)):
        rows = list(live.filter(plan_id=plan_id).order_by("starts_at", "pk").values_list("pk", "status", "sequence"))
        wanted = numbering(rows)
        changed = {pk: wanted[pk] for pk, _, sequence in rows if wanted[pk] != sequence}
        Session.objects.filter(pk__in=changed).update(sequence=F("sequence") + PARKED)
        for pk, number in changed.items():
            Session.objects.filter(pk=pk).update(sequence=number)
        planned = apps.get_model("plans", "Plan").objects.get(pk=plan_id).sessions_planned
        over = (
            f"; it has {len(rows)} live sessions for {planned} planned: cancel the extra" if len(rows) > planned else ""
        )
        print(f"\n  plan {plan_id}: renumbered {len(changed)} session(s) that shared a number{over}")


class Migration(migrations.Migration):
    dependencies = [("treatment_sessions", "0006_recheck_name")]

    operations = [migrations.RunPython(renumber_duplicates, migrations.RunPython.noop)]
