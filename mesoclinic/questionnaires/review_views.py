"""The practitioner reads the patient's answers and starts the screening from them.

The review shows the questionnaire as it came back: the answers in words, the engine's
findings at the time, and what the patient was told. Adopting opens the normal screening
form filled in from the answers, each section the patient answered marked until the
practitioner confirms it with them; saving records the screening and links the two, once.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import screening_standing
from mesoclinic.screening.submission import ScreeningSubmission

from . import adoption, services
from .models import PatientMessage, QuestionnaireResponse

RESPONSES = QuestionnaireResponse.objects.select_related("patient", "request", "adopted_screening", "adopted_by")


@allow(Role.PRACTITIONER, record=True)
def review(request, pk):
    response = load_or_404(request, RESPONSES, pk=pk)
    patient = response.patient
    kb = knowledge_base()
    record_view(request, patient, f"questionnaire of {response.submitted_at:%Y-%m-%d}", obj=response)
    return render(
        request,
        "questionnaires/review.html",
        {
            "patient": patient,
            "response": response,
            "answers": adoption.answers_in_words(response, kb),
            "result": {
                "verdict": response.verdict,
                "findings": response.findings,
                "rules_version": response.rules_version,
            },
            "told_to_call": response.patient_message == PatientMessage.CALL,
            "instructions": adoption.instructions_shown(response),
            "documents": kb.documents,
        },
    )


@allow(Role.PRACTITIONER, record=True)
def adopt(request, pk):
    """The screening form, filled in from the answers. Answers adopted already (by a colleague,
    a second tab, a double click) lead to the screening they made: one questionnaire, one
    screening."""
    response = load_or_404(request, RESPONSES, pk=pk)
    if response.is_adopted:
        return _already_adopted(request, response)
    patient = response.patient
    kb = knowledge_base()
    reported = adoption.reported_sections(response)
    if request.method == "POST":
        submission = ScreeningSubmission(patient, request.POST, kb=kb, reported=reported)
        if submission.is_valid():
            try:
                screening = services.questionnaire_adopt(response=response, submission=submission, by=request.user)
            except services.QuestionnaireRefused:
                response = RESPONSES.get(pk=response.pk)
                return _already_adopted(request, response, lost=True)
            if screening is not None:
                messages.success(
                    request,
                    _("Screening saved from the patient's questionnaire: %(outcome)s.")
                    % {"outcome": screening.get_outcome_display().lower()},
                )
                return redirect(screening)
    else:
        initial = adoption.initial_from_response(response, kb)
        submission = ScreeningSubmission(patient, initial=initial, kb=kb, reported=reported)
        record_view(request, patient, "screening form from the questionnaire", obj=response)
    previous = screening_standing(patient).screening
    context = {
        "patient": patient,
        "prefilled_from": adoption.started_from(response),
        "prefill_dropped": adoption.dropped_since(response, previous, kb),
        "form_action": reverse("questionnaires:adopt", args=[response.pk]),
        **submission.context(),
    }
    return render(request, "screening/form.html", context)


def _already_adopted(request, response, lost=False):
    words = {
        "who": response.adopted_by.display_name if response.adopted_by else _("a colleague"),
        "when": date_format(timezone.localtime(response.adopted_at), "j F Y, H:i"),
    }
    if lost:
        message = _(
            "%(who)s started a screening from these answers at %(when)s, while you were filling this one in: "
            "yours was not saved. Here is theirs; if anything differs, screen again from it."
        )
    else:
        message = _("These answers were already adopted into a screening, by %(who)s at %(when)s: here it is.")
    messages.info(request, message % words)
    return redirect(response.adopted_screening)
