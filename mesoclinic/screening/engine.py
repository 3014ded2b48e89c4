"""The screening engine: answers in, findings and a verdict out.

Pure functions over plain data: nothing here touches the database, so the same code serves
the browser, the `screen` command, tests and benchmarks. The knowledge base arrives
compiled (knowledge.py builds it from the database).

A rule's `when` is a small language of positive conditions, so adding an answer can only
add findings, never remove one (the verdict is monotone):

    {"always": true}
    {"flag": "pregnant" | "breastfeeding" | "alcohol_last_24h" | "feeling_unwell"}
    {"age_below": 18}
    {"condition" | "medication" | "recent_medication" | "area" | "ingredient" |
     "indication" | "allergy": <code>}      a term or any member of its class
    {"allergy_to_planned_ingredient": true}
    {"any_allergy": true}
    {"skin_type_at_least": 4}
    {"any": [...]}  {"all": [...]}
"""

from __future__ import annotations

import datetime
import difflib
import re
from dataclasses import dataclass, field

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
FLAGS = ("pregnant", "breastfeeding", "alcohol_last_24h", "feeling_unwell")
FLAG_LABELS = {
    "pregnant": "pregnant",
    "breastfeeding": "breastfeeding",
    "alcohol_last_24h": "alcohol in the last 24 hours",
    "feeling_unwell": "feeling unwell today",
}

# Which vocabulary kinds each list of answers accepts.
LIST_FIELDS = {
    "conditions": ("condition",),
    "medications": ("medication",),
    "recent_medications": ("medication",),
    "allergies": ("ingredient", "allergen"),
    "areas": ("area",),
    "ingredients": ("ingredient",),
}
SINGLE_TERM_FIELDS = {"indication": ("indication",)}
ALL_FIELDS = ("date_of_birth", "on_date", *FLAGS, *LIST_FIELDS, "fitzpatrick_skin_type", *SINGLE_TERM_FIELDS)

# The clause keys that name a term, and the answer list each looks in.
TERM_CLAUSES = {
    "condition": ("conditions", ("condition",)),
    "medication": ("medications", ("medication",)),
    "recent_medication": ("recent_medications", ("medication",)),
    "area": ("areas", ("area",)),
    "ingredient": ("ingredients", ("ingredient",)),
    "indication": ("indication", ("indication",)),
    "allergy": ("allergies", ("ingredient", "allergen")),
}


def normalise(text):
    """How terms are compared: case-insensitive, surrounding spaces ignored, and spaces,
    hyphens and underscores treated alike ("Vitamin C" is vitamin_c)."""
    return re.sub(r"[\s\-_]+", "_", text.strip().casefold())


# --- The compiled knowledge base ---------------------------------------------------------


@dataclass(frozen=True)
class TermInfo:
    kind: str
    code: str
    label: str
    ancestors: frozenset  # codes of this term and every class above it (same kind)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    severity: str
    title: str
    detail: str
    action: str
    when: dict
    hold_substance: str
    hold_hours: int | None
    sources: tuple  # of (document key, citation)
    position: int = 100


@dataclass(frozen=True)
class KnowledgeBase:
    terms: dict  # (kind, code) -> TermInfo
    names: dict  # (kind, normalised name) -> code
    rules: tuple
    documents: dict  # key -> title
    version: str

    def term(self, kind, code):
        return self.terms[(kind, code)]

    def lookup(self, kinds, text):
        key = normalise(text)
        for kind in kinds:
            code = self.names.get((kind, key))
            if code is not None:
                return kind, code
        return None

    def members(self, kind, class_code):
        """Every term of `kind` that belongs to `class_code` (the class itself included)."""
        return [info for (k, _), info in self.terms.items() if k == kind and class_code in info.ancestors]

    def suggestions(self, kinds, text):
        names = [name for (kind, name) in self.names if kind in kinds]
        return difflib.get_close_matches(normalise(text), names, n=1, cutoff=0.75)


# --- Answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    date_of_birth: datetime.date
    on_date: datetime.date
    pregnant: bool = False
    breastfeeding: bool = False
    alcohol_last_24h: bool = False
    feeling_unwell: bool = False
    conditions: frozenset = frozenset()
    medications: frozenset = frozenset()
    recent_medications: frozenset = frozenset()
    allergies: frozenset = frozenset()  # of (kind, code): ingredients and other allergens
    areas: frozenset = frozenset()
    ingredients: frozenset = frozenset()
    indication: str | None = None
    fitzpatrick_skin_type: int | None = None

    @property
    def age(self):
        born, day = self.date_of_birth, self.on_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def as_json(self):
        """The answers in the contract's shape, with codes in a stable order."""
        data = {
            "date_of_birth": self.date_of_birth.isoformat(),
            "on_date": self.on_date.isoformat(),
            **{flag: getattr(self, flag) for flag in FLAGS},
        }
        for name in LIST_FIELDS:
            values = getattr(self, name)
            data[name] = sorted(code for _, code in values) if name == "allergies" else sorted(values)
        data["fitzpatrick_skin_type"] = self.fitzpatrick_skin_type
        data["indication"] = self.indication
        return data


@dataclass(frozen=True)
class Problem:
    field: str
    value: object
    message: str

    def __str__(self):
        return f"{self.field}: {self.message} (got {self.value!r})"


class InvalidAnswers(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def parse_answers(data, kb, today=None):
    """Check raw answers (a dict from JSON or a form) against the vocabulary.

    Every problem is collected, not just the first; an answer the engine does not
    understand is an error, never silently dropped.
    """
    problems = []
    if not isinstance(data, dict):
        raise InvalidAnswers([Problem("(answers)", data, "expected a JSON object")])
    for name in data:
        if name not in ALL_FIELDS:
            close = difflib.get_close_matches(name, ALL_FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(name, data[name], f"unknown field{hint}"))

    born = _date(data, "date_of_birth", problems, required=True)
    on_date = _date(data, "on_date", problems, required=False) or today or datetime.date.today()
    if born and on_date and born > on_date:
        problems.append(Problem("date_of_birth", data["date_of_birth"], f"is after on_date {on_date.isoformat()}"))

    flags = {}
    for flag in FLAGS:
        value = data.get(flag, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            problems.append(Problem(flag, value, "must be true or false"))
            value = False
        flags[flag] = value

    lists = {}
    for name, kinds in LIST_FIELDS.items():
        lists[name] = _terms(data.get(name, []), name, kinds, kb, problems)

    indication = None
    raw = data.get("indication")
    if raw is not None:
        if not isinstance(raw, str):
            problems.append(Problem("indication", raw, "must be a term (text) or null"))
        elif raw.strip():
            found = kb.lookup(SINGLE_TERM_FIELDS["indication"], raw)
            if found is None:
                problems.append(_unknown("indication", raw, SINGLE_TERM_FIELDS["indication"], kb))
            else:
                indication = found[1]

    skin = data.get("fitzpatrick_skin_type")
    if skin is not None and (isinstance(skin, bool) or not isinstance(skin, int) or not 1 <= skin <= 6):
        problems.append(Problem("fitzpatrick_skin_type", skin, "must be a whole number from 1 to 6"))
        skin = None

    if problems:
        raise InvalidAnswers(problems)
    return Answers(
        date_of_birth=born,
        on_date=on_date,
        **flags,
        conditions=frozenset(code for _, code in lists["conditions"]),
        medications=frozenset(code for _, code in lists["medications"]),
        recent_medications=frozenset(code for _, code in lists["recent_medications"]),
        allergies=frozenset(lists["allergies"]),
        areas=frozenset(code for _, code in lists["areas"]),
        ingredients=frozenset(code for _, code in lists["ingredients"]),
        indication=indication,
        fitzpatrick_skin_type=skin,
    )


def _date(data, name, problems, required):
    raw = data.get(name)
    if raw is None:
        if required:
            problems.append(Problem(name, None, "is required (YYYY-MM-DD)"))
        return None
    if not isinstance(raw, str):
        problems.append(Problem(name, raw, "must be a date as text, YYYY-MM-DD"))
        return None
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        problems.append(Problem(name, raw, "is not a date in the form YYYY-MM-DD"))
        return None


def _terms(raw, name, kinds, kb, problems):
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(name, raw, "must be a list of terms"))
        return []
    found = []
    for index, item in enumerate(raw):
        field_name = f"{name}[{index}]"
        if not isinstance(item, str):
            problems.append(Problem(field_name, item, "must be a term (text)"))
            continue
        match = kb.lookup(kinds, item)
        if match is None:
            problems.append(_unknown(field_name, item, kinds, kb))
        else:
            found.append(match)
    return found


def _unknown(field_name, value, kinds, kb):
    close = kb.suggestions(kinds, value)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    kind_names = " or ".join(kinds)
    return Problem(field_name, value, f"unknown {kind_names} term{hint} (see `screen --vocabulary`)")


# --- Evaluation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    substance: str
    hours_before: int

    def as_json(self):
        return {"substance": self.substance, "hours_before": self.hours_before}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    title: str
    detail: str
    action: str
    hold: Hold | None
    sources: tuple
    matched: tuple = field(default=())  # the answers that made the rule fire, as labels

    def as_json(self):
        return {
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "action": self.action,
            "hold": self.hold.as_json() if self.hold else None,
            "sources": [{"document": doc, "citation": citation} for doc, citation in self.sources],
            "matched": list(self.matched),
        }


@dataclass(frozen=True)
class Result:
    verdict: str
    findings: tuple
    rules_version: str

    def as_json(self):
        return {
            "verdict": self.verdict,
            "findings": [finding.as_json() for finding in self.findings],
            "rules_version": self.rules_version,
        }


def evaluate(answers, kb):
    """Every finding the rules make of these answers, most severe first, and the verdict."""
    findings = []
    for rule in kb.rules:
        matched = _match(rule.when, answers, kb)
        if matched is None:
            continue
        labels = tuple(sorted(matched))
        findings.append(
            Finding(
                rule=rule.code,
                severity=rule.severity,
                title=rule.title,
                detail=rule.detail,
                action=rule.action,
                hold=_hold(rule, labels),
                sources=rule.sources,
                matched=labels,
            )
        )
    # kb.rules is in the knowledge base's order; a stable sort keeps it within each severity.
    findings.sort(key=lambda f: SEVERITY_RANK[f.severity])
    return Result(verdict=verdict_of(findings), findings=tuple(findings), rules_version=kb.version)


def verdict_of(findings):
    severities = {finding.severity for finding in findings}
    if "critical" in severities:
        return "defer"
    if "warning" in severities:
        return "caution"
    return "clear"


def _hold(rule, labels):
    if not rule.hold_substance:
        return None
    substance = rule.hold_substance
    named = [label for label in labels if label.casefold() != substance.casefold()]
    if named:
        substance = f"{', '.join(named)} ({rule.hold_substance})"
    return Hold(substance=substance, hours_before=rule.hold_hours)


def _match(clause, answers, kb):
    """The set of answer labels that satisfy `clause`, or None if it does not hold."""
    ((key, value),) = clause.items()
    if key == "always":
        return set()
    if key == "flag":
        return {FLAG_LABELS[value]} if getattr(answers, value) else None
    if key == "age_below":
        return {f"age {answers.age}"} if answers.age < value else None
    if key == "skin_type_at_least":
        skin = answers.fitzpatrick_skin_type
        return {f"Fitzpatrick type {skin}"} if skin is not None and skin >= value else None
    if key == "any_allergy":
        return {kb.term(kind, code).label for kind, code in answers.allergies} or None
    if key == "allergy_to_planned_ingredient":
        return _planned_allergies(answers, kb) or None
    if key in TERM_CLAUSES:
        return _members(key, value, answers, kb) or None
    if key == "any":
        results = [_match(part, answers, kb) for part in value]
        hits = [r for r in results if r is not None]
        return set().union(*hits) if hits else None
    if key == "all":
        results = [_match(part, answers, kb) for part in value]
        return set().union(*results) if all(r is not None for r in results) else None
    raise ValueError(f"unknown clause {key!r}")  # the loader validates; this is a bug


def _members(key, class_code, answers, kb):
    answer_name, kinds = TERM_CLAUSES[key]
    answered = getattr(answers, answer_name)
    if answer_name == "indication":
        answered = {answered} if answered else set()
    labels = set()
    for item in answered:
        kind, code = item if isinstance(item, tuple) else (kinds[0], item)
        info = kb.terms[(kind, code)]
        if class_code in info.ancestors:
            labels.add(info.label)
    return labels


def _planned_allergies(answers, kb):
    """Allergies that meet a planned ingredient: the same term, or one is a class of the other."""
    labels = set()
    for kind, allergy in answers.allergies:
        if kind != "ingredient":
            continue
        allergy_info = kb.terms[("ingredient", allergy)]
        for ingredient in answers.ingredients:
            ingredient_info = kb.terms[("ingredient", ingredient)]
            if allergy in ingredient_info.ancestors or ingredient in allergy_info.ancestors:
                labels.add(f"allergy to {allergy_info.label} ({ingredient_info.label} planned)")
    return labels


# --- Validating the knowledge base ------------------------------------------------------


def clause_problems(clause, terms, path="when"):
    """Problems with a rule's `when`, or an empty list. `terms` is a set of (kind, code)."""
    if not isinstance(clause, dict) or len(clause) != 1:
        return [f"{path}: each condition is an object with exactly one key"]
    ((key, value),) = clause.items()
    if key in ("any", "all"):
        if not isinstance(value, list) or not value:
            return [f"{path}.{key}: must be a non-empty list"]
        problems = []
        for index, part in enumerate(value):
            problems += clause_problems(part, terms, f"{path}.{key}[{index}]")
        return problems
    if key in ("always", "any_allergy", "allergy_to_planned_ingredient"):
        return [] if value is True else [f"{path}.{key}: must be true"]
    if key == "flag":
        return [] if value in FLAGS else [f"{path}.flag: {value!r} is not one of {', '.join(FLAGS)}"]
    if key in ("age_below", "skin_type_at_least"):
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return [] if ok else [f"{path}.{key}: must be a positive whole number"]
    if key in TERM_CLAUSES:
        kinds = TERM_CLAUSES[key][1]
        if any((kind, value) in terms for kind in kinds):
            return []
        return [f"{path}.{key}: no {' or '.join(kinds)} term with code {value!r}"]
    return [f"{path}: unknown condition {key!r}"]
