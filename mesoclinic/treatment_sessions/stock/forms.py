"""Forms of the stock: a delivery received, a lot counted."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.params import CONTROL, ClinicDateField
from mesoclinic.plans.models import Product

from .services import MAX_DELIVERY_ML, MAX_UNITS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _plain(value):
    """Typed text without control characters (a scanner may type its GS into a field)."""
    if CONTROL.search(value):
        raise forms.ValidationError(gettext("This holds control characters a scanner sent: type it again."))
    return value.strip()


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} · {obj.unit_ml.normalize():f} ml" if obj.unit_ml else str(obj)


class ReceiveForm(forms.Form):
    """A delivery: which product and lot (typed, or filled from the pack's code), how much, from
    whom. The quantity is counted in vials or ampoules, or given in millilitres."""

    product = ProductChoiceField(queryset=Product.objects.none(), label=_("Product"), empty_label=_("Choose…"))
    lot_number = forms.CharField(
        label=_("Lot number"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    expires_on = ClinicDateField(label=_("Expiry date"), widget=DATE_INPUT)
    units = forms.IntegerField(
        label=_("Vials or ampoules"),
        required=False,
        min_value=1,
        max_value=MAX_UNITS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    quantity_ml = forms.DecimalField(
        label=_("Or millilitres"),
        required=False,
        min_value=0.01,
        max_value=MAX_DELIVERY_ML,
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        help_text=_("Only for a product without a volume per vial in the catalogue, or an opened pack."),
    )
    supplier = forms.CharField(label=_("Supplier"), max_length=120, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by("name", "manufacturer")

    def clean_lot_number(self):
        return _plain(self.cleaned_data["lot_number"]).upper()

    def clean_supplier(self):
        return _plain(self.cleaned_data["supplier"])

    def clean(self):
        data = super().clean()
        nothing = data.get("units") is None and data.get("quantity_ml") is None
        if nothing and not self.has_error("units") and not self.has_error("quantity_ml"):
            self.add_error("units", gettext("Give the number of vials or ampoules received, or the millilitres."))
        return data


class CountForm(forms.Form):
    """What a count of the shelf found, and why it differs."""

    counted_ml = forms.DecimalField(
        label=_("Counted on the shelf (ml)"),
        min_value=0,
        max_value=MAX_DELIVERY_ML,
        max_digits=9,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=_("Why"),
        max_length=300,
        help_text=_("For example: a vial broke, miscounted at delivery, discarded at expiry."),
    )

    def clean_note(self):
        return _plain(self.cleaned_data["note"])
