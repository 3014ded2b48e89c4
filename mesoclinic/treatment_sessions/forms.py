import datetime

from django import forms

from mesoclinic.core.models import Room, User


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class SeriesStartForm(forms.Form):
    """Where a series starts: the first session's day and time, who and where."""

    start_date = forms.DateField(
        label="First session", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label="Start time", widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")
    )
    practitioner = PractitionerChoiceField(queryset=User.objects.none(), empty_label="Choose…")
    room = forms.ModelChoiceField(queryset=Room.objects.none(), empty_label="Choose…")

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or datetime.date.today()
        self.fields["practitioner"].queryset = User.objects.practitioners().order_by("last_name")
        self.fields["room"].queryset = Room.objects.filter(is_active=True)

    def clean_start_date(self):
        day = self.cleaned_data["start_date"]
        if day < self.today:
            raise forms.ValidationError("The first session cannot be in the past.")
        if day > self.today + datetime.timedelta(days=730):
            raise forms.ValidationError("That is more than two years ahead; check the year.")
        return day

    @property
    def first_local(self):
        return datetime.datetime.combine(self.cleaned_data["start_date"], self.cleaned_data["start_time"])


def parse_local(value):
    """'2026-12-01T10:00' from a datetime-local input, or None."""
    try:
        return datetime.datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M")
    except (AttributeError, ValueError):
        return None


class MoveForm(forms.Form):
    new_start = forms.DateTimeField(
        label="New date and time",
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900}, format="%Y-%m-%dT%H:%M"),
    )
    following = forms.TypedChoiceField(
        label="Which sessions",
        choices=[("no", "This session only"), ("yes", "This and the following sessions (keep the spacing)")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="no",
    )
    note = forms.CharField(label="Reason (optional)", required=False, max_length=120)

    def clean_new_start(self):
        # DateTimeField makes the value aware in the server's zone; we need the clinic's wall clock.
        value = self.cleaned_data["new_start"]
        return value.replace(tzinfo=None) if value.tzinfo else value


class CancelForm(forms.Form):
    scope = forms.ChoiceField(
        label="Cancel",
        choices=[("one", "This session only"), ("remaining", "This and all remaining sessions")],
        widget=forms.RadioSelect,
        initial="one",
    )
    reason = forms.CharField(label="Reason", max_length=150)


# --- The day of the session ------------------------------------------------------------------

YES_NO = [("yes", "Yes"), ("no", "No")]


class DayCheckForm(forms.Form):
    """The short check before charting. Every question must be answered: none has a default."""

    pregnant = forms.ChoiceField(label="Pregnant now, or may be?", choices=YES_NO, widget=forms.RadioSelect)
    breastfeeding = forms.ChoiceField(label="Breastfeeding now?", choices=YES_NO, widget=forms.RadioSelect)
    new_medications = forms.MultipleChoiceField(
        label="New medications since the screening", required=False, widget=forms.CheckboxSelectMultiple
    )
    new_medications_other = forms.CharField(label="Other new medications", required=False)
    infection_at_site = forms.ChoiceField(
        label="Any infection, cold sore or broken skin at the treatment site?", choices=YES_NO, widget=forms.RadioSelect
    )
    feeling_well = forms.ChoiceField(label="Feeling well today?", choices=YES_NO, widget=forms.RadioSelect)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, kb, holds, **kwargs):
        super().__init__(*args, **kwargs)
        from mesoclinic.screening.forms import grouped_choices

        self.kb = kb
        self.holds = holds
        self.fields["new_medications"].choices = grouped_choices(kb, ("medication",))
        self.fields["new_medications_other"].widget.attrs.update({"placeholder": "Type terms, separated by commas"})
        for hold in holds:
            self.fields[f"hold_{hold.key}"] = forms.ChoiceField(
                label=hold.question,
                choices=[("kept", "Kept"), ("broken", "Not kept")],
                widget=forms.RadioSelect,
            )

    def hold_fields(self):
        return [self[f"hold_{hold.key}"] for hold in self.holds]

    def clean_new_medications_other(self):
        """New medicines typed by hand: a term where one matches, else kept as unlisted (the
        practitioner must assess it), never refused and never dropped."""
        import re

        from mesoclinic.screening import engine

        codes, unlisted = [], []
        for text in [" ".join(t.split()) for t in re.split(r"[,;\n]", self.cleaned_data["new_medications_other"])]:
            if not text:
                continue
            found = self.kb.lookup(("medication",), text)
            if found is not None:
                codes.append(found[1])
            elif len(text) > engine.UNLISTED_MAX_CHARS:
                raise forms.ValidationError(
                    f"Each entry can be at most {engine.UNLISTED_MAX_CHARS} characters; say it more briefly."
                )
            else:
                unlisted.append(text)
        return codes, unlisted

    def day_answers(self):
        from .daycheck import DayCheckAnswers

        data = self.cleaned_data
        return DayCheckAnswers(
            pregnant=data["pregnant"] == "yes",
            breastfeeding=data["breastfeeding"] == "yes",
            new_medications=sorted(set(data["new_medications"]) | set(data["new_medications_other"][0])),
            new_unlisted=data["new_medications_other"][1],
            holds_broken=[hold.key for hold in self.holds if data.get(f"hold_{hold.key}") == "broken"],
            infection_at_site=data["infection_at_site"] == "yes",
            feeling_well=data["feeling_well"] == "yes",
        )


class ChartForm(forms.Form):
    technique = forms.ChoiceField()
    depth_mm = forms.DecimalField(
        label="Depth (mm)", max_digits=3, decimal_places=1, widget=forms.NumberInput(attrs={"step": "0.1"})
    )
    needle_gauge = forms.IntegerField(label="Needle gauge (G)")
    anaesthetic = forms.ChoiceField()
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=1, max_value=240)
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from mesoclinic.plans.models import Technique

        from .models import Anaesthetic

        self.fields["technique"].choices = Technique.choices
        self.fields["anaesthetic"].choices = Anaesthetic.choices

    def clean(self):
        from .charting import chart_problems

        data = super().clean()
        for field, problem in chart_problems(data).items():
            self.add_error(field, problem)
        return data


class AreaLineForm(forms.Form):
    area = forms.ChoiceField(required=False)
    volume_ml = forms.DecimalField(
        label="Volume (ml)",
        required=False,
        max_digits=4,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )

    def __init__(self, *args, area_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [("", "—"), *area_choices]

    def clean(self):
        # Rows come pre-filled with the plan's areas; one left without a volume was not treated.
        data = super().clean()
        if data.get("volume_ml") is not None and not data.get("area"):
            self.add_error("area", "Choose the area.")
        return data


class ProductLineForm(forms.Form):
    lot_number = forms.CharField(
        label="Lot number",
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    product = forms.ModelChoiceField(label="Product (new lot)", queryset=None, required=False, empty_label="—")
    expires_on = forms.DateField(
        label="Expiry (new lot)", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    volume_ml = forms.DecimalField(
        label="Volume (ml)",
        required=False,
        max_digits=4,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from mesoclinic.plans.models import Product

        self.fields["product"].queryset = Product.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("lot_number") and data.get("volume_ml") is None:
            self.add_error("volume_ml", "Give the volume used from this lot.")
        if data.get("volume_ml") is not None and not data.get("lot_number"):
            self.add_error("lot_number", "Type or scan the lot number.")
        return data


AreaLineFormSet = forms.formset_factory(AreaLineForm, extra=0, max_num=12)
ProductLineFormSet = forms.formset_factory(ProductLineForm, extra=0, max_num=8)


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
