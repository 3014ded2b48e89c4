from mesoclinic.screening.knowledge import knowledge_base

from .models import Plan, PlanStatus, Protocol


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


def plan_for_page(pk):
    return (
        Plan.objects.select_related("patient", "protocol", "indication", "screening", "created_by", "activated_by")
        .prefetch_related("areas", "ingredients", "products__ingredients", "protocol__areas", "protocol__ingredients")
        .filter(pk=pk)
        .first()
    )


def plans_of(patient):
    return list(Plan.objects.for_patient(patient).select_related("indication").prefetch_related("areas"))


def active_plan_of(patient):
    return Plan.objects.for_patient(patient).filter(status=PlanStatus.ACTIVE).select_related("indication").first()


def term_labels(codes, kind):
    kb = knowledge_base()
    return [kb.terms[(kind, code)].label if (kind, code) in kb.terms else code for code in codes]
