from mesoclinic.screening.knowledge import knowledge_base

from .models import Consent, Plan, PlanStatus, Protocol


def protocols():
    return list(
        Protocol.objects.select_related("indication").prefetch_related("areas", "ingredients").order_by("title")
    )


def protocol_for(code):
    return (
        Protocol.objects.select_related("indication")
        .prefetch_related("areas", "ingredients", "default_areas", "default_ingredients")
        .filter(code=code)
        .first()
    )


def plans_as_shown():
    """Plans as their pages read them, in a fixed number of queries."""
    return Plan.objects.select_related(
        "patient", "protocol", "indication", "screening", "created_by", "activated_by"
    ).prefetch_related("areas", "ingredients", "products__ingredients", "protocol__areas", "protocol__ingredients")


def plan_ingredient_codes(plan):
    """What the plan injects: its ingredients and those of its products (the allergy check
    must see a product's lidocaine even when nobody ticked lidocaine)."""
    codes = {term.code for term in plan.ingredients.all()}
    for product in plan.products.all():
        codes |= {term.code for term in product.ingredients.all()}
    return codes


def screening_cover(plan):
    """What a screening for `plan` must cover, as the screening form's query string takes it
    (?areas=…&ingredients=…&indication=…): the screening app does not read plans."""
    return {
        "areas": sorted(term.code for term in plan.areas.all()),
        "ingredients": sorted(plan_ingredient_codes(plan)),
        "indication": plan.indication.code,
    }


def plans_of(patient):
    return list(Plan.objects.for_patient(patient).select_related("indication").prefetch_related("areas"))


def active_plan_of(patient):
    return Plan.objects.for_patient(patient).filter(status=PlanStatus.ACTIVE).select_related("indication").first()


def term_labels(codes, kind):
    kb = knowledge_base()
    return [kb.terms[(kind, code)].label if (kind, code) in kb.terms else code for code in codes]


# --- Consent: the plans layer of where a patient stands (screening.selectors has the first) ---


def current_consent(plan, *, for_update=False):
    """The plan's current consent: its newest one not withdrawn, or None. `for_update` locks it,
    so a withdrawal cannot slip in between a check and the write that relies on it."""
    consents = Consent.objects.filter(plan_id=plan.pk).standing()
    return (consents.select_for_update() if for_update else consents).first()


def current_consents(plan_ids):
    """{plan id: its current consent} for a list page: one query."""
    current = {}
    for consent in Consent.objects.filter(plan_id__in=set(plan_ids)).standing().defer("document_html", "signature_png"):
        current.setdefault(consent.plan_id, consent)
    return current
