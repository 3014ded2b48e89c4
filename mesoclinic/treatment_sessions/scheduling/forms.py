"""Forms of scheduling: where a series starts, moving and cancelling sessions."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Room, User
from mesoclinic.core.params import ClinicDateTimeField, small_int

from . import services


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class SeriesStartForm(forms.Form):
    """Where a series starts: the first session's day and time, who and where."""

    start_date = forms.DateField(
        label=_("First session"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    start_time = forms.TimeField(
        label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")
    )
    practitioner = PractitionerChoiceField(
        queryset=User.objects.none(), label=_("Practitioner"), empty_label=_("Choose…")
    )
    room = forms.ModelChoiceField(queryset=Room.objects.none(), label=_("Room"), empty_label=_("Choose…"))

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or datetime.date.today()
        self.fields["practitioner"].queryset = User.objects.practitioners().order_by("last_name")
        self.fields["room"].queryset = Room.objects.filter(is_active=True)

    def clean_start_date(self):
        day = self.cleaned_data["start_date"]
        if day < self.today:
            raise forms.ValidationError(_("The first session cannot be in the past."))
        if day > self.today + datetime.timedelta(days=services.BOOKING_HORIZON_DAYS):
            raise forms.ValidationError(_("That is more than two years ahead; check the year."))
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
    """Where a session goes: a time, which sessions, who and where. After a refused move, the
    page offers a time per session (`time_<session id>`: the one tried, or a free one)."""

    new_start = ClinicDateTimeField(
        label=_("New date and time"),
        input_formats=["%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900}, format="%Y-%m-%dT%H:%M"),
    )
    following = forms.TypedChoiceField(
        label=_("Which sessions"),
        choices=[
            ("no", _("This session only")),
            ("yes", _("This and the following sessions (keep the spacing)")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        initial="no",
    )
    # Not required: left out, the session keeps its practitioner and room.
    practitioner = PractitionerChoiceField(queryset=User.objects.none(), label=_("Practitioner"), required=False)
    room = forms.ModelChoiceField(queryset=Room.objects.none(), label=_("Room"), required=False)
    note = forms.CharField(label=_("Reason (optional)"), required=False, max_length=120)

    def __init__(self, *args, session, **kwargs):
        kwargs.setdefault("initial", {}).update({"practitioner": session.practitioner_id, "room": session.room_id})
        super().__init__(*args, **kwargs)
        self.session = session
        self.fields["practitioner"].queryset = User.objects.practitioners().order_by("last_name")
        self.fields["room"].queryset = Room.objects.filter(is_active=True)

    def clean_new_start(self):
        # DateTimeField makes the value aware in the server's zone; we need the clinic's wall clock.
        value = self.cleaned_data["new_start"]
        return value.replace(tzinfo=None) if value.tzinfo else value

    def clean(self):
        cleaned = super().clean()
        times = {}
        for key, value in self.data.items():
            prefix, _sep, number = key.partition("_")
            if prefix != "time" or (pk := small_int(number, 2**31 - 1)) is None:
                continue
            if not value.strip():  # "the time typed" / "the same shift as the first"
                continue
            when = parse_local(value)
            if when is None:
                raise ValidationError(_("A time offered for a session could not be read: choose it again."))
            times[pk] = when
        # The session itself at the time chosen for it on the proposal, if one was.
        if self.session.pk in times and "new_start" in cleaned:
            cleaned["new_start"] = times.pop(self.session.pk)
        cleaned["times"] = times
        return cleaned

    def move(self, by):
        """Move as the form says: the MoveResult, or None with the reasons on the form and, when
        some session did not fit, `self.steps` for the page to offer free times."""
        self.steps = []
        try:
            return services.session_move(
                session=self.session,
                new_local=self.cleaned_data["new_start"],
                following=self.cleaned_data["following"],
                note=self.cleaned_data["note"],
                practitioner=self.cleaned_data["practitioner"],
                room=self.cleaned_data["room"],
                times=self.cleaned_data["times"],
                by=by,
            )
        except services.MoveConflict as conflict:
            self.steps = conflict.steps
            self.add_error(None, _("Not moved: some sessions do not fit. Choose a time for each below."))
        except ValidationError as error:
            add_form_errors(self, error, field="new_start")
        return None


class CancelForm(forms.Form):
    scope = forms.ChoiceField(
        label=pgettext_lazy("cancel the session", "Cancel"),
        choices=[("one", _("This session only")), ("remaining", _("This and all remaining sessions"))],
        widget=forms.RadioSelect,
        initial="one",
    )
    reason = forms.CharField(label=_("Reason"), max_length=150)
    confirm = forms.BooleanField(
        label=_("Yes, cancel. The session stays in the record as cancelled; this cannot be undone."),
        error_messages={"required": _("Tick the box to confirm the cancellation.")},
    )


MAX_SEQUENCE = 999  # no plan has more sessions


class BookingForm(SeriesStartForm):
    """The booking page: where the series starts, and the time of each session to book
    (`session_<n>` fields the proposal drew, changed or picked from the alternatives)."""

    too_soon_confirmed = forms.BooleanField(required=False)
    EVERY_SESSION = _("Every session needs a date and time.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.problems = []  # why booking refused, shown above the proposal

    @property
    def wants_booking(self):
        return self.data.get("action") == "book"

    def _sequences(self):
        found = []
        for key in self.data:
            prefix, _, number = key.partition("_")
            if prefix == "session" and (sequence := small_int(number, MAX_SEQUENCE)) is not None:
                found.append(sequence)
        return sorted(found)

    def clean(self):
        cleaned = super().clean()
        # Every time typed or picked, not only the first day: far dates are named here, and
        # never reach the proposal's date arithmetic (9999-12-31 plus a week overflows).
        for sequence, when in sorted({**self.session_times(), **self._picked()}.items()):
            if when is not None and (problem := services.horizon_problem(when.date())):
                self.problems.append(
                    gettext("Session %(number)s: %(problem)s") % {"number": sequence, "problem": problem}
                )
        return cleaned

    def _picked(self):
        """{sequence: time} of the alternative picked (`pick=3|2026-12-01T10:00`), if any."""
        sequence, _, value = self.data.get("pick", "").partition("|")
        number, when = small_int(sequence, MAX_SEQUENCE), parse_local(value)
        return {number: when} if number is not None and when else {}

    def session_times(self):
        """{sequence: wall-clock time or None (unreadable)} for every session field sent."""
        return {seq: parse_local(self.data.get(f"session_{seq}", "")) for seq in self._sequences()}

    def chosen(self, targets):
        """The times the admin set by hand: every session field that differs from the plan's
        spacing (`targets`: {sequence: time}), and the alternative they picked. "Propose again"
        starts over from the start fields: the times of the proposal before are not choices."""
        if self.data.get("action") == "propose":
            return {}
        chosen = {
            seq: when for seq, when in self.session_times().items() if when is not None and when != targets.get(seq)
        }
        chosen.update(self._picked())
        # Far times are named in `problems` (clean); the proposal keeps the plan's spacing there.
        return {seq: when for seq, when in chosen.items() if not services.horizon_problem(when.date())}

    def session_starts(self):
        """The times to book, in order; None when a session has none (EVERY_SESSION)."""
        times = list(self.session_times().values())
        if not times or any(when is None for when in times):
            return None
        return times

    def book(self, plan, by):
        """Book the series as the form stands: the series, or None with the reasons in
        `self.problems` (a time missing, a slot taken meanwhile, the plan refused)."""
        if self.problems:  # a time beyond the booking horizon (clean)
            return None
        starts = self.session_starts()
        if starts is None:
            self.problems.append(str(self.EVERY_SESSION))
            return None
        try:
            return services.series_book(
                plan=plan,
                practitioner=self.cleaned_data["practitioner"],
                room=self.cleaned_data["room"],
                local_starts=starts,
                by=by,
                too_soon_confirmed=self.cleaned_data["too_soon_confirmed"],
            )
        except ValidationError as error:
            self.problems += error.messages
            return None

    def proposals(self, plan):
        """The proposed series for the form's start, with the times set by hand kept."""
        chosen = self.chosen(services.remaining_targets(plan, self.first_local))
        return services.series_proposal(
            plan=plan,
            practitioner=self.cleaned_data["practitioner"],
            room=self.cleaned_data["room"],
            first_local=self.first_local,
            chosen=chosen,
        )
