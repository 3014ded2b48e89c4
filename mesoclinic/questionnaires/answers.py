"""The patient's answers, read the way the screening reads a practitioner's.

A patient's questionnaire keeps what they gave (`given`: ticked codes, yes/no, what they typed)
and turns it into the screening's answers with the same reading the screening form uses
(`screening.forms.read_typed`): a brand name typed in the box becomes its medicine, "hamileyim"
typed among the conditions answers the pregnancy question, and the rest is kept as an unlisted
answer for the practitioner. Nothing the patient gave is dropped or silently ignored: a code
the vocabulary does not know (a page kept open across a knowledge-base change, a forged form)
is a problem named to the patient, not a missing answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext

from mesoclinic.screening import engine
from mesoclinic.screening.forms import read_typed

from .definition import FREE_TEXT, MANY, ONE, TEXT, TEXT_MAX_CHARS, YES_NO, questions_of

YES, NO = "yes", "no"


@dataclass
class Reading:
    answers: engine.Answers | None = None
    problems: dict = field(default_factory=dict)  # answer name -> [message]
    unanswered: list = field(default_factory=list)  # yes/no questions without an answer

    def add(self, name, message):
        self.problems.setdefault(name, []).append(message)


def clean_given(data, screens):
    """The answers a posted screen (or the whole questionnaire) gives, in `given`'s shape, with
    the problems of each: {name: value}, {name: [message]}. Only the questions of `screens` are
    read; values are kept as typed, even when wrong, so that nothing is lost on the page."""
    given, problems = {}, {}
    lists = _as_lists(data)

    def one(name):
        return (lists.get(name) or [""])[-1]

    for name, question in questions_of(screens).items():
        if question.control == YES_NO:
            value = one(name)
            if value not in (YES, NO, ""):
                problems.setdefault(name, []).append(gettext("Answer yes or no."))
                value = ""
            given[name] = value
        elif question.control == MANY:
            codes = lists.get(name, [])
            known = {choice.code for choice in question.choices}
            unknown = [code for code in codes if code not in known]
            if unknown:
                problems.setdefault(name, []).append(
                    gettext("This list has changed since the page was opened: tick your answers again.")
                )
            given[name] = [code for code in dict.fromkeys(codes) if code in known]
            if question.has_other:
                given[question.other_name] = one(question.other_name)
            if question.needs_answer:
                given[question.none_name] = YES if one(question.none_name) == YES else ""
                if given[question.none_name] and (given[name] or given.get(question.other_name, "").strip()):
                    problems.setdefault(question.none_name, []).append(
                        gettext("You ticked “none” and also gave an answer: untick one of them.")
                    )
        elif question.control == ONE:
            value = one(name)
            if value and value not in {choice.code for choice in question.choices}:
                problems.setdefault(name, []).append(gettext("Choose one of the answers."))
                value = ""
            given[name] = value
        elif question.control == TEXT:
            given[name] = one(name)
            if len(given[name]) > TEXT_MAX_CHARS:
                problems.setdefault(name, []).append(
                    gettext("At most %(most)s characters, please; this has %(count)s.")
                    % {"most": TEXT_MAX_CHARS, "count": len(given[name])}
                )
    for name in FREE_TEXT:
        other = f"{name}_other"
        if other in given and len(given[other]) > TEXT_MAX_CHARS:
            problems.setdefault(other, []).append(
                gettext("At most %(most)s characters, please; this has %(count)s.")
                % {"most": TEXT_MAX_CHARS, "count": len(given[other])}
            )
    return given, problems


def _as_lists(data):
    """{name: [values]} from a posted form or a dict, with NUL characters removed: PostgreSQL
    cannot store one in JSON text, and no patient means one."""
    if hasattr(data, "lists"):
        items = data.lists()
    else:
        items = ((key, value if isinstance(value, list) else [value]) for key, value in data.items())
    return {key: [str(value).replace("\x00", "") for value in values] for key, values in items}


def read(given, screens, *, kb, date_of_birth, on_date) -> Reading:
    """The screening's answers for everything the patient gave, or the problems that stop it."""
    reading = Reading()
    questions = questions_of(screens)
    for name in ("goals", "previous_treatments", *(f"{n}_other" for n in FREE_TEXT)):
        if len(str(given.get(name, ""))) > TEXT_MAX_CHARS:
            reading.add(name, gettext("At most %(most)s characters, please.") % {"most": TEXT_MAX_CHARS})
    raw = {"date_of_birth": date_of_birth.isoformat(), "on_date": on_date.isoformat()}
    for name, question in questions.items():
        if question.control == YES_NO:
            if given.get(name) not in (YES, NO):
                reading.unanswered.append(name)
            raw[name] = given.get(name) == YES
        elif question.needs_answer:
            said = given.get(name) or str(given.get(question.other_name, "")).strip()
            if not said and given.get(question.none_name) != YES:
                reading.unanswered.append(name)
    unlisted = {}
    for name in ("conditions", "medications", "allergies", "areas"):
        if name not in questions:
            continue
        raw[name] = list(given.get(name, []))
        if name not in FREE_TEXT:
            continue
        typed = read_typed(kb, name, given.get(f"{name}_other", ""))
        for problem in typed.problems:
            reading.add(f"{name}_other", problem)
        raw[name] += typed.codes
        free = []
        for text in typed.free_text:
            flag = engine.flag_named(text)
            if flag in ("pregnant", "breastfeeding"):
                raw[flag] = True  # "hamileyim" typed in a box answers the question
                if flag in reading.unanswered:
                    reading.unanswered.remove(flag)
            else:
                free.append(text)
        if free:
            unlisted[name] = free
    if unlisted:
        raw["unlisted"] = unlisted
    if questions.get("fitzpatrick_skin_type") and given.get("fitzpatrick_skin_type"):
        raw["fitzpatrick_skin_type"] = int(given["fitzpatrick_skin_type"])
    if questions.get("indication") and given.get("indication"):
        raw["indication"] = given["indication"]
    if reading.problems:
        return reading
    try:
        reading.answers = engine.parse_answers(raw, kb)
    except engine.InvalidAnswers as error:
        for problem in error.problems:
            name = problem.field.split("[")[0].replace("unlisted.", "")
            name = f"{name}_other" if name in FREE_TEXT else name
            reading.add(name if name in questions or name.endswith("_other") else "", problem.message)
    return reading
