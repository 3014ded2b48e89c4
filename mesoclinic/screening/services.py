"""Recording screenings and prescriber decisions. A recorded screening is never edited:
corrections are new ones.

The decisions on a screening's findings are checked here, whatever form sent them: a warning
must be acknowledged, and a critical finding may be overridden only in a way its rule allows
(a crafted POST with another reason is refused, as is any override of pregnancy,
breastfeeding, age or an allergy to the cocktail).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from . import bilingual, engine
from .knowledge import knowledge_base
from .models import Outcome, PrescriberAnswer, PrescriberDecision, Screening, ScreeningKind
from .selectors import hours_until

MIN_NOTE_CHARS = 10  # "ok" is not a record of why an override was made
CLEARANCE_VALID_DAYS = 365  # a specialist's clearance older than a year no longer speaks for today


def clearance_date_problem(cleared, today):
    if cleared > today:
        return gettext("A clearance cannot be dated in the future.")
    if (today - cleared).days > CLEARANCE_VALID_DAYS:
        return gettext("The clearance is more than a year old: ask the specialist again.")
    return ""


def _title(finding):
    """A finding's title as the practitioner reads it (engine Finding or recorded dict)."""
    if isinstance(finding, dict):
        return bilingual.text(finding, "title")
    return finding.text_in(bilingual.active_language(), "title")


def _override_words(code):
    return {
        "specialist_clearance": gettext("specialist clearance on file"),
        "site_excluded": gettext("the planned areas excluding the affected site"),
    }.get(code, code)


def outcome_of(findings, decisions):
    """Deferred while any critical finding stands; overridden if all were overridden."""
    overridden = {d.get("key", d["rule"]) for d in decisions if d["decision"] == "overridden"}
    critical = [f for f in findings if f.severity == "critical"]
    if critical:
        return Outcome.OVERRIDDEN if all(f.key in overridden for f in critical) else Outcome.DEFERRED
    if any(f.severity == "warning" for f in findings):
        return Outcome.CAUTION
    return Outcome.CLEAR


def override_problem(finding, decision, planned_areas, kb, today=None):
    """Why `decision` is not an allowed override of the critical `finding`, or "".

    `finding` is an engine Finding or a recorded one (a dict); the rule's policy is read from
    the knowledge base as it is now, so an override the policy no longer allows stops counting.
    """
    rule_code = finding["rule"] if isinstance(finding, dict) else finding.rule
    title = _title(finding)
    rule = next((r for r in kb.rules if r.code == rule_code), None)
    allowed = rule.override_reasons if rule is not None else ()
    reason = decision.get("reason")
    words = {"title": title}
    if not allowed:
        return gettext("“%(title)s” cannot be overridden.") % words
    if reason not in allowed:
        ways = gettext(" or ").join(_override_words(code) for code in allowed)
        return gettext("“%(title)s” may be overridden only with %(ways)s.") % {**words, "ways": ways}
    if len((decision.get("comment") or "").strip()) < MIN_NOTE_CHARS:
        return gettext("The override of “%(title)s” needs a note of a few words.") % words
    if reason == "specialist_clearance":
        if len((decision.get("cleared_by") or "").strip()) < 3:
            return gettext("The override of “%(title)s” must name who gave the clearance.") % words
        try:
            cleared = datetime.date.fromisoformat(decision.get("cleared_on") or "")
        except ValueError:
            return gettext("The override of “%(title)s” needs the date of the clearance.") % words
        problem = clearance_date_problem(cleared, today) if today is not None else ""
        if problem:
            return gettext("“%(title)s”: %(problem)s") % {**words, "problem": problem}
    if reason == "site_excluded":
        problem = site_problem(decision.get("site"), planned_areas, kb)
        if problem:
            return gettext("“%(title)s”: %(problem)s") % {**words, "problem": problem}
    return ""


def site_problem(site, planned_areas, kb):
    """Why `site` cannot be the affected site an override names, or "": the planned areas
    must be known and must not include it (nor a part of it, nor an area it is part of)."""
    if not site:
        return gettext("Name the affected site.")
    if ("area", site) not in kb.terms:
        return gettext("Choose an area of the list.")
    if not planned_areas:
        return gettext("Choose the planned areas first: only then can they be shown to exclude the site.")
    site_family = kb.terms[("area", site)].ancestors
    for area in planned_areas:
        info = kb.terms.get(("area", area))
        if info is None:
            continue
        if area in site_family or site in info.ancestors:
            return gettext("The planned areas include %(area)s: they must exclude the affected site.") % {
                "area": bilingual.text(info, "label")
            }
    return ""


def check_decisions(findings, decisions, *, kb, planned_areas=(), today=None):
    by_key = {d.get("key", d["rule"]): d for d in decisions}
    problems = []
    for finding in findings:
        decision = by_key.get(finding.key)
        if finding.severity == "warning" and (decision is None or decision["decision"] != "acknowledged"):
            problems.append(gettext("The warning “%(title)s” must be acknowledged.") % {"title": _title(finding)})
        if decision and decision["decision"] == "overridden":
            if finding.severity != "critical":
                problems.append(
                    gettext("“%(title)s” is not critical: it is acknowledged, not overridden.")
                    % {"title": _title(finding)}
                )
            else:
                problem = override_problem(finding, decision, planned_areas, kb, today)
                if problem:
                    problems.append(problem)
    known = {f.key for f in findings}
    problems += [
        gettext("A decision names %(key)r, which is not a finding of these answers.") % {"key": key}
        for key in by_key
        if key not in known
    ]
    if problems:
        raise ValidationError(problems)


def check_prescriber_decisions(result, answers: list):
    """Every medicine the prescriber must decide about has one answer, and it is sensible."""
    wanted = dict(result.prescriber_medications)
    given = {a["medication"] for a in answers}
    problems = [
        gettext("A prescriber decision names %(code)r, which these answers do not need.") % {"code": code}
        for code in given - set(wanted)
    ]
    low, high = PrescriberDecision.PAUSE_DAYS
    for answer in answers:
        if answer["answer"] not in PrescriberAnswer.values:
            problems.append(
                gettext("%(medicine)s: %(answer)r is not a prescriber decision.")
                % {"medicine": answer["medication"], "answer": answer["answer"]}
            )
        elif answer["answer"] == PrescriberAnswer.PAUSE and not (
            isinstance(answer.get("pause_days"), int) and low <= answer["pause_days"] <= high
        ):
            problems.append(
                gettext("%(medicine)s: a pause runs from %(low)s to %(high)s days.")
                % {"medicine": answer["medication"], "low": low, "high": high}
            )
        elif answer["answer"] != PrescriberAnswer.NOT_ASKED and not (answer.get("prescriber") or "").strip():
            problems.append(
                gettext("%(medicine)s: name the prescriber who decided.") % {"medicine": answer["medication"]}
            )
    if problems:
        raise ValidationError(problems)


def screening_evaluate(answers: engine.Answers, kb=None) -> engine.Result:
    """The engine on a screening's answers, for its planned date: a hold that needs more time
    than is left before that day comes back as a warning."""
    return engine.evaluate(answers, kb or knowledge_base(), hours_to_prepare=hours_until(answers.on_date))


@transaction.atomic
def screening_record(
    *,
    patient,
    recorded_by,
    answers: engine.Answers,
    result: engine.Result,
    decisions: list,
    kb=None,
    kind: str = ScreeningKind.CONSULTATION,
    based_on: Screening | None = None,
    prescriber: list | None = None,
    evaluation: dict | None = None,
    goals: str = "",
    previous_treatments: str = "",
    notes: str = "",
) -> Screening:
    """Record a screening exactly as the practitioner saw it: answers, findings, decisions,
    and (for a consultation) the prescriber's answer about each medicine only they may pause."""
    if answers.date_of_birth != patient.date_of_birth:
        raise ValidationError(gettext("The answers were made for another date of birth than the patient's."))
    kb = kb or knowledge_base()
    check_decisions(result.findings, decisions, kb=kb, planned_areas=answers.areas, today=timezone.localdate())
    prescriber = prescriber or []
    check_prescriber_decisions(result, prescriber)
    answered = {a["medication"] for a in prescriber if a["answer"] != PrescriberAnswer.NOT_ASKED}
    overridden = {d.get("key", d["rule"]) for d in decisions if d["decision"] == "overridden"}
    unasked = [
        gettext("Record the prescriber's decision on %(medicine)s before overriding “%(title)s”.")
        % {"medicine": label, "title": _title(finding)}
        for finding in result.findings
        if finding.key in overridden and kind == ScreeningKind.CONSULTATION
        for code, label in finding.prescriber
        if code not in answered
    ]
    if unasked:
        raise ValidationError(unasked)
    screening = Screening.objects.create(
        patient=patient,
        kind=kind,
        based_on=based_on,
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
    PrescriberDecision.objects.bulk_create(
        PrescriberDecision(
            patient=patient,
            screening=screening,
            medication=answer["medication"],
            medication_label=answer["label"],
            answer=answer["answer"],
            pause_days=answer.get("pause_days"),
            prescriber=(answer.get("prescriber") or "").strip(),
            recorded_by=recorded_by,
            recorded_at=screening.recorded_at,
        )
        for answer in prescriber
    )
    return screening


@transaction.atomic
def prescriber_decision_record(
    *, screening: Screening, medication: str, label: str, answer: str, pause_days, prescriber: str, note: str, by
) -> PrescriberDecision:
    """A later answer from the prescriber (say, after a phone call): a new row that supersedes
    the last one for this medicine and consultation."""
    consultation = screening.consultation
    errors = {}
    low, high = PrescriberDecision.PAUSE_DAYS
    if answer not in PrescriberAnswer.values:
        errors["answer"] = gettext("Choose what the prescriber decided.")
    if answer == PrescriberAnswer.PAUSE and not (isinstance(pause_days, int) and low <= pause_days <= high):
        errors["pause_days"] = gettext("A pause runs from %(low)s to %(high)s days.") % {"low": low, "high": high}
    if answer in (PrescriberAnswer.PAUSE, PrescriberAnswer.CONTINUE) and not prescriber.strip():
        errors["prescriber"] = gettext("Name the prescriber who decided.")
    needed = {item["code"] for finding in consultation.findings for item in finding.get("prescriber", [])}
    if medication not in needed:
        errors["answer"] = gettext("This screening does not need a prescriber's decision about that medicine.")
    if errors:
        raise ValidationError(errors)
    return PrescriberDecision.objects.create(
        patient=consultation.patient,
        screening=consultation,
        medication=medication,
        medication_label=label,
        answer=answer,
        pause_days=pause_days if answer == PrescriberAnswer.PAUSE else None,
        prescriber=prescriber.strip(),
        note=note.strip(),
        recorded_by=by,
    )
