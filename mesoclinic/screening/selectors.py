"""Reads for screening pages: the patient's current screening and what it means."""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from mesoclinic.core.selectors import current_clinic

from . import engine, instructions
from .knowledge import knowledge_base
from .models import EvaluationItem, PrescriberDecision, Screening, SourceDocument, Term, TermKind


def hours_until(on_date, now=None, zone=None):
    """Hours from `now` to the start of the clinic's day `on_date`: the time a patient has to
    prepare for a session that day. The session's hour is not known yet, so the day's start
    is the cautious reading (a hold that fits only if the session is late in the day is
    reported as one that cannot be kept)."""
    start = datetime.datetime.combine(on_date, datetime.time.min, tzinfo=zone or current_clinic().zone)
    return (start - (now or timezone.now())).total_seconds() / 3600


# --- Where a patient stands -----------------------------------------------------------------
# The screening layer of a patient's clinical status, decided here and nowhere else: pages,
# services and templates read a ScreeningStanding. Plans add consent (plans.selectors), the
# session app adds follow-ups and the booking refusal (treatment_sessions.status).


@dataclass(frozen=True)
class ScreeningStanding:
    """The patient's newest screening (a consultation or a re-check on the day), whether it still
    holds, and whether it defers treatment."""

    screening: Screening | None
    is_current: bool
    lapsed_because: str = ""

    @property
    def outcome(self):
        return self.screening.outcome if self.screening else None

    @property
    def defers(self):
        """A deferral stands, however old and even once lapsed, until a newer screening
        supersedes it: nothing is booked or treated meanwhile."""
        return self.screening is not None and self.screening.is_deferred

    @property
    def deferred_since(self):
        return self.screening.recorded_at if self.defers else None

    @property
    def needs_screening(self):
        """No screening, or one that lapsed: the way on is to screen (again)."""
        return not self.is_current

    @property
    def label(self):
        if self.screening is None:
            return "Missing"
        if not self.is_current:
            return "Lapsed"
        return self.screening.get_outcome_display()

    @property
    def css(self):
        if self.defers:
            return "is-defer"
        if not self.is_current:
            return "is-info"
        return {"clear": "is-clear", "caution": "is-caution", "overridden": "is-caution"}[self.outcome]


def standing_of(screening, patient, now=None):
    """The standing that `screening` (the patient's newest, or None) gives. It lapses after the
    configured number of days, and when the answers it rests on no longer match the patient."""
    if screening is None:
        return ScreeningStanding(None, False, "no screening yet")
    now = now or timezone.now()
    if now >= screening.expires_at:
        return ScreeningStanding(screening, False, f"expired on {timezone.localtime(screening.expires_at):%d %b %Y}")
    if screening.answers.get("date_of_birth") != patient.date_of_birth.isoformat():
        return ScreeningStanding(screening, False, "the date of birth changed since")
    return ScreeningStanding(screening, True)


def screening_standing(patient, now=None):
    """Where `patient` stands on screening: one query."""
    screening = Screening.objects.for_patient(patient).select_related("recorded_by", "based_on").first()
    return standing_of(screening, patient, now)


def screening_standings(patients, now=None):
    """{patient id: ScreeningStanding} for a list page: one query, however many patients."""
    patients = {patient.pk: patient for patient in patients}
    newest = Screening.objects.filter(patient=OuterRef("patient")).order_by("-recorded_at", "-id").values("pk")[:1]
    screenings = {
        s.patient_id: s
        for s in Screening.objects.filter(patient_id__in=patients, pk=Subquery(newest)).select_related("based_on")
    }
    return {pk: standing_of(screenings.get(pk), patient, now) for pk, patient in patients.items()}


def prescriber_decisions(screening):
    """The standing prescriber decision for each medicine of the consultation `screening`
    stands for (the newest recorded one), in the order the medicines were first asked about."""
    if screening is None:
        return []
    newest = {}
    rows = PrescriberDecision.objects.filter(screening_id=screening.consultation.pk).order_by("recorded_at", "id")
    for decision in rows:
        newest.pop(decision.medication, None)
        newest[decision.medication] = decision
    return list(newest.values())


@dataclass(frozen=True)
class PrescriberQuestion:
    """A medicine of the screening that only its prescriber may pause, and what they decided."""

    medication: str
    label: str
    decision: PrescriberDecision | None

    @property
    def answered(self):
        return self.decision is not None and self.decision.answer != "not_asked"


@dataclass(frozen=True)
class Preparation:
    """What a screening means for the patient's preparation: the instructions they are given,
    and the medicines whose prescriber must decide (answered or not)."""

    instructions: list
    questions: list

    @property
    def unanswered(self):
        return [q for q in self.questions if not q.answered]


def preparation(screening, kb=None):
    """The Preparation of `screening` (the patient's newest): one query for the decisions."""
    if screening is None:
        return Preparation([], [])
    decisions = prescriber_decisions(screening)
    decided = {d.medication: d for d in decisions}
    wanted = {}
    for finding in screening.consultation.findings:
        for item in finding.get("prescriber", []):
            wanted.setdefault(item["code"], item["label"])
    return Preparation(
        instructions=instructions.instructions_from(screening, decisions, kb or knowledge_base()),
        questions=[PrescriberQuestion(code, label, decided.get(code)) for code, label in wanted.items()],
    )


def prescriber_questions(screening):
    """Every medicine the consultation's findings say the prescriber must decide about, with the
    standing decision (None: never recorded)."""
    return preparation(screening).questions


def latest_prescriber_decisions(patient):
    """The newest answer about each medicine, whatever screening it was recorded for: what a
    new screening pre-fills, for the practitioner to confirm."""
    newest = {}
    for decision in PrescriberDecision.objects.filter(patient=patient).order_by("recorded_at", "id"):
        newest[decision.medication] = decision
    return newest


def patient_instructions(patient, screening=None, kb=None):
    """What the patient is told to do before each session: the one source for reminders,
    sheets, consent and the patient's own page (see instructions.py)."""
    if screening is None:
        screening = Screening.objects.for_patient(patient).select_related("based_on").first()
    return preparation(screening, kb).instructions


def evaluation_items():
    return list(EvaluationItem.objects.all())


def screenings_of(patient, limit=20):
    return list(Screening.objects.for_patient(patient).select_related("recorded_by", "based_on")[:limit])


# --- The knowledge base pages -------------------------------------------------------------

SEVERITY_ORDER = ("critical", "warning", "info")


def _rule_terms(clause, kb):
    """The vocabulary terms a rule's condition names, with every member of each class."""
    ((key, value),) = clause.items()
    if key in ("any", "all"):
        found = []
        for part in value:
            found += [t for t in _rule_terms(part, kb) if t not in found]
        return found
    if key in engine.TERM_CLAUSES:
        for kind in engine.TERM_CLAUSES[key][1]:
            if (kind, value) in kb.terms:
                members = sorted(kb.members(kind, value), key=lambda i: (i.code != value, i.label.casefold()))
                return [(kind, info) for info in members]
    return []


def describe_when(clause, kb):
    """A rule's condition in words: 'condition: Autoimmune disease, or medication: ...'."""
    ((key, value),) = clause.items()
    if key == "any":
        return " or ".join(
            f"({describe_when(part, kb)})" if "all" in part else describe_when(part, kb) for part in value
        )
    if key == "all":
        return " and ".join(describe_when(part, kb) for part in value)
    if key in engine.TERM_CLAUSES:
        kind = next((k for k in engine.TERM_CLAUSES[key][1] if (k, value) in kb.terms), None)
        label = kb.terms[(kind, value)].label if kind else value
        return f"{key.replace('_', ' ')} is {label} (or one of its kind)"
    return {
        "always": "always (every screening)",
        "flag": f"patient is {engine.FLAG_LABELS.get(value, value)}",
        "age_below": f"younger than {value} on the treatment date",
        "skin_type_at_least": f"Fitzpatrick skin type {value} or darker",
        "any_allergy": "any allergy is recorded",
        "allergy_to_planned_ingredient": "an allergy meets a planned ingredient (or its class)",
    }[key]


def rule_index(query="", severity=""):
    kb = knowledge_base()
    needle = query.casefold()
    rules = []
    for rule in kb.rules:
        if severity and rule.severity != severity:
            continue
        terms = _rule_terms(rule.when, kb)
        haystack = " ".join(
            [rule.code, rule.title, rule.detail, rule.action, rule.hold_substance]
            + [info.label for _, info in terms]
            + [f"{doc} {citation}" for doc, citation in rule.sources]
        ).casefold()
        if needle and needle not in haystack:
            continue
        rules.append({"rule": rule, "terms": terms[:8], "more_terms": max(0, len(terms) - 8)})
    groups = [(sev, [r for r in rules if r["rule"].severity == sev]) for sev in SEVERITY_ORDER]
    return {
        "groups": [(sev, items) for sev, items in groups if items],
        "count": len(rules),
        "total": len(kb.rules),
        "query": query,
        "severity": severity,
        "documents": kb.documents,
        "rules_version": kb.version,
    }


def rule_detail(code):
    kb = knowledge_base()
    rule = next((r for r in kb.rules if r.code == code), None)
    if rule is None:
        return None
    return {
        "rule": rule,
        "terms": _rule_terms(rule.when, kb),
        "when_text": describe_when(rule.when, kb),
        "documents": kb.documents,
        "rules_version": kb.version,
    }


def vocabulary_index(query=""):
    kb = knowledge_base()
    needle = engine.normalise(query) if query else ""
    by_kind = {kind: [] for kind, _ in TermKind.choices}
    names_by_code = {}
    for (kind, name), code in kb.names.items():
        names_by_code.setdefault((kind, code), []).append(name)
    for (kind, code), info in sorted(kb.terms.items(), key=lambda item: item[1].label.casefold()):
        if needle and not any(needle in name for name in names_by_code[(kind, code)]):
            continue
        classes = [kb.terms[(kind, c)] for c in sorted(info.ancestors - {code})]
        by_kind[kind].append({"info": info, "classes": classes})
    return {
        "kinds": [(label, kind, by_kind[kind]) for kind, label in TermKind.choices if by_kind[kind]],
        "query": query,
        "count": sum(len(items) for items in by_kind.values()),
    }


def term_detail(kind, code):
    kb = knowledge_base()
    info = kb.terms.get((kind, code))
    if info is None:
        return None
    term = Term.objects.get(kind=kind, code=code)
    classes = [kb.terms[(kind, c)] for c in sorted(info.ancestors - {code})]
    members = [m for m in kb.members(kind, code) if m.code != code]
    rules = [r for r in kb.rules if any(t.code in info.ancestors and k == kind for k, t in _rule_terms(r.when, kb))]
    return {"term": term, "info": info, "classes": classes, "members": members, "rules": rules}


def source_detail(key):
    document = SourceDocument.objects.filter(key=key).first()
    if document is None:
        return None
    kb = knowledge_base()
    citing = [
        (rule, [citation for doc, citation in rule.sources if doc == key])
        for rule in kb.rules
        if any(doc == key for doc, _ in rule.sources)
    ]
    items = [
        (item, [s["citation"] for s in item.sources if s["document"] == key])
        for item in EvaluationItem.objects.all()
        if any(s["document"] == key for s in item.sources)
    ]
    return {"document": document, "rules": citing, "evaluation_items": items, "documents": kb.documents}


def source_documents():
    return list(SourceDocument.objects.all())
