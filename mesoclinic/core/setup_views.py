"""Clinic setup, for the clinic admin: the clinic's details, hours, closures, rooms and rotas."""

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .forms import (
    TIMEZONE_WARNING,
    ClinicForm,
    absences_formset,
    closures_formset,
    hours_outside_opening,
    opening_hours_formset,
    rooms_formset,
    working_hours_formset,
)
from .models import Absence, Clinic, Closure, OpeningHours, Role, Room, User, Weekday, WorkingHours
from .permissions import allow

PAST_CLOSURES_SHOWN = 10


# --- Closing days on which sessions are booked -------------------------------------------------
#
# Sessions live in treatment_sessions, above core, so core cannot look them up. Saving a closure
# or an absence therefore goes through a guard that app registers in its AppConfig.ready
# (treatment_sessions/scheduling/closures.py): when sessions are booked on the days, it lists
# them and asks what to do (move each, cancel it, or not close) before anything is saved, and
# then saves the days and applies the choices in one transaction. With no guard registered
# (core on its own) the days are saved straight away, as they always were.

CLOSING_STEP = "closing-step"  # the confirm step's buttons: CONFIRM or BACK
CONFIRM, BACK = "confirm", "back"


@dataclass
class Closing:
    """Days about to be closed, as a setup page hands them to the guard.

    `days`: the new or changed ranges, (first day, last day, reason); `practitioner`: whose
    absence, or None for the whole clinic; `save()`: the page's own write, which the guard runs
    inside its transaction; `saved(request)`: the page's message and redirect once saved;
    `posted`: what the page sent, carried unchanged through the confirm step; `title`: the
    page's name for the breadcrumb."""

    days: list
    practitioner: User | None
    save: Callable[[], None]
    saved: Callable[[HttpRequest], HttpResponse]
    posted: QueryDict
    title: str


_closing_guards: list = []


def register_closing_guard(guard: Callable[[HttpRequest, Closing], HttpResponse | None]) -> None:
    """`guard(request, closing)` answers a page (the sessions to decide about, or the outcome),
    or None when no session is booked on the days: the page then saves as usual."""
    if guard not in _closing_guards:
        _closing_guards.append(guard)


def closing_days(formset) -> list[tuple]:
    """The ranges a valid formset of closures or absences adds or changes (removed rows and rows
    left as they were do not close anything new)."""
    deleted = set(map(id, formset.deleted_forms)) if formset.can_delete else set()
    days = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if id(form) in deleted or not form.has_changed() or not data or not data.get("starts_on"):
            continue
        days.append((data["starts_on"], data["ends_on"], data.get("reason", "")))
    return days


def _close(request, closing: Closing) -> HttpResponse:
    for guard in _closing_guards:
        response = guard(request, closing)
        if response is not None:
            return response
    closing.save()
    return closing.saved(request)


def _not_closed(request):
    """The confirm step's "Do not close": the page again with what was typed, nothing saved."""
    messages.info(request, _("Nothing was saved. Change the days, or save them when the sessions are rebooked."))


def _today(clinic: Clinic) -> datetime.date:
    return timezone.localdate(timezone=clinic.zone)


def _ranges(rows) -> list[tuple]:
    return [(row.weekday, row.starts, row.ends) for row in rows]


def _opening_ranges() -> list[tuple]:
    return list(OpeningHours.objects.values_list("weekday", "starts", "ends"))


def week_table(rows) -> list[dict]:
    """All seven days, each with its time ranges ("09:00–13:00"); an empty list means closed."""
    by_day = defaultdict(list)
    for row in rows:
        by_day[row.weekday].append(f"{row.starts:%H:%M}–{row.ends:%H:%M}")
    return [{"day": day.label, "ranges": by_day[day.value]} for day in Weekday]


def week_summary(rows) -> list[str]:
    """A rota in a line: ["Mon–Fri 09:00–18:00", "Sat 10:00–16:00"]; days off left out."""
    # Django's own abbreviations ("Mon", "Pzt"): cutting the name would make Pazartesi and
    # Pazar both "Paz". Weekday 0 is Monday in both.
    days = [(str(WEEKDAYS_ABBR[number]), tuple(entry["ranges"])) for number, entry in enumerate(week_table(rows))]
    parts = []
    for ranges, run in groupby(days, key=lambda item: item[1]):
        run = list(run)
        if not ranges:
            continue
        label = run[0][0] if len(run) == 1 else f"{run[0][0]}–{run[-1][0]}"
        parts.append(f"{label} {', '.join(ranges)}")
    return parts


@allow(Role.SCHEDULER)
def setup(request):
    clinic = Clinic.current()
    today = _today(clinic)
    opening = list(OpeningHours.objects.order_by("weekday", "starts"))
    opening_ranges = _ranges(opening)
    practitioners = User.objects.practitioners().prefetch_related(
        Prefetch("working_hours", queryset=WorkingHours.objects.order_by("weekday", "starts")),
        Prefetch(
            "absences",
            queryset=Absence.objects.filter(ends_on__gte=today).order_by("starts_on"),
            to_attr="upcoming_absences",
        ),
    )
    staff = [
        {
            "user": practitioner,
            "summary": week_summary(practitioner.working_hours.all()),
            "outside": hours_outside_opening(_ranges(practitioner.working_hours.all()), opening_ranges),
            "absences": practitioner.upcoming_absences,
        }
        for practitioner in practitioners
    ]
    context = {
        "clinic": clinic,
        "today": today,
        "local_now": timezone.localtime(timezone=clinic.zone),
        "week": week_table(opening),
        "has_opening_hours": bool(opening),
        "closures": Closure.objects.filter(ends_on__gte=today).order_by("starts_on"),
        "rooms": Room.objects.order_by("-is_active", "name"),
        "staff": staff,
    }
    return render(request, "core/setup/overview.html", context)


@allow(Role.SCHEDULER)
def setup_clinic(request):
    clinic = Clinic.current()
    old_zone = clinic.timezone  # the form writes to the instance while it validates
    form = ClinicForm(request.POST or None, instance=clinic)
    if request.method == "POST" and form.is_valid():
        clinic = services.clinic_update(clinic=Clinic.objects.get(pk=clinic.pk), data=form.cleaned_data)
        messages.success(request, _("Clinic details saved."))
        if clinic.timezone != old_zone:
            messages.warning(
                request,
                _("The clinic now plans in %(zone)s. %(warning)s")
                % {"zone": clinic.timezone, "warning": TIMEZONE_WARNING},
            )
        return redirect("core:setup")
    context = {"form": form, "old_zone": old_zone, "timezone_warning": TIMEZONE_WARNING}
    return render(request, "core/setup/clinic.html", context)


@allow(Role.SCHEDULER)
def setup_hours(request):
    formset = opening_hours_formset(request.POST or None)
    if request.method == "POST" and formset.is_valid():
        services.opening_hours_save(formset=formset)
        messages.success(request, _("Opening hours saved."))
        return redirect("core:setup")
    return render(request, "core/setup/hours.html", {"formset": formset})


def _closures_saved(request):
    messages.success(request, _("Closures saved."))
    return redirect("core:setup")


@allow(Role.SCHEDULER)
def setup_closures(request):
    today = _today(Clinic.current())
    formset = closures_formset(today=today, data=request.POST or None)
    if request.method == "POST" and formset.is_valid():
        if request.POST.get(CLOSING_STEP) != BACK:
            closing = Closing(
                days=closing_days(formset),
                practitioner=None,
                save=lambda: services.closures_save(formset=formset),
                saved=_closures_saved,
                posted=request.POST,
                title=gettext_lazy("Closures"),
            )
            return _close(request, closing)
        _not_closed(request)
    past = Closure.objects.filter(ends_on__lt=today).order_by("-starts_on")[:PAST_CLOSURES_SHOWN]
    return render(request, "core/setup/closures.html", {"formset": formset, "past": past, "today": today})


@allow(Role.SCHEDULER)
def setup_rooms(request):
    formset = rooms_formset(request.POST or None)
    if request.method == "POST" and formset.is_valid():
        services.rooms_save(formset=formset)
        messages.success(request, _("Rooms saved."))
        return redirect("core:setup")
    return render(request, "core/setup/rooms.html", {"formset": formset})


@allow(Role.SCHEDULER)
def setup_practitioner(request, pk):
    practitioner = get_object_or_404(User.objects.practitioners(), pk=pk)
    today = _today(Clinic.current())
    data = request.POST or None
    hours = working_hours_formset(practitioner=practitioner, data=data)
    absences = absences_formset(practitioner=practitioner, today=today, data=data)
    if request.method == "POST" and all([hours.is_valid(), absences.is_valid()]):
        if request.POST.get(CLOSING_STEP) != BACK:

            def saved(request):
                messages.success(request, _("Working hours and absences of %(name)s saved.") % {"name": practitioner})
                outside = hours_outside_opening(_ranges(practitioner.working_hours.all()), _opening_ranges())
                if outside:
                    messages.warning(
                        request,
                        _("Some of %(name)s's hours fall outside the clinic's opening hours: %(hours)s")
                        % {"name": practitioner, "hours": " ".join(outside)},
                    )
                return redirect("core:setup")

            closing = Closing(
                days=closing_days(absences),
                practitioner=practitioner,
                save=lambda: services.practitioner_schedule_save(
                    practitioner=practitioner, working_hours=hours, absences=absences
                ),
                saved=saved,
                posted=request.POST,
                title=practitioner.display_name,
            )
            return _close(request, closing)
        _not_closed(request)
    context = {
        "practitioner": practitioner,
        "hours": hours,
        "absences": absences,
        "outside": hours_outside_opening(_ranges(practitioner.working_hours.all()), _opening_ranges()),
        "opening": week_summary(OpeningHours.objects.order_by("weekday", "starts")),
    }
    return render(request, "core/setup/practitioner.html", context)
