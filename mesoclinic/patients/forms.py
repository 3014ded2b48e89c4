import datetime
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import phones
from .models import ContactBy, Patient

PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")


def normalise_phone(value, field_label=None):
    """A phone number as typed ("0532 123 45 67") -> E.164 ("+905321234567"), or an error to
    show beside the field."""
    value = (value or "").strip()
    if not value:
        return ""
    field_label = field_label or _("Phone")
    if not PHONE_CHARS.match(value):
        raise forms.ValidationError(_("%(field)s may contain digits, spaces, + ( ) - only.") % {"field": field_label})
    digits = re.sub(r"\D", "", value)
    if not 6 <= len(digits) <= 15:
        raise forms.ValidationError(
            _("%(field)s should have 6 to 15 digits; this has %(digits)s.")
            % {"field": field_label, "digits": len(digits)}
        )
    try:
        return phones.to_e164(value)
    except phones.PhoneNumberError:
        raise forms.ValidationError(
            _("%(field)s is not a phone number we can read; type it with its country code, e.g. +44 7700 900123.")
            % {"field": field_label}
        ) from None


class PatientForm(forms.ModelForm):
    """Identity and contact details. Practitioners also see the clinical notes."""

    class Meta:
        model = Patient
        fields = [
            "given_name",
            "family_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "contact_by",
            "address",
            "preferred_language",
            "emergency_contact_name",
            "emergency_contact_phone",
            "notes",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }
        # The model's field names are the database's; what the form says is here, translated.
        labels = {
            "given_name": gettext_lazy("Given name"),
            "family_name": gettext_lazy("Family name"),
            "date_of_birth": gettext_lazy("Date of birth"),
            "sex": gettext_lazy("Sex"),
            "phone": gettext_lazy("Phone"),
            "email": gettext_lazy("Email"),
            "address": gettext_lazy("Address"),
            "preferred_language": gettext_lazy("Preferred language"),
            "emergency_contact_name": gettext_lazy("Emergency contact"),
            "emergency_contact_phone": gettext_lazy("Emergency contact phone"),
            "notes": gettext_lazy("Clinical notes"),
        }
        help_texts = {
            "phone": gettext_lazy("Any format, e.g. 0532 123 45 67 or +44 7700 900123."),
            "preferred_language": gettext_lazy("Aftercare sheets and emails are written in this language."),
        }
        error_messages = {
            "given_name": {"required": gettext_lazy("Enter the patient's given name.")},
            "family_name": {"required": gettext_lazy("Enter the patient's family name.")},
            "date_of_birth": {
                "required": gettext_lazy("Enter the date of birth."),
                "invalid": gettext_lazy("Enter a valid date, e.g. 1988-03-14."),
            },
        }

    def __init__(self, *args, include_notes=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not include_notes:
            del self.fields["notes"]
        self.fields["date_of_birth"].input_formats = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]
        # Not chosen, the record picks it when saved (Patient.clean_contact_by): email where there
        # is an address, else a text message. Said in words, not "---------".
        self.fields["contact_by"].choices = [
            ("", _("Email where there is an address, else text message")),
            *ContactBy.choices,
        ]
        if not self.is_bound and self.instance.pk:
            # The stored E.164 number, shown as people read it.
            self.initial["phone"] = phones.formatted(self.instance.phone)
            self.initial["emergency_contact_phone"] = phones.formatted(self.instance.emergency_contact_phone)

    def clean_given_name(self):
        return self._clean_name("given_name", _("Enter the patient's given name."))

    def clean_family_name(self):
        return self._clean_name("family_name", _("Enter the patient's family name."))

    def _clean_name(self, field, missing):
        value = " ".join(self.cleaned_data.get(field, "").split())
        if not value:
            raise forms.ValidationError(missing)
        return value

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if born < today - datetime.timedelta(days=365 * 125):
            raise forms.ValidationError(_("That date of birth is more than 125 years ago; check the year."))
        return born

    def clean_phone(self):
        return normalise_phone(self.cleaned_data.get("phone"))

    def clean_emergency_contact_phone(self):
        return normalise_phone(self.cleaned_data.get("emergency_contact_phone"), _("Emergency contact phone"))


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Search patients"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Name, date of birth or phone"), "autocomplete": "off"}
        ),
    )
    archived = forms.BooleanField(required=False, label=gettext_lazy("Include archived records"))


class SeenMatchesForm(forms.Form):
    """The records the person adding a patient was shown as possible matches and chose to
    pass over ("create anyway"): the ids, comma-separated, as the button sends them."""

    seen = forms.CharField(required=False, max_length=400)

    def clean_seen(self):
        ids = set()
        for part in self.cleaned_data["seen"].split(","):
            part = part.strip()
            if re.fullmatch(r"[0-9]{1,12}", part):
                ids.add(int(part))
        return ids


class ArchiveForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is this record archived?"),
        max_length=200,
        help_text=gettext_lazy("For example: created by mistake, a test record, the patient asked us to stop."),
        error_messages={"required": gettext_lazy("Say why this record is archived.")},
    )
