"""The clinic's outcomes page, for practitioners and the clinic admin.

An aggregate: no patient is named or linked and no count small enough to point at one is shown
(outcomes.clinic.SMALLEST_GROUP), so opening it reads no one's record and writes no audit entry.

A large clinic's figures are counted by a task every hour (outcomes.tasks): counting ten years of
charts on each request took seconds. Its figures are the same for every reader of a language
(the page has nothing per user in them), so they are rendered once per count and language and
kept in the cache under the count's time: a new count is a new key, and nothing stale is shown.
A small clinic is counted on each request, as before.
"""

from django.core.cache import cache
from django.db import transaction
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from mesoclinic.core import params
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow

from .clinic import (
    CLINIC_OUTCOMES_EVERY,
    PERIOD_YEAR,
    PERIODS,
    SMALLEST_GROUP,
    counted_outcomes,
    is_large,
    kept_outcomes,
    outcomes_from_facts,
    too_large_to_count_now,
)
from .tasks import count_clinic_outcomes

EVERY_MINUTES = int(CLINIC_OUTCOMES_EVERY.total_seconds() // 60)


def _figures(request, kept):
    """The page's figures for the kept count `kept`, rendered once per count and language."""
    key = f"outcomes:clinic:{kept.period}:{get_language()}:{kept.computed_at.timestamp()}"
    figures = cache.get(key)
    if figures is None:
        context = outcomes_from_facts(kept.period, kept.facts, kept.computed_at)
        figures = render_to_string("outcomes/_clinic_figures.html", context, request)
        cache.set(key, figures, timeout=int(2 * CLINIC_OUTCOMES_EVERY.total_seconds()))
    return figures


@allow(Role.PRACTITIONER, Role.SCHEDULER)
@require_GET
def clinic_page(request):
    period = params.choice(request, "period", PERIODS, PERIOD_YEAR)
    kept = kept_outcomes(period)
    if kept is None and too_large_to_count_now():
        # Never counted, and too large to count in a request (a new install on old data): the
        # task counts it now, and the page says so.
        transaction.on_commit(count_clinic_outcomes.delay)
        context = {"period": period, "counting": True}
    elif not is_large(kept):
        context = counted_outcomes(period)
    else:
        context = {
            "period": period,
            "since": parse_datetime(kept.facts["since"]) if kept.facts["since"] else None,
            "computed_at": kept.computed_at,
            "figures": _figures(request, kept),
            "smallest_group": SMALLEST_GROUP,
            "largest_hidden": SMALLEST_GROUP - 1,
        }
    context["every_minutes"] = EVERY_MINUTES
    return render(request, "outcomes/clinic.html", context)
