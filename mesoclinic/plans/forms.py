from django import forms

from mesoclinic.screening.forms import flat_choices, grouped_choices
from mesoclinic.screening.models import Term

from . import limits
from .models import CombinationTreatment, Product, Protocol, Technique


class IndicationForm(forms.Form):
    """Step one of the plan builder: what to treat. Its protocol fills in the rest."""

    indication = forms.ModelChoiceField(
        label="What to treat",
        queryset=Protocol.objects.select_related("indication").order_by("title"),
        to_field_name="code",
        empty_label="Choose an indication…",
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class PlanForm(forms.Form):
    areas = forms.MultipleChoiceField(label="Areas", widget=forms.CheckboxSelectMultiple)
    ingredients = forms.MultipleChoiceField(label="Ingredients (the cocktail)", widget=forms.CheckboxSelectMultiple)
    products = forms.ModelMultipleChoiceField(
        label="Products", queryset=Product.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    technique = forms.ChoiceField(choices=Technique.choices)
    depth_mm = forms.DecimalField(
        label="Depth (mm)",
        max_digits=3,
        decimal_places=1,
        min_value=limits.SANE_DEPTH_MM[0],
        max_value=limits.SANE_DEPTH_MM[1],
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    needle_gauge = forms.IntegerField(
        label="Needle gauge (G)", min_value=limits.SANE_GAUGE[0], max_value=limits.SANE_GAUGE[1]
    )
    session_minutes = forms.IntegerField(
        label="Session length (minutes)", min_value=limits.SANE_MINUTES[0], max_value=limits.SANE_MINUTES[1]
    )
    sessions_planned = forms.IntegerField(
        label="Number of sessions", min_value=limits.SANE_SESSIONS[0], max_value=limits.SANE_SESSIONS[1]
    )
    intervals = forms.CharField(
        label="Days between sessions",
        help_text="One number per gap, in order, e.g. 7, 7, 14, 14, 28.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    combinations = forms.MultipleChoiceField(
        label="Combined with", choices=CombinationTreatment.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    combination_notes = forms.CharField(label="Combination notes", required=False, max_length=300)
    goals = forms.CharField(
        label="Goals agreed with the patient", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, kb, protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self.fields["areas"].choices = flat_choices(kb, "area")
        self.fields["ingredients"].choices = grouped_choices(kb, ("ingredient",))
        self.fields["products"].queryset = Product.objects.filter(is_active=True).prefetch_related("ingredients")
        self.fields["technique"].choices = [(c, label) for c, label in Technique.choices]

    @classmethod
    def initial_for(cls, protocol):
        """The protocol's defaults, which the practitioner can change."""
        return {
            "areas": [term.code for term in protocol.default_areas.all()],
            "ingredients": [term.code for term in protocol.default_ingredients.all()],
            "technique": protocol.default_technique,
            "depth_mm": protocol.default_depth_mm,
            "needle_gauge": protocol.default_gauge,
            "session_minutes": protocol.default_session_minutes,
            "sessions_planned": protocol.default_sessions,
            "intervals": ", ".join(str(gap) for gap in protocol.default_intervals(protocol.default_sessions)),
        }

    @classmethod
    def initial_from_plan(cls, plan):
        return {
            "areas": [t.code for t in plan.areas.all()],
            "ingredients": [t.code for t in plan.ingredients.all()],
            "products": list(plan.products.all()),
            "technique": plan.technique,
            "depth_mm": plan.depth_mm,
            "needle_gauge": plan.needle_gauge,
            "session_minutes": plan.session_minutes,
            "sessions_planned": plan.sessions_planned,
            "intervals": ", ".join(str(g) for g in plan.intervals),
            "combinations": plan.combinations,
            "combination_notes": plan.combination_notes,
            "goals": plan.goals,
        }

    def clean_intervals(self):
        try:
            return limits.parse_intervals(self.cleaned_data["intervals"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        data = super().clean()
        if "intervals" in data and "sessions_planned" in data:
            for problem in limits.interval_problems(data["intervals"], data["sessions_planned"]):
                self.add_error("intervals", problem)
        return data

    def flags(self):
        """Values outside the protocol, for whatever was typed so far (valid or not)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return limits.plan_flags(
            protocol=self.protocol,
            areas=data.get("areas", []),
            ingredients=data.get("ingredients", []),
            technique=data.get("technique"),
            depth_mm=data.get("depth_mm"),
            needle_gauge=data.get("needle_gauge"),
            session_minutes=data.get("session_minutes"),
            sessions=data.get("sessions_planned"),
            intervals=data.get("intervals") if isinstance(data.get("intervals"), list) else [],
        )

    def values(self):
        """What the services take: terms and products as objects."""
        data = dict(self.cleaned_data)
        codes = set(data["areas"]) | set(data["ingredients"])
        terms = {(t.kind, t.code): t for t in Term.objects.filter(code__in=codes, kind__in=("area", "ingredient"))}
        data["areas"] = [terms[("area", c)] for c in data["areas"]]
        data["ingredients"] = [terms[("ingredient", c)] for c in data["ingredients"]]
        data["products"] = list(data["products"])
        data["combinations"] = list(data["combinations"])
        return data


class StopForm(forms.Form):
    reason = forms.CharField(label="Why does the plan stop?", widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class ConsentForm(forms.Form):
    signed_name = forms.CharField(label="Your full name", max_length=160)
    confirmed = forms.BooleanField(
        label="I have read this document, my questions were answered, and I agree to the treatment plan above.",
        required=False,
    )
    photo_consent = forms.TypedChoiceField(
        label="Photos for my clinical record",
        choices=[("yes", "Yes, photos may be taken"), ("no", "No photos, please")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput)


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="What did the patient say?", widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )
    confirm = forms.BooleanField(
        label="Withdraw: the plan stops and its remaining sessions are cancelled.",
        error_messages={"required": "Tick the box to confirm the withdrawal."},
    )


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "manufacturer", "ingredients", "notes", "is_active"]
        widgets = {"ingredients": forms.CheckboxSelectMultiple, "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ingredients"].queryset = Term.objects.filter(kind="ingredient").order_by("label")
