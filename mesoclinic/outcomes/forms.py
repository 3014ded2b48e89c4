"""The patient's quick score form: each question of the protocol the patient answers themselves,
0 to 10 as big buttons for a thumb, in the patient's language and the clinic's wording."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext as _

from mesoclinic.screening import bilingual

# A scale with at most this many steps is a row of buttons; a longer or finer one a number box.
MOST_BUTTONS = 11


def _steps(measure):
    if measure.decimals:
        return None
    low, high = int(measure.minimum), int(measure.maximum)
    if high - low + 1 > MOST_BUTTONS or low != measure.minimum or high != measure.maximum:
        return None
    return list(range(low, high + 1))


class ScoreField(forms.Field):
    """A score within the measure's range, checked here whatever the page sent (a tampered post,
    an old page): the message names the range, beside the question."""

    def __init__(self, measure, language, **kwargs):
        self.measure = measure
        steps = _steps(measure)
        if steps is None:
            widget = forms.NumberInput(
                attrs={"min": measure.minimum, "max": measure.maximum, "step": measure.step, "inputmode": "decimal"}
            )
        else:
            # Drawn as a row of buttons by templates/outcomes/patient/_score_field.html.
            widget = forms.RadioSelect(choices=[(str(step), str(step)) for step in steps])
        label = bilingual.text(measure, "patient_question", language) or bilingual.text(measure, "label", language)
        super().__init__(required=False, label=label, widget=widget, **kwargs)
        self.buttons = steps is not None

    def to_python(self, value):
        value = (value or "").strip() if isinstance(value, str) else value
        if value in ("", None):
            return None
        if isinstance(value, str) and len(value) > 20:
            raise forms.ValidationError(self._range_message())
        try:
            number = Decimal(str(value).replace(",", "."))
        except InvalidOperation:
            raise forms.ValidationError(self._range_message()) from None
        if not number.is_finite():
            raise forms.ValidationError(self._range_message())
        return number

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        measure = self.measure
        places = Decimal(1).scaleb(-measure.decimals)
        if not measure.minimum <= value <= measure.maximum or value != value.quantize(places):
            raise forms.ValidationError(self._range_message())

    def _range_message(self):
        measure = self.measure
        if measure.decimals:
            return _("Enter a number from %(min)s to %(max)s.") % {"min": measure.minimum, "max": measure.maximum}
        return _("Choose a whole number from %(min)s to %(max)s.") % {
            "min": int(measure.minimum),
            "max": int(measure.maximum),
        }


class ScoresForm(forms.Form):
    """One field per measure, named by its code. At least one answer: the others may wait."""

    def __init__(self, *args, measures, language, newest=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.measures = measures
        newest = newest or {}
        for measure in measures:
            field = ScoreField(measure, language)
            score = newest.get(measure.code)
            if score is not None and not self.is_bound:
                field.initial = _shown(score.value, measure)
            self.fields[measure.code] = field

    def clean(self):
        cleaned = super().clean()
        if not self.errors and all(cleaned.get(m.code) is None for m in self.measures):
            raise forms.ValidationError(_("Choose a score for at least one question."))
        return cleaned

    def answers(self):
        """{measure: value} of the questions answered."""
        return {m: self.cleaned_data[m.code] for m in self.measures if self.cleaned_data.get(m.code) is not None}


def _shown(value, measure):
    """A stored score as the form shows it: "7", not "7.00"."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-measure.decimals)))
