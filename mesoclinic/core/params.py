"""What a URL's query string may say, read one way everywhere.

A query string is typed by anyone: a bookmark from years ago, a mistyped year, a scanner that
sent garbage, a probe with NUL bytes or 5,000 digits. Every view reads its GET parameters with
these helpers. A missing or empty parameter is its default; a value the view cannot use is
refused with a 400 page (templates/400.html, through `core.errors.bad_request`, the project's
handler400) that says which parameter and why, never a 500 from deep inside a query or a date calculation.

- `day(request, "date")`: a clinic day, ISO (2026-12-01), within `clinic_day_range()`
  (`day_from` for a day in the path); `time_of_day`: 10:30;
- `positive_int` / `pk`: a whole number from 1 to a bound (a primary key: the database's bigint);
- `text`: stripped, at most `max_length` characters, no NUL or other control characters;
- `choice`: one of a fixed set of values.

Forms use the same bounds: `ClinicDateField` and `ClinicDateTimeField` refuse a day outside the
clinic's range with a form error that names the range, and `small_int` reads the numbers hidden
in field names (`session_3`) without ever converting 5,000 digits.
"""

import datetime
import re

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.utils.translation import gettext as _

FIRST_DAY = datetime.date(1900, 1, 1)
YEARS_AHEAD = 5
MAX_PK = 2**63 - 1  # BigAutoField
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab, newline and carriage return are text


class BadParameter(BadRequest):
    """A query parameter the view cannot use: Django answers 400 with templates/400.html."""


def clinic_day_range(today=None):
    """(first, last): the days any clinic date may fall on. 1900 reaches the oldest date of
    birth; five years ahead is past any booking, follow-up or product expiry. Beyond both
    lie typing mistakes (2206 for 2026), and datetime arithmetic that overflows."""
    if today is None:
        from .selectors import clinic_today

        today = clinic_today()
    try:
        last = today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        last = today.replace(year=today.year + YEARS_AHEAD, day=28)
    return FIRST_DAY, last


def out_of_range(value, today=None):
    """The reason `value` (a date) is outside the clinic's range, or ""."""
    first, last = clinic_day_range(today)
    if first <= value <= last:
        return ""
    return _("Enter a date between %(first)s and %(last)s; %(value)s is outside (check the year).") % {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "value": value.isoformat(),
    }


class TextProblem(ValueError):
    """Why a text was refused; `why` is the reason alone ("is longer than 100 characters")."""

    def __init__(self, what, why):
        super().__init__(f"{what} {why}")
        self.why = why


def clean_text(value, *, max_length, what="the text"):
    """`value` stripped; ValueError when it is longer than `max_length` or holds control
    characters (NUL cannot even be stored in a PostgreSQL text column)."""
    value = value.strip()
    if len(value) > max_length:
        raise TextProblem(what, _("is longer than %(max)s characters") % {"max": max_length})
    if CONTROL.search(value):
        raise TextProblem(what, _("holds control characters"))
    return value


def small_int(value, high):
    """`value` as a whole number from 0 to `high`, or None: never int() of 5,000 digits, and
    not '²' either (str.isdigit() says yes, int() says no)."""
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if number <= high else None


# --- Query parameters ------------------------------------------------------------------------


def _raw(request, name):
    return request.GET.get(name, "").strip()


def _refuse(name, why):
    # Translators: %(name)s is a parameter of the address (“date”); %(why)s says what is wrong.
    raise BadParameter(_("“%(name)s” in the page address %(why)s.") % {"name": name, "why": why})


def day(request, name, default=None, *, today=None):
    """A clinic day from `?name=2026-12-01`, or `default` when it is missing or empty."""
    return day_from(_raw(request, name), name, default, today=today)


def day_from(value, name, default=None, *, today=None):
    """The same for a day in the URL's path (`/calendar/room/2/2026-12-01/`)."""
    if not value:
        return default
    if len(value) > 10 or not value.isascii():
        _refuse(name, _("is not a date such as 2026-12-01"))
    try:
        parsed = datetime.date.fromisoformat(value)
    except ValueError:
        _refuse(name, _("is not a date such as 2026-12-01"))
    first, last = clinic_day_range(today)
    if not first <= parsed <= last:
        _refuse(
            name,
            _("must be a day between %(first)s and %(last)s") % {"first": first.isoformat(), "last": last.isoformat()},
        )
    return parsed


def time_of_day(request, name, default=None):
    """A wall-clock time from `?name=10:30`, or `default` when it is missing or empty."""
    value = _raw(request, name)
    if not value:
        return default
    if not re.fullmatch(r"[0-9]{1,2}:[0-9]{2}", value):
        _refuse(name, _("is not a time such as 10:30"))
    hours, minutes = (int(part) for part in value.split(":"))
    if hours > 23 or minutes > 59:
        _refuse(name, _("is not a time such as 10:30"))
    return datetime.time(hours, minutes)


def positive_int(request, name, default=None, *, high=10**6):
    """A whole number from 1 to `high`, or `default` when it is missing or empty."""
    value = _raw(request, name)
    if not value:
        return default
    number = small_int(value, high)
    if number is None or number < 1:
        _refuse(name, _("must be a whole number from 1 to %(high)s") % {"high": high})
    return number


def pk(request, name, default=None):
    """A record's id: a whole number the database can hold. Whether the record exists, and
    whether this user may see it, is the view's business (a 404)."""
    return positive_int(request, name, default, high=MAX_PK)


def page(request, name="page"):
    """A page number for Paginator.get_page (which turns one past the end into the last)."""
    return positive_int(request, name, 1, high=10**6)


def text(request, name, default="", *, max_length=100):
    """Typed text: stripped, at most `max_length` characters, without control characters."""
    value = request.GET.get(name, "")
    try:
        value = clean_text(value, max_length=max_length, what="it")
    except TextProblem as error:
        _refuse(name, error.why)
    return value or default


def choice(request, name, choices, default=""):
    """One of `choices` (values), or `default` when the parameter is missing or empty."""
    value = _raw(request, name)
    if not value:
        return default
    if value not in choices:
        _refuse(name, _("must be one of: %(choices)s") % {"choices": ", ".join(str(c) for c in choices)})
    return value


# --- Form fields -----------------------------------------------------------------------------


class ClinicDateField(forms.DateField):
    """A date within `clinic_day_range()`; the error says the range."""

    def validate(self, value):
        super().validate(value)
        if value is not None and (reason := out_of_range(value)):
            raise ValidationError(reason, code="out_of_range")


class ClinicDateTimeField(forms.DateTimeField):
    """A date and time whose day is within `clinic_day_range()`; the error says the range."""

    def validate(self, value):
        super().validate(value)
        if value is not None and (reason := out_of_range(value.date())):
            raise ValidationError(reason, code="out_of_range")
