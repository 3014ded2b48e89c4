"""The consent document: generated from the plan and the cited clauses, then stored as signed."""

from itertools import groupby

from django.db.models import Q
from django.template.loader import render_to_string

from mesoclinic.core.selectors import current_clinic

from .models import ConsentClause, IngredientInfo


def describe_spacing(intervals):
    """[7, 7, 14, 28, 28] -> 'every 7 days twice, then after 14 days, then every 28 days twice'."""
    if not intervals:
        return "a single session"
    parts = []
    for days, run in groupby(intervals):
        count = len(list(run))
        if count == 1:
            parts.append(f"after {days} days")
        else:
            times = "twice" if count == 2 else f"{count} times"
            parts.append(f"every {days} days {times}")
    return ", then ".join(parts)


def consent_document(plan, *, practitioner, on_date, instructions=()):
    """The document the patient reads and signs, as HTML (a fragment, without page chrome)."""
    clauses = (
        ConsentClause.objects.filter(Q(indications=None) | Q(indications=plan.indication))
        .distinct()
        .order_by("position", "code")
    )
    ingredients = list(plan.ingredients.all())
    plain = dict(IngredientInfo.objects.filter(term__in=ingredients).values_list("term_id", "plain_name"))
    return render_to_string(
        "plans/consent_document.html",
        {
            "clinic": current_clinic(),
            "patient": plan.patient,
            "plan": plan,
            "practitioner": practitioner,
            "on_date": on_date,
            "areas": [t.label for t in plan.areas.all()],
            "ingredients": [plain.get(t.pk) or t.label for t in ingredients],
            "products": list(plan.products.all()),
            "spacing": describe_spacing(plan.intervals),
            "instructions": instructions,
            "clauses": clauses,
        },
    )
