"""The screening engine: answers in, findings and a verdict out.

Pure functions over plain data: nothing here touches the database, so the same code serves
the browser, the `screen` command, tests and benchmarks. The knowledge base arrives
compiled (knowledge.py builds it from the database).

A rule's `when` is a small language of positive conditions, so adding an answer can only
add findings, never remove one (the verdict is monotone):

    {"always": true}
    {"flag": "pregnant" | "breastfeeding" | "trying_to_conceive" | "alcohol_last_24h" |
             "feeling_unwell"}
    {"age_below": 18}
    {"condition" | "medication" | "recent_medication" | "area" | "ingredient" |
     "indication" | "allergy": <code>}      a term or any member of its class
    {"allergy_to_planned_ingredient": true}
    {"allergy_shares_class_with_planned": <class>}   an allergy to one member, another planned
    {"any_allergy": true}
    {"skin_type_at_least": 4}
    {"any": [...]}  {"all": [...]}

Two rules are templates the engine fills in, once per occasion (their texts carry
{placeholders}):

    {"unlisted_answer": true}      once per answer the vocabulary does not know: a warning
                                    to assess it, because no rule can match free text
    {"hold_cannot_be_kept": true}  once per preparation hold that needs more time than is
                                    left before the session: the hold becomes this warning

Holds that only a prescriber may decide (rules marked `prescriber_decides`) never carry a
hold: the finding lists the medicines the practitioner must ask the prescriber about.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
FLAGS = ("pregnant", "breastfeeding", "trying_to_conceive", "alcohol_last_24h", "feeling_unwell")
FLAG_LABELS = {
    "pregnant": "pregnant",
    "breastfeeding": "breastfeeding",
    "trying_to_conceive": "trying to conceive",
    "alcohol_last_24h": "alcohol in the last 24 hours",
    "feeling_unwell": "feeling unwell today",
}

# What patients type for the yes/no answers, in a list's free text: it sets the answer.
FLAG_NAMES = {
    "pregnant": ("pregnant", "pregnancy", "may be pregnant", "hamile", "hamileyim", "gebe", "gebelik", "hamilelik"),
    "breastfeeding": ("breastfeeding", "breast feeding", "nursing", "emziriyorum", "emzirme", "emziren"),
    "trying_to_conceive": (
        "trying to conceive",
        "trying to get pregnant",
        "planning a pregnancy",
        "hamile kalmaya çalışıyorum",
        "gebelik planlıyorum",
        "bebek istiyoruz",
    ),
}


def flag_named(text):
    """The yes/no answer `text` names ("hamileyim" -> "pregnant"), or None."""
    key = normalise(text)
    return next((flag for flag, names in FLAG_NAMES.items() if key in {normalise(n) for n in names}), None)


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
# Free text the vocabulary does not know, kept so that nothing the patient says is dropped.
UNLISTED_LISTS = {name: LIST_FIELDS[name] for name in ("conditions", "medications", "allergies")}
UNLISTED_SINGULAR = {"conditions": "condition", "medications": "medication", "allergies": "allergy"}
UNLISTED_MAX_CHARS = 200
ALL_FIELDS = (
    "date_of_birth",
    "on_date",
    *FLAGS,
    *LIST_FIELDS,
    "fitzpatrick_skin_type",
    *SINGLE_TERM_FIELDS,
    "unlisted",
)

# The clause keys that name a term, and the answer list each looks in.
TERM_CLAUSES = {
    clause: (name, {**LIST_FIELDS, **SINGLE_TERM_FIELDS}[name])
    for clause, name in {
        "condition": "conditions",
        "medication": "medications",
        "recent_medication": "recent_medications",
        "area": "areas",
        "ingredient": "ingredients",
        "indication": "indication",
        "allergy": "allergies",
    }.items()
}
TEMPLATE_CLAUSES = ("unlisted_answer", "hold_cannot_be_kept")

# The ways a critical finding may be overridden. Each critical rule names the ones it allows
# (none for pregnancy, breastfeeding, age and an allergy to the cocktail).
OVERRIDE_REASONS = {
    "specialist_clearance": "Specialist clearance on file",
    "site_excluded": "The planned areas exclude the affected site",
}

# Turkish has a dotted and a dotless i in both cases; fold all four to "i" so that
# "OTOİMMÜN HASTALIK", "otoimmün hastalık" and "otoimmun hastalik" are one name.
_TURKISH_I = str.maketrans({"İ": "i", "I": "i", "ı": "i"})


@functools.lru_cache(maxsize=20_000)
def normalise(text):
    """How terms are compared: case and accents ignored (Turkish letters included), surrounding
    spaces ignored, and spaces, hyphens and underscores treated alike ("Vitamin C" is vitamin_c)."""
    text = unicodedata.normalize("NFKD", text.strip().translate(_TURKISH_I))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[\s\-_]+", "_", text.casefold())


# A dose, strength or frequency at the end of a medicine's name: "5 mg", "100mg", "75", "0,5 mg",
# "1x1", "2 tablets a day". Only at the end, after a name, so a name with a number in it stays.
_DOSE = re.compile(
    r"(?:[\s_]+(?:\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ug|g|ml|iu|ie|units?|%|mg/ml)?|\d+\s*x\s*\d+)"
    r"(?:\b.*)?)$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=20_000)
def without_dose(text):
    """`text` normalised with a trailing dose taken off, or "" if it had none."""
    stripped = _DOSE.sub("", text.strip())
    return normalise(stripped) if stripped and stripped != text.strip() else ""


def duration_words(hours, language="en"):
    """168 -> '7 days', 24 -> '24 hours': how a hold's lead time is said (in Turkish, '7 gün')."""
    if hours >= 48 and hours % 24 == 0:
        return f"{hours // 24} gün" if language == "tr" else f"{hours // 24} days"
    return f"{hours} saat" if language == "tr" else f"{hours} hours"


def time_left_words(hours, language="en"):
    """How much of a hold's lead time is left, in words: '3 days are left' ('3 gün kaldı')."""
    if language == "tr":
        if hours >= 24:
            return f"{int(hours // 24)} gün kaldı"
        return "bir günden az kaldı" if hours > 0 else "hiç zaman kalmadı"
    if hours >= 48:
        return f"{int(hours // 24)} days are left"
    if hours >= 24:
        return "1 day is left"
    if hours > 0:
        return "less than a day is left"
    return "no time is left"


# The knowledge base's languages besides its English source. Each text of a rule or term has
# its translation beside it (`title_tr`); a blank one shows the English.
TRANSLATED_LANGUAGES = ("tr",)
# How the unlisted-answer template names the list an answer was typed in, per language.
UNLISTED_SINGULAR_TR = {"conditions": "hastalık", "medications": "ilaç", "allergies": "alerji"}


# --- The compiled knowledge base ---------------------------------------------------------


@dataclass(frozen=True)
class TermInfo:
    kind: str
    code: str
    label: str
    ancestors: frozenset  # codes of this term and every class above it (same kind)
    label_tr: str = ""  # the label for Turkish-speaking staff ("" : the English)

    def label_in(self, language):
        """The label in `language`, the English where it has none."""
        return (self.label_tr if language == "tr" else "") or self.label


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
    override_reasons: tuple = ()  # codes of OVERRIDE_REASONS this critical rule allows
    prescriber_decides: bool = False  # its medicines are paused only with the prescriber's agreement
    # The texts in Turkish, for Turkish-speaking staff ("" : the English is shown).
    title_tr: str = ""
    detail_tr: str = ""
    action_tr: str = ""
    hold_substance_tr: str = ""
    template: str | None = field(default=None, init=False)  # the template clause, if the rule is one
    match: object = field(default=None, init=False, repr=False, compare=False)  # `when`, compiled

    def text_in(self, language, name):
        """The text `name` (title, detail, action, hold_substance) in `language`, else the English."""
        translated = getattr(self, f"{name}_{language}", "") if language in TRANSLATED_LANGUAGES else ""
        return translated or getattr(self, name)

    def __post_init__(self):
        ((key, _),) = self.when.items()
        object.__setattr__(self, "template", key if key in TEMPLATE_CLAUSES else None)
        if self.template is None:
            object.__setattr__(self, "match", compile_clause(self.when))


@dataclass(frozen=True)
class KnowledgeBase:
    terms: dict  # (kind, code) -> TermInfo
    names: dict  # (kind, normalised name) -> code
    rules: tuple
    documents: dict  # key -> title
    version: str
    prescriber_classes: frozenset = frozenset()  # medication classes only a prescriber may pause
    hits: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        # (kind, code) -> (its Hit, the codes of its classes): made once, shared by every screening.
        self.hits.update(
            {key: (Hit(info.label, info.kind, info.code), tuple(info.ancestors)) for key, info in self.terms.items()}
        )

    def term(self, kind, code):
        return self.terms[(kind, code)]

    def lookup(self, kinds, text):
        """The (kind, code) `text` names, or None. A dose written after a medicine ("Coumadin
        5 mg", "Ecopirin 100") does not hide it: the name is looked up without the dose when
        the whole text names nothing ("aspirin 100 mg" is itself a name, of prescribed aspirin)."""
        for key in (normalise(text), without_dose(text)):
            if not key:
                continue
            for kind in kinds:
                code = self.names.get((kind, key))
                if code is not None:
                    return kind, code
        return None

    def members(self, kind, class_code):
        """Every term of `kind` that belongs to `class_code` (the class itself included)."""
        return [info for (k, _), info in self.terms.items() if k == kind and class_code in info.ancestors]

    def needs_prescriber(self, code):
        """Is this medication one that only the prescribing doctor may pause?"""
        info = self.terms.get(("medication", code))
        return info is not None and bool(info.ancestors & self.prescriber_classes)

    def suggestions(self, kinds, text):
        """The code of the one term `text` is probably a misspelling of, or nothing.

        Only close spellings count (one edit for short words, two for longer ones), and a
        name that contains the other with more letters around it is never offered: it is
        another medicine ("isotretinoin" is not a typo of "tretinoin").
        """
        typed = normalise(text)
        limit = 1 if len(typed) < 6 else 2
        best = None
        for (kind, name), code in self.names.items():
            if kind not in kinds:
                continue
            if (typed in name or name in typed) and abs(len(name) - len(typed)) >= 2:
                continue
            distance = OSA.distance(typed, name, score_cutoff=limit)
            if distance <= limit and (best is None or distance < best[0]):
                best = (distance, code)
        return [best[1]] if best else []


# --- Answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    date_of_birth: datetime.date
    on_date: datetime.date
    pregnant: bool = False
    breastfeeding: bool = False
    trying_to_conceive: bool = False
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
    unlisted: tuple = ()  # of (list name, text), sorted

    @property
    def age(self):
        born, day = self.date_of_birth, self.on_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def as_json(self):
        """The answers in the contract's shape, with codes in a stable order. What was not
        answered is left out (the contract refuses an explicit null)."""
        data = {
            "date_of_birth": self.date_of_birth.isoformat(),
            "on_date": self.on_date.isoformat(),
            **{flag: getattr(self, flag) for flag in FLAGS},
        }
        for name in LIST_FIELDS:
            values = getattr(self, name)
            data[name] = sorted(code for _, code in values) if name == "allergies" else sorted(values)
        if self.fitzpatrick_skin_type is not None:
            data["fitzpatrick_skin_type"] = self.fitzpatrick_skin_type
        if self.indication is not None:
            data["indication"] = self.indication
        if self.unlisted:
            unlisted = {}
            for name, text in self.unlisted:
                unlisted.setdefault(name, []).append(text)
            data["unlisted"] = unlisted
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


NULL_MESSAGE = "null is not an answer: leave the field out, or give a value"


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
        elif data[name] is None:
            problems.append(Problem(name, None, NULL_MESSAGE))
    data = {name: value for name, value in data.items() if value is not None}

    born = _date(data, "date_of_birth", problems, required=True)
    on_date = _date(data, "on_date", problems, required=False) or today or datetime.date.today()
    if born and on_date and born > on_date:
        problems.append(Problem("date_of_birth", data["date_of_birth"], f"is after on_date {on_date.isoformat()}"))

    flags = {}
    for flag in FLAGS:
        value = data.get(flag, False)
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
            problems.append(Problem("indication", raw, "must be a term (text)"))
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

    unlisted = _unlisted(data.get("unlisted", {}), kb, problems)

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
        unlisted=unlisted,
    )


def _date(data, name, problems, required):
    raw = data.get(name)
    if raw is None:
        if required and name not in {p.field for p in problems}:
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


def _unlisted(raw, kb, problems):
    """`unlisted`: {"conditions": [text], "medications": [...], "allergies": [...]}, each entry
    free text the vocabulary does not know. A known term is refused: there it would escape
    the rules, so it must go in the list the rules read."""
    if not isinstance(raw, dict):
        problems.append(Problem("unlisted", raw, "must be an object of lists: conditions, medications, allergies"))
        return ()
    entries = []
    for name, items in raw.items():
        if name not in UNLISTED_LISTS:
            close = difflib.get_close_matches(name, UNLISTED_LISTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(f"unlisted.{name}", items, f"unknown list{hint}"))
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"unlisted.{name}", items, "must be a list of texts"))
            continue
        for index, item in enumerate(items):
            field_name = f"unlisted.{name}[{index}]"
            problem = unlisted_problem(item, kb, listed_in=name)
            if problem:
                problems.append(Problem(field_name, item, problem))
            else:
                entries.append((name, " ".join(item.split())))
    # A set of answers, like the term lists: order and repeats do not change the findings.
    return tuple(sorted(set(entries), key=lambda entry: (entry[0], normalise(entry[1]), entry[1])))


def unlisted_problem(text, kb, listed_in=None):
    """Why `text` cannot be kept as an unlisted answer (of the list `listed_in`), or "" if it can.

    A term the vocabulary knows is refused, naming the list where the rules read it: hidden here,
    it would escape them. One exception: a medicine the medication list does not know may share
    its name with an ingredient a patient can be allergic to (piroxicam); as a medication it is
    still unknown, so it stays unlisted there rather than being sent to the allergies."""
    if not isinstance(text, str):
        return "must be text"
    if not text.strip():
        return "is blank: leave it out"
    if len(text.strip()) > UNLISTED_MAX_CHARS:
        return f"is longer than {UNLISTED_MAX_CHARS} characters: say it more briefly"
    flag = flag_named(text)
    if flag:
        return f'"{text.strip()}" is the answer {flag!r}: set "{flag}": true instead'
    for name, kinds in UNLISTED_LISTS.items():
        if listed_in == "medications" and name == "allergies":
            continue
        found = kb.lookup(kinds, text)
        if found is not None:
            label = kb.term(*found).label
            return f'"{text.strip()}" is a known term ({label}): put it in {name}, where the rules read it'
    return ""


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
class Hit:
    """An answer that made a clause hold: a term (kind and code), or a plain fact."""

    label: str
    kind: str = ""
    code: str = ""


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
    key: str = ""  # unique within a result: the rule, or the rule and what it was filled in for
    terms: tuple = ()  # the vocabulary terms among the answers that matched, as (kind, code, label)
    override_reasons: tuple = ()  # for a critical finding: how it may be overridden (none: never)
    prescriber: tuple = ()  # ((code, label), ...): medicines to ask the prescriber about
    unkeepable: dict | None = None  # for a hold that cannot be kept: {"rule", "substance", "hours_before"}
    # The texts as shown in the other languages: {"tr": {"title", "detail", "action"[, "hold_substance"]}}.
    # Recorded with the finding, so a saved screening reads in Turkish as it was shown.
    translations: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.key:
            object.__setattr__(self, "key", self.rule)

    def text_in(self, language, name):
        """The text `name` in `language` as this finding was made, else the English."""
        return self.translations.get(language, {}).get(name) or getattr(self, name)

    def as_json(self):
        data = {
            "rule": self.rule,
            "key": self.key,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "action": self.action,
            "hold": self.hold.as_json() if self.hold else None,
            "sources": [{"document": doc, "citation": citation} for doc, citation in self.sources],
            "matched": list(self.matched),
            "matched_terms": [{"kind": kind, "code": code, "label": label} for kind, code, label in self.terms],
        }
        if self.severity == "critical":
            data["override_reasons"] = list(self.override_reasons)
        if self.prescriber:
            data["prescriber"] = [{"code": code, "label": label} for code, label in self.prescriber]
        if self.unkeepable:
            data["unkeepable_hold"] = dict(self.unkeepable)
        if self.translations:
            data["translations"] = {language: dict(texts) for language, texts in self.translations.items()}
        return data


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

    @property
    def prescriber_medications(self):
        """Every medicine of these findings that the prescriber must decide about, once each."""
        seen = {}
        for finding in self.findings:
            for code, label in finding.prescriber:
                seen.setdefault(code, label)
        return tuple(seen.items())


def evaluate(answers, kb, *, hours_to_prepare=None):
    """Every finding the rules make of these answers, most severe first, and the verdict.

    `hours_to_prepare`: how long the patient has between now and the session, if known. A
    preparation hold that needs longer cannot be kept: it becomes a warning instead.
    """
    findings = []
    templates = {}
    index = _Index(answers, kb)
    for rule in kb.rules:
        if rule.template:
            templates[rule.template] = rule
            continue
        hits = rule.match(answers, kb, index)
        if hits is None:
            continue
        findings.append(_finding(rule, hits, kb))

    too_late = templates.get("hold_cannot_be_kept")
    if hours_to_prepare is not None and too_late is not None:
        findings = [
            _cannot_be_kept(too_late, f, hours_to_prepare) if f.hold and f.hold.hours_before > hours_to_prepare else f
            for f in findings
        ]
    unlisted = templates.get("unlisted_answer")
    if unlisted is not None:
        findings += [_unlisted_finding(unlisted, name, text) for name, text in answers.unlisted]
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


def _finding(rule, hits, kb):
    labels = tuple(sorted({hit.label for hit in hits}))
    terms = tuple(sorted({(hit.kind, hit.code, hit.label) for hit in hits if hit.kind}))
    prescriber = ()
    if rule.prescriber_decides:
        prescriber = tuple(
            (code, label) for kind, code, label in terms if kind == "medication" and kb.needs_prescriber(code)
        )
    hold = _hold(rule, terms, kb)
    translations = {}
    for language in TRANSLATED_LANGUAGES:
        texts = {name: getattr(rule, f"{name}_{language}") for name in ("title", "detail", "action")}
        if hold is not None:
            texts["hold_substance"] = _hold(rule, terms, kb, language).substance
        texts = {name: value for name, value in texts.items() if value}
        if texts:
            translations[language] = texts
    return Finding(
        rule=rule.code,
        severity=rule.severity,
        title=rule.title,
        detail=rule.detail,
        action=rule.action,
        hold=hold,
        sources=rule.sources,
        matched=labels,
        terms=terms,
        override_reasons=rule.override_reasons if rule.severity == "critical" else (),
        prescriber=prescriber,
        translations=translations,
    )


def _hold(rule, terms, kb, language="en"):
    """What the patient is told to stop. Never a medicine only its prescriber may pause: if a
    hold's class takes one in, that medicine is left out of the hold (and a hold with nothing
    else left is no hold). `language` words the substance for staff reading in Turkish; the
    hold itself (what the patient is sent) is the English one."""
    if not rule.hold_substance:
        return None
    medicines = [(code, label) for kind, code, label in terms if kind == "medication"]
    if language != "en":
        medicines = [(code, kb.term("medication", code).label_in(language)) for code, _ in medicines]
    allowed = [label for code, label in medicines if not kb.needs_prescriber(code)]
    if medicines and not allowed:
        return None
    substance = rule.text_in(language, "hold_substance")
    named = [label for label in allowed if label.casefold() != substance.casefold()]
    if named:
        substance = f"{', '.join(named)} ({substance})"
    return Hold(substance=substance, hours_before=rule.hold_hours)


def _fill(template, **values):
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _cannot_be_kept(template, finding, hours_to_prepare):
    """The hold of `finding` needs more time than is left: a warning, not a preparation note.

    The hold is kept aside (`unkeepable`) so that later sessions, which leave enough time,
    still get it as preparation."""
    hold = finding.hold
    words = {
        "substance": hold.substance,
        "duration": duration_words(hold.hours_before),
        "left": time_left_words(hours_to_prepare),
        "hold_title": finding.title,
    }
    sources = tuple(dict.fromkeys((*finding.sources, *template.sources)))
    translations = {}
    for language in TRANSLATED_LANGUAGES:
        local = {
            "substance": finding.translations.get(language, {}).get("hold_substance") or hold.substance,
            "duration": duration_words(hold.hours_before, language),
            "left": time_left_words(hours_to_prepare, language),
            "hold_title": finding.text_in(language, "title"),
        }
        translations[language] = _filled(template, language, local)
    return Finding(
        rule=template.code,
        severity="warning",
        title=_fill(template.title, **words),
        detail=_fill(template.detail, **words),
        action=_fill(template.action, **words),
        hold=None,
        sources=sources,
        matched=finding.matched,
        key=f"{template.code}:{finding.rule}",
        terms=finding.terms,
        unkeepable={"rule": finding.rule, **hold.as_json()},
        translations={language: texts for language, texts in translations.items() if texts},
    )


def _filled(template, language, words):
    """A template rule's texts in `language`, filled in; only those it has in that language."""
    texts = {name: getattr(template, f"{name}_{language}") for name in ("title", "detail", "action")}
    return {name: _fill(value, **words) for name, value in texts.items() if value}


def _unlisted_finding(template, name, text):
    words = {"text": text, "list": UNLISTED_SINGULAR[name]}
    translations = {"tr": _filled(template, "tr", {"text": text, "list": UNLISTED_SINGULAR_TR[name]})}
    return Finding(
        rule=template.code,
        severity=template.severity,
        title=_fill(template.title, **words),
        detail=_fill(template.detail, **words),
        action=_fill(template.action, **words),
        hold=None,
        sources=template.sources,
        matched=(text,),
        key=f"{template.code}:{name}:{normalise(text)}",
        translations={language: texts for language, texts in translations.items() if texts},
    )


class _Index:
    """The answers by class, built once per evaluation: for each answer list, every class code
    (a term's own code included) and the terms among the answers that belong to it. A rule's
    term clause is then one dictionary lookup, whatever the number of rules."""

    def __init__(self, answers, kb):
        self.by_list = {}
        for answer_name, kinds in dict(TERM_CLAUSES.values()).items():
            answered = getattr(answers, answer_name)
            if answer_name == "indication":
                answered = (answered,) if answered else ()
            classes = {}
            for item in answered:
                hit, ancestors = kb.hits[item if isinstance(item, tuple) else (kinds[0], item)]
                for ancestor in ancestors:
                    found = classes.get(ancestor)
                    if found is None:
                        classes[ancestor] = [hit]
                    else:
                        found.append(hit)
            self.by_list[answer_name] = classes


def compile_clause(clause):
    """`when` as a function of (answers, kb, index) giving the set of Hits that satisfy it, or
    None if it does not hold. Compiled once per rule when the knowledge base is built, so a
    screening is a call per rule, not a walk of its condition."""
    ((key, value),) = clause.items()
    if key == "always":
        return lambda answers, kb, index: set()
    if key == "flag":
        label = FLAG_LABELS[value]
        return lambda answers, kb, index: {Hit(label)} if getattr(answers, value) else None
    if key == "age_below":
        return lambda answers, kb, index: {Hit(f"age {answers.age}")} if answers.age < value else None
    if key == "skin_type_at_least":

        def skin(answers, kb, index):
            found = answers.fitzpatrick_skin_type
            return {Hit(f"Fitzpatrick type {found}")} if found is not None and found >= value else None

        return skin
    if key == "any_allergy":
        return lambda answers, kb, index: {Hit(kb.term(k, c).label, k, c) for k, c in answers.allergies} or None
    if key == "allergy_to_planned_ingredient":
        return lambda answers, kb, index: _planned_allergies(answers, kb) or None
    if key == "allergy_shares_class_with_planned":
        return lambda answers, kb, index: _class_allergies(answers, kb, value) or None
    if key in TERM_CLAUSES:
        answer_name = TERM_CLAUSES[key][0]
        return lambda answers, kb, index: set(index.by_list[answer_name].get(value, ())) or None
    if key in ("any", "all"):
        parts = [compile_clause(part) for part in value]
        if key == "any":

            def any_of(answers, kb, index):
                hits = [found for found in (part(answers, kb, index) for part in parts) if found is not None]
                return set().union(*hits) if hits else None

            return any_of

        def all_of(answers, kb, index):
            hits = []
            for part in parts:
                found = part(answers, kb, index)
                if found is None:
                    return None
                hits.append(found)
            return set().union(*hits)

        return all_of
    raise ValueError(f"unknown clause {key!r}")  # the loader validates; this is a bug


def _planned_allergies(answers, kb):
    """Allergies that meet a planned ingredient: the same term, or one is a class of the other."""
    return {
        Hit(f"allergy to {allergy} ({ingredient} planned)")
        for allergy, ingredient in allergy_conflicts(answers.allergies, answers.ingredients, kb)
    }


def _class_allergies(answers, kb, class_code):
    """An allergy to one member of `class_code` and another member planned (aspirin and
    piroxicam, both NSAIDs), where neither is a class of the other (ingredient-allergy has those)."""
    hits = set()
    for kind, allergy in answers.allergies:
        allergy_info = kb.terms.get(("ingredient", allergy)) if kind == "ingredient" else None
        if allergy_info is None or class_code not in allergy_info.ancestors:
            continue
        for ingredient in answers.ingredients:
            info = kb.terms[("ingredient", ingredient)]
            related = allergy in info.ancestors or ingredient in allergy_info.ancestors
            if class_code in info.ancestors and not related:
                hits.add(Hit(f"allergy to {allergy_info.label} ({info.label} planned)"))
    return hits


def allergy_conflicts(allergies, ingredients, kb):
    """(allergy label, ingredient label) for each allergy that meets an ingredient: the same
    term, or one is a class of the other (an allergy to local anaesthetics meets lidocaine)."""
    found = []
    for kind, allergy in sorted(allergies):
        if kind != "ingredient":
            continue
        allergy_info = kb.terms[("ingredient", allergy)]
        for ingredient in sorted(ingredients):
            ingredient_info = kb.terms[("ingredient", ingredient)]
            if allergy in ingredient_info.ancestors or ingredient in allergy_info.ancestors:
                found.append((allergy_info.label, ingredient_info.label))
    return found


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
            part_problems = clause_problems(part, terms, f"{path}.{key}[{index}]")
            if isinstance(part, dict) and len(part) == 1 and next(iter(part)) in TEMPLATE_CLAUSES:
                part_problems.append(f"{path}.{key}[{index}]: a template condition stands alone")
            problems += part_problems
        return problems
    if key in ("always", "any_allergy", "allergy_to_planned_ingredient", *TEMPLATE_CLAUSES):
        return [] if value is True else [f"{path}.{key}: must be true"]
    if key == "allergy_shares_class_with_planned":
        return [] if ("ingredient", value) in terms else [f"{path}.{key}: no ingredient class {value!r}"]
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


def medication_classes(clause):
    """The medication codes a rule's condition names (for the prescriber classes)."""
    ((key, value),) = clause.items()
    if key in ("any", "all"):
        return [code for part in value for code in medication_classes(part)]
    return [value] if key == "medication" else []
