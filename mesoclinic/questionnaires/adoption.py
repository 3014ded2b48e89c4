"""From the patient's answers to the practitioner's screening.

The practitioner reads what the patient sent (`answers_in_words`: each question as the
patient was asked it, their answer in words, and how the engine read what they typed), then
starts a screening from it: the normal screening form, filled in from the answers
(`initial_from_response`), with every section the patient answered marked as reported
(`reported_sections`) until the practitioner confirms it with them. The screening knows
nothing of questionnaires: it only hears which of its sections someone else answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from mesoclinic.screening import bilingual, engine
from mesoclinic.screening.forms import ScreeningForm
from mesoclinic.screening.instructions import Instruction

from .definition import FREE_TEXT, HOW_ASKED, MANY, ONE, SKIN_TYPES, TEXT, YES_NO
from .services import screens_for

# Which of the screening form's sections each question of the questionnaire answers.
SECTIONS = {
    "pregnant": "pregnancy",
    "breastfeeding": "pregnancy",
    "conditions": "conditions",
    "medications": "medications",
    "allergies": "allergies",
    "fitzpatrick_skin_type": "skin_type",
    "indication": "goals",
    "areas": "goals",
    "goals": "goals",
    "previous_treatments": "previous_treatments",
}
assert set(SECTIONS) == set(HOW_ASKED), "every question the patient may be asked lands in a screening section"
assert set(SECTIONS.values()) <= set(ScreeningForm.REPORTABLE)

YES, NO = "yes", "no"


def reported_sections(response):
    """The screening sections the questionnaire asked about, answered or left empty: each
    needs confirming. (Reading them from what the patient gave missed the empty ones, and an
    empty medicines list then saved as "no medicines" unconfirmed.)"""
    asked = {SECTIONS[name] for name in response.given if name in SECTIONS}
    asked |= {SECTIONS[name] for name in _asked(response) if name in SECTIONS}
    return tuple(section for section in ScreeningForm.REPORTABLE if section in asked)


def _asked(response):
    return [question.name for screen in screens_for(response.request) for question in screen.questions]


def dropped_since(response, previous, kb):
    """What the patient's previous screening recorded (conditions, medicines, allergies) that
    their answers now leave out: a medicine stopped, or one forgotten. The adopt page lists
    them so the practitioner asks, rather than a blank list silently replacing warfarin."""
    if previous is None:
        return []
    dropped = []
    for name in ("conditions", "medications", "allergies"):
        now = set(response.answers.get(name, []))
        for code in previous.answers.get(name, []):
            if code in now:
                continue
            info = next((kb.terms[(kind, code)] for kind in engine.LIST_FIELDS[name] if (kind, code) in kb.terms), None)
            dropped.append(bilingual.text(info, "label") if info else code)
    return dropped


def initial_from_response(response, kb):
    """The screening form filled in from the patient's answers, read as the engine read them:
    ticked and recognised terms in the tick boxes, the rest back in the "other" boxes (where
    it stays an unlisted answer, or becomes a term the vocabulary has learnt since), the
    pregnancy answers, skin type, what to treat, areas, goals and treatments tried before. The
    planned date is the visit the questionnaire was sent for, if a screening may still be
    planned for it; otherwise today, for the practitioner to set."""
    initial = ScreeningForm.initial_from(response, kb)
    first, last = ScreeningForm.planned_dates()
    visit_on = response.request.visit_on
    initial["on_date"] = visit_on if first <= visit_on <= last else first
    return initial


def started_from(response):
    """The sentence under the screening form's title."""
    return _(
        "Answers pre-filled from the patient's questionnaire of %(date)s: "
        "confirm each section marked “Patient-reported” with the patient, or correct it."
    ) % {"date": date_format(timezone.localtime(response.submitted_at), "j F Y")}


# --- The answers in words ----------------------------------------------------------------


@dataclass
class Answer:
    """One question and what the patient answered, for the practitioner to read."""

    name: str
    question: str  # as the patient was asked it, in the reader's language
    words: list = field(default_factory=list)  # the answer: term labels, "Yes", a skin type in words
    own_words: str = ""  # what they typed themselves, as they typed it
    read_as: list = field(default_factory=list)  # the terms the engine recognised in what they typed
    unlisted: list = field(default_factory=list)  # what it did not recognise: kept as unlisted answers
    note: str = ""  # how an answer was read when it differs from what they ticked
    nothing: str = ""  # what to say when they gave nothing: "None" for a list, else "Not answered"


def answers_in_words(response, kb):
    """Every question the patient was asked (those in `given`), in the screening's order, with
    their answer in words in the reader's language. Labels come from the compiled knowledge
    base: no query. A code the vocabulary no longer has is shown as its code."""
    given, read = response.given, response.answers
    flags = _flags_typed(given, read, kb)
    rows = []
    for name, (control, kinds, question, _help) in HOW_ASKED.items():
        if name not in given:
            continue
        row = Answer(name=name, question=str(question), nothing=_("Not answered"))
        value = given.get(name)
        if control == YES_NO:
            row.words = [{YES: _("Yes"), NO: _("No")}.get(value, _("Not answered"))]
            typed = [entry for entries in flags.get(name, {}).values() for entry in entries]
            if value != YES and typed:
                row.note = _("Read as yes from what they wrote: “%(text)s”.") % {"text": "; ".join(typed)}
        elif control == MANY:
            kinds = kinds or engine.LIST_FIELDS[name]
            row.nothing = pgettext("no answers in the list", "None")
            ticked = list(value or [])
            row.words = [_label(kb, kinds, code) for code in ticked]
            row.own_words = (given.get(f"{name}_other") or "").strip()
            if row.own_words:
                row.unlisted = list(read.get("unlisted", {}).get(name, []))
                row.read_as = [_label(kb, kinds, code) for code in read.get(name, []) if code not in ticked]
                row.read_as += [
                    str(ScreeningForm.base_fields[flag].label) for flag, where in flags.items() if name in where
                ]
        elif control == ONE and name == "fitzpatrick_skin_type":
            words = {str(code): (str(label), code) for code, label, _hint in SKIN_TYPES}
            if value in words:
                label, code = words[value]
                row.words = [f"{label} ({_('Fitzpatrick %(type)s') % {'type': code}})"]
        elif control == ONE:
            row.words = [_label(kb, kinds, value)] if value else []
        elif control == TEXT:
            row.own_words = (value or "").strip()
        rows.append(row)
    return rows


def _entries(text):
    """What was typed, entry by entry, as the screening's reading splits it."""
    return [" ".join(entry.split()) for entry in re.split(r"[,;\n]", text or "") if entry.strip()]


def _flags_typed(given, read, kb):
    """{flag: [the entries that gave it]}: what the patient typed in a box that the reading
    took as a yes ("hamileyim": pregnant). An entry that names a term, or that was kept as an
    unlisted answer ("trying to conceive" is not asked of patients), gave none."""
    found = {}
    for name in FREE_TEXT:
        unlisted = read.get("unlisted", {}).get(name, [])
        for entry in _entries(given.get(f"{name}_other")):
            flag = engine.flag_named(entry)
            if flag and read.get(flag) and entry not in unlisted and kb.lookup(engine.LIST_FIELDS[name], entry) is None:
                found.setdefault(flag, {}).setdefault(name, []).append(entry)
    return found


def _label(kb, kinds, code):
    for kind in kinds:
        info = kb.terms.get((kind, code))
        if info is not None:
            return bilingual.text(info, "label")
    return code


def instructions_shown(response):
    """The preparation the patient was shown, as the instructions' partial reads them."""
    fields = set(Instruction.__dataclass_fields__) - {"given_at"}
    return [Instruction(**{k: v for k, v in item.items() if k in fields}) for item in response.instructions]
