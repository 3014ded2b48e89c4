"""A screening as the practitioner submits it: the answers, the engine's findings for them,
and the decisions those findings ask for, validated and saved as one thing.

The page shows the findings live while the practitioner answers (unbound decisions: nothing
to acknowledge yet) and binds the decisions only on save, so a view just asks "is it valid?"
and "save it"."""

from django.core.exceptions import ValidationError

from mesoclinic.core.forms import add_form_errors

from . import services
from .forms import DecisionForm, ScreeningForm
from .knowledge import knowledge_base
from .selectors import evaluation_items, latest_prescriber_decisions


class ScreeningSubmission:
    def __init__(self, patient, data=None, *, initial=None, saving=True, kb=None, reported=()):
        """`reported`: the sections whose answers someone else gave (the patient, before the
        visit; ScreeningForm.REPORTABLE): saving needs each one confirmed with the patient."""
        self.patient = patient
        self.kb = kb or knowledge_base()
        self.saving = saving
        self.data = data
        self.form = ScreeningForm(
            data,
            initial=initial,
            kb=self.kb,
            patient=patient,
            evaluation_items=evaluation_items(),
            reported=reported,
        )
        self.result = self.decision_form = None

    def is_valid(self) -> bool:
        """Evaluates the answers when they are complete; valid when the decisions are too, and
        every reported section is confirmed. An unconfirmed section does not stop the findings
        being worked out: the practitioner sees them, and their decisions, while they confirm."""
        if self.data is None:
            return False
        answered = self.form.is_valid() and self.form.answers is not None
        confirmed = not self.saving or self.form.confirm_reported()
        if not answered:
            return False
        answers = self.form.answers
        self.result = services.screening_evaluate(answers, self.kb)
        self.decision_form = DecisionForm.for_findings(
            self.data,
            self.result.findings,
            bound=self.saving,
            kb=self.kb,
            planned_areas=answers.areas,
            prescriber_medications=self.result.prescriber_medications,
            previous=latest_prescriber_decisions(self.patient) if self.result.prescriber_medications else {},
        )
        return self.saving and self.decision_form.is_valid() and confirmed

    def save(self, recorded_by):
        """The recorded screening, or None with the service's refusal shown on the form."""
        try:
            return services.screening_record(
                patient=self.patient,
                recorded_by=recorded_by,
                answers=self.form.answers,
                result=self.result,
                decisions=self.decision_form.decisions(),
                kb=self.kb,
                prescriber=self.decision_form.prescriber_decisions(),
                **self.form.record_details(),
            )
        except ValidationError as error:
            add_form_errors(self.form, error)
            return None

    def context(self) -> dict:
        return {
            "form": self.form,
            "result": self.result.as_json() if self.result else None,
            "decision_form": self.decision_form,
            "documents": self.kb.documents,
        }
