"""The re-check on the day of a session: a few questions, run through the same engine.

The answers of the patient's screening, with today's changes and the plan's own areas and
ingredients, go through the engine again. Decisions already made on that screening carry
over; anything new must be acknowledged (warnings) or overridden with a reason (critical),
or the session stops. The result is recorded as a screening of kind "day_check".
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Outcome, ScreeningKind
from mesoclinic.screening.selectors import clinic_today, screening_status
from mesoclinic.screening.services import screening_record

from .models import SessionStatus, TreatmentSession

INFECTION_AT_SITE = "active_skin_infection"
RECHECK_WINDOW = datetime.timedelta(hours=24)


@dataclass(frozen=True)
class HoldItem:
    """A preparation hold of the patient's screening, and what breaking it means for the engine."""

    rule: str
    substance: str
    hours_before: int
    medications: tuple  # the patient's medication codes this hold is about
    is_alcohol: bool


def _medication_classes(clause):
    ((key, value),) = clause.items()
    if key in ("any", "all"):
        return [code for part in value for code in _medication_classes(part)]
    return [value] if key == "medication" else []


def hold_items(screening, kb=None):
    """The holds the patient was asked to keep before this session."""
    kb = kb or knowledge_base()
    rules = {rule.code: rule for rule in kb.rules}
    items = []
    for finding in screening.findings:
        hold = finding.get("hold")
        rule = rules.get(finding["rule"])
        if not hold or rule is None:
            continue
        classes = _medication_classes(rule.when)
        medications = tuple(
            code
            for code in screening.answers.get("medications", [])
            if ("medication", code) in kb.terms and set(classes) & kb.terms[("medication", code)].ancestors
        )
        is_alcohol = not classes and rule.hold_substance.casefold() == "alcohol"
        items.append(HoldItem(finding["rule"], hold["substance"], hold["hours_before"], medications, is_alcohol))
    return items


@dataclass
class DayCheckAnswers:
    """What the practitioner asked today."""

    pregnant: bool
    breastfeeding: bool
    new_medications: list
    holds_broken: list  # rule codes of holds not kept
    infection_at_site: bool
    feeling_well: bool


def base_screening(session):
    """The screening the re-check builds on: the patient's newest, which must still be current."""
    status = screening_status(session.patient)
    if status.screening is None:
        raise ValidationError("The patient has no screening. Screen the patient before the session.")
    if not status.is_current:
        raise ValidationError(f"The screening has lapsed ({status.lapsed_because}). Screen the patient again first.")
    return status.screening


def day_answers(session, screening, today_answers: DayCheckAnswers, kb=None):
    """The engine's answers for today: the screening's, the plan's context, today's changes."""
    kb = kb or knowledge_base()
    holds = {item.rule: item for item in hold_items(screening, kb)}
    answers = dict(screening.answers)
    plan = session.plan
    broken = [holds[rule] for rule in today_answers.holds_broken if rule in holds]
    answers.update(
        {
            "on_date": clinic_today().isoformat(),
            "pregnant": today_answers.pregnant,
            "breastfeeding": today_answers.breastfeeding,
            "medications": sorted(set(answers.get("medications", [])) | set(today_answers.new_medications)),
            "recent_medications": sorted({code for item in broken for code in item.medications}),
            "alcohol_last_24h": any(item.is_alcohol for item in broken),
            "feeling_unwell": not today_answers.feeling_well,
            "areas": sorted(t.code for t in plan.areas.all()),
            "ingredients": sorted(t.code for t in plan.ingredients.all()),
            "indication": plan.indication.code,
        }
    )
    conditions = set(answers.get("conditions", []))
    if today_answers.infection_at_site:
        conditions.add(INFECTION_AT_SITE)
    answers["conditions"] = sorted(conditions)
    return engine.parse_answers(answers, kb)


def carried_decisions(screening, findings):
    """Decisions on the screening that still apply to today's findings of the same rules."""
    by_rule = {d["rule"]: d for d in screening.decisions}
    return [by_rule[f.rule] for f in findings if f.rule in by_rule]


def new_findings(screening, findings):
    """Findings that need a decision today: the ones the screening had not decided on."""
    decided = {d["rule"] for d in screening.decisions}
    return [f for f in findings if f.severity in ("warning", "critical") and f.rule not in decided]


@transaction.atomic
def day_check_record(*, session, by, result, answers, screening, decisions, notes=""):
    """Record the re-check and tie it to the session. A deferral stops the session."""
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(f"The session is {session.get_status_display().lower()}; there is nothing to re-check.")
    if hasattr(session, "chart") and session.chart.is_signed:
        raise ValidationError("The chart is signed; the re-check can no longer change.")
    recorded = screening_record(
        patient=session.patient,
        recorded_by=by,
        answers=answers,
        result=result,
        decisions=[*carried_decisions(screening, result.findings), *decisions],
        kind=ScreeningKind.DAY_CHECK,
        notes=notes,
    )
    session.day_check = recorded
    session.save(update_fields=["day_check", "updated_at"])
    return recorded


def may_chart(session):
    """Charting needs a re-check made on the day (within a day before the session) that did
    not defer: a stopped session stays stopped until resolved or overridden."""
    check = session.day_check
    if check is None:
        return False, "Do the re-check on the day before charting."
    window_opens = session.starts_at - RECHECK_WINDOW
    if not window_opens <= check.recorded_at <= session.ends_at + RECHECK_WINDOW:
        return False, "The re-check was not made on the day of this session: do it again."
    if check.outcome == Outcome.DEFERRED:
        return False, "The re-check found a reason to defer: the session is stopped until it is resolved or overridden."
    return True, ""
