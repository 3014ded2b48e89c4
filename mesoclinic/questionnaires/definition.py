"""The questionnaire a patient fills in, generated from the knowledge base.

Nothing here lists a condition, a medicine or a screen by hand: the screens are the evaluation
steps that name answers in `patient_asks` (fixtures/evaluation.yaml), in their order, titled in
the patient's words; the choices are the vocabulary's terms that are asked of patients
(`Term.ask_patient`), worded with `patient_label` where the clinical label is not plain, with
their synonyms (brand names) for the search. A new term, or a step that starts asking an
answer, reaches the questionnaire with no template change.

What this module does word by hand is how each *kind of answer* is asked (the screen contract
fixes those: pregnancy, conditions, medicines...), because a question is a sentence, not data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from mesoclinic.screening import bilingual, engine
from mesoclinic.screening.models import PATIENT_ANSWERS, EvaluationItem, Term
from mesoclinic.screening.selectors import alphabetical

YES_NO, MANY, ONE, TEXT = "yes_no", "many", "one", "text"

# How each answer is asked: (kind of control, the vocabulary kinds of its choices, question, help).
HOW_ASKED = {
    "pregnant": (YES_NO, (), _("Are you pregnant, or could you be?"), _("If you are not sure, answer yes.")),
    "breastfeeding": (YES_NO, (), _("Are you breastfeeding?"), ""),
    "conditions": (
        MANY,
        ("condition",),
        _("Do you have any of these now, or are you being treated for them?"),
        _("An infection counts while it is there or not yet healed."),
    ),
    "medications": (
        MANY,
        ("medication",),
        _("Which medicines have you taken in the last two weeks?"),
        _("Search by the name on the box (for example Nurofen or Coumadin), or tick them below."),
    ),
    "allergies": (
        MANY,
        ("ingredient", "allergen"),
        _("Are you allergic to anything?"),
        _("Medicines, anaesthetics at the dentist, plasters, latex, metals: any reaction, even a mild one."),
    ),
    "fitzpatrick_skin_type": (ONE, (), _("How does your skin react to the sun?"), ""),
    "indication": (ONE, ("indication",), _("What would you most like to change?"), ""),
    "areas": (MANY, ("area",), _("Where on your body?"), ""),
    "goals": (TEXT, (), _("In your own words: what would you like to change, and why now?"), ""),
    "previous_treatments": (TEXT, (), _("What have you tried before, and how did it go?"), ""),
}
assert set(HOW_ASKED) == set(PATIENT_ANSWERS), "every answer a step may ask must have its question"

# The answers whose free text ("something not in the list") is kept as an unlisted answer. Each
# needs an answer, even "none": an empty list is not a "no", it may be a question skipped, and
# a screening built from it would read "no medicines" for a patient on warfarin.
FREE_TEXT = tuple(engine.UNLISTED_LISTS)
NONE_OF_THESE = {
    "conditions": _("I have none of these"),
    "medications": _("I take no medicines at all"),
    "allergies": _("I have no allergies that I know of"),
}
TEXT_MAX_CHARS = 2000

# The Fitzpatrick skin types in plain words, with what the patient would notice.
SKIN_TYPES = (
    (1, _("Very fair; I always burn and never tan"), _("Often red or blond hair, freckles, light eyes.")),
    (2, _("Fair; I burn easily and tan a little"), _("Usually light eyes, light skin.")),
    (3, _("Light to medium; I sometimes burn and tan slowly"), _("Many people in Europe and Türkiye.")),
    (4, _("Olive or light brown; I rarely burn and tan easily"), _("Mediterranean, Middle Eastern or Asian skin.")),
    (5, _("Brown; I very rarely burn"), _("South Asian, Middle Eastern or Latin American skin.")),
    (6, _("Dark brown or black; I never burn"), _("Deeply pigmented skin.")),
)
SKIN_TYPE_SOURCES = (("guide-2024", "When Should You Avoid Mesotherapy"),)


@dataclass(frozen=True)
class Choice:
    code: str
    label: str  # in the patient's words and language
    hint: str = ""  # examples that help them recognise it (brand names, what it looks like)
    names: tuple = ()  # every name it answers to in a search: label, synonyms, brand names


@dataclass(frozen=True)
class Question:
    name: str  # the screening answer it fills: "conditions", "pregnant"...
    control: str  # YES_NO, MANY, ONE or TEXT
    text: str
    help: str
    groups: tuple = ()  # ((group heading or "", (Choice, ...)), ...)
    searchable: bool = False  # offered with a search box (long lists with brand names)

    @property
    def choices(self):
        return tuple(choice for _heading, group in self.groups for choice in group)

    @property
    def has_other(self):
        return self.name in FREE_TEXT

    @property
    def other_name(self):
        return f"{self.name}_other"

    @property
    def needs_answer(self):
        """A list the patient must answer, "none" included (see NONE_OF_THESE)."""
        return self.name in NONE_OF_THESE

    @property
    def none_name(self):
        return f"{self.name}_none"

    @property
    def none_label(self):
        return str(NONE_OF_THESE.get(self.name, ""))


@dataclass(frozen=True)
class Screen:
    code: str  # the evaluation step's code
    title: str
    intro: str
    questions: tuple
    sources: tuple = field(default=())


def questionnaire(*, asks_about_pregnancy=True, language=None) -> tuple[Screen, ...]:
    """The screens of the questionnaire, in the active language (or `language`)."""
    language = language or bilingual.active_language()
    with translation.override(language):
        return _screens(asks_about_pregnancy, language)


def _screens(asks_about_pregnancy, language):
    terms = _patient_terms()
    screens = []
    for item in EvaluationItem.objects.exclude(patient_asks=[]).order_by("position", "code"):
        questions = []
        for name in item.patient_asks:
            if name in ("pregnant", "breastfeeding") and not asks_about_pregnancy:
                continue
            questions.append(_question(name, terms, language))
        if questions:
            screens.append(
                Screen(
                    code=item.code,
                    title=bilingual.text(item, "patient_title", language),
                    intro=bilingual.text(item, "patient_intro", language),
                    questions=tuple(questions),
                    sources=tuple((s["document"], s["citation"]) for s in item.sources),
                )
            )
    return tuple(screens)


def questions_of(screens):
    return {question.name: question for screen in screens for question in screen.questions}


def _patient_terms():
    """The vocabulary rows asked of patients, with their classes: one query."""
    rows = Term.objects.filter(ask_patient=True, is_selectable=True).prefetch_related("parents")
    return list(rows)


def _question(name, terms, language):
    control, kinds, text, help_text = HOW_ASKED[name]
    if name == "fitzpatrick_skin_type":
        groups = (("", tuple(Choice(str(code), str(label), str(hint)) for code, label, hint in SKIN_TYPES)),)
        return Question(name, control, str(text), str(help_text), groups)
    if not kinds:
        return Question(name, control, str(text), str(help_text))
    chosen = [term for term in terms if term.kind in kinds]
    groups = _grouped(chosen, language)
    return Question(name, control, str(text), str(help_text), groups, searchable=control == MANY and len(chosen) > 15)


def _choice(term, language):
    label = bilingual.text(term, "patient_label", language) or bilingual.text(term, "label", language)
    hint = bilingual.text(term, "patient_hint", language)
    names = tuple(
        dict.fromkeys([label, term.label, term.label_tr, term.patient_label, term.patient_label_tr, *term.synonyms])
    )
    return Choice(term.code, label, hint, tuple(n for n in names if n))


def _grouped(terms, language):
    """Choices under their top class ("Blood thinners": warfarin, apixaban...), as the
    screening form groups them; a class with members heads its own group; the rest last."""
    by_pk = {term.pk: term for term in terms}
    tops = {}
    for term in terms:
        top, seen = term, set()
        while True:
            parents = [by_pk[p.pk] for p in term_parents(top) if p.pk in by_pk and p.pk not in seen]
            if not parents:
                break
            seen.add(top.pk)
            top = sorted(parents, key=lambda p: p.code)[0]
        tops[term.pk] = top
    has_members = {top.pk for pk, top in tops.items() if top.pk != pk}
    groups = {}
    for term in terms:
        top = tops[term.pk]
        heading = capfirst(_choice(top, language).label) if top.pk in has_members else ""
        groups.setdefault(heading, []).append(_choice(term, language))
    ordered = sorted(groups.items(), key=lambda item: (item[0] == "", alphabetical(item[0])))
    return tuple((heading, tuple(sorted(choices, key=lambda c: alphabetical(c.label)))) for heading, choices in ordered)


def term_parents(term):
    return list(term.parents.all())
