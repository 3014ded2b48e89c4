"""Reads for screening pages: the patient's current screening and what it means."""

import datetime
from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, pgettext

from mesoclinic.core.selectors import current_clinic

from . import bilingual, engine, instructions
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
            return pgettext("screening status", "Missing")
        if not self.is_current:
            return pgettext("screening status", "Lapsed")
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
        return ScreeningStanding(None, False, gettext("no screening yet"))
    now = now or timezone.now()
    if now >= screening.expires_at:
        expired = date_format(timezone.localtime(screening.expires_at), "j F Y")
        return ScreeningStanding(screening, False, gettext("expired on %(date)s") % {"date": expired})
    if screening.answers.get("date_of_birth") != patient.date_of_birth.isoformat():
        return ScreeningStanding(screening, False, gettext("the date of birth changed since"))
    return ScreeningStanding(screening, True)


def screening_standing(patient, now=None):
    """Where `patient` stands on screening: one query."""
    screening = Screening.objects.for_patient(patient).select_related("recorded_by", "based_on").first()
    return standing_of(screening, patient, now)


def screening_standings(patients, now=None):
    """{patient id: ScreeningStanding} for a list page: one query, however many patients."""
    patients = {patient.pk: patient for patient in patients}
    newest = Screening.objects.filter(patient=OuterRef("patient")).order_by("-recorded_at", "-id").values("pk")[:1]
    # A list's standing reads the outcome, the dates and the date of birth answered: the
    # findings, the decisions and the texts are the larger part of a row and stay unread.
    unread = ("findings", "decisions", "evaluation", "goals", "previous_treatments", "notes")
    rows = Screening.objects.filter(patient_id__in=patients, pk=Subquery(newest)).select_related("based_on")
    screenings = {s.patient_id: s for s in rows.defer(*unread, *(f"based_on__{name}" for name in unread))}
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


# How "When it applies" names each kind of term a rule's condition looks for.
_TERM_WHEN = {
    "condition": lambda: gettext("condition is %(term)s (or one of its kind)"),
    "medication": lambda: gettext("medication is %(term)s (or one of its kind)"),
    "recent_medication": lambda: gettext("recent medication is %(term)s (or one of its kind)"),
    "area": lambda: gettext("area is %(term)s (or one of its kind)"),
    "ingredient": lambda: gettext("ingredient is %(term)s (or one of its kind)"),
    "indication": lambda: gettext("indication is %(term)s (or one of its kind)"),
    "allergy": lambda: gettext("allergy is %(term)s (or one of its kind)"),
}
assert set(_TERM_WHEN) == set(engine.TERM_CLAUSES)


def _flag_words(value):
    return {
        "pregnant": pgettext("screening answer", "pregnant"),
        "breastfeeding": pgettext("screening answer", "breastfeeding"),
        "trying_to_conceive": pgettext("screening answer", "trying to conceive"),
        "alcohol_last_24h": pgettext("screening answer", "alcohol in the last 24 hours"),
        "feeling_unwell": pgettext("screening answer", "feeling unwell today"),
    }.get(value, engine.FLAG_LABELS.get(value, value))


def _term_label(kb, kinds, code):
    """A term's label in the reader's language, the code if the vocabulary lacks it."""
    info = next((kb.terms[(kind, code)] for kind in kinds if (kind, code) in kb.terms), None)
    return bilingual.text(info, "label") if info else code


def describe_when(clause, kb):
    """A rule's condition in words, in the reader's language: 'condition is Autoimmune disease
    (or one of its kind) or medication is ...'. Every clause of the engine's condition language
    (engine.py) has its words here, the two template clauses included."""
    ((key, value),) = clause.items()
    if key == "any":
        return gettext(" or ").join(
            f"({describe_when(part, kb)})" if "all" in part else describe_when(part, kb) for part in value
        )
    if key == "all":
        return gettext(" and ").join(describe_when(part, kb) for part in value)
    if key in engine.TERM_CLAUSES:
        return _TERM_WHEN[key]() % {"term": _term_label(kb, engine.TERM_CLAUSES[key][1], value)}
    if key == "always":
        return gettext("always (every screening)")
    if key == "flag":
        return gettext("patient is %(answer)s") % {"answer": _flag_words(value)}
    if key == "age_below":
        return gettext("younger than %(age)s on the treatment date") % {"age": value}
    if key == "skin_type_at_least":
        return gettext("Fitzpatrick skin type %(type)s or darker") % {"type": value}
    if key == "any_allergy":
        return gettext("any allergy is recorded")
    if key == "allergy_to_planned_ingredient":
        return gettext("an allergy meets a planned ingredient (or its class)")
    if key == "allergy_shares_class_with_planned":
        return gettext("an allergy to one %(class)s while another of its kind is among the planned ingredients") % {
            "class": _term_label(kb, ("ingredient", "allergen"), value)
        }
    if key == "unlisted_answer":
        return gettext("an answer the vocabulary does not know is recorded (once per answer)")
    if key == "hold_cannot_be_kept":
        return gettext("a preparation hold needs more time than is left before the session (once per hold)")
    # A clause this page has no words for yet still shows, rather than failing the page.
    return f"{key}: {value}"


def _names_by_term(kb):
    """Every name of each term, normalised: code, label and synonyms (brand names included),
    and its Turkish label ("Otoimmün hastalık"), which the screening's own lookup leaves out."""
    names = {}
    for (kind, name), code in kb.names.items():
        names.setdefault((kind, code), []).append(name)
    for (kind, code), info in kb.terms.items():
        if info.label_tr:
            names.setdefault((kind, code), []).append(engine.normalise(info.label_tr))
    return names


def search_words(query):
    """The words of a knowledge-base search, normalised as the vocabulary is (case, accents and
    Turkish letters ignored): "OTOİMMÜN hastalık" -> ["otoimmun", "hastalik"]."""
    return [word for word in (engine.normalise(part) for part in (query or "").split()) if word.strip("_")]


def rule_index(query="", severity=""):
    """The rules, grouped by severity, that match every word of `query`: in the rule's own text,
    its sources, or any name of a term it covers ("Advil" finds the NSAID rules, "otoimmun"
    the autoimmune ones)."""
    kb = knowledge_base()
    words = search_words(query)
    names = _names_by_term(kb) if words else {}
    rules = []
    for rule in kb.rules:
        if severity and rule.severity != severity:
            continue
        terms = _rule_terms(rule.when, kb)
        if words:
            haystack = " ".join(
                engine.normalise(text)
                for text in [rule.code, rule.title, rule.detail, rule.action, rule.hold_substance]
                # The Turkish too: a Turkish-speaking practitioner searches in the words they read.
                + [rule.title_tr, rule.detail_tr, rule.action_tr, rule.hold_substance_tr]
                + [f"{doc} {citation}" for doc, citation in rule.sources]
            )
            haystack += " " + " ".join(name for kind, info in terms for name in names.get((kind, info.code), ()))
            if not all(word in haystack for word in words):
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


# The Turkish alphabet's order (ç after c, ğ after g, ı before i, ö after o, ş after s, ü after u),
# which code-point order gets wrong ("Çene altı" would sort after "Yüz").
_TURKISH_ORDER = {letter: index for index, letter in enumerate("abcçdefgğhıijklmnoöpqrsştuüvwxyz")}
_TURKISH_LOWER = str.maketrans({"I": "ı", "İ": "i"})


def alphabetical(text):
    """A sort key that orders labels as the reader's alphabet does: Turkish for Turkish
    readers, plain case-insensitive order otherwise."""
    if bilingual.active_language() != "tr":
        return (text.casefold(),)
    lowered = text.translate(_TURKISH_LOWER).lower()
    return tuple((_TURKISH_ORDER.get(char, 100 + ord(char)), char) for char in lowered)


# The vocabulary page's heading for each kind of term.
KIND_HEADINGS = {
    "condition": gettext_lazy("Conditions"),
    "medication": gettext_lazy("Medications"),
    "ingredient": gettext_lazy("Ingredients"),
    "allergen": gettext_lazy("Other allergens"),
    "area": gettext_lazy("Areas"),
    "indication": gettext_lazy("Indications"),
}
assert set(KIND_HEADINGS) == set(TermKind.values)


def vocabulary_index(query=""):
    """The terms, by kind, any of whose names (code, label, synonyms, brand names) holds every
    word of `query`, normalised as in `search_words`."""
    kb = knowledge_base()
    words = search_words(query)
    by_kind = {kind: [] for kind, _ in TermKind.choices}
    names_by_code = _names_by_term(kb)
    # In the reader's alphabet: a Turkish list reads in the order of its Turkish labels.
    for (kind, code), info in sorted(kb.terms.items(), key=lambda item: alphabetical(bilingual.text(item[1], "label"))):
        if words and not any(all(word in name for word in words) for name in names_by_code[(kind, code)]):
            continue
        classes = [kb.terms[(kind, c)] for c in sorted(info.ancestors - {code})]
        by_kind[kind].append({"info": info, "classes": classes})
    return {
        "kinds": [(KIND_HEADINGS[kind], kind, by_kind[kind]) for kind, _ in TermKind.choices if by_kind[kind]],
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
