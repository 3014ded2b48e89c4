"""Recording screenings. A recorded screening is never edited: corrections are new ones."""

from django.core.exceptions import ValidationError
from django.db import transaction

from . import engine
from .models import Outcome, Screening, ScreeningKind


def outcome_of(findings, decisions):
    """Deferred while any critical finding stands; overridden if all were overridden."""
    overridden = {d["rule"] for d in decisions if d["decision"] == "overridden"}
    critical = [f for f in findings if f.severity == "critical"]
    if critical:
        return Outcome.OVERRIDDEN if all(f.rule in overridden for f in critical) else Outcome.DEFERRED
    if any(f.severity == "warning" for f in findings):
        return Outcome.CAUTION
    return Outcome.CLEAR


def check_decisions(findings, decisions):
    by_rule = {d["rule"]: d for d in decisions}
    problems = []
    for finding in findings:
        decision = by_rule.get(finding.rule)
        if finding.severity == "warning" and (decision is None or decision["decision"] != "acknowledged"):
            problems.append(f"The warning “{finding.title}” must be acknowledged.")
        if (
            decision
            and decision["decision"] == "overridden"
            and not (decision.get("reason") and decision.get("comment"))
        ):
            problems.append(f"The override of “{finding.title}” needs a coded reason and a comment.")
    known = {f.rule for f in findings}
    problems += [
        f"A decision names {rule!r}, which is not a finding of these answers." for rule in by_rule if rule not in known
    ]
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def screening_record(
    *,
    patient,
    recorded_by,
    answers: engine.Answers,
    result: engine.Result,
    decisions: list,
    kind: str = ScreeningKind.CONSULTATION,
    evaluation: dict | None = None,
    goals: str = "",
    previous_treatments: str = "",
    notes: str = "",
) -> Screening:
    """Record a screening exactly as the practitioner saw it: answers, findings, decisions."""
    if answers.date_of_birth != patient.date_of_birth:
        raise ValidationError("The answers were made for another date of birth than the patient's.")
    check_decisions(result.findings, decisions)
    return Screening.objects.create(
        patient=patient,
        kind=kind,
        recorded_by=recorded_by,
        answers=answers.as_json(),
        findings=[finding.as_json() for finding in result.findings],
        verdict=result.verdict,
        outcome=outcome_of(result.findings, decisions),
        rules_version=result.rules_version,
        decisions=decisions,
        evaluation=evaluation or {},
        goals=goals,
        previous_treatments=previous_treatments,
        notes=notes,
    )
