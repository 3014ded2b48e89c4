"""What the patient's pages show: the date-of-birth form, each question as its page draws it,
and the answers back in words.

The questions themselves come from `definition` (generated from the knowledge base) and are
read by `answers.clean_given`; this module only turns them into what a template needs (the
value to pre-fill, the error beside the field, which groups of a long list start open), so
the templates stay free of logic and the link pages and the signed-in pages draw the same.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django import forms
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .answers import NO, YES
from .definition import MANY, ONE, TEXT, TEXT_MAX_CHARS, YES_NO

# A list longer than this is shown as collapsed groups (opened where something is ticked),
# with the search box: 80 medicines in one open list is a scroll no one finishes on a phone.
COLLAPSE_OVER = 20


# --- The date of birth (the second factor) --------------------------------------------------


class DateOfBirthForm(forms.Form):
    """Day, month and year as three fields: a phone's date picker starts at today, and scrolling
    back to 1962 is the slowest way to enter a date of birth. The day and year open the number
    pad; the month is a list of names, so "03" and "March" cannot be confused."""

    day = forms.IntegerField(
        label=gettext_lazy("Day"),
        min_value=1,
        max_value=31,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "maxlength": "2",
                "autocomplete": "bday-day",
                "class": "form-control q-dob-day",
            }
        ),
        error_messages={
            "required": gettext_lazy("Enter the day."),
            "invalid": gettext_lazy("Enter the day as a number, for example 7."),
            "min_value": gettext_lazy("The day is a number from 1 to 31."),
            "max_value": gettext_lazy("The day is a number from 1 to 31."),
        },
    )
    month = forms.TypedChoiceField(
        label=gettext_lazy("Month"),
        coerce=int,
        choices=(),
        widget=forms.Select(attrs={"autocomplete": "bday-month", "class": "form-select q-dob-month"}),
        error_messages={
            "required": gettext_lazy("Choose the month."),
            "invalid_choice": gettext_lazy("Choose the month."),
        },
    )
    year = forms.IntegerField(
        label=gettext_lazy("Year"),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "maxlength": "4",
                "autocomplete": "bday-year",
                "class": "form-control q-dob-year",
            }
        ),
        error_messages={
            "required": gettext_lazy("Enter the year."),
            "invalid": gettext_lazy("Enter the year as four numbers, for example 1984."),
        },
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or datetime.date.today()
        # Built here, not at import: the month names follow the page's language.
        self.fields["month"].choices = [("", _("Month")), *((number, str(name)) for number, name in MONTHS.items())]

    def clean_year(self):
        year = self.cleaned_data["year"]
        if not 1900 <= year <= self.today.year:
            raise forms.ValidationError(_("Enter the year you were born, with four numbers, for example 1984."))
        return year

    def clean(self):
        data = super().clean()
        if {"day", "month", "year"} <= data.keys():
            try:
                data["date_of_birth"] = datetime.date(data["year"], data["month"], data["day"])
            except ValueError:
                self.add_error("day", _("This date does not exist: check the day and the month."))
            else:
                if data["date_of_birth"] > self.today:
                    self.add_error("year", _("This date is in the future: check the year."))
        return data


# --- A screen's questions, as the page draws them -------------------------------------------


@dataclass
class Group:
    heading: str
    choices: list  # [(Choice, ticked)]
    ticked: int = 0
    collapsed: bool = False  # drawn as <details>, open when something in it is ticked


@dataclass
class Field:
    """One question with what the patient gave for it and what is wrong with it."""

    question: object
    value: str = ""  # YES_NO, ONE, TEXT
    ticked: frozenset = frozenset()  # MANY
    other: str = ""  # the "not in the list" box
    none: bool = False  # "I have none of these", for a list that needs an answer
    none_errors: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    other_errors: list = field(default_factory=list)
    groups: list = field(default_factory=list)
    options: list = field(default_factory=list)  # YES_NO and ONE: [(value, label, hint)]
    max_chars: int = TEXT_MAX_CHARS

    @property
    def name(self):
        return self.question.name

    @property
    def control(self):
        return self.question.control

    @property
    def is_skin_type(self):
        return self.question.name == "fitzpatrick_skin_type"

    @property
    def collapsed(self):
        return any(group.collapsed for group in self.groups)

    @property
    def ticked_count(self):
        return len(self.ticked)


def screen_fields(screen, values, problems):
    """The fields of `screen`, filled with `values` (the draft, or what was just posted)."""
    return [_field(question, values, problems) for question in screen.questions]


def _field(question, values, problems):
    made = Field(
        question,
        errors=list(problems.get(question.name, [])),
        other_errors=list(problems.get(question.other_name, [])),
    )
    if question.control == MANY:
        known = {choice.code for choice in question.choices}
        made.ticked = frozenset(code for code in _codes(values.get(question.name)) if code in known)
        made.other = str(values.get(question.other_name, "") or "") if question.has_other else ""
        if question.needs_answer:
            made.none = values.get(question.none_name) == YES
            made.none_errors = list(problems.get(question.none_name, []))
        collapse = len(question.choices) > COLLAPSE_OVER
        for heading, choices in question.groups:
            ticked = sum(choice.code in made.ticked for choice in choices)
            made.groups.append(
                Group(
                    heading or _("Other"),
                    [(choice, choice.code in made.ticked) for choice in choices],
                    ticked=ticked,
                    collapsed=collapse,
                )
            )
    else:
        made.value = str(values.get(question.name, "") or "")
    if question.control == YES_NO:
        made.options = [(YES, _("Yes"), ""), (NO, _("No"), "")]
    elif question.control == ONE:
        made.options = [(choice.code, choice.label, choice.hint) for choice in question.choices]
    return made


def _codes(value):
    if isinstance(value, list | tuple):
        return [str(code) for code in value]
    return []


# --- The answers in words (the review, and a refused page) ----------------------------------


@dataclass
class AnsweredScreen:
    step: int
    title: str
    answers: list  # [(question text, [lines], answered)]


def answers_in_words(screens, given):
    """Every question of `screens` with the patient's answer as they would say it."""
    return [
        AnsweredScreen(step, screen.title, [_in_words(question, given) for question in screen.questions])
        for step, screen in enumerate(screens, start=1)
    ]


def _in_words(question, given):
    lines = []
    if question.control == YES_NO:
        lines = {YES: [_("Yes")], NO: [_("No")]}.get(given.get(question.name), [])
    elif question.control == MANY:
        ticked = set(_codes(given.get(question.name)))
        lines = [choice.label for choice in question.choices if choice.code in ticked]
        other = str(given.get(question.other_name, "") or "").strip() if question.has_other else ""
        if other:
            lines.append(_("Written in: %(text)s") % {"text": other})
        if question.needs_answer and given.get(question.none_name) == YES and not lines:
            lines = [question.none_label]
    elif question.control == ONE:
        chosen = str(given.get(question.name, "") or "")
        lines = [choice.label for choice in question.choices if choice.code == chosen]
    elif question.control == TEXT:
        text = str(given.get(question.name, "") or "").strip()
        lines = [text] if text else []
    return question.text, lines, bool(lines)
