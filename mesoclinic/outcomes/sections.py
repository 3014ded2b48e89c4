"""The progress section of the plan page (registered with plans.sections), and the charts the
patient page draws for the same plans.

The plan page is practitioner-only (plans.views.plan_detail); the section checks the role again
so that registering it can never show clinical progress to another role.
"""

from django.urls import reverse
from django.utils.translation import get_language

from mesoclinic.plans.sections import register_section

from .charts import facts
from .progress import plan_progress, progress_for_plans

TEMPLATE = "outcomes/_progress.html"


def chart_url(plan, measure):
    """Where a staff page's chart picture is drawn (report_views.chart_picture)."""
    return reverse("outcomes:chart", args=[plan.pk, measure.code])


def charted(plan, rows, *, measured_only=False, language=None):
    """[(MeasureProgress, ChartFacts or None)]: a chart for each measure with a value; None for
    one not measured yet (its findings are still shown). `measured_only` leaves those out.
    The pictures are not drawn here: the page's <img> fetches each from chart_url."""
    language = language or get_language()
    found = []
    for row in rows:
        if row.points:
            src = chart_url(plan, row.measure)
            found.append((row, facts(row, src, language=language, sessions_planned=plan.sessions_planned)))
        elif not measured_only:
            found.append((row, None))
    return found


def progress_context(request, plan):
    """The plan page's "Progress" card: None for a plan whose protocol measures nothing (and for
    anyone but a practitioner)."""
    if not getattr(request.user, "is_practitioner", False):
        return None
    rows = plan_progress(plan)
    if not rows:
        return None
    return {
        "plan": plan,
        "measures": charted(plan, rows),
        "measured": any(row.points for row in rows),
    }


def patient_progress(plans):
    """The patient page's progress: [(plan, [(row, chart)])] for `plans`, measured measures only,
    from one progress_for_plans call (constant queries however many plans and sessions)."""
    plans = list(plans)
    progress = progress_for_plans(plans)
    return [(plan, charted(plan, progress.get(plan.pk, []), measured_only=True)) for plan in plans]


def connect():
    """Called from OutcomesConfig.ready."""
    register_section("progress", TEMPLATE, progress_context)
