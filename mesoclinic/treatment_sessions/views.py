import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import patient_for_staff, practitioner_required, staff_required
from mesoclinic.plans.models import Plan
from mesoclinic.screening.selectors import clinic_today

from . import calendar as calendar_pages
from . import services
from .forms import CancelForm, MoveForm, SeriesStartForm, parse_local
from .models import TreatmentSession
from .scheduling import series_targets, wall_clock
from .selectors import booked_count, clinic_zone, session_history

STAFF = (Role.PRACTITIONER, Role.SCHEDULER)


@login_required
def book_series(request, plan_pk):
    """From an active plan to a series on the calendar: propose, adjust, book all or nothing."""
    plan = get_object_or_404(Plan.objects.select_related("patient", "indication", "protocol"), pk=plan_pk)
    patient_for_staff(request, plan.patient_id, roles=STAFF)
    remaining = plan.sessions_planned - booked_count(plan)
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = SeriesStartForm(data, today=clinic_today())
    proposals, problems = [], []
    refusal = services.booking_refusal(plan)
    if refusal:
        problems.append(refusal)
    elif remaining <= 0:
        problems.append("Every session of this plan is already booked.")
    elif form.is_bound and form.is_valid():
        chosen = _chosen_times(request.POST, plan, form.first_local, remaining)
        picked = request.POST.get("pick", "")
        if picked:
            sequence, _, value = picked.partition("|")
            when = parse_local(value)
            if sequence.isdigit() and when:
                chosen[int(sequence)] = when
        if request.POST.get("action") == "book":
            local_starts = [parse_local(request.POST.get(f"session_{seq}", "")) for seq in _sequences(request.POST)]
            if any(start is None for start in local_starts) or not local_starts:
                problems.append("Every session needs a date and time.")
            else:
                try:
                    series = services.series_book(
                        plan=plan,
                        practitioner=form.cleaned_data["practitioner"],
                        room=form.cleaned_data["room"],
                        local_starts=local_starts,
                        by=request.user,
                        too_soon_confirmed=request.POST.get("too_soon_confirmed") == "on",
                    )
                except ValidationError as error:
                    problems += error.messages
                else:
                    count = series.sessions.count()
                    messages.success(request, f"Booked {count} session{'s' if count != 1 else ''} for {plan.patient}.")
                    return redirect(
                        "treatment_sessions:calendar_week_for",
                        kind="practitioner",
                        pk=form.cleaned_data["practitioner"].pk,
                        day=series.sessions.first().starts_at.astimezone(clinic_zone()).date().isoformat(),
                    )
        proposals = services.series_proposal(
            plan=plan,
            practitioner=form.cleaned_data["practitioner"],
            room=form.cleaned_data["room"],
            first_local=form.first_local,
            chosen=chosen,
        )
    if request.method == "GET":
        record_view(request, plan.patient, "series booking", obj=plan)
    zone = clinic_zone()
    return render(
        request,
        "treatment_sessions/book.html",
        {
            "plan": plan,
            "patient": plan.patient,
            "form": form,
            "proposals": proposals,
            "problems": problems,
            "refused": bool(refusal),
            "remaining": remaining,
            "zone": zone,
            "conflicts": sum(not p.ok for p in proposals),
            "too_soon": [p for p in proposals if p.too_soon_hours],
        },
        # Booking a plan that may not be booked at all conflicts with its state: not a form error.
        status=409 if refusal and request.method == "POST" else 200,
    )


def _sequences(post):
    return sorted(
        int(key.split("_", 1)[1]) for key in post if key.startswith("session_") and key.split("_", 1)[1].isdigit()
    )


def _chosen_times(post, plan, first_local, remaining):
    """Times the scheduler set by hand: every session field that differs from the spacing."""
    already = plan.sessions_planned - remaining
    intervals = plan.intervals[already:] if already else plan.intervals
    targets = dict(enumerate(series_targets(first_local, intervals, remaining), start=already + 1))
    chosen = {}
    for sequence in _sequences(post):
        value = parse_local(post.get(f"session_{sequence}", ""))
        if value is not None and value != targets.get(sequence):
            chosen[sequence] = value
    return chosen


def _session_or_404(request, pk, roles=STAFF):
    session = get_object_or_404(
        TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "room", "series"), pk=pk
    )
    patient_for_staff(request, session.patient_id, roles=roles)
    return session


@login_required
def session_detail(request, pk):
    session = _session_or_404(request, pk)
    zone = clinic_zone()
    record_view(request, session.patient, f"session {session.sequence} of {session.plan.sessions_planned}", obj=session)
    history = session_history(session, zone)
    return render(
        request,
        "treatment_sessions/session.html",
        {
            "session": session,
            "patient": session.patient,
            "local_start": wall_clock(session.starts_at, zone),
            "local_end": wall_clock(session.ends_at, zone),
            "move_form": MoveForm(initial={"new_start": wall_clock(session.starts_at, zone)}),
            "cancel_form": CancelForm(),
            "history": history,
            "siblings": session.plan.sessions.select_related("room", "practitioner").order_by("sequence", "starts_at"),
            "zone": zone,
            "can_no_show": session.is_scheduled and session.starts_at <= datetime.datetime.now(datetime.UTC),
            **_session_extras(request, session),
        },
    )


def _session_extras(request, session):
    """What the session page adds for practitioners: the re-check, the chart, the photos."""
    from .photos import session_photos_context
    from .sessionday_views import session_day_context

    context = session_day_context(request, session)
    if request.user.is_practitioner:
        context.update(session_photos_context(session, request.user))
    return context


@login_required
def session_move(request, pk):
    session = _session_or_404(request, pk)
    form = MoveForm(request.POST or None, initial={"new_start": wall_clock(session.starts_at, clinic_zone())})
    if request.method == "POST" and form.is_valid():
        try:
            result = services.session_move(
                session=session,
                new_local=form.cleaned_data["new_start"],
                following=form.cleaned_data["following"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as error:
            for problem in error.messages:
                form.add_error("new_start", problem)
        else:
            count = len(result.moved)
            messages.success(request, f"Moved {count} session{'s' if count != 1 else ''}.")
            for flag in result.flags:
                messages.warning(request, flag)
            return redirect(session)
    return render(
        request, "treatment_sessions/move.html", {"session": session, "patient": session.patient, "form": form}
    )


@login_required
def session_cancel(request, pk):
    session = _session_or_404(request, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["scope"] == "remaining":
                count = services.session_cancel_remaining(
                    session=session, reason=form.cleaned_data["reason"], by=request.user
                )
            else:
                count = services.session_cancel(session=session, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, f"Cancelled {count} session{'s' if count != 1 else ''}.")
            return redirect(session)
    return render(
        request, "treatment_sessions/cancel.html", {"session": session, "patient": session.patient, "form": form}
    )


@login_required
def session_no_show(request, pk):
    session = _session_or_404(request, pk)
    if request.method != "POST":
        return redirect(session)
    try:
        services.session_no_show(session=session, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Marked as a no-show.")
    return redirect(session)


@staff_required
def calendar(request):
    return calendar_pages.calendar_page(request)


@staff_required
def calendar_week_for(request, kind, pk, day):
    return calendar_pages.calendar_page(request, kind=kind, pk=pk, day=day, view="week")


@staff_required
def to_book(request):
    return calendar_pages.to_book_page(request)


@practitioner_required
def today(request):
    return calendar_pages.today_page(request)


# --- iCalendar ----------------------------------------------------------------------------


@practitioner_required
def feed_settings(request):
    """A practitioner's private calendar link: create (or replace) and revoke."""
    from django.urls import reverse

    from .feeds import feed_create, feed_revoke

    new_url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            feed_revoke(owner=request.user)
            messages.success(request, "The calendar link was revoked; calendars using it stop updating.")
            return redirect("treatment_sessions:feed_settings")
        token = feed_create(owner=request.user)
        new_url = request.build_absolute_uri(reverse("treatment_sessions:feed", args=[token]))
    has_feed = hasattr(request.user, "calendar_feed")
    return render(request, "treatment_sessions/feed.html", {"new_url": new_url, "has_feed": has_feed})


def feed(request, token):
    """The feed itself: no login (calendar apps cannot sign in); the secret is the URL."""
    from .feeds import feed_response

    return feed_response(request, token)


@login_required
def patient_ics(request, patient_pk):
    from django.http import HttpResponse

    from .ics import patient_series

    patient = patient_for_staff(request, patient_pk, roles=STAFF)
    sessions = TreatmentSession.objects.filter(patient=patient).select_related("room", "plan").order_by("starts_at")
    record_view(request, patient, "sessions calendar file")
    response = HttpResponse(patient_series(patient, sessions), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sessions-{patient.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required
def outbox(request):
    """Reminders and follow-ups, sent and due. The clinic admin sees no clinical detail."""
    from django.core.paginator import Paginator

    from .models import Reminder, ReminderStatus

    status = request.GET.get("status", "")
    reminders = Reminder.objects.select_related("patient", "session").order_by("-due_at", "-id")
    if status in ReminderStatus.values:
        reminders = reminders.filter(status=status)
    page = Paginator(reminders, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "treatment_sessions/outbox.html",
        {"page": page, "status": status, "statuses": ReminderStatus.choices, "clinical": request.user.is_practitioner},
    )
