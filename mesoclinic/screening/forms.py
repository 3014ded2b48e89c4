"""The screening questionnaire and the practitioner's decisions on its findings.

Forms validate and convert; the engine decides. Tick boxes come from the vocabulary, and
each list has an "other" box for anything typed by hand: what names a term (by code, label
or synonym, in any case, Turkish letters included) becomes that term, and the rest is kept
as an unlisted answer that the practitioner must assess. Nothing typed is dropped.
"""

import datetime
import re

from django import forms
from django.conf import settings
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.params import ClinicDateField
from mesoclinic.core.selectors import clinic_today

from . import bilingual, engine
from .models import PrescriberAnswer, PrescriberDecision
from .selectors import alphabetical
from .services import MIN_NOTE_CHARS, clearance_date_problem, site_problem

SKIN_TYPES = [
    ("", _("Not assessed")),
    ("1", _("I: pale, always burns, never tans")),
    ("2", _("II: fair, usually burns, tans minimally")),
    ("3", _("III: medium, sometimes burns, tans gradually")),
    ("4", _("IV: olive, rarely burns, tans easily")),
    ("5", _("V: brown, very rarely burns")),
    ("6", _("VI: dark brown to black, never burns")),
]

# Each list of answers: its tick boxes' field, its "other" field, and the vocabulary kinds.
TERM_LISTS = {name: engine.LIST_FIELDS[name] for name in ("conditions", "medications", "allergies", "ingredients")}


def per_knowledge_base(build):
    """Remember what `build` makes of a knowledge base, per reading language: the compiled base
    never changes (a new revision is a new object), and the screening form's ~250 tick boxes
    took a quarter of a live update to group again on every keystroke."""
    made = {}

    def cached(kb, *args):
        key = (kb.version, bilingual.active_language(), *args)
        if key not in made:
            if len(made) > 64:
                made.clear()
            made[key] = build(kb, *args)
        return made[key]

    return cached


def _label(info):
    """A term's label in the reader's language (its Turkish for Turkish-speaking staff)."""
    return bilingual.text(info, "label")


@per_knowledge_base
def grouped_choices(kb, kinds):
    """Tick-box choices grouped under their top class: ("Blood thinner", [(code, label)...]),
    labels in the reader's language and in its alphabetical order; terms of no class last."""
    groups = {}
    for kind in kinds:
        terms = [info for (k, _), info in kb.terms.items() if k == kind]
        roots = {info.code: info for info in terms if info.ancestors == {info.code}}
        for info in sorted(terms, key=lambda i: alphabetical(_label(i))):
            tops = sorted(code for code in info.ancestors if code in roots and code != info.code)
            group = _label(roots[tops[0]]) if tops else None
            if group is None and any(info.code in other.ancestors for other in terms if other.code != info.code):
                group = _label(info)  # a class with members heads its own group
            groups.setdefault(group, []).append((info.code, _label(info)))
    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, alphabetical(item[0] or "")))
    return [(group if group is not None else gettext("Other"), choices) for group, choices in ordered]


@per_knowledge_base
def flat_choices(kb, kind):
    return sorted(
        ((info.code, _label(info)) for (k, _), info in kb.terms.items() if k == kind), key=lambda c: alphabetical(c[1])
    )


class Typed:
    """What was typed in the free-text box of a list of answers, read against the vocabulary."""

    def __init__(self):
        self.codes, self.free_text, self.problems = [], [], []


def read_typed(kb, name, text):
    """Read the free text typed for the list `name` (conditions, medications, allergies,
    ingredients), separated by commas, semicolons or lines: what names a term becomes that
    term; free text is kept for conditions, medications and allergies (as unlisted answers); a
    planned ingredient must be a term, because the allergy check needs it. Something typed in
    the wrong list ("Advil" among the conditions) is a problem that says where it goes. The
    screening form and the patient's questionnaire both read typed answers here."""
    kinds = TERM_LISTS[name]
    typed = Typed()
    entries = [" ".join(t.split()) for t in re.split(r"[,;\n]", text or "")]
    for entry in filter(None, entries):
        found = kb.lookup(kinds, entry)
        elsewhere = None if found else engine.unlisted_problem(entry, kb, listed_in=name)
        if found is not None:
            typed.codes.append(found[1])
        elif elsewhere and "known term" in elsewhere:
            typed.problems.append(elsewhere.replace(", where the rules read it", ""))
        elif name not in engine.UNLISTED_LISTS:
            close = kb.suggestions(kinds, entry)
            unknown = gettext('"%(text)s" is not an ingredient the vocabulary knows.') % {"text": entry}
            if close:
                unknown += " " + gettext('Did you mean "%(term)s"?') % {"term": _term_label(kb, kinds, close[0])}
            typed.problems.append(unknown)
        elif len(entry) > engine.UNLISTED_MAX_CHARS:
            typed.problems.append(
                gettext(
                    "Each entry can be at most %(most)s characters; "
                    "this one has %(count)s: say it more briefly or split it with commas."
                )
                % {"most": engine.UNLISTED_MAX_CHARS, "count": len(entry)}
            )
        else:
            typed.free_text.append(entry)
    return typed


def _term_label(kb, kinds, code):
    for kind in kinds:
        if (kind, code) in kb.terms:
            return _label(kb.terms[(kind, code)])
    return code


class VocabularyChoices(forms.MultipleChoiceField):
    """Tick boxes whose choices come ready-made from the knowledge base (cached per revision):
    Django would otherwise normalise all ~250 of them twice on every live update."""

    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, value):
        self._choices = self.widget._choices = value


class ScreeningForm(forms.Form):
    on_date = ClinicDateField(
        label=_("Planned treatment date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Age and preparation holds are worked out for this day."),
    )
    pregnant = forms.BooleanField(label=_("Pregnant, or may be pregnant"), required=False)
    breastfeeding = forms.BooleanField(label=_("Breastfeeding"), required=False)
    trying_to_conceive = forms.BooleanField(label=_("Trying to conceive"), required=False)
    conditions = VocabularyChoices(label=_("Conditions"), required=False, widget=forms.CheckboxSelectMultiple)
    conditions_other = forms.CharField(label=_("Other conditions"), required=False)
    medications = VocabularyChoices(
        label=_("Medications now or in the last two weeks"), required=False, widget=forms.CheckboxSelectMultiple
    )
    medications_other = forms.CharField(label=_("Other medications"), required=False)
    allergies = VocabularyChoices(label=_("Allergies"), required=False, widget=forms.CheckboxSelectMultiple)
    allergies_other = forms.CharField(label=_("Other allergies"), required=False)
    fitzpatrick_skin_type = forms.ChoiceField(label=_("Skin type (Fitzpatrick)"), choices=SKIN_TYPES, required=False)
    indication = forms.ChoiceField(label=_("What to treat"), required=False)
    areas = VocabularyChoices(label=_("Areas"), required=False, widget=forms.CheckboxSelectMultiple)
    ingredients = VocabularyChoices(label=_("Planned ingredients"), required=False, widget=forms.CheckboxSelectMultiple)
    ingredients_other = forms.CharField(label=_("Other ingredients"), required=False)
    evaluation = forms.MultipleChoiceField(
        label=_("Pre-treatment evaluation done"), required=False, widget=forms.CheckboxSelectMultiple
    )
    goals = forms.CharField(
        label=_("Reasons for wanting treatment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    previous_treatments = forms.CharField(
        label=_("Treatments tried before"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    PREGNANCY_FIELDS = ("pregnant", "breastfeeding", "trying_to_conceive")

    # The sections whose answers can come from someone other than the practitioner (the
    # patient, before the visit): each then needs a "confirmed with the patient" tick before
    # the screening is saved. section -> (the tick's label, the fields it covers).
    REPORTABLE = {
        "pregnancy": (_("Pregnancy and breastfeeding confirmed with the patient"), PREGNANCY_FIELDS),
        "skin_type": (_("Skin type confirmed with the patient"), ("fitzpatrick_skin_type",)),
        "goals": (
            _("What to treat, areas and reasons confirmed with the patient"),
            ("indication", "areas", "goals"),
        ),
        "conditions": (_("Conditions confirmed with the patient"), ("conditions", "conditions_other")),
        "medications": (_("Medications confirmed with the patient"), ("medications", "medications_other")),
        "allergies": (_("Allergies confirmed with the patient"), ("allergies", "allergies_other")),
        "previous_treatments": (_("Treatments tried before confirmed with the patient"), ("previous_treatments",)),
    }

    def __init__(self, *args, kb, patient, evaluation_items=(), reported=(), **kwargs):
        """`reported`: the sections (REPORTABLE) whose answers the patient gave, not the
        practitioner; each gets its confirm_<section> tick, required to save."""
        super().__init__(*args, **kwargs)
        self.kb = kb
        self.patient = patient
        self.fields["conditions"].choices = grouped_choices(kb, TERM_LISTS["conditions"])
        self.fields["medications"].choices = grouped_choices(kb, TERM_LISTS["medications"])
        self.fields["allergies"].choices = grouped_choices(kb, TERM_LISTS["allergies"])
        self.fields["ingredients"].choices = grouped_choices(kb, TERM_LISTS["ingredients"])
        self.fields["areas"].choices = flat_choices(kb, "area")
        self.fields["indication"].choices = [("", gettext("Not decided yet")), *flat_choices(kb, "indication")]
        self.fields["evaluation"].choices = [(item.code, bilingual.text(item, "label")) for item in evaluation_items]
        self.evaluation_help = {item.code: bilingual.text(item, "help_text") for item in evaluation_items}
        if not self.asks_about_pregnancy:
            for name in self.PREGNANCY_FIELDS:
                del self.fields[name]
        for name in TERM_LISTS:
            placeholder = (
                gettext("Anything else, separated by commas")
                if name in engine.UNLISTED_LISTS
                else gettext("Type terms")
            )
            self.fields[f"{name}_other"].widget.attrs.update(
                {"placeholder": placeholder, "class": "term-other", "autocomplete": "off"}
            )
        for name, css in self.WIDGET_CLASSES.items():
            if name in self.fields:
                self.fields[name].widget.attrs["class"] = css
        self.reported = tuple(
            section
            for section, (_tick, names) in self.REPORTABLE.items()
            if section in reported and all(name in self.fields for name in names)
        )
        for section in self.reported:
            self.fields[f"confirm_{section}"] = forms.BooleanField(label=self.REPORTABLE[section][0], required=False)
        self.answers = None
        self.unlisted = []

    # Bootstrap's classes on the widgets the page draws with screening/_field.html (crispy's, as it
    # drew them); a field with an error also gets "is-invalid" (full_clean).
    WIDGET_CLASSES = {
        "on_date": "dateinput form-control",
        "indication": "select form-select",
        "fitzpatrick_skin_type": "select form-select",
        "pregnant": "checkboxinput form-check-input",
        "breastfeeding": "checkboxinput form-check-input",
        "trying_to_conceive": "checkboxinput form-check-input",
        "goals": "textarea form-control",
        "previous_treatments": "textarea form-control",
        "notes": "textarea form-control",
    }

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.WIDGET_CLASSES and name in self.fields:
                self.fields[name].widget.attrs["class"] = f"{self.WIDGET_CLASSES[name]} is-invalid"

    @property
    def asks_about_pregnancy(self):
        """Not for a patient recorded as male; asked whenever sex is not recorded."""
        return self.patient.sex != "male"

    COVERED = {"areas": "area", "ingredients": "ingredient"}

    @classmethod
    def initial_from(cls, previous, kb, cover=None):
        """Answers of the patient's previous screening, ready to review; the date is today's.
        `cover` (a plan page's query string): areas and ingredients to add, and the indication,
        that a screening for that plan must cover. Codes the vocabulary does not know are
        dropped: a query string is typed by anyone."""
        initial = {"on_date": clinic_today()}
        if previous is not None:
            initial.update(cls._previous_answers(previous, kb))
        if cover is None:
            return initial
        for name, kind in cls.COVERED.items():
            wanted = {code for code in cover.getlist(name) if (kind, code) in kb.terms}
            if wanted:
                initial[name] = sorted(set(initial.get(name, [])) | wanted)
        if ("indication", cover.get("indication", "")) in kb.terms:
            initial["indication"] = cover["indication"]
        return initial

    @classmethod
    def _previous_answers(cls, previous, kb):
        initial = {}
        answers = previous.answers
        for flag in cls.PREGNANCY_FIELDS:
            initial[flag] = answers.get(flag, False)
        for name in ("conditions", "medications", "allergies", "ingredients", "areas"):
            kinds = engine.LIST_FIELDS[name]
            codes = answers.get(name, [])
            known = [c for c in codes if any((kind, c) in kb.terms for kind in kinds)]
            initial[name] = known
            # Unlisted answers, and any term the vocabulary no longer has, go back in the "other"
            # box: what names a term now becomes that term, the rest stays unlisted.
            typed = [c for c in codes if c not in known] + answers.get("unlisted", {}).get(name, [])
            if typed and f"{name}_other" in cls.base_fields:
                initial[f"{name}_other"] = ", ".join(typed)
        if answers.get("fitzpatrick_skin_type"):
            initial["fitzpatrick_skin_type"] = str(answers["fitzpatrick_skin_type"])
        initial["indication"] = answers.get("indication") or ""
        initial["goals"] = previous.goals
        initial["previous_treatments"] = previous.previous_treatments
        return initial

    def record_details(self):
        """What screening_record keeps besides the answers: the evaluation ticked, goals, notes."""
        data = self.cleaned_data
        return {
            "evaluation": dict.fromkeys(data["evaluation"], True),
            "goals": data["goals"],
            "previous_treatments": data["previous_treatments"],
            "notes": data["notes"],
        }

    TERM_SECTIONS = (
        (
            "conditions",
            _("Conditions"),
            _(
                "Tick what the patient has now. An infection counts while it is there or not yet healed; "
                "a cold sore in the past does not."
            ),
        ),
        ("medications", _("Medications"), _("Taken now or in the last two weeks.")),
        ("allergies", _("Allergies"), _("Any allergy, severe or not: medicines, anaesthetics, materials.")),
        ("ingredients", _("Planned ingredients"), _("What the cocktail will contain, if known.")),
    )

    @property
    def term_sections(self):
        return self.TERM_SECTIONS

    @property
    def confirm_fields(self):
        """The "confirmed with the patient" tick of each reported section: {section: BoundField}."""
        return {section: self[f"confirm_{section}"] for section in self.reported}

    def confirm_reported(self) -> bool:
        """Is every reported section ticked as confirmed? Each one that is not gets its error
        beside its tick. Checked apart from the answers, so that the findings are still worked
        out (and the decisions made on them kept) while a section waits for its tick."""
        confirmed = True
        for section in self.reported:
            name = f"confirm_{section}"
            if not self.fields[name].to_python(self[name].data):
                self.add_error(name, gettext("Confirm this with the patient, or correct it, before saving."))
                confirmed = False
        return confirmed

    @staticmethod
    def planned_dates():
        """(first, last): the days a screening may be planned for, today included."""
        today = clinic_today()
        return today, today + datetime.timedelta(days=settings.SCREENING_VALID_DAYS)

    def clean_on_date(self):
        """The planned date lies within the time this screening stays current: a screening for a
        day months ahead would be current now, and its age check would not be (a 17-year-old
        screened for a date after her birthday, then booked before it)."""
        day = self.cleaned_data["on_date"]
        today, last = self.planned_dates()
        if day < today:
            raise forms.ValidationError(gettext("The planned date is in the past: give the day of the treatment."))
        if day > last:
            raise forms.ValidationError(
                gettext(
                    "A screening stays current for %(days)s days, until %(last)s: "
                    "plan a date by then, or screen again nearer the time."
                )
                % {"days": settings.SCREENING_VALID_DAYS, "last": date_format(last, "j F Y")}
            )
        return day

    def clean(self):
        data = super().clean()
        raw = {
            "date_of_birth": self.patient.date_of_birth.isoformat(),
            "on_date": data["on_date"].isoformat() if data.get("on_date") else None,
            "areas": data.get("areas", []),
        }
        for flag in self.PREGNANCY_FIELDS:
            raw[flag] = bool(data.get(flag, False))
        if data.get("indication"):
            raw["indication"] = data["indication"]
        if data.get("fitzpatrick_skin_type"):
            raw["fitzpatrick_skin_type"] = int(data["fitzpatrick_skin_type"])
        unlisted = {}
        for name, kinds in TERM_LISTS.items():
            codes, free_text = self._typed(name, kinds)
            raw[name] = list(data.get(name, [])) + codes
            for text in list(free_text):
                # "hamileyim" typed among the conditions answers the pregnancy question.
                flag = engine.flag_named(text)
                if flag:
                    raw[flag] = True
                    free_text.remove(text)
            if free_text:
                unlisted[name] = free_text
        if unlisted:
            raw["unlisted"] = unlisted
        if raw["on_date"] is None or self.errors:
            return data
        try:
            self.answers = engine.parse_answers(raw, self.kb)
        except engine.InvalidAnswers as error:
            for problem in error.problems:
                field = problem.field.split("[")[0].replace("unlisted.", "")
                if field in TERM_LISTS:
                    field = f"{field}_other"
                field = field if field in self.fields else None
                if problem.field == "date_of_birth":
                    field = "on_date"
                self.add_error(field, problem.message)
        return data

    def _typed(self, name, kinds):
        """What was typed in a list's "other" box: (codes of the terms it names, free text
        the vocabulary does not know), with each problem shown beside the box."""
        typed = read_typed(self.kb, name, self.cleaned_data.get(f"{name}_other", ""))
        for problem in typed.problems:
            self.add_error(f"{name}_other", problem)
        return typed.codes, typed.free_text

    def term_label(self, kinds, code):
        return _term_label(self.kb, kinds, code)


COMMENT_LABELS = {
    ("specialist_clearance",): _("What the clearance says"),
    ("site_excluded",): _("Where the affected skin is"),
    ("site_excluded", "specialist_clearance"): _("What the clearance says, or where the affected skin is"),
}
# The ways a critical finding may be overridden (engine.OVERRIDE_REASONS), as the control words them.
OVERRIDE_CHOICES = {
    "specialist_clearance": _("Specialist clearance on file"),
    "site_excluded": _("The planned areas exclude the affected site"),
}
assert set(OVERRIDE_CHOICES) == set(engine.OVERRIDE_REASONS)


class DecisionForm(forms.Form):
    """The practitioner's decisions on one result: warnings acknowledged, critical findings
    overridden (only in the ways each rule allows), and the prescriber's answer for every
    medicine only a prescriber may pause.

    Fields are named after the findings' keys and the medicines' codes, so they survive the
    live re-rendering of the findings while the practitioner keeps answering.
    """

    KEPT = ("ack_", "override_", "rx_")

    @classmethod
    def for_findings(cls, data, findings, *, bound=True, **options):
        """Bound to `data` when the practitioner saves; otherwise unbound, for the live updates
        while they are still answering (no "acknowledge this" errors yet), keeping what they
        already chose."""
        if bound:
            return cls(data, findings=findings, **options)
        kept = {name: data.get(name) for name in data if name.startswith(cls.KEPT)}
        form = cls(initial=kept, findings=findings, **options)
        # A tick is kept as the save would read it ("on" ticked, "false" not), so the panel
        # never shows a box ticked that saving would treat as unticked.
        for name, field in form.fields.items():
            if isinstance(field, forms.BooleanField) and name in kept:
                form.initial[name] = field.to_python(kept[name])
        return form

    def __init__(self, *args, findings, kb, planned_areas=(), prescriber_medications=(), previous=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.findings = findings
        self.kb = kb
        self.planned_areas = set(planned_areas)
        self.prescriber_medications = list(prescriber_medications)
        area_choices = [("", gettext("Choose the affected area")), *flat_choices(kb, "area")]
        for finding in findings:
            key = finding.key
            if finding.severity == "warning":
                self.fields[f"ack_{key}"] = forms.BooleanField(
                    label=_("I have considered this and will proceed with care"), required=False
                )
            elif finding.severity == "critical" and finding.override_reasons:
                self.fields[f"override_{key}"] = forms.ChoiceField(
                    label=_("Override reason"),
                    choices=[
                        ("", gettext("Not overridden: treatment is deferred")),
                        *((code, OVERRIDE_CHOICES[code]) for code in finding.override_reasons),
                    ],
                    required=False,
                )
                if "specialist_clearance" in finding.override_reasons:
                    self.fields[f"override_{key}_who"] = forms.CharField(
                        label=_("Cleared by (name, speciality)"), required=False, max_length=120
                    )
                    self.fields[f"override_{key}_date"] = ClinicDateField(
                        label=_("Cleared on"),
                        required=False,
                        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                    )
                if "site_excluded" in finding.override_reasons:
                    self.fields[f"override_{key}_site"] = forms.ChoiceField(
                        label=_("Affected site"), choices=area_choices, required=False
                    )
                self.fields[f"override_{key}_comment"] = forms.CharField(
                    label=COMMENT_LABELS[tuple(sorted(finding.override_reasons))],
                    required=False,
                    max_length=500,
                    widget=forms.TextInput(attrs={"autocomplete": "off"}),
                )
        previous = previous or {}
        for code, _label in self.prescriber_medications:
            before = previous.get(code)
            # Each medicine's controls sit in a fieldset named after it, so the label can be short.
            self.fields[f"rx_{code}"] = forms.ChoiceField(
                label=_("Decision"),
                choices=PrescriberAnswer.choices,
                required=False,
                initial=before.answer if before else PrescriberAnswer.NOT_ASKED,
            )
            self.fields[f"rx_{code}_days"] = forms.IntegerField(
                label=_("Pause for (days)"), required=False, initial=before.pause_days if before else None
            )
            self.fields[f"rx_{code}_prescriber"] = forms.CharField(
                label=_("Prescriber"), required=False, max_length=120, initial=before.prescriber if before else ""
            )

    def clean(self):
        data = super().clean()
        today = clinic_today()
        for finding in self.findings:
            key = finding.key
            if finding.severity == "warning" and not data.get(f"ack_{key}"):
                self.add_error(f"ack_{key}", gettext("Acknowledge this warning before saving."))
            if finding.severity != "critical" or not finding.override_reasons:
                continue
            reason = data.get(f"override_{key}")
            comment = (data.get(f"override_{key}_comment") or "").strip()
            if not reason:
                if comment:
                    self.add_error(f"override_{key}", gettext("Choose a reason, or clear the comment."))
                continue
            if len(comment) < MIN_NOTE_CHARS:
                self.add_error(f"override_{key}_comment", gettext("Say why: an override needs a note of a few words."))
            if reason == "specialist_clearance":
                if len((data.get(f"override_{key}_who") or "").strip()) < 3:
                    self.add_error(f"override_{key}_who", gettext("Name who gave the clearance."))
                cleared = data.get(f"override_{key}_date")
                if cleared is None and f"override_{key}_date" not in self.errors:
                    self.add_error(f"override_{key}_date", gettext("Give the date of the clearance."))
                elif cleared is not None:
                    problem = clearance_date_problem(cleared, today)
                    if problem:
                        self.add_error(f"override_{key}_date", problem)
            # Overriding a finding about a blood thinner or an immunosuppressant rests on what
            # the prescriber decided: that must be recorded first.
            for code, label in finding.prescriber:
                unasked = (data.get(f"rx_{code}") or PrescriberAnswer.NOT_ASKED) == PrescriberAnswer.NOT_ASKED
                if unasked and f"rx_{code}" in self.fields:
                    self.add_error(
                        f"rx_{code}",
                        gettext("Record the prescriber's decision on %(medicine)s before overriding.")
                        % {"medicine": label},
                    )
            if reason == "site_excluded":
                problem = site_problem(data.get(f"override_{key}_site"), self.planned_areas, self.kb)
                if problem:
                    self.add_error(f"override_{key}_site", problem)
        for code, _label in self.prescriber_medications:
            answer = data.get(f"rx_{code}") or PrescriberAnswer.NOT_ASKED
            days = data.get(f"rx_{code}_days")
            who = (data.get(f"rx_{code}_prescriber") or "").strip()
            if answer == PrescriberAnswer.PAUSE:
                low, high = PrescriberDecision.PAUSE_DAYS
                if days is None and f"rx_{code}_days" not in self.errors:
                    self.add_error(f"rx_{code}_days", gettext("How many days did the prescriber agree to?"))
                elif days is not None and not low <= days <= high:
                    self.add_error(f"rx_{code}_days", _pause_range(low, high))
            if answer in (PrescriberAnswer.PAUSE, PrescriberAnswer.CONTINUE) and not who:
                self.add_error(f"rx_{code}_prescriber", gettext("Name the prescriber who decided."))
        return data

    def decisions(self):
        """The decisions as recorded on the screening."""
        recorded = []
        for finding in self.findings:
            key = finding.key
            if finding.severity == "warning":
                recorded.append({"rule": finding.rule, "key": key, "decision": "acknowledged"})
            elif finding.severity == "critical" and self.cleaned_data.get(f"override_{key}"):
                reason = self.cleaned_data[f"override_{key}"]
                decision = {
                    "rule": finding.rule,
                    "key": key,
                    "decision": "overridden",
                    "reason": reason,
                    "comment": self.cleaned_data[f"override_{key}_comment"].strip(),
                }
                if reason == "specialist_clearance":
                    decision["cleared_by"] = self.cleaned_data[f"override_{key}_who"].strip()
                    decision["cleared_on"] = self.cleaned_data[f"override_{key}_date"].isoformat()
                if reason == "site_excluded":
                    decision["site"] = self.cleaned_data[f"override_{key}_site"]
                recorded.append(decision)
        return recorded

    def prescriber_decisions(self):
        """The prescriber's answer for each medicine, as the service records them."""
        answers = []
        for code, label in self.prescriber_medications:
            answer = self.cleaned_data.get(f"rx_{code}") or PrescriberAnswer.NOT_ASKED
            answers.append(
                {
                    "medication": code,
                    "label": label,
                    "answer": answer,
                    "pause_days": self.cleaned_data.get(f"rx_{code}_days")
                    if answer == PrescriberAnswer.PAUSE
                    else None,
                    "prescriber": (self.cleaned_data.get(f"rx_{code}_prescriber") or "").strip(),
                }
            )
        return answers

    def acknowledgements_due(self):
        """How many warnings still wait for their tick: the count on the "Go to findings" link."""
        return sum(1 for name in self.fields if name.startswith("ack_") and not self[name].value())

    def bound_fields_for(self, key):
        """The controls that belong on the card of the finding `key`."""
        names = [
            f"ack_{key}",
            f"override_{key}",
            f"override_{key}_who",
            f"override_{key}_date",
            f"override_{key}_site",
            f"override_{key}_comment",
        ]
        return [self[name] for name in names if name in self.fields]

    def prescriber_rows(self):
        """Per medicine: its label and its three controls, for the prescriber block."""
        return [
            (label, self[f"rx_{code}"], self[f"rx_{code}_days"], self[f"rx_{code}_prescriber"])
            for code, label in self.prescriber_medications
        ]


def _pause_range(low, high):
    return gettext("A pause runs from %(low)s to %(high)s days.") % {"low": low, "high": high}


class PrescriberDecisionForm(forms.Form):
    """A prescriber's answer recorded after the screening, e.g. from the plan page after a call."""

    answer = forms.ChoiceField(label=_("The prescriber's decision"), choices=PrescriberAnswer.choices)
    pause_days = forms.IntegerField(label=_("Pause for (days)"), required=False)
    prescriber = forms.CharField(label=_("Prescriber"), required=False, max_length=120)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)

    def clean(self):
        data = super().clean()
        answer = data.get("answer")
        low, high = PrescriberDecision.PAUSE_DAYS
        if answer == PrescriberAnswer.PAUSE:
            days = data.get("pause_days")
            if days is None and "pause_days" not in self.errors:
                self.add_error("pause_days", gettext("How many days did the prescriber agree to?"))
            elif days is not None and not low <= days <= high:
                self.add_error("pause_days", _pause_range(low, high))
        if answer in (PrescriberAnswer.PAUSE, PrescriberAnswer.CONTINUE) and not (data.get("prescriber") or "").strip():
            self.add_error("prescriber", gettext("Name the prescriber who decided."))
        return data
