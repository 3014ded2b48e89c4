"""Forms of the session day: the re-check, and the chart with its lots, events and measures."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.params import ClinicDateField
from mesoclinic.plans.models import Product, RecordedBy, Technique
from mesoclinic.screening import engine
from mesoclinic.screening.bilingual import text as localized
from mesoclinic.screening.forms import DecisionForm, grouped_choices
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import AdverseEventType, AdverseSeverity, Anaesthetic, Lot

from . import charting, recheck
from .charting import ProductLine, chart_problems
from .mapping import EMPTY_MAP, MapInvalid, read_map
from .recheck import RecheckAnswers
from .selectors import chart_flags, chart_initial, chart_measures, earlier_measurements, map_page

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class RecheckForm(forms.Form):
    """The short check before charting. Every question must be answered: none has a default."""

    pregnant = forms.ChoiceField(label=_("Pregnant now, or may be?"), choices=YES_NO, widget=forms.RadioSelect)
    breastfeeding = forms.ChoiceField(label=_("Breastfeeding now?"), choices=YES_NO, widget=forms.RadioSelect)
    new_medications = forms.MultipleChoiceField(
        label=_("New medications since the screening"), required=False, widget=forms.CheckboxSelectMultiple
    )
    new_medications_other = forms.CharField(label=_("Other new medications"), required=False)
    infection_at_site = forms.ChoiceField(
        label=_("Any infection, cold sore or broken skin at the treatment site?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    feeling_well = forms.ChoiceField(label=_("Feeling well today?"), choices=YES_NO, widget=forms.RadioSelect)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, kb, holds, **kwargs):
        super().__init__(*args, **kwargs)
        self.kb = kb
        self.holds = holds
        self.fields["new_medications"].choices = grouped_choices(kb, ("medication",))
        self.fields["new_medications_other"].widget.attrs.update(
            {"placeholder": gettext("Type terms, separated by commas")}
        )
        for hold in holds:
            self.fields[f"hold_{hold.key}"] = forms.ChoiceField(
                label=hold.question,
                choices=[("kept", _("Kept")), ("broken", _("Not kept"))],
                widget=forms.RadioSelect,
            )

    def hold_fields(self):
        return [self[f"hold_{hold.key}"] for hold in self.holds]

    def clean_new_medications_other(self):
        """New medicines typed by hand: a term where one matches, else kept as unlisted (the
        practitioner must assess it), never refused and never dropped."""
        codes, unlisted = [], []
        for text in [" ".join(t.split()) for t in re.split(r"[,;\n]", self.cleaned_data["new_medications_other"])]:
            if not text:
                continue
            found = self.kb.lookup(("medication",), text)
            if found is not None:
                codes.append(found[1])
            elif len(text) > engine.UNLISTED_MAX_CHARS:
                raise forms.ValidationError(
                    gettext("Each entry can be at most %(count)d characters; say it more briefly.")
                    % {"count": engine.UNLISTED_MAX_CHARS}
                )
            else:
                unlisted.append(text)
        return codes, unlisted

    def recheck_answers(self):
        data = self.cleaned_data
        return RecheckAnswers(
            pregnant=data["pregnant"] == "yes",
            breastfeeding=data["breastfeeding"] == "yes",
            new_medications=sorted(set(data["new_medications"]) | set(data["new_medications_other"][0])),
            new_unlisted=data["new_medications_other"][1],
            holds_broken=[hold.key for hold in self.holds if data.get(f"hold_{hold.key}") == "broken"],
            infection_at_site=data["infection_at_site"] == "yes",
            feeling_well=data["feeling_well"] == "yes",
        )


class ChartForm(forms.Form):
    technique = forms.ChoiceField(label=_("Technique"))
    depth_mm = forms.DecimalField(
        label=_("Depth (mm)"), max_digits=3, decimal_places=1, widget=forms.NumberInput(attrs={"step": "0.1"})
    )
    needle_gauge = forms.IntegerField(label=_("Needle gauge (G)"))
    anaesthetic = forms.ChoiceField(label=_("Anaesthetic"))
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=1, max_value=240)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # The injection map as the page's script keeps it (mapping.py has its JSON); empty: none.
    map = forms.CharField(label=_("Injection map"), required=False, widget=forms.HiddenInput)
    # Asked only when signing: a signed chart cannot be changed, so the practitioner confirms.
    confirm_sign = forms.BooleanField(label=_("I have checked the chart; signing locks it."), required=False)

    def __init__(self, *args, session=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = session
        self.map_problems = []  # mapping.MapProblem, each naming its point or syringe
        self.fields["technique"].choices = Technique.choices
        self.fields["anaesthetic"].choices = Anaesthetic.choices

    def clean_map(self):
        """The map read whole (mapping.read_map): a MapInput, or every problem beside the map."""
        if self.session is None:
            return EMPTY_MAP
        try:
            return read_map(self.cleaned_data["map"], session=self.session)
        except MapInvalid as invalid:
            self.map_problems = invalid.problems
            raise forms.ValidationError(invalid.messages) from invalid

    def clean(self):
        data = super().clean()
        for field, problem in chart_problems(data).items():
            self.add_error(field, problem)
        if self.data.get("action") == "sign" and not data.get("confirm_sign"):
            self.add_error("confirm_sign", gettext("Tick this to sign: signing locks the chart. Or save a draft."))
        return data


class AreaLineForm(forms.Form):
    area = forms.ChoiceField(label=_("Area"), required=False)
    volume_ml = forms.DecimalField(
        label=_("Volume (ml)"),
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
            self.add_error("area", gettext("Choose the area."))
        return data


class ProductLineForm(forms.Form):
    lot_number = forms.CharField(
        label=_("Lot number"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    product = forms.ModelChoiceField(label=_("Product (new lot)"), queryset=None, required=False, empty_label="—")
    expires_on = ClinicDateField(
        label=_("Expiry (new lot)"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    volume_ml = forms.DecimalField(
        label=_("Volume (ml)"),
        required=False,
        max_digits=4,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        if data.get("lot_number") and data.get("volume_ml") is None:
            self.add_error("volume_ml", gettext("Give the volume used from this lot."))
        if data.get("volume_ml") is not None and not data.get("lot_number"):
            self.add_error("lot_number", gettext("Type or scan the lot number."))
        return data


AreaLineFormSet = forms.formset_factory(AreaLineForm, extra=0, max_num=12)
ProductLineFormSet = forms.formset_factory(ProductLineForm, extra=0, max_num=8)


class AddendumForm(forms.Form):
    text = forms.CharField(label=_("Addendum"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AdverseEventsForm(forms.Form):
    """Adverse events as quick choices: a tick, a severity, and a follow-up date per kind."""

    def __init__(self, *args, types, session_day, **kwargs):
        super().__init__(*args, **kwargs)
        self.types = types
        for kind in types:
            self.fields[f"ae_{kind.code}"] = forms.BooleanField(label=localized(kind, "label"), required=False)
            self.fields[f"ae_{kind.code}_severity"] = forms.ChoiceField(
                label=_("Severity"), choices=AdverseSeverity.choices, initial=AdverseSeverity.MILD, required=False
            )
            self.fields[f"ae_{kind.code}_follow_up"] = ClinicDateField(
                label=_("Follow up on"),
                required=False,
                initial=session_day + datetime.timedelta(days=kind.follow_up_days),
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )
            self.fields[f"ae_{kind.code}_notes"] = forms.CharField(label=_("Notes"), required=False, max_length=300)

    def rows(self):
        return [
            (
                kind,
                self[f"ae_{kind.code}"],
                self[f"ae_{kind.code}_severity"],
                self[f"ae_{kind.code}_follow_up"],
                self[f"ae_{kind.code}_notes"],
            )
            for kind in self.types
        ]

    def events(self):
        data = self.cleaned_data
        return [
            (
                kind,
                data[f"ae_{kind.code}_severity"] or AdverseSeverity.MILD,
                data[f"ae_{kind.code}_follow_up"],
                data[f"ae_{kind.code}_notes"],
            )
            for kind in self.types
            if data.get(f"ae_{kind.code}")
        ]


SCALE_UNIT = re.compile(r"/\d+|\d+\s*[-–]\s*\d+")  # "/10", "1-5": the scale itself, not a unit
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def decimal_comma(value):
    """A number as typed, for Decimal to read: "0,45" is 0.45. A Turkish clinic writes the
    decimal comma, and the chart's fields take it in either language. Only plain numbers: what
    Python would also read ("1e9", "1_0", "NaN", "1,200.5") is left as typed, for the field to
    refuse as not a number rather than read as something the practitioner did not mean."""
    if isinstance(value, str):
        value = value.strip()
        if value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        if value and not PLAIN_NUMBER.fullmatch(value):
            return "not a number"  # Decimal refuses it: "Enter a number."
    return value


class MeasureField(forms.DecimalField):
    """One outcome measure (plans.OutcomeMeasure) as a quick numeric field: its unit, its range
    and how to measure it shown with it, a value outside the range refused as a typing slip with
    the range said beside the field. Text, not type=number: a browser drops what a number field
    cannot read ("0,45" in an English browser) without a word, and the value would be lost."""

    def __init__(self, measure, **kwargs):
        self.measure = measure
        self.unit = localized(measure, "unit")
        self.by_patient = measure.recorded_by == RecordedBy.PATIENT
        super().__init__(
            label=localized(measure, "label"),
            required=False,  # "at chosen sessions": a measure may be left for another session
            max_digits=7,
            decimal_places=measure.decimals,
            help_text=localized(measure, "how"),
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 8}),
            **kwargs,
        )

    @property
    def range_text(self):
        """ "Between 0.05 and 1.00 R2", in the reader's language and number format."""
        places = Decimal(1).scaleb(-self.measure.decimals)
        # A scale's own "unit" ("1-5", "/10") repeats the range: "Between 1 and 5", not "... 1-5".
        unit = "" if SCALE_UNIT.fullmatch(self.unit) else self.unit
        return (
            gettext("Between %(low)s and %(high)s %(unit)s")
            % {
                "low": formats.localize(self.measure.minimum.quantize(places)),
                "high": formats.localize(self.measure.maximum.quantize(places)),
                "unit": unit,
            }
        ).strip()

    def to_python(self, value):
        value = super().to_python(decimal_comma(value))
        return abs(value) if value is not None and value.is_finite() and value == 0 else value  # "-0" is 0

    def validate(self, value):
        super().validate(value)  # NaN and Infinity are "Enter a number."
        if value is not None and not self.measure.minimum <= value <= self.measure.maximum:
            raise ValidationError(self.range_text, code="range")

    def run_validators(self, value):
        """Too many decimals said in the clinic's words ("Enter a whole number." for a GAIS of
        2,5), not Django's "Ensure that there are no more than 0 decimal places."."""
        try:
            super().run_validators(value)
        except ValidationError as error:
            if {e.code for e in error.error_list} & {"max_decimal_places", "max_digits", "max_whole_digits"}:
                raise ValidationError(self.decimals_text, code="decimals") from error
            raise

    @property
    def decimals_text(self):
        """How many decimals the measure takes, with an example in the reader's number format
        (0,4 for a Turkish reader, who types the decimal comma)."""
        places = self.measure.decimals
        if not places:
            return gettext("Enter a whole number.")
        return ngettext(
            "Enter a number with at most one decimal, e.g. %(example)s.",
            "Enter a number with at most %(count)d decimals, e.g. %(example)s.",
            places,
        ) % {"count": places, "example": formats.localize(Decimal("0.456789"[: 2 + places]))}

    def value_text(self, value):
        """A value as the practitioner reads it beside the field: "148 µm", "7/10", "3" (GAIS 1-5)."""
        number = formats.localize(value.quantize(Decimal(1).scaleb(-self.measure.decimals)))
        if self.unit.startswith("/"):
            return f"{number}{self.unit}"
        return number if not self.unit or SCALE_UNIT.fullmatch(self.unit) else f"{number} {self.unit}"

    def implausible(self, value, last):
        """Why `value` is most likely a typing slip next to the `last` value recorded in this
        plan (1480 µm after 148 µm), or None: 3 times it or more, a third of it or less; after a
        0, more than half the measure's range away. The practitioner can keep it by ticking."""
        if value is None or last is None:
            return None
        params = {"value": self.value_text(value), "last": self.value_text(last)}
        if last == 0 and value * 2 <= self.measure.maximum - self.measure.minimum:
            return None  # after a 0 no ratio says anything: half the range away is the slip
        if last == 0 or value == 0:
            return (
                gettext(
                    "%(value)s is far from the last value (%(last)s): check it, or tick “The value is right” to keep it."
                )
                % params
            )
        if last < 3 * value and value < 3 * last:
            return None
        params["times"] = formats.localize(_times(value / last if value > last else last / value))
        if value > last:
            return (
                gettext(
                    "%(value)s is %(times)s times the last value (%(last)s): check it, or tick “The value is right” to keep it."
                )
                % params
            )
        return (
            gettext(
                "%(value)s is %(times)s times lower than the last value (%(last)s): check it, or tick “The value is right” to keep it."
            )
            % params
        )


def _times(ratio):
    """A ratio as said: 10, not 10.0; 3.4 to one decimal."""
    rounded = ratio.quantize(Decimal("0.1"))
    return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral_value() else rounded


class CommaDecimalField(forms.DecimalField):
    """A decimal field that takes the decimal comma too (decimal_comma)."""

    def to_python(self, value):
        return super().to_python(decimal_comma(value))


class MeasurementsForm(forms.Form):
    """The protocol's outcome measures (plans.OutcomeMeasure) as quick numeric fields, each with
    its unit and its sensible range checked, plus the practitioner's own measurements: one free
    row, and one for each the draft already has (older charts' "other" measurements, measure
    None), so re-opening and saving a chart keeps them all."""

    def __init__(self, *args, measures, earlier=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.measures = list(measures)
        self.earlier = earlier or {}
        self.implausible = set()  # codes of the measures whose value is far from the last one
        for measure in self.measures:
            self.fields[f"m_{measure.code}"] = MeasureField(measure)
            if measure.code in self.earlier:
                self.fields[f"m_{measure.code}_confirmed"] = forms.BooleanField(
                    label=_("The value is right"), required=False
                )
        initial = self.initial or {}
        self.other_suffixes = [""] + [
            f"_{n}" for n in range(1, 1 + sum(1 for key in initial if key.startswith("other_kind_")))
        ]
        for suffix in self.other_suffixes:
            self.fields[f"other_kind{suffix}"] = forms.CharField(
                label=_("Other measurement"), required=False, max_length=120
            )
            self.fields[f"other_value{suffix}"] = CommaDecimalField(
                label=_("Value"),
                required=False,
                max_digits=7,
                decimal_places=2,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
            self.fields[f"other_unit{suffix}"] = forms.CharField(label=_("Unit"), required=False, max_length=20)

    @property
    def is_baseline(self):
        """Nothing measured at the plan's earlier sessions: what is typed here is the baseline."""
        return bool(self.measures) and not self.earlier

    def rows(self):
        """(measure, its bound field, Earlier or None, its "The value is right" tick or None) in
        the protocol's order. The tick is shown only once a value far from the last was typed."""
        return [
            (
                measure,
                self[f"m_{measure.code}"],
                self.earlier.get(measure.code),
                self[f"m_{measure.code}_confirmed"] if measure.code in self.implausible else None,
            )
            for measure in self.measures
        ]

    def other_rows(self):
        return [
            (self[f"other_kind{suffix}"], self[f"other_value{suffix}"], self[f"other_unit{suffix}"])
            for suffix in self.other_suffixes
        ]

    def clean(self):
        data = super().clean()
        for suffix in self.other_suffixes:
            if data.get(f"other_value{suffix}") is not None and not data.get(f"other_kind{suffix}"):
                self.add_error(f"other_kind{suffix}", gettext("Say what was measured."))
        self.check_plausible(data)
        return data

    def check_plausible(self, data):
        """A value 3 times the last one of this plan, or a third of it, is refused once (a
        slipped digit: 1480 µm after 148 µm is in the range, and would read +825%); ticking "The
        value is right" keeps it. The tick stays shown while the value is far, ticked or not."""
        for measure in self.measures:
            name = f"m_{measure.code}"
            earlier = self.earlier.get(measure.code)
            if earlier is None or data.get(name) is None:
                continue
            problem = self.fields[name].implausible(data[name], earlier.previous)
            if problem is None:
                continue
            self.implausible.add(measure.code)
            self.fields[f"{name}_confirmed"].help_text = problem  # why the tick is there, once ticked
            if not data.get(f"{name}_confirmed"):
                self.add_error(name, ValidationError(problem, code="implausible"))

    def measurements(self):
        """[(measure or None, what was measured, value, unit)]: the measures filled in, then the
        practitioner's own."""
        data = self.cleaned_data
        found = [
            (measure, measure.label, data[f"m_{measure.code}"], measure.unit)
            for measure in self.measures
            if data.get(f"m_{measure.code}") is not None
        ]
        for suffix in self.other_suffixes:
            if data.get(f"other_kind{suffix}") and data.get(f"other_value{suffix}") is not None:
                found.append(
                    (None, data[f"other_kind{suffix}"], data[f"other_value{suffix}"], data[f"other_unit{suffix}"])
                )
        return found


class ChartForms:
    """The chart page's forms (the chart, its areas, lots, adverse events and measurements),
    bound, checked and read as one."""

    VALUE_FIELDS = ("technique", "depth_mm", "needle_gauge", "anaesthetic", "duration_minutes", "notes")

    def __init__(self, data, *, session, initial, area_terms, event_types, measures, session_day, earlier=None):
        self.session = session
        self.initial_map = initial.mapped
        self.area_terms = {term.code: term for term in area_terms}
        self.chart = ChartForm(data, initial=initial.chart, session=session)
        self.areas = AreaLineFormSet(
            data,
            initial=initial.areas,
            prefix="areas",
            form_kwargs={"area_choices": [(term.code, localized(term, "label")) for term in area_terms]},
        )
        self.products = ProductLineFormSet(data, initial=initial.products, prefix="products")
        self.events = AdverseEventsForm(data, initial=initial.events, types=event_types, session_day=session_day)
        self.measurements = MeasurementsForm(data, initial=initial.measurements, measures=measures, earlier=earlier)

    @classmethod
    def for_session(cls, session, data=None, *, existing=None):
        """The chart page's forms for `session`, starting from its draft chart if it has one."""
        return cls(
            data,
            session=session,
            initial=chart_initial(session, existing),
            area_terms=list(Term.objects.filter(kind="area").order_by("label")),
            event_types=list(AdverseEventType.objects.all()),
            measures=chart_measures(session.plan),
            session_day=charting.session_day(session),
            earlier=earlier_measurements(session),
        )

    @property
    def all(self):
        return (self.chart, self.areas, self.products, self.events, self.measurements)

    def is_valid(self):
        """Every form valid; with a map that has points, the area and product rows are not
        read (the map gives the chart's areas and products), so they are not checked either."""
        forms = self.all[3:] if self.mapped().points else self.all[1:]
        return all([self.chart.is_valid(), *(form.is_valid() for form in forms)])

    def mapped(self):
        """The map as posted and read, even when another field of the chart is wrong (an empty
        one when there is none, or it was refused)."""
        form = self.chart
        if not form.is_bound:
            return EMPTY_MAP
        form.is_valid()  # cleans the form (once); its cleaned map stands whatever else is wrong
        return form.cleaned_data.get("map") or EMPTY_MAP

    def values(self):
        """The technique, depth and the rest as they stand: cleaned once valid, else as shown."""
        form = self.chart
        return form.cleaned_data if form.is_bound and hasattr(form, "cleaned_data") else form.initial

    def chart_record(self):
        """What `charting.chart_save` takes, from the valid forms (with a map that has points,
        the areas and products come from the map)."""
        rows = not self.mapped().points
        return {
            "values": {name: self.chart.cleaned_data[name] for name in self.VALUE_FIELDS},
            "areas": [
                (self.area_terms[row["area"]], row["volume_ml"])
                for row in (self.areas.cleaned_data if rows else [])
                if row.get("area") and row.get("volume_ml") is not None
            ],
            "products": [
                ProductLine(
                    lot_number=row["lot_number"],
                    volume_ml=row["volume_ml"],
                    product=row.get("product"),
                    expires_on=row.get("expires_on"),
                )
                for row in (self.products.cleaned_data if rows else [])
                if row.get("lot_number")
            ],
            "events": self.events.events(),
            "measurements": self.measurements.measurements(),
            "map_input": self.mapped(),
        }

    @staticmethod
    def _row_values(form):
        """A row's values as they stand: what validated of what was posted, else its initial."""
        if form.is_bound:
            return getattr(form, "cleaned_data", {}) or {}
        return form.initial or {}

    def warnings(self):
        """The chart's warnings for what the page shows (typed, or the draft's): more volume
        injected than the lots supply, a product that does not fit the indication. With a map,
        its flags say it instead (map_page): the rows are not read."""
        if self.shown_map().points:
            return []
        areas = [self._row_values(form).get("volume_ml") for form in self.areas]
        rows = [self._row_values(form) for form in self.products]
        numbers = {str(row["lot_number"]).strip().upper() for row in rows if row.get("lot_number")}
        known = {}
        if numbers:
            for lot in (
                Lot.objects.filter(lot_number__in=numbers)
                .select_related("product")
                .prefetch_related("product__ingredients")
            ):
                known.setdefault(lot.lot_number, []).append(lot.product)
        chosen = {
            product.pk: product
            for product in Product.objects.filter(
                pk__in=[getattr(r.get("product"), "pk", r.get("product")) for r in rows if r.get("product")]
            ).prefetch_related("ingredients")
        }
        lines = []
        for row in rows:
            number = str(row.get("lot_number") or "").strip().upper()
            product = row.get("product")
            product = chosen.get(getattr(product, "pk", product)) if product else None
            if number and product is None and len(known.get(number, [])) == 1:
                product = known[number][0]
            lines.append((product if number else None, row.get("volume_ml") if number else None))
        return charting.chart_warnings(self.session, [v for v in areas if v is not None], lines)

    def save(self, by, *, sign=False):
        """The saved (and, when asked, signed) chart, or None with the service's refusal shown
        on the chart form. A chart signed meanwhile raises ChartLockedError (the page leaves)."""
        save = charting.chart_save_and_sign if sign else charting.chart_save
        try:
            saved = save(session=self.session, by=by, **self.chart_record())
        except ValidationError as error:
            add_form_errors(self.chart, error)
            return None
        return saved

    def shown_map(self):
        """The map whose totals and flags the page shows: as posted and read (empty when it was
        refused: its problems are shown instead), else the draft's as the page opens."""
        return self.mapped() if self.chart.is_bound else self.initial_map

    def context(self) -> dict:
        return {
            "form": self.chart,
            "areas": self.areas,
            "products": self.products,
            "events": self.events,
            "measurements": self.measurements,
            "baseline_session": self.measurements.is_baseline,
            "flags": chart_flags(self.session, self.values()),
            "warnings": self.warnings(),
            **map_page(self.session, self.shown_map(), problems=self.chart.map_problems, area_terms=self.area_terms),
        }


class RecheckSubmission:
    """The day-of re-check as the practitioner submits it: today's answers, the engine's
    findings for them, and the decisions on what the screening had not decided. Unsaved
    ("check") posts show the findings; a save binds the decisions and records it."""

    def __init__(self, session, screening, data=None, *, kb):
        self.session, self.screening, self.kb = session, screening, kb
        self.data = data
        self.saving = data is not None and data.get("action") == "save"
        self.form = RecheckForm(data, kb=kb, holds=recheck.hold_items(screening, kb))
        self.evaluation = self.decision_form = None

    def is_valid(self) -> bool:
        if self.data is None or not self.form.is_valid():
            return False
        try:
            self.evaluation = recheck.evaluate(self.session, self.screening, self.form.recheck_answers(), self.kb)
        except engine.InvalidAnswers as error:
            self.form.add_error(None, str(error))
            return False
        self.decision_form = DecisionForm.for_findings(
            self.data,
            self.evaluation.pending,
            kb=self.kb,
            planned_areas=self.evaluation.answers.areas,
            bound=self.saving,
        )
        return self.saving and self.decision_form.is_valid()

    def save(self, by):
        """The recorded re-check, or None with the service's refusal shown on the form."""
        try:
            return recheck.recheck_record(
                session=self.session,
                by=by,
                evaluation=self.evaluation,
                screening=self.screening,
                decisions=self.decision_form.decisions(),
                notes=self.form.cleaned_data["notes"],
            )
        except ValidationError as error:
            add_form_errors(self.form, error)
            return None

    def still_to_answer(self):
        """(question, problem) for each answer the engine still needs: a question not yet
        answered has no problem to show, an answer it cannot take says why."""
        if self.data is None or not self.form.is_bound:
            return []
        rows = []
        for name, errors in self.form.errors.as_data().items():
            label = self.form.fields[name].label if name in self.form.fields else ""
            problem = " ".join(m for e in errors if e.code != "required" for m in e.messages)
            rows.append((label, problem))
        return rows

    def context(self) -> dict:
        evaluation = self.evaluation
        return {
            "still_to_answer": self.still_to_answer() if evaluation is None else [],
            "screening": self.screening,
            "form": self.form,
            "result": evaluation.result.as_json() if evaluation else None,
            "pending": {finding.key for finding in evaluation.pending} if evaluation else set(),
            "decision_form": self.decision_form,
            "documents": self.kb.documents,
        }
