"""Building the engine's compiled knowledge base from the database, and caching it.

Each process keeps one compiled copy and checks `KnowledgeState.revision` (one small
query) before using it; any change in the admin or from loaddata bumps the revision, so
every process reloads on its next screening.
"""

import hashlib
import json
import threading

from django.core.exceptions import ValidationError
from django.db.models import F

from . import engine
from .models import PATIENT_ANSWERS, EvaluationItem, KnowledgeState, Rule, SourceDocument, Term

_lock = threading.Lock()
_cached = {"revision": None, "kb": None}


class KnowledgeBaseError(Exception):
    """The knowledge base in the database is inconsistent (a rule cites what is not there)."""


def current_revision():
    state = KnowledgeState.objects.filter(pk=1).values_list("revision", flat=True).first()
    return state or 0


def bump_revision():
    updated = KnowledgeState.objects.filter(pk=1).update(revision=F("revision") + 1)
    if not updated:
        KnowledgeState.objects.get_or_create(pk=1, defaults={"revision": 1})


def knowledge_base():
    """The compiled knowledge base, rebuilt only when the database's revision moved."""
    revision = current_revision()
    if _cached["revision"] != revision:
        with _lock:
            if _cached["revision"] != revision:
                _cached["kb"] = build_knowledge_base()
                _cached["revision"] = revision
    return _cached["kb"]


# Other apps' knowledge (the outcome measures and the documents' findings, plans' models) kept
# the same way: built once per revision, by name. Their models bump the revision too.
_derived = {}


def kept_per_revision(name, build):
    """`build()`, kept in this process until the knowledge base's revision moves: for data that
    is knowledge (the same for every patient and user), never for a patient's own data."""
    revision = current_revision()
    found = _derived.get(name)
    if found is None or found[0] != revision:
        with _lock:
            found = _derived.get(name)
            if found is None or found[0] != revision:
                found = _derived[name] = (revision, build())
    return found[1]


def forget_kept():
    """Drop what kept_per_revision kept (the tests do between tests: a rolled-back transaction
    brings an earlier revision number back, and the next test may move it to the same number
    with other data behind it)."""
    _derived.clear()


def health_state():
    """/healthz's "knowledge" check: screenings cannot run without a consistent knowledge base."""
    try:
        kb = knowledge_base()
    except KnowledgeBaseError as error:
        return {"state": "down", "error": str(error)}
    return {"state": "up", "version": kb.version, "rules": len(kb.rules)}


def build_knowledge_base():
    documents = {doc.key: doc for doc in SourceDocument.objects.all()}
    term_rows = list(Term.objects.order_by("kind", "code"))
    parent_rows = Term.parents.through.objects.values_list("from_term_id", "to_term_id")
    rules = list(Rule.objects.order_by("position", "code"))
    items = list(EvaluationItem.objects.order_by("position", "code"))
    if not rules:
        raise KnowledgeBaseError("The knowledge base is empty: run `python manage.py load_knowledge`.")

    by_id = {term.pk: term for term in term_rows}
    parents = {}
    for child, parent in parent_rows:
        parents.setdefault(child, []).append(parent)
    terms, names = {}, {}
    problems = []
    for term in term_rows:
        ancestors = _ancestors(term.pk, parents, by_id)
        terms[(term.kind, term.code)] = engine.TermInfo(
            term.kind, term.code, term.label, frozenset(ancestors), label_tr=term.label_tr
        )
        # A patient types what they read: the Turkish label and the patient's wording name the
        # term too ("Şu anda uçuk" is an active cold sore), as its synonyms do.
        spoken = [term.label_tr, term.patient_label, term.patient_label_tr]
        for name in dict.fromkeys([term.code, term.label, *term.synonyms, *filter(None, spoken)]):
            key = (term.kind, engine.normalise(name))
            if names.get(key, term.code) != term.code:
                problems.append(f"{term.kind} {name!r} names both {names[key]} and {term.code}")
            names.setdefault(key, term.code)

    specs = []
    for rule in rules:
        problems += [f"rule {rule.code}: {p}" for p in _rule_problems(rule, terms, documents)]
        specs.append(
            engine.RuleSpec(
                code=rule.code,
                severity=rule.severity,
                title=rule.title,
                detail=rule.detail,
                action=rule.action,
                when=rule.when,
                hold_substance=rule.hold_substance,
                hold_hours=rule.hold_hours,
                sources=tuple((s["document"], s["citation"]) for s in rule.sources),
                position=rule.position,
                override_reasons=tuple(rule.override_reasons or ()),
                prescriber_decides=rule.prescriber_decides,
                title_tr=rule.title_tr,
                detail_tr=rule.detail_tr,
                action_tr=rule.action_tr,
                hold_substance_tr=rule.hold_substance_tr,
            )
        )
    asked = []
    for item in items:
        problems += [f"evaluation item {item.code}: {p}" for p in _source_problems(item.sources, documents)]
        # The questionnaire asks these of patients: an unknown name would break it for everyone.
        unknown = [name for name in item.patient_asks if name not in PATIENT_ANSWERS]
        if unknown:
            problems.append(f"evaluation item {item.code}: patient_asks names unknown answers {unknown}")
        if item.patient_asks and not item.patient_title:
            problems.append(f"evaluation item {item.code}: asks the patient but has no patient_title")
        asked += item.patient_asks
    problems += [
        f"the answer {name} is asked by more than one evaluation step" for name in set(asked) if asked.count(name) > 1
    ]
    templates = [spec.template for spec in specs if spec.template]
    problems += [f"more than one rule is the {name} template" for name in set(templates) if templates.count(name) > 1]
    if problems:
        raise KnowledgeBaseError("; ".join(problems))
    prescriber_classes = frozenset(
        code for spec in specs if spec.prescriber_decides for code in engine.medication_classes(spec.when)
    )
    return engine.KnowledgeBase(
        terms=terms,
        names=names,
        rules=tuple(specs),
        documents={key: doc.title for key, doc in documents.items()},
        version=_version(documents.values(), term_rows, parents, by_id, rules, items),
        prescriber_classes=prescriber_classes,
    )


def _ancestors(term_id, parents, by_id, seen=None):
    """The codes of a term and every class above it. Classes never cross kinds."""
    seen = seen or set()
    term = by_id[term_id]
    codes = {term.code}
    for parent_id in parents.get(term_id, ()):
        if parent_id in seen or by_id[parent_id].kind != term.kind:
            continue
        codes |= _ancestors(parent_id, parents, by_id, seen | {term_id})
    return codes


def _rule_problems(rule, terms, documents):
    problems = engine.clause_problems(rule.when, set(terms))
    if rule.severity not in engine.SEVERITY_RANK:
        problems.append(f"severity {rule.severity!r} is not critical, warning or info")
    if bool(rule.hold_substance) != (rule.hold_hours is not None):
        problems.append("a hold needs both a substance and hours")
    reasons = rule.override_reasons or []
    if not isinstance(reasons, list) or any(reason not in engine.OVERRIDE_REASONS for reason in reasons):
        problems.append(f"override_reasons must be a list of {', '.join(engine.OVERRIDE_REASONS)}")
    elif reasons and rule.severity != "critical":
        problems.append("only a critical rule can be overridden; a warning is acknowledged")
    if rule.prescriber_decides and rule.hold_substance:
        problems.append("a hold only the prescriber may decide is never automatic: give it no hold")
    if rule.prescriber_decides and not engine.medication_classes(rule.when):
        problems.append("prescriber_decides needs a medication in its condition")
    return problems + _source_problems(rule.sources, documents)


def _source_problems(sources, documents):
    if not isinstance(sources, list) or not sources:
        return ["cites no source; every rule rests on at least one document"]
    problems = []
    for source in sources:
        if not isinstance(source, dict) or set(source) != {"document", "citation"}:
            problems.append(f"source {source!r} must be {{document, citation}}")
        elif source["document"] not in documents:
            problems.append(f"cites unknown document {source['document']!r}")
        elif not str(source["citation"]).strip():
            problems.append(f"citation of {source['document']} names no section")
    return problems


def validate_rule_fields(rule):
    """For the admin: refuse a rule that the engine could not use, before it is saved."""
    terms = set(Term.objects.values_list("kind", "code"))
    documents = set(SourceDocument.objects.values_list("key", flat=True))
    problems = _rule_problems(rule, dict.fromkeys(terms), documents)
    if problems:
        raise ValidationError(problems)


def _version(documents, terms, parents, by_id, rules, items):
    """A fingerprint of the whole knowledge base: it changes whenever any of it changes."""
    content = {
        "documents": [
            [d.key, d.title, d.author, d.year, d.publication] for d in sorted(documents, key=lambda d: d.key)
        ],
        "terms": [
            [
                t.kind,
                t.code,
                t.label,
                sorted(by_id[p].code for p in parents.get(t.pk, ())),
                sorted(t.synonyms),
                t.label_tr,
                # What the pre-visit questionnaire asks of patients is knowledge too.
                [
                    t.is_selectable,
                    t.ask_patient,
                    t.patient_label,
                    t.patient_label_tr,
                    t.patient_hint,
                    t.patient_hint_tr,
                ],
            ]
            for t in terms
        ],
        "rules": [
            [
                r.code,
                r.severity,
                r.title,
                r.detail,
                r.action,
                r.when,
                r.hold_substance,
                r.hold_hours,
                r.sources,
                r.position,
                r.override_reasons,
                r.prescriber_decides,
                # The Turkish is part of what a practitioner reads: a change to it is a new version.
                r.title_tr,
                r.detail_tr,
                r.action_tr,
                r.hold_substance_tr,
            ]
            for r in rules
        ],
        "evaluation": [
            [
                i.code,
                i.label,
                i.help_text,
                i.sources,
                i.position,
                i.label_tr,
                i.help_text_tr,
                [i.patient_asks, i.patient_title, i.patient_title_tr, i.patient_intro, i.patient_intro_tr],
            ]
            for i in items
        ],
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"kb-{digest[:12]}"


# The texts that must have a Turkish translation beside the English, per model (blank English
# needs none). `untranslated()` lists the gaps; the shipped fixtures have none (a test holds it).
TRANSLATED_FIELDS = {
    "screening.Rule": ("title", "detail", "action", "hold_substance"),
    "screening.Term": ("label", "patient_label", "patient_hint"),
    "screening.EvaluationItem": ("label", "help_text", "patient_title", "patient_intro"),
    "plans.Protocol": ("title", "summary"),
    "treatment_sessions.AdverseEventType": ("label", "description"),
    "plans.OutcomeMeasure": ("label", "unit", "how", "patient_question"),
    "plans.ReportedOutcome": ("summary", "patient_text"),
}


def untranslated(language="tr", using="default"):
    """Every knowledge-base text with no `language` translation: ["screening.Rule pregnancy: detail", ...].

    Models of the apps above screening are looked up by name (the dependency order forbids
    importing them here)."""
    from django.apps import apps

    missing = []
    for label, fields in TRANSLATED_FIELDS.items():
        for row in apps.get_model(label).objects.using(using).order_by("pk"):
            for name in fields:
                if str(getattr(row, name) or "").strip() and not str(getattr(row, f"{name}_{language}") or "").strip():
                    missing.append(f"{label} {row.natural_key() if label == 'screening.Term' else row.pk}: {name}")
    return missing


def vocabulary():
    """Every term by kind: {kind: {code: {"label", "classes", "synonyms"}}}, codes sorted."""
    kb = knowledge_base()
    result = {kind: {} for kind in ("condition", "medication", "ingredient", "allergen", "area", "indication")}
    for term in Term.objects.order_by("kind", "code"):
        info = kb.terms[(term.kind, term.code)]
        result[term.kind][term.code] = {
            "label": term.label,
            "classes": sorted(info.ancestors - {term.code}),
            "synonyms": term.synonyms,
        }
    return result
