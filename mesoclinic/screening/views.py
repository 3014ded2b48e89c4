from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_POST

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.patients.models import Patient

from . import bilingual, engine, services
from .forms import PrescriberDecisionForm, ScreeningForm
from .knowledge import knowledge_base
from .models import Screening, ScreeningKind
from .selectors import (
    evaluation_items,
    prescriber_decisions,
    prescriber_questions,
    rule_detail,
    rule_index,
    screening_standing,
    source_detail,
    term_detail,
    vocabulary_index,
)
from .submission import ScreeningSubmission

SEVERITIES = ("critical", "warning", "info")
SCREENINGS = Screening.objects.select_related("patient", "recorded_by", "based_on")


@allow(Role.PRACTITIONER, record=True)
def screening_new(request, patient_pk):
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    standing = screening_standing(patient)
    if request.method == "POST":
        submission = ScreeningSubmission(patient, request.POST)
        if submission.is_valid() and (screening := submission.save(request.user)):
            messages.success(
                request, gettext("Screening saved: %(outcome)s.") % {"outcome": screening.get_outcome_display().lower()}
            )
            return redirect(screening)
    else:
        # Screening for a plan: its page sends what must be covered (?areas=&ingredients=&indication=).
        kb = knowledge_base()
        initial = ScreeningForm.initial_from(standing.screening, kb, cover=request.GET)
        submission = ScreeningSubmission(patient, initial=initial, kb=kb)
        record_view(request, patient, "screening form")
    context = {"patient": patient, "previous": standing, **submission.context()}
    return render(request, "screening/form.html", context)


@allow(Role.PRACTITIONER, record=True)
@require_POST
def screening_evaluate(request, patient_pk):
    """The findings for the answers as they stand: htmx calls this on every change."""
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    submission = ScreeningSubmission(patient, request.POST, saving=False)
    submission.is_valid()
    # `live`: the summary bar above the answers comes along (an out-of-band swap).
    return render(request, "screening/_findings.html", {**submission.context(), "live": True})


@allow(Role.PRACTITIONER, record=True)
def screening_detail(request, pk):
    screening = load_or_404(request, SCREENINGS, pk=pk)
    patient = screening.patient
    newest = screening_standing(patient)
    is_newest = newest.screening is not None and newest.screening.pk == screening.pk
    status = newest if is_newest else None
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
            "area_labels": {
                code: bilingual.text(info, "label") for (kind, code), info in kb.terms.items() if kind == "area"
            },
            "prescriber_decisions": prescriber_decisions(screening)
            if screening.kind == ScreeningKind.CONSULTATION
            else [],
            "evaluation": [(item, bool(screening.evaluation.get(item.code))) for item in evaluation_items()],
            "documents": kb.documents,
        },
    )


# How the Answers panel names the list an unlisted answer was typed in.
UNLISTED_HEADINGS = {
    "conditions": lambda: pgettext("unlisted answer typed among", "condition"),
    "medications": lambda: pgettext("unlisted answer typed among", "medication"),
    "allergies": lambda: pgettext("unlisted answer typed among", "allergy"),
}


def _answer_labels(answers, kb):
    def labels(name, kinds):
        found = []
        for code in answers.get(name, []):
            info = next((kb.terms[(k, code)] for k in kinds if (k, code) in kb.terms), None)
            found.append(bilingual.text(info, "label") if info else code)
        return found

    return {
        **{name: labels(name, kinds) for name, kinds in engine.LIST_FIELDS.items()},
        "indication": _indication(answers, kb),
        "unlisted": [
            (UNLISTED_HEADINGS[name](), texts) for name, texts in answers.get("unlisted", {}).items() if texts
        ],
    }


def _indication(answers, kb):
    code = answers.get("indication")
    if not code:
        return ""
    info = kb.terms.get(("indication", code))
    return bilingual.text(info, "label") if info else code


@allow(Role.PRACTITIONER, record=True)
@require_POST
def prescriber_decision(request, pk, medication):
    """Record what the prescriber decided about one medicine (from the plan or screening page).
    A refused answer comes back on its own page, next to its field, with what was typed."""
    screening = load_or_404(request, SCREENINGS, pk=pk)
    patient = screening.patient
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
            messages.success(
                request,
                gettext("The prescriber's decision on %(medicine)s is recorded.") % {"medicine": question.label},
            )
            return redirect(back)
    return render(
        request,
        "screening/prescriber_decision.html",
        {"patient": patient, "screening": screening, "question": question, "form": form, "back": back},
        status=400,
    )


# --- Knowledge base -----------------------------------------------------------------------


@allow(Role.PRACTITIONER)
def knowledge_index(request):
    query = params.text(request, "q", max_length=100)
    severity = params.choice(request, "severity", SEVERITIES, "")
    return render(request, "screening/knowledge/index.html", rule_index(query=query, severity=severity))


@allow(Role.PRACTITIONER)
def rule_page(request, code):
    context = rule_detail(code)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/rule.html", context)


@allow(Role.PRACTITIONER)
def terms_page(request):
    query = params.text(request, "q", max_length=100)
    return render(request, "screening/knowledge/terms.html", vocabulary_index(query=query))


@allow(Role.PRACTITIONER)
def term_page(request, kind, code):
    context = term_detail(kind, code)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/term.html", context)


@allow(Role.PRACTITIONER)
def source_page(request, key):
    context = source_detail(key)
    if context is None:
        raise Http404
    return render(request, "screening/knowledge/source.html", context)
