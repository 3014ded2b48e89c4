from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import patient_for_staff, practitioner_required

from . import engine, services
from .forms import DecisionForm, ScreeningForm
from .knowledge import knowledge_base
from .models import EvaluationItem, Screening
from .selectors import (
    clinic_today,
    rule_detail,
    rule_index,
    screening_status,
    source_detail,
    status_of,
    term_detail,
    vocabulary_index,
)

PRACTITIONERS = (Role.PRACTITIONER,)


def _forms(request, patient, kb, data=None, initial=None):
    items = list(EvaluationItem.objects.all())
    return ScreeningForm(data, initial=initial, kb=kb, patient=patient, evaluation_items=items)


@login_required
def screening_new(request, patient_pk):
    patient = patient_for_staff(request, patient_pk, roles=PRACTITIONERS)
    kb = knowledge_base()
    status = screening_status(patient)
    result = decision_form = None
    if request.method == "POST":
        form = _forms(request, patient, kb, data=request.POST)
        if form.is_valid() and form.answers is not None:
            result = engine.evaluate(form.answers, kb)
            decision_form = DecisionForm(request.POST, findings=result.findings)
            if decision_form.is_valid():
                try:
                    screening = services.screening_record(
                        patient=patient,
                        recorded_by=request.user,
                        answers=form.answers,
                        result=result,
                        decisions=decision_form.decisions(),
                        evaluation=dict.fromkeys(form.cleaned_data["evaluation"], True),
                        goals=form.cleaned_data["goals"],
                        previous_treatments=form.cleaned_data["previous_treatments"],
                        notes=form.cleaned_data["notes"],
                    )
                except ValidationError as error:
                    messages.error(request, " ".join(error.messages))
                else:
                    messages.success(request, f"Screening saved: {screening.get_outcome_display().lower()}.")
                    return redirect(screening)
    else:
        initial = _initial(status.screening, kb)
        plan = _plan_context(request, patient)
        if plan is not None:
            # Screening for a plan: its areas, ingredients and indication are what must be covered.
            initial["areas"] = sorted(set(initial.get("areas", [])) | {t.code for t in plan.areas.all()})
            initial["ingredients"] = sorted(
                set(initial.get("ingredients", [])) | {t.code for t in plan.ingredients.all()}
            )
            initial["indication"] = plan.indication.code
        form = _forms(request, patient, kb, initial=initial)
        record_view(request, patient, "screening form")
    return render(
        request,
        "screening/form.html",
        {
            "patient": patient,
            "form": form,
            "result": result.as_json() if result else None,
            "decision_form": decision_form,
            "previous": status,
            "documents": kb.documents,
        },
    )


@login_required
@require_POST
def screening_evaluate(request, patient_pk):
    """The findings for the answers as they stand: htmx calls this on every change."""
    patient = patient_for_staff(request, patient_pk, roles=PRACTITIONERS)
    kb = knowledge_base()
    form = _forms(request, patient, kb, data=request.POST)
    result = decision_form = None
    if form.is_valid() and form.answers is not None:
        result = engine.evaluate(form.answers, kb)
        # Unbound, so live updates show no "acknowledge this" errors before the user tries to save.
        kept = {name: request.POST.get(name) for name in request.POST if name.startswith(("ack_", "override_"))}
        decision_form = DecisionForm(initial=kept, findings=result.findings)
    return render(
        request,
        "screening/_findings.html",
        {
            "form": form,
            "result": result.as_json() if result else None,
            "decision_form": decision_form,
            "documents": kb.documents,
        },
    )


def _plan_context(request, patient):
    from mesoclinic.plans.models import Plan

    plan_id = request.GET.get("plan", "")
    if not plan_id.isdigit():
        return None
    return Plan.objects.filter(pk=int(plan_id), patient=patient).prefetch_related("areas", "ingredients").first()


def _initial(previous, kb):
    """Answers of the patient's previous screening, ready to review; the date is today's."""
    initial = {"on_date": clinic_today()}
    if previous is None:
        return initial
    answers = previous.answers
    for flag in ("pregnant", "breastfeeding"):
        initial[flag] = answers.get(flag, False)
    for name, kinds in (
        ("conditions", ("condition",)),
        ("medications", ("medication",)),
        ("allergies", ("ingredient", "allergen")),
        ("ingredients", ("ingredient",)),
        ("areas", ("area",)),
    ):
        codes = answers.get(name, [])
        known = [c for c in codes if any((kind, c) in kb.terms for kind in kinds)]
        initial[name] = known
        # A term the vocabulary no longer has goes where the practitioner will see it refused.
        unknown = [c for c in codes if c not in known]
        if unknown and f"{name}_other" in ScreeningForm.base_fields:
            initial[f"{name}_other"] = ", ".join(unknown)
    if answers.get("fitzpatrick_skin_type"):
        initial["fitzpatrick_skin_type"] = str(answers["fitzpatrick_skin_type"])
    initial["indication"] = answers.get("indication") or ""
    initial["goals"] = previous.goals
    initial["previous_treatments"] = previous.previous_treatments
    return initial


@login_required
def screening_detail(request, pk):
    screening = get_object_or_404(Screening.objects.select_related("patient", "recorded_by"), pk=pk)
    patient = patient_for_staff(request, screening.patient_id, roles=PRACTITIONERS)
    newest = screening_status(patient)
    is_newest = newest.screening is not None and newest.screening.pk == screening.pk
    status = status_of(screening, patient) if is_newest else None
    kb = knowledge_base()
    record_view(request, patient, f"screening of {screening.recorded_at:%Y-%m-%d}", obj=screening)
    return render(
        request,
        "screening/detail.html",
        {
            "patient": patient,
            "screening": screening,
            "status": status,
            "is_newest": is_newest,
            "answer_labels": _answer_labels(screening.answers, kb),
            "evaluation": _evaluation_done(screening),
            "documents": kb.documents,
        },
    )


def _answer_labels(answers, kb):
    def labels(name, kinds):
        found = []
        for code in answers.get(name, []):
            info = next((kb.terms[(k, code)] for k in kinds if (k, code) in kb.terms), None)
            found.append(info.label if info else code)
        return found

    return {
        "conditions": labels("conditions", ("condition",)),
        "medications": labels("medications", ("medication",)),
        "recent_medications": labels("recent_medications", ("medication",)),
        "allergies": labels("allergies", ("ingredient", "allergen")),
        "areas": labels("areas", ("area",)),
        "ingredients": labels("ingredients", ("ingredient",)),
        "indication": _indication(answers, kb),
    }


def _indication(answers, kb):
    code = answers.get("indication")
    if not code:
        return ""
    info = kb.terms.get(("indication", code))
    return info.label if info else code


def _evaluation_done(screening):
    return [(item, bool(screening.evaluation.get(item.code))) for item in EvaluationItem.objects.all()]


# --- Knowledge base -----------------------------------------------------------------------


@practitioner_required
def knowledge_index(request):
    query = request.GET.get("q", "").strip()[:100]
    severity = request.GET.get("severity", "")
    return render(request, "screening/knowledge/index.html", rule_index(query=query, severity=severity))


@practitioner_required
def rule_page(request, code):
    context = rule_detail(code)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/rule.html", context)


@practitioner_required
def terms_page(request):
    query = request.GET.get("q", "").strip()[:100]
    return render(request, "screening/knowledge/terms.html", vocabulary_index(query=query))


@practitioner_required
def term_page(request, kind, code):
    context = term_detail(kind, code)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/term.html", context)


@practitioner_required
def source_page(request, key):
    context = source_detail(key)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/source.html", context)
