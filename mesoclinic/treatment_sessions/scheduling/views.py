"""Scheduling pages: booking a series, moving and cancelling, the calendar, the feeds."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.forms import add_form_errors
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.core.selectors import clinic_today, clinic_zone, wall_clock
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Plan
from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.status import booking_refusal

from . import services
from .calendar import calendar_grid
from .feeds import feed_create, feed_response, feed_revoke
from .forms import BookingForm, CancelForm, MoveForm
from .ics import patient_series
from .selectors import plans_to_book, plans_with_refusals

PLANS_PER_PAGE = 50  # to book: the longest waiting first, the others a page on
SESSIONS = TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "room", "series")


def _week_of(session):
    """The practitioner's calendar week that shows `session`."""
    day = session.starts_at.astimezone(clinic_zone()).date()
    return reverse(
        "scheduling:calendar_week_for",
        kwargs={"kind": "practitioner", "pk": session.practitioner_id, "day": day.isoformat()},
    )


@allow(*STAFF, record=True)
def book_series(request, plan_pk):
    """From an active plan to a series on the calendar: propose, adjust, book all or nothing."""
    plan = load_or_404(request, Plan.objects.select_related("patient", "indication", "protocol"), pk=plan_pk)
    remaining = services.remaining_sessions(plan)
    refusal = booking_refusal(plan)
    problems = [refusal] if refusal else ([] if remaining else [_("Every session of this plan is already booked.")])
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "GET" and not data and not problems:
        # A first visit proposes the series at once from the plan's practitioner and the first
        # free time: checking it and booking it is then one click.
        data = services.booking_defaults(plan)
    form = BookingForm(data or None, today=clinic_today())
    proposals = []
    if not problems and form.is_bound and form.is_valid():
        if form.wants_booking and (series := form.book(plan, request.user)):
            count = series.sessions.count()
            messages.success(
                request,
                ngettext(
                    "Booked {count} session for {patient}.", "Booked {count} sessions for {patient}.", count
                ).format(count=count, patient=plan.patient),
            )
            return redirect(_week_of(series.sessions.first()))
        problems += form.problems
        proposals = form.proposals(plan)
    if request.method == "GET":
        record_view(request, plan.patient, "series booking", obj=plan)
    context = {
        "plan": plan,
        "patient": plan.patient,
        "form": form,
        "proposals": proposals,
        "problems": problems,
        "refused": bool(refusal),
        "remaining": remaining,
        "zone": clinic_zone(),
        "conflicts": sum(not p.ok for p in proposals),
        "too_soon": [p for p in proposals if p.too_soon_hours],
    }
    # Booking a plan that may not be booked at all conflicts with its state: not a form error.
    status = 409 if refusal and request.method == "POST" else 200
    return render(request, "treatment_sessions/scheduling/book.html", context, status=status)


@allow(*STAFF, record=True)
def session_move(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    form = MoveForm(
        request.POST or None, session=session, initial={"new_start": wall_clock(session.starts_at, clinic_zone())}
    )
    if request.method == "POST" and form.is_valid() and (result := form.move(request.user)):
        messages.success(
            request,
            ngettext("Moved {count} session.", "Moved {count} sessions.", len(result.moved)).format(
                count=len(result.moved)
            ),
        )
        for flag in result.flags:
            messages.warning(request, flag)
        return redirect(session)
    context = {"session": session, "patient": session.patient, "form": form, "steps": getattr(form, "steps", [])}
    return render(request, "treatment_sessions/scheduling/move.html", context)


@allow(*STAFF, record=True)
def session_cancel(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cancel = (
            services.session_cancel_remaining if form.cleaned_data["scope"] == "remaining" else services.session_cancel
        )
        try:
            count = cancel(session=session, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request,
                ngettext("Cancelled {count} session.", "Cancelled {count} sessions.", count).format(count=count),
            )
            return redirect(session)
    context = {"session": session, "patient": session.patient, "form": form}
    return render(request, "treatment_sessions/scheduling/cancel.html", context)


@allow(*STAFF, record=True)
def session_no_show(request, pk):
    session = load_or_404(request, SESSIONS, pk=pk)
    if request.method != "POST":
        return redirect(session)
    try:
        services.session_no_show(session=session, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Marked as a no-show."))
    return redirect(session)


# --- The calendar --------------------------------------------------------------------------


def _calendar(request, *, kind, wanted, day, view):
    grid = calendar_grid(request.user, view=view, kind=kind, day=day, wanted=wanted)
    return render(request, "treatment_sessions/scheduling/calendar.html", grid)


@allow(*STAFF)
def calendar(request):
    kind = params.choice(request, "by", ("practitioner", "room"), "practitioner")
    return _calendar(
        request,
        kind=kind,
        wanted=params.pk(request, kind),
        day=params.day(request, "date"),
        view=params.choice(request, "view", ("week", "day", "week_all"), "week"),
    )


@allow(*STAFF)
def calendar_week_for(request, kind, pk, day):
    return _calendar(request, kind=kind, wanted=pk, day=params.day_from(day, "day"), view="week")


@allow(*STAFF)
def to_book(request):
    """Active plans with sessions still to book, for the clinic admin; a time chosen on the
    calendar ("book from here") travels on to the booking page."""
    chosen = {
        "start_date": params.day(request, "start_date"),
        "start_time": params.time_of_day(request, "start_time"),
        "practitioner": params.pk(request, "practitioner"),
        "room": params.pk(request, "room"),
    }
    chosen = {
        key: value.strftime("%H:%M") if key == "start_time" else str(value) for key, value in chosen.items() if value
    }
    # One query for the whole list of (plan, booked) pairs, paged here: the plans waiting are a
    # few hundred at a chain's size (the clinic's current work, not its history), and counting
    # them in a query of their own would cost as much as reading them.
    page = Paginator(list(plans_to_book()), PLANS_PER_PAGE).get_page(params.page(request))
    page.object_list = plans_with_refusals(page.object_list)
    context = {"plans": page.object_list, "page": page, "params": chosen}
    return render(request, "treatment_sessions/scheduling/to_book.html", context)


# --- iCalendar -----------------------------------------------------------------------------


@allow(Role.PRACTITIONER)
def feed_settings(request):
    """A practitioner's private calendar link: create (or replace) and revoke."""
    new_url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feed_revoke(owner=request.user)
            messages.success(request, _("The calendar link was revoked; calendars using it stop updating."))
            return redirect("scheduling:feed_settings")
        token = feed_create(owner=request.user)
        new_url = request.build_absolute_uri(reverse("scheduling:feed", args=[token]))
    has_feed = hasattr(request.user, "calendar_feed")
    return render(request, "treatment_sessions/scheduling/feed.html", {"new_url": new_url, "has_feed": has_feed})


@allow(*STAFF, Role.PATIENT, anonymous=True)
def feed(request, token):
    """The feed itself: no login (calendar apps cannot sign in); the secret is the URL."""
    return feed_response(request, token)


@allow(*STAFF, record=True)
def patient_ics(request, patient_pk):
    patient = load_or_404(request, Patient.objects.all(), pk=patient_pk)
    sessions = TreatmentSession.objects.filter(patient=patient).select_related("room", "plan").order_by("starts_at")
    record_view(request, patient, "sessions calendar file")
    response = HttpResponse(patient_series(patient, sessions), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sessions-{patient.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
