import re
from decimal import Decimal

from biip.checksums import gs1_standard_check_digit
from biip.gtin import Gtin
from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.screening import bilingual
from mesoclinic.screening.forms import flat_choices, grouped_choices
from mesoclinic.screening.models import Term

from . import limits
from .consent import signing_problems
from .models import CombinationTreatment, Product, Protocol, Technique
from .models import ProductForm as ProductFormChoice


class ProtocolChoiceField(forms.ModelChoiceField):
    """Protocols by their titles in the reader's language."""

    def label_from_instance(self, obj):
        return bilingual.text(obj, "title")


class IndicationForm(forms.Form):
    """Step one of the plan builder: what to treat. Its protocol fills in the rest."""

    indication = ProtocolChoiceField(
        label=_("What to treat"),
        queryset=Protocol.objects.select_related("indication").order_by("title"),
        to_field_name="code",
        empty_label=_("Choose an indication…"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class PlanForm(forms.Form):
    areas = forms.MultipleChoiceField(label=_("Areas"), widget=forms.CheckboxSelectMultiple)
    ingredients = forms.MultipleChoiceField(label=_("Ingredients (the cocktail)"), widget=forms.CheckboxSelectMultiple)
    products = forms.ModelMultipleChoiceField(
        label=_("Products"), queryset=Product.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    technique = forms.ChoiceField(label=_("Technique"), choices=Technique.choices)
    depth_mm = forms.DecimalField(
        label=_("Depth (mm)"),
        max_digits=3,
        decimal_places=1,
        min_value=limits.SANE_DEPTH_MM[0],
        max_value=limits.SANE_DEPTH_MM[1],
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    needle_gauge = forms.IntegerField(
        label=_("Needle gauge (G)"), min_value=limits.SANE_GAUGE[0], max_value=limits.SANE_GAUGE[1]
    )
    session_minutes = forms.IntegerField(
        label=_("Session length (minutes)"), min_value=limits.SANE_MINUTES[0], max_value=limits.SANE_MINUTES[1]
    )
    sessions_planned = forms.IntegerField(
        label=_("Number of sessions"), min_value=limits.SANE_SESSIONS[0], max_value=limits.SANE_SESSIONS[1]
    )
    intervals = forms.CharField(
        label=_("Days between sessions"),
        help_text=_("One number per gap, in order, e.g. 7, 7, 14, 14, 28."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    combinations = forms.MultipleChoiceField(
        label=_("Combined with"),
        choices=CombinationTreatment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    combination_notes = forms.CharField(label=_("Combination notes"), required=False, max_length=300)
    goals = forms.CharField(
        label=_("Goals agreed with the patient"), required=False, widget=forms.Textarea(attrs={"rows": 2})
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
    reason = forms.CharField(
        label=_("Why does the plan stop?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )


class ConsentForm(forms.Form):
    """What the patient fills in, in the language they read (lazy labels: the page renders this
    form inside the patient's language). `require_signature` is the clinic's setting."""

    signed_name = forms.CharField(label=_("Your full name"), max_length=160, required=False)
    confirmed = forms.BooleanField(
        label=_("I have read this document, my questions were answered, and I agree to the treatment plan above."),
        required=False,
    )
    photo_consent = forms.TypedChoiceField(
        label=_("Photos for my clinical record"),
        choices=[("yes", _("Yes, photos may be taken")), ("no", _("No photos, please"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose yes or no for photos.")},
    )
    signature = forms.CharField(required=False, widget=forms.HiddenInput)
    language = forms.ChoiceField(choices=settings.LANGUAGES, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, patient, require_signature=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.require_signature = require_signature

    def clean(self):
        """Every problem at once, each beside its field (the service checks them again)."""
        data = super().clean()
        problems = signing_problems(
            self.patient,
            signed_name=data.get("signed_name", ""),
            confirmed=data.get("confirmed", False),
            signed=bool(data.get("signature")),
            signature_required=self.require_signature,
        )
        for name, problem in problems.items():
            if name not in self.errors:
                self.add_error(name, problem)
        return data


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("What did the patient say?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500
    )
    confirm = forms.BooleanField(
        label=_("Withdraw: the plan stops and its remaining sessions are cancelled."),
        error_messages={"required": _("Tick the box to confirm the withdrawal.")},
    )


# What a GTIN is printed with between its digits on a pack or a delivery note, ignored.
GTIN_SEPARATORS = re.compile(r"[\s.-]+")
GTIN_DIGITS = re.compile(r"[0-9]+")  # ASCII only: "²" and "٣" are digits to str.isdigit
GTIN_LENGTHS = (8, 12, 13, 14)
DECIMAL_INPUT = {"step": "0.01", "inputmode": "decimal"}


def gtin_problem(digits):
    """Why `digits` is not a GTIN, in words for the person who typed it; "" when it is one.
    The last digit is a GS1 check digit: a mistyped or swapped digit almost always fails it."""
    if not GTIN_DIGITS.fullmatch(digits):
        return gettext("A GTIN has digits only: check the number under the barcode.")
    if len(digits) not in GTIN_LENGTHS:
        return gettext("A GTIN has 8, 12, 13 or 14 digits; this one has %(count)d.") % {"count": len(digits)}
    if not digits.strip("0"):
        return gettext("A GTIN of zeros is no product's: type the number under the barcode.")
    # Not saying which digit would fit: made to fit, it would hide the digit that was mistyped.
    if int(digits[-1]) != gs1_standard_check_digit(digits[:-1]):
        return gettext(
            "The last digit (the check digit) does not fit the digits before it: a digit was "
            "mistyped or two were swapped. Check the number on the pack."
        )
    return ""


def normalize_gtin(text):
    """A GTIN as stored: its 14-digit form (GTIN-14, zeros in front), the form the GS1 code on
    a pack carries, so a number typed from the EAN-13 under the barcode and one scanned from
    the DataMatrix are one product."""
    return Gtin.parse(text).as_gtin_14()


class ProductForm(forms.ModelForm):
    """A product of the catalogue: its ingredients (the allergy check reads them), its form and
    strength as the maker prints them, its unit and the maker's most per session (charting
    more is flagged), the GTIN on its pack (scanning finds it) and a reorder level."""

    # Bounds a real value never meets and a slip of the finger often does ("50" for "5.0").
    unit_ml = forms.DecimalField(
        label=_("Volume of one unit (ml)"),
        help_text=_("One vial, ampoule or syringe."),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000"),
        widget=forms.NumberInput(attrs=DECIMAL_INPUT),
    )
    max_ml_per_session = forms.DecimalField(
        label=_("Most per session (ml)"),
        help_text=_("Only where the maker states one: charting more is flagged. Else leave it empty."),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        widget=forms.NumberInput(attrs=DECIMAL_INPUT),
    )
    reorder_ml = forms.DecimalField(
        label=_("Reorder level (ml)"),
        help_text=_("The stock list flags the product when less than this is on hand."),
        required=False,
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100000"),
        widget=forms.NumberInput(attrs=DECIMAL_INPUT),
    )

    class Meta:
        model = Product
        fields = [
            "name",
            "manufacturer",
            "ingredients",
            "form",
            "concentration",
            "unit_ml",
            "max_ml_per_session",
            "gtin",
            "reorder_ml",
            "notes",
            "is_active",
        ]
        widgets = {
            "ingredients": forms.CheckboxSelectMultiple,
            "notes": forms.Textarea(attrs={"rows": 2}),
            # Text, not a number: a GTIN's zeros in front are part of it.
            "gtin": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
        }
        labels = {
            "name": _("Name"),
            "manufacturer": _("Manufacturer"),
            "ingredients": _("Ingredients"),
            "form": _("Form"),
            "concentration": _("Concentration"),
            "gtin": _("GTIN (barcode number)"),
            "notes": _("Notes"),
            "is_active": _("In use"),
        }
        help_texts = {
            "concentration": _("As the maker states it, e.g. “hyaluronic acid 20 mg/ml”."),
            "gtin": _("The 8 to 14 digits under the barcode. Spaces do not matter."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ingredients"].queryset = Term.objects.filter(kind="ingredient").order_by("label")
        # Each ingredient by its label in the reader's language.
        self.fields["ingredients"].label_from_instance = lambda term: bilingual.text(term, "label")
        self.fields["form"].choices = [("", _("Not stated")), *ProductFormChoice.choices]
        # Typed with spaces or dashes, a GTIN is longer than the 14 digits it is stored as.
        gtin = self.fields["gtin"]
        gtin.max_length, gtin.validators, gtin.widget.attrs["maxlength"] = 20, [], 20

    def clean_gtin(self):
        digits = GTIN_SEPARATORS.sub("", self.cleaned_data["gtin"])
        if not digits:
            return ""
        problem = gtin_problem(digits)
        if problem:
            raise forms.ValidationError(problem)
        gtin = normalize_gtin(digits)
        other = Product.objects.filter(gtin=gtin).exclude(pk=self.instance.pk).first()
        if other is not None:
            raise forms.ValidationError(gettext("This GTIN is already that of %(product)s.") % {"product": other})
        return gtin

    def clean(self):
        """The name with its maker once, said beside the name (the database refuses it too)."""
        data = super().clean()
        name, maker = data.get("name"), data.get("manufacturer", "")
        if name and Product.objects.filter(name=name, manufacturer=maker).exclude(pk=self.instance.pk).exists():
            self.add_error("name", gettext("The catalogue already has this product from this manufacturer."))
        return data
