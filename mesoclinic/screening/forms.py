"""The screening questionnaire and the practitioner's decisions on its findings.

Forms validate and convert; the engine decides. Tick boxes come from the vocabulary, and
each list has an "other" box for terms typed by hand: a typed term the vocabulary does not
know is refused beside its field, never dropped.
"""

import re

from django import forms

from . import engine
from .models import OverrideReason

SKIN_TYPES = [
    ("", "Not assessed"),
    ("1", "I: pale, always burns, never tans"),
    ("2", "II: fair, usually burns, tans minimally"),
    ("3", "III: medium, sometimes burns, tans gradually"),
    ("4", "IV: olive, rarely burns, tans easily"),
    ("5", "V: brown, very rarely burns"),
    ("6", "VI: dark brown to black, never burns"),
]

# Each list of answers: its tick boxes' field, its "other" field, and the vocabulary kinds.
TERM_LISTS = {
    "conditions": ("condition",),
    "medications": ("medication",),
    "allergies": ("ingredient", "allergen"),
    "ingredients": ("ingredient",),
}


def grouped_choices(kb, kinds):
    """Tick-box choices grouped under their top class: ("Blood thinner", [(code, label)...])."""
    groups = {}
    for kind in kinds:
        terms = [info for (k, _), info in kb.terms.items() if k == kind]
        roots = {info.code: info for info in terms if info.ancestors == {info.code}}
        for info in sorted(terms, key=lambda i: i.label.casefold()):
            tops = sorted(code for code in info.ancestors if code in roots and code != info.code)
            group = roots[tops[0]].label if tops else None
            if group is None and any(info.code in other.ancestors for other in terms if other.code != info.code):
                group = info.label  # a class with members heads its own group
            groups.setdefault(group or "Other", []).append((info.code, info.label))
    ordered = sorted(groups.items(), key=lambda item: (item[0] == "Other", item[0].casefold()))
    return [(group, choices) for group, choices in ordered]


def flat_choices(kb, kind):
    return sorted(((info.code, info.label) for (k, _), info in kb.terms.items() if k == kind), key=lambda c: c[1])


class ScreeningForm(forms.Form):
    on_date = forms.DateField(
        label="Planned treatment date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Age and preparation holds are worked out for this day.",
    )
    pregnant = forms.BooleanField(label="Pregnant, or may be pregnant", required=False)
    breastfeeding = forms.BooleanField(label="Breastfeeding", required=False)
    conditions = forms.MultipleChoiceField(label="Conditions", required=False, widget=forms.CheckboxSelectMultiple)
    conditions_other = forms.CharField(label="Other conditions", required=False)
    medications = forms.MultipleChoiceField(
        label="Medications now or in the last two weeks", required=False, widget=forms.CheckboxSelectMultiple
    )
    medications_other = forms.CharField(label="Other medications", required=False)
    allergies = forms.MultipleChoiceField(label="Allergies", required=False, widget=forms.CheckboxSelectMultiple)
    allergies_other = forms.CharField(label="Other allergies", required=False)
    fitzpatrick_skin_type = forms.ChoiceField(label="Skin type (Fitzpatrick)", choices=SKIN_TYPES, required=False)
    indication = forms.ChoiceField(label="What to treat", required=False)
    areas = forms.MultipleChoiceField(label="Areas", required=False, widget=forms.CheckboxSelectMultiple)
    ingredients = forms.MultipleChoiceField(
        label="Planned ingredients", required=False, widget=forms.CheckboxSelectMultiple
    )
    ingredients_other = forms.CharField(label="Other ingredients", required=False)
    evaluation = forms.MultipleChoiceField(
        label="Pre-treatment evaluation done", required=False, widget=forms.CheckboxSelectMultiple
    )
    goals = forms.CharField(
        label="Reasons for wanting treatment", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    previous_treatments = forms.CharField(
        label="Treatments tried before", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, kb, patient, evaluation_items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kb = kb
        self.patient = patient
        self.fields["conditions"].choices = grouped_choices(kb, TERM_LISTS["conditions"])
        self.fields["medications"].choices = grouped_choices(kb, TERM_LISTS["medications"])
        self.fields["allergies"].choices = grouped_choices(kb, TERM_LISTS["allergies"])
        self.fields["ingredients"].choices = grouped_choices(kb, TERM_LISTS["ingredients"])
        self.fields["areas"].choices = flat_choices(kb, "area")
        self.fields["indication"].choices = [("", "Not decided yet"), *flat_choices(kb, "indication")]
        self.fields["evaluation"].choices = [(item.code, item.label) for item in evaluation_items]
        self.evaluation_help = {item.code: item.help_text for item in evaluation_items}
        for name in TERM_LISTS:
            self.fields[f"{name}_other"].widget.attrs.update(
                {"placeholder": "Type terms, separated by commas", "class": "term-other", "autocomplete": "off"}
            )
        self.answers = None

    TERM_SECTIONS = (
        ("conditions", "Conditions", "Tick all that apply now or in the past."),
        ("medications", "Medications", "Taken now or in the last two weeks."),
        ("allergies", "Allergies", "Any allergy, severe or not."),
        ("ingredients", "Planned ingredients", "What the cocktail will contain, if known."),
    )

    @property
    def term_sections(self):
        return self.TERM_SECTIONS

    def clean(self):
        data = super().clean()
        raw = {
            "date_of_birth": self.patient.date_of_birth.isoformat(),
            "on_date": data["on_date"].isoformat() if data.get("on_date") else None,
            "pregnant": data.get("pregnant", False),
            "breastfeeding": data.get("breastfeeding", False),
            "areas": data.get("areas", []),
            "indication": data.get("indication") or None,
            "fitzpatrick_skin_type": int(data["fitzpatrick_skin_type"]) if data.get("fitzpatrick_skin_type") else None,
        }
        for name, kinds in TERM_LISTS.items():
            raw[name] = list(data.get(name, [])) + self._typed_terms(name, kinds)
        if raw["on_date"] is None or self.errors:
            return data
        try:
            self.answers = engine.parse_answers(raw, self.kb)
        except engine.InvalidAnswers as error:
            for problem in error.problems:
                field = problem.field.split("[")[0]
                field = field if field in self.fields else None
                if field == "date_of_birth":
                    field = "on_date"
                self.add_error(field, problem.message)
        return data

    def _typed_terms(self, name, kinds):
        """Terms typed in the "other" box, each checked against the vocabulary."""
        typed = [t.strip() for t in re.split(r"[,;\n]", self.cleaned_data.get(f"{name}_other", "")) if t.strip()]
        codes = []
        for text in typed:
            found = self.kb.lookup(kinds, text)
            if found is None:
                close = self.kb.suggestions(kinds, text)
                hint = f' Did you mean "{self._label(kinds, close[0])}"?' if close else ""
                self.add_error(f"{name}_other", f'"{text}" is not in the vocabulary.{hint}')
            else:
                codes.append(found[1])
        return codes

    def _label(self, kinds, normalised):
        for kind in kinds:
            code = self.kb.names.get((kind, normalised))
            if code:
                return self.kb.terms[(kind, code)].label
        return normalised


class DecisionForm(forms.Form):
    """Acknowledgements of warnings and overrides of critical findings, made for one result.

    Fields are named after the rules they decide on, so they survive the live re-rendering
    of the findings while the practitioner keeps answering.
    """

    def __init__(self, *args, findings, **kwargs):
        super().__init__(*args, **kwargs)
        self.findings = findings
        for finding in findings:
            if finding.severity == "warning":
                self.fields[f"ack_{finding.rule}"] = forms.BooleanField(
                    label="I have considered this and will proceed with care", required=False
                )
            elif finding.severity == "critical":
                self.fields[f"override_{finding.rule}"] = forms.ChoiceField(
                    label="Override reason",
                    choices=[("", "Not overridden: treatment is deferred"), *OverrideReason.choices],
                    required=False,
                )
                self.fields[f"override_{finding.rule}_comment"] = forms.CharField(
                    label="Comment", required=False, widget=forms.TextInput(attrs={"autocomplete": "off"})
                )

    def clean(self):
        data = super().clean()
        for finding in self.findings:
            if finding.severity == "warning" and not data.get(f"ack_{finding.rule}"):
                self.add_error(f"ack_{finding.rule}", "Acknowledge this warning before saving.")
            if finding.severity == "critical":
                reason = data.get(f"override_{finding.rule}")
                comment = (data.get(f"override_{finding.rule}_comment") or "").strip()
                if reason and not comment:
                    self.add_error(f"override_{finding.rule}_comment", "Say why: an override needs a comment.")
                if comment and not reason:
                    self.add_error(f"override_{finding.rule}", "Choose a reason, or clear the comment.")
        return data

    def decisions(self):
        """The decisions as recorded on the screening."""
        recorded = []
        for finding in self.findings:
            if finding.severity == "warning":
                recorded.append({"rule": finding.rule, "decision": "acknowledged"})
            elif finding.severity == "critical" and self.cleaned_data.get(f"override_{finding.rule}"):
                recorded.append(
                    {
                        "rule": finding.rule,
                        "decision": "overridden",
                        "reason": self.cleaned_data[f"override_{finding.rule}"],
                        "comment": self.cleaned_data[f"override_{finding.rule}_comment"].strip(),
                    }
                )
        return recorded

    def bound_fields_for(self, rule):
        """The controls that belong on the card of the finding of `rule`."""
        names = [f"ack_{rule}", f"override_{rule}", f"override_{rule}_comment"]
        return [self[name] for name in names if name in self.fields]
