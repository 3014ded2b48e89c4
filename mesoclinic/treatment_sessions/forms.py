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
