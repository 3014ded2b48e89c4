from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import patient_for_staff, practitioner_required

from . import engine, services
from .forms import DecisionForm, PrescriberDecisionForm, ScreeningForm
from .knowledge import knowledge_base
from .models import EvaluationItem, Screening
from .selectors import (
    clinic_today,
    hours_until,
    latest_prescriber_decisions,
    prescriber_decisions,
    prescriber_questions,
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


def _evaluate(form, kb):
    """The engine on the form's answers, for the planned date: a hold that needs more time
    than is left before that day comes back as a warning."""
    return engine.evaluate(form.answers, kb, hours_to_prepare=hours_until(form.answers.on_date))


def _decisions(data, result, form, kb, patient, bound=True):
    """The decision controls for `result`; unbound for live updates (no "acknowledge this"
    errors before the practitioner tries to save), keeping what was already chosen."""
    options = {
        "findings": result.findings,
        "kb": kb,
        "planned_areas": form.answers.areas,
        "prescriber_medications": result.prescriber_medications,
        "previous": latest_prescriber_decisions(patient) if result.prescriber_medications else {},
    }
    if bound:
        return DecisionForm(data, **options)
    kept = {name: data.get(name) for name in data if name.startswith(("ack_", "override_", "rx_"))}
    return DecisionForm(initial=kept, **options)


@login_required
def screening_new(request, patient_pk):
    patient = patient_for_staff(request, patient_pk, roles=PRACTITIONERS)
    kb = knowledge_base()
    status = screening_status(patient)
    result = decision_form = None
    if request.method == "POST":
        form = _forms(request, patient, kb, data=request.POST)
        if form.is_valid() and form.answers is not None:
            result = _evaluate(form, kb)
            decision_form = _decisions(request.POST, result, form, kb, patient)
            if decision_form.is_valid():
                try:
                    screening = services.screening_record(
                        patient=patient,
                        recorded_by=request.user,
                        answers=form.answers,
                        result=result,
                        decisions=decision_form.decisions(),
                        kb=kb,
                        prescriber=decision_form.prescriber_decisions(),
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
            injected = {t.code for t in plan.ingredients.all()}
            injected |= {t.code for product in plan.products.all() for t in product.ingredients.all()}
            initial["ingredients"] = sorted(set(initial.get("ingredients", [])) | injected)
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
        result = _evaluate(form, kb)
        decision_form = _decisions(request.POST, result, form, kb, patient, bound=False)
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
    return (
        Plan.objects.filter(pk=int(plan_id), patient=patient)
        .prefetch_related("areas", "ingredients", "products__ingredients")
        .first()
    )


def _initial(previous, kb):
    """Answers of the patient's previous screening, ready to review; the date is today's."""
    initial = {"on_date": clinic_today()}
    if previous is None:
        return initial
    answers = previous.answers
    for flag in ScreeningForm.PREGNANCY_FIELDS:
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
        # Unlisted answers, and any term the vocabulary no longer has, go back in the "other"
        # box: what names a term now becomes that term, the rest stays unlisted.
        typed = [c for c in codes if c not in known] + answers.get("unlisted", {}).get(name, [])
        if typed and f"{name}_other" in ScreeningForm.base_fields:
            initial[f"{name}_other"] = ", ".join(typed)
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
            "area_labels": {code: info.label for (kind, code), info in kb.terms.items() if kind == "area"},
            "prescriber_decisions": prescriber_decisions(screening) if screening.kind == "consultation" else [],
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
        "unlisted": [
            (engine.UNLISTED_SINGULAR[name], texts) for name, texts in answers.get("unlisted", {}).items() if texts
        ],
    }


def _indication(answers, kb):
    code = answers.get("indication")
    if not code:
        return ""
    info = kb.terms.get(("indication", code))
    return info.label if info else code


def _evaluation_done(screening):
    return [(item, bool(screening.evaluation.get(item.code))) for item in EvaluationItem.objects.all()]


@login_required
@require_POST
def prescriber_decision(request, pk, medication):
    """Record what the prescriber decided about one medicine (from the plan or screening page).
    A refused answer comes back on its own page, next to its field, with what was typed."""
    screening = get_object_or_404(Screening.objects.select_related("patient", "based_on"), pk=pk)
    patient = patient_for_staff(request, screening.patient_id, roles=PRACTITIONERS)
    question = next((q for q in prescriber_questions(screening) if q.medication == medication), None)
    if question is None:
        raise Http404
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = screening.get_absolute_url()
    form = PrescriberDecisionForm(request.POST)
    if form.is_valid():
        try:
            services.prescriber_decision_record(
                screening=screening,
                medication=medication,
                label=question.label,
                answer=form.cleaned_data["answer"],
                pause_days=form.cleaned_data["pause_days"],
                prescriber=form.cleaned_data["prescriber"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"The prescriber's decision on {question.label} is recorded.")
            return redirect(back)
    return render(
        request,
        "screening/prescriber_decision.html",
        {"patient": patient, "screening": screening, "question": question, "form": form, "back": back},
        status=400,
    )


def add_form_errors(form, error):
    """A service's ValidationError, shown next to the form's fields where it names one."""
    if hasattr(error, "error_dict"):
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


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
