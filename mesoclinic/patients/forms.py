import datetime
import re

from django import forms
from django.utils import timezone

from .models import Patient

PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")


def normalise_phone(value, field_label="Phone"):
    value = (value or "").strip()
    if not value:
        return ""
    if not PHONE_CHARS.match(value):
        raise forms.ValidationError(f"{field_label} may contain digits, spaces, + ( ) - only.")
    digits = re.sub(r"\D", "", value)
    if not 6 <= len(digits) <= 15:
        raise forms.ValidationError(f"{field_label} should have 6 to 15 digits; this has {len(digits)}.")
    return ("+" if value.startswith("+") else "") + digits


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
        error_messages = {
            "given_name": {"required": "Enter the patient's given name."},
            "family_name": {"required": "Enter the patient's family name."},
            "date_of_birth": {
                "required": "Enter the date of birth.",
                "invalid": "Enter a valid date, e.g. 1988-03-14.",
            },
        }

    def __init__(self, *args, include_notes=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not include_notes:
            del self.fields["notes"]
        self.fields["date_of_birth"].input_formats = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]

    def clean_given_name(self):
        return self._clean_name("given_name", "given name")

    def clean_family_name(self):
        return self._clean_name("family_name", "family name")

    def _clean_name(self, field, label):
        value = " ".join(self.cleaned_data.get(field, "").split())
        if not value:
            raise forms.ValidationError(f"Enter the patient's {label}.")
        return value

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("The date of birth cannot be in the future.")
        if born < today - datetime.timedelta(days=365 * 125):
            raise forms.ValidationError("That date of birth is more than 125 years ago; check the year.")
        return born

    def clean_phone(self):
        return normalise_phone(self.cleaned_data.get("phone"))

    def clean_emergency_contact_phone(self):
        return normalise_phone(self.cleaned_data.get("emergency_contact_phone"), "Emergency contact phone")


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search patients",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, date of birth or phone", "autocomplete": "off"}
        ),
    )
    archived = forms.BooleanField(required=False, label="Include archived records")


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
        label="Why is this record archived?",
        max_length=200,
        help_text="For example: created by mistake, a test record, the patient asked us to stop.",
        error_messages={"required": "Say why this record is archived."},
    )
