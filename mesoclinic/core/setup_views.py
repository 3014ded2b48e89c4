"""Clinic setup, for the clinic admin: the clinic's details, hours, closures, rooms and rotas."""

import datetime
from collections import defaultdict
from itertools import groupby

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

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
    days = [(entry["day"][:3], tuple(entry["ranges"])) for entry in week_table(rows)]
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
        messages.success(request, "Clinic details saved.")
        if clinic.timezone != old_zone:
            messages.warning(request, f"The clinic now plans in {clinic.timezone}. {TIMEZONE_WARNING}")
        return redirect("core:setup")
    context = {"form": form, "old_zone": old_zone, "timezone_warning": TIMEZONE_WARNING}
    return render(request, "core/setup/clinic.html", context)


@allow(Role.SCHEDULER)
def setup_hours(request):
    formset = opening_hours_formset(request.POST or None)
    if request.method == "POST" and formset.is_valid():
        services.opening_hours_save(formset=formset)
        messages.success(request, "Opening hours saved.")
        return redirect("core:setup")
    return render(request, "core/setup/hours.html", {"formset": formset})


@allow(Role.SCHEDULER)
def setup_closures(request):
    today = _today(Clinic.current())
    formset = closures_formset(today=today, data=request.POST or None)
    if request.method == "POST" and formset.is_valid():
        services.closures_save(formset=formset)
        messages.success(request, "Closures saved.")
        return redirect("core:setup")
    past = Closure.objects.filter(ends_on__lt=today).order_by("-starts_on")[:PAST_CLOSURES_SHOWN]
    return render(request, "core/setup/closures.html", {"formset": formset, "past": past, "today": today})


@allow(Role.SCHEDULER)
def setup_rooms(request):
    formset = rooms_formset(request.POST or None)
    if request.method == "POST" and formset.is_valid():
        services.rooms_save(formset=formset)
        messages.success(request, "Rooms saved.")
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
        services.practitioner_schedule_save(practitioner=practitioner, working_hours=hours, absences=absences)
        messages.success(request, f"Working hours and absences of {practitioner} saved.")
        outside = hours_outside_opening(_ranges(practitioner.working_hours.all()), _opening_ranges())
        if outside:
            messages.warning(
                request,
                f"Some of {practitioner}'s hours fall outside the clinic's opening hours: " + " ".join(outside),
            )
        return redirect("core:setup")
    context = {
        "practitioner": practitioner,
        "hours": hours,
        "absences": absences,
        "outside": hours_outside_opening(_ranges(practitioner.working_hours.all()), _opening_ranges()),
        "opening": week_summary(OpeningHours.objects.order_by("weekday", "starts")),
    }
    return render(request, "core/setup/practitioner.html", context)
