"""Forms for the clinic setup pages: the clinic, its hours, closures, rooms and staff rotas."""

import datetime
import re
import zoneinfo
from collections import defaultdict
from itertools import groupby

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.forms import BaseInlineFormSet, BaseModelFormSet, inlineformset_factory, modelformset_factory
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .models import Absence, Clinic, Closure, OpeningHours, Room, User, Weekday, WorkingHours
from .params import ClinicDateField

PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+$")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%H.%M"]
DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"]
TIMEZONE_WARNING = _(
    "Existing appointments keep their moment in time, so their wall-clock time may shift; "
    "future series are planned in the new zone."
)


def add_form_errors(form, error, field=None):
    """A service's ValidationError on the form: next to the fields it names, the rest on
    `field` (when the error is about one field, as a refused move is about the new time) or
    above the form."""
    if hasattr(error, "error_dict"):
        for name, problems in error.message_dict.items():
            form.add_error(name if name in form.fields else field, problems)
    else:
        form.add_error(field, error.messages)


def timezone_choices():
    """Every zone the server knows, sorted, grouped by region (Europe, America, ...)."""
    names = sorted(zoneinfo.available_timezones())
    regions = groupby(names, key=lambda name: name.split("/", 1)[0] if "/" in name else "Other")
    grouped = defaultdict(list)
    for region, zones in regions:
        grouped[region].extend((zone, zone) for zone in zones)
    # Zone names are IANA identifiers, the same in every language; "Other" is ours.
    return [(gettext("Other") if region == "Other" else region, grouped[region]) for region in sorted(grouped)]


def _hhmm(value: datetime.time) -> str:
    return value.strftime("%H:%M")


# --- The clinic ------------------------------------------------------------------------------


class ClinicForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Appointments are planned in this zone's wall-clock time."),
        error_messages={
            "required": _("Choose the clinic's time zone."),
            "invalid_choice": _("“%(value)s” is not a time zone we know; choose one from the list."),
        },
    )
    confirm_timezone = forms.BooleanField(required=False, label=_("Yes, change the time zone"))

    class Meta:
        model = Clinic
        fields = [
            "name",
            "phone",
            "email",
            "address",
            "timezone",
            "staff_language",
            "consent_requires_signature",
            "consent_regulatory_notice",
            "consent_regulatory_notice_tr",
        ]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "consent_regulatory_notice": forms.Textarea(attrs={"rows": 6}),
            "consent_regulatory_notice_tr": forms.Textarea(attrs={"rows": 6, "lang": "tr"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }
        labels = {
            "name": _("Name"),
            "phone": _("Phone"),
            "email": _("Email"),
            "address": _("Address"),
            "staff_language": _("Language of the staff app"),
        }
        help_texts = {
            "phone": _("Printed on aftercare sheets: whom to call."),
            "staff_language": _(
                "For practitioners and clinic admins who have not chosen a language on their profile. "
                "Patients read their own language."
            ),
        }
        error_messages = {
            "name": {"required": _("Enter the clinic's name.")},
            "phone": {"required": _("Enter the phone number patients should call.")},
            "staff_language": {"invalid_choice": _("Choose English or Turkish.")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()
        # Left out of a post (an older form, a script), the language stays as it was.
        self.fields["staff_language"].required = False

    @property
    def timezone_changing(self) -> bool:
        """A different zone was chosen than the one saved: the page asks to confirm it."""
        if not self.is_bound or "timezone" not in self.changed_data:
            return False
        return self.data.get(self.add_prefix("timezone")) in zoneinfo.available_timezones()

    def clean_name(self):
        name = " ".join(self.cleaned_data.get("name", "").split())
        if not name:
            raise forms.ValidationError(gettext("Enter the clinic's name."))
        return name

    def clean_staff_language(self):
        return self.cleaned_data.get("staff_language") or self.instance.staff_language or settings.LANGUAGE_CODE

    def clean_phone(self):
        phone = " ".join(self.cleaned_data.get("phone", "").split())
        if not phone:
            raise forms.ValidationError(gettext("Enter the phone number patients should call."))
        if not PHONE_CHARS.match(phone):
            raise forms.ValidationError(gettext("The phone number may contain digits, spaces, + ( ) - only."))
        digits = len(re.sub(r"\D", "", phone))
        if not 6 <= digits <= 15:
            raise forms.ValidationError(
                gettext("A phone number has 6 to 15 digits; this has %(digits)s.") % {"digits": digits}
            )
        return phone

    def clean(self):
        cleaned = super().clean()
        if self.timezone_changing and not cleaned.get("confirm_timezone"):
            self.add_error(
                "confirm_timezone",
                gettext("Tick to confirm the move to %(zone)s.") % {"zone": cleaned.get("timezone")},
            )
        return cleaned


# --- Weekly hours: the clinic's opening hours and each practitioner's working hours ----------


class TimeRangeForm(forms.ModelForm):
    class Meta:
        fields = ("weekday", "starts", "ends")  # a tuple: inline formsets append to a list
        widgets = {"starts": TIME_INPUT, "ends": TIME_INPUT}
        labels = {
            "weekday": _("Day"),
            "starts": pgettext_lazy("start of a time range", "From"),
            "ends": pgettext_lazy("end of a time range", "Until"),
        }
        error_messages = {
            "weekday": {"required": _("Choose the day.")},
            "starts": {"required": _("Enter the start time."), "invalid": _("Enter a time such as 09:00.")},
            "ends": {"required": _("Enter the end time."), "invalid": _("Enter a time such as 18:30.")},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts"].input_formats = TIME_FORMATS
        self.fields["ends"].input_formats = TIME_FORMATS
        self.fields["weekday"].choices = [("", gettext("Choose a day")), *Weekday.choices]


class OpeningHoursForm(TimeRangeForm):
    class Meta(TimeRangeForm.Meta):
        model = OpeningHours


class WorkingHoursForm(TimeRangeForm):
    class Meta(TimeRangeForm.Meta):
        model = WorkingHours


class RemoveLabelMixin:
    """The delete tick-box reads "Remove": it removes a row, never anything it refers to."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = gettext("Remove")


class NoOverlapMixin:
    """Formset check: two ranges on the same weekday may touch (13:00 | 13:00) but not overlap."""

    def clean(self):
        super().clean()
        by_day = defaultdict(list)
        for form in self.forms:
            if not form.has_changed() and not form.instance.pk:
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            data = getattr(form, "cleaned_data", {})
            if (
                all(data.get(key) is not None for key in ("weekday", "starts", "ends"))
                and data["ends"] > data["starts"]
            ):
                by_day[data["weekday"]].append((data["starts"], data["ends"], form))
        problems = []
        for weekday in sorted(by_day):
            ranges = sorted(by_day[weekday], key=lambda item: (item[0], item[1]))
            reach = ranges[0]  # of the ranges so far, the one that ends last
            for later_starts, later_ends, later_form in ranges[1:]:
                starts, ends, _ = reach
                if later_starts < ends:
                    day = Weekday(weekday).label
                    earlier = f"{_hhmm(starts)}–{_hhmm(ends)}"
                    later = f"{_hhmm(later_starts)}–{_hhmm(later_ends)}"
                    later_form.add_error(
                        "starts", gettext("Overlaps %(day)s %(earlier)s.") % {"day": day, "earlier": earlier}
                    )
                    problems.append(
                        gettext("%(day)s: %(earlier)s and %(later)s overlap.")
                        % {"day": day, "earlier": earlier, "later": later}
                    )
                if later_ends > ends:
                    reach = (later_starts, later_ends, later_form)
        if problems:
            raise forms.ValidationError(problems)


class BaseOpeningHoursFormSet(RemoveLabelMixin, NoOverlapMixin, BaseModelFormSet):
    pass


class BaseWorkingHoursFormSet(RemoveLabelMixin, NoOverlapMixin, BaseInlineFormSet):
    pass


class SavedOnceMixin:
    """A new row the same as one already saved (same days, same reason, same practitioner) is not
    saved again: a second click on Save, or on the confirm step of closing days with sessions on
    them, finds the first click's row and keeps it. The save runs with the clinic locked
    (treatment_sessions.scheduling.closures), so the second click sees what the first committed."""

    def save_new(self, form, commit=True):
        same = {field: form.cleaned_data.get(field) for field in ("starts_on", "ends_on", "reason")}
        if getattr(self, "fk", None) is not None:
            same[self.fk.name] = self.instance
        existing = form._meta.model.objects.filter(**same).first()
        if existing is not None:
            form.instance = existing
            return existing
        return super().save_new(form, commit=commit)


class BaseClosureFormSet(RemoveLabelMixin, SavedOnceMixin, BaseModelFormSet):
    pass


class BaseAbsenceFormSet(RemoveLabelMixin, SavedOnceMixin, BaseInlineFormSet):
    pass


def _week_initial(has_rows: bool) -> tuple[int, list]:
    """An empty week gets a row per weekday to fill in; otherwise a few spare rows."""
    if has_rows:
        return 3, []
    return 7, [{"weekday": day} for day in Weekday.values]


def opening_hours_formset(data=None):
    queryset = OpeningHours.objects.order_by("weekday", "starts")
    extra, initial = _week_initial(queryset.exists())
    formset_class = modelformset_factory(
        OpeningHours, form=OpeningHoursForm, formset=BaseOpeningHoursFormSet, extra=extra, can_delete=True
    )
    return formset_class(data, queryset=queryset, initial=initial, prefix="hours")


def working_hours_formset(*, practitioner: User, data=None):
    queryset = WorkingHours.objects.filter(practitioner=practitioner).order_by("weekday", "starts")
    extra, initial = _week_initial(queryset.exists())
    formset_class = inlineformset_factory(
        User,
        WorkingHours,
        form=WorkingHoursForm,
        formset=BaseWorkingHoursFormSet,
        fk_name="practitioner",
        extra=extra,
        can_delete=True,
    )
    return formset_class(data, instance=practitioner, queryset=queryset, initial=initial, prefix="hours")


def hours_outside_opening(ranges, opening) -> list[str]:
    """Which of `ranges` fall (partly) outside `opening`; both are (weekday, starts, ends).

    A soft check: a practitioner may well do paperwork before the doors open.
    """
    open_by_day = defaultdict(list)
    for weekday, starts, ends in opening:
        open_by_day[weekday].append((starts, ends))
    outside = []
    for weekday, starts, ends in sorted(ranges):
        covered_until = starts
        for open_starts, open_ends in sorted(open_by_day[weekday]):
            if open_starts <= covered_until < open_ends:
                covered_until = open_ends
        if covered_until < ends:
            day = Weekday(weekday).label
            if not open_by_day[weekday]:
                # Translators: %(day)ss is the weekday in the plural, "closed on Tuesdays".
                outside.append(
                    gettext("%(day)s %(starts)s–%(ends)s: the clinic is closed on %(day)ss.")
                    % {"day": day, "starts": _hhmm(starts), "ends": _hhmm(ends)}
                )
            else:
                hours = ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in sorted(open_by_day[weekday]))
                outside.append(
                    gettext("%(day)s %(starts)s–%(ends)s: the clinic is open %(hours)s.")
                    % {"day": day, "starts": _hhmm(starts), "ends": _hhmm(ends), "hours": hours}
                )
    return outside


# --- Date ranges: closures and absences -------------------------------------------------------


class DateRangeForm(forms.ModelForm):
    class Meta:
        fields = ("starts_on", "ends_on", "reason")
        widgets = {"starts_on": DATE_INPUT, "ends_on": DATE_INPUT}
        labels = {"starts_on": _("First day"), "ends_on": _("Last day"), "reason": _("Reason")}
        help_texts = {"ends_on": ""}
        field_classes = {"starts_on": ClinicDateField, "ends_on": ClinicDateField}
        error_messages = {
            "starts_on": {"required": _("Enter the first day."), "invalid": _("Enter a date such as 2025-12-31.")},
            "ends_on": {"required": _("Enter the last day."), "invalid": _("Enter a date such as 2025-12-31.")},
        }

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["starts_on"].input_formats = DATE_FORMATS
        self.fields["ends_on"].input_formats = DATE_FORMATS
        self.fields["ends_on"].required = False  # a single day needs only its first day

    def clean_reason(self):
        return " ".join(self.cleaned_data.get("reason", "").split())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("starts_on") and cleaned.get("ends_on") is None and "ends_on" not in self.errors:
            cleaned["ends_on"] = cleaned["starts_on"]
        ends_on = cleaned.get("ends_on")
        if ends_on and ends_on < self.today and self.has_changed():
            self.add_error("ends_on", gettext("This day is already past; check the year."))
        return cleaned


class ClosureForm(DateRangeForm):
    class Meta(DateRangeForm.Meta):
        model = Closure


class AbsenceForm(DateRangeForm):
    class Meta(DateRangeForm.Meta):
        model = Absence


def closures_formset(*, today: datetime.date, data=None):
    """Closures that are not over yet; past ones are history and shown apart."""
    formset_class = modelformset_factory(
        Closure, form=ClosureForm, formset=BaseClosureFormSet, extra=2, can_delete=True
    )
    queryset = Closure.objects.filter(ends_on__gte=today).order_by("starts_on")
    return formset_class(data, queryset=queryset, prefix="closures", form_kwargs={"today": today})


def absences_formset(*, practitioner: User, today: datetime.date, data=None):
    formset_class = inlineformset_factory(
        User, Absence, form=AbsenceForm, formset=BaseAbsenceFormSet, fk_name="practitioner", extra=2, can_delete=True
    )
    queryset = Absence.objects.filter(practitioner=practitioner, ends_on__gte=today).order_by("starts_on")
    return formset_class(
        data, instance=practitioner, queryset=queryset, prefix="absences", form_kwargs={"today": today}
    )


# --- Rooms ------------------------------------------------------------------------------------


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name", "is_active"]
        labels = {"name": _("Room name"), "is_active": _("In use")}
        error_messages = {"name": {"required": _("Enter the room's name.")}}

    def clean_name(self):
        name = " ".join(self.cleaned_data.get("name", "").split())
        if not name:
            raise forms.ValidationError(gettext("Enter the room's name."))
        taken = Room.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if taken:
            raise forms.ValidationError(gettext("There is already a room called “%(name)s”.") % {"name": taken.name})
        return name


class BaseRoomFormSet(BaseModelFormSet):
    def clean(self):
        super().clean()
        seen = {}
        for form in self.forms:
            name = getattr(form, "cleaned_data", {}).get("name")
            if not name or not form.has_changed():
                continue
            key = name.casefold()
            if key in seen:
                form.add_error("name", gettext("“%(name)s” is entered twice; room names must differ.") % {"name": name})
            else:
                seen[key] = form


def rooms_formset(data=None):
    """Rooms are never deleted (sessions point at them): they are taken out of use instead."""
    formset_class = modelformset_factory(Room, form=RoomForm, formset=BaseRoomFormSet, extra=2, can_delete=False)
    return formset_class(data, queryset=Room.objects.order_by("name"), prefix="rooms")


# --- Signing in -------------------------------------------------------------------------------


class SignInForm(AuthenticationForm):
    """Django's sign-in form sets the username's max_length after the field is made, so the
    length is never checked: a 10,000-character username reached the lockout's records (255
    characters at most) and failed there. A username no account can have is refused here."""

    def clean_username(self):
        username = self.cleaned_data.get("username", "")
        limit = self.fields["username"].max_length or 150
        if len(username) > limit:
            raise forms.ValidationError(
                gettext("A username has at most %(limit)s characters.") % {"limit": limit}, code="max_length"
            )
        return username


class LanguageForm(forms.ModelForm):
    """A staff member's language (English or Turkish); blank follows the clinic."""

    class Meta:
        model = User
        fields = ["language"]
        labels = {"language": _("Language of the app")}
