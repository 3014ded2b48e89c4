"""Writes to sessions and series: booking, moving, cancelling. All or nothing, always audited.

Every write checks the slot in the service (the only guard on SQLite) and, on PostgreSQL,
the exclusion constraints refuse an overlap that slipped past a concurrent check; that
refusal becomes a SchedulingConflict with a clear message, never a 500.

A plan never has more sessions than it plans, and its live sessions (every status but
cancelled) never share a number: every write that books, moves or cancels first locks the
plan's row (`_lock_plan`), then the sessions, always in that order, so concurrent requests
on one plan take turns and count what is booked only once the earlier one has committed. A
partial unique index on (plan, sequence) backs it up (migration 0008). After each such write
the plan's sessions are renumbered (`renumber`): "session 5 of 6" is the fifth in time.
"""

import datetime
import itertools
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, When
from django.utils import timezone

from mesoclinic.core.audit import acting_as
from mesoclinic.core.models import Role
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.plans.models import Plan
from mesoclinic.screening.engine import duration_words
from mesoclinic.screening.instructions import too_late
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import OCCUPYING, SessionSeries, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.reminders.services import sync_reminders
from mesoclinic.treatment_sessions.status import booking_refusal

from . import slots
from .selectors import availability_for, booked_count

OVERLAP_CONSTRAINTS = {
    "session_no_overlap_practitioner": "the practitioner",
    "session_no_overlap_room": "the room",
    "session_no_overlap_patient": "the patient",
}


class SchedulingConflict(ValidationError):
    """The slot cannot be booked; `messages` says why (per session where it can)."""


def _lock_plan(plan_or_pk):
    """Lock the plan's row until the transaction ends, and return it as it is now: the first
    lock of every write that changes which sessions a plan has or how they are numbered."""
    pk = getattr(plan_or_pk, "pk", plan_or_pk)
    locked = Plan.objects.select_for_update().get(pk=pk)
    if isinstance(plan_or_pk, Plan):
        plan_or_pk.refresh_from_db()  # what the previous holder of the lock committed
        return plan_or_pk
    return locked


PARKED = 10_000  # added to a number while renumbering; no plan has that many sessions


def renumber(plan):
    """Number the plan's live sessions so that "session 5 of 6" is the fifth in time.

    A completed session or a no-show keeps its number (its chart and aftercare sheet name it);
    the scheduled ones take the remaining numbers from 1 up, in the order of their start. So a
    cancelled 5 of 6 frees the number 5: the later session becomes 5 and the next booking,
    after it, is 6 of 6. Call with the plan locked. Returns {session id: new number} of the
    sessions whose number changed. Two UPDATEs: the changed rows are parked out of the way
    first, because PostgreSQL checks the unique index row by row within one UPDATE."""
    live = list(
        TreatmentSession.objects.filter(plan=plan, status__in=OCCUPYING)
        .order_by("starts_at", "pk")
        .values_list("pk", "status", "sequence")
    )
    kept = {sequence for _, status, sequence in live if status != SessionStatus.SCHEDULED}
    free = (number for number in itertools.count(1) if number not in kept)
    wanted = {pk: next(free) for pk, status, _ in live if status == SessionStatus.SCHEDULED}
    changed = {pk: wanted[pk] for pk, _, sequence in live if pk in wanted and wanted[pk] != sequence}
    if changed:
        rows = TreatmentSession.objects.filter(pk__in=changed)
        rows.update(sequence=F("sequence") + PARKED)
        rows.update(
            sequence=Case(*(When(pk=pk, then=number) for pk, number in changed.items())),
            updated_at=timezone.now(),  # calendar apps refresh the event ("5/6") from its SEQUENCE
        )
    return changed


def _renumbered(plan, sessions):
    """Renumber the plan and give the sessions in hand their new numbers."""
    changed = renumber(plan)
    for item in sessions:
        item.sequence = changed.get(item.pk, item.sequence)
    return changed


def _free_numbers(plan, count):
    """The lowest `count` numbers no live session of the plan holds (plan locked)."""
    taken = set(TreatmentSession.objects.filter(plan=plan, status__in=OCCUPYING).values_list("sequence", flat=True))
    return list(itertools.islice((n for n in itertools.count(1) if n not in taken), count))


def _conflict_from(error: IntegrityError):
    cause = error.__cause__
    name = getattr(getattr(cause, "diag", None), "constraint_name", "") or ""
    who = OVERLAP_CONSTRAINTS.get(name)
    if who is None:
        raise error
    return SchedulingConflict(f"Someone else booked {who} at that time a moment ago. Check the times again.")


BOOKING_HORIZON_DAYS = 730  # two years: a session beyond is a mistyped year (2206 for 2026)


def booking_horizon(now=None):
    """(first, last): the clinic days a session may be booked or moved to, from today."""
    zone = clinic_zone()
    today = wall_clock(now, zone).date() if now else datetime.datetime.now(zone).date()
    return today, today + datetime.timedelta(days=BOOKING_HORIZON_DAYS)


def horizon_problem(day, now=None):
    """Why a session cannot be on `day` (a clinic date), or "": every session of a series, not
    only its first, must fall between today and the booking horizon. Also keeps the date
    arithmetic of proposals and windows away from the ends of the calendar."""
    first, last = booking_horizon(now)
    if day < first:
        return f"{day:%d %b %Y} is in the past."
    if day > last:
        return f"{day:%d %b %Y} is beyond the booking horizon ({last:%d %b %Y}, two years ahead); check the year."
    return ""


def remaining_sessions(plan):
    return max(0, plan.sessions_planned - booked_count(plan))


def remaining_targets(plan, first_local, already=None):
    """{sequence: wall-clock time} of the sessions still to book, spaced as the plan says
    from `first_local`: what the proposal starts from before anyone changes a time."""
    already = booked_count(plan) if already is None else already
    count = plan.sessions_planned - already
    if count <= 0:
        return {}
    intervals = plan.intervals[already:] if already else plan.intervals
    return dict(enumerate(slots.series_targets(first_local, intervals, count), start=already + 1))


TOO_SOON = (
    "Less than {notice} before this session: the patient cannot finish preparing for it. "
    "The practitioner reviews it at the re-check; a later date avoids it."
)


def minor_problem(patient, day):
    """Treatment is for adults (basaksehir-2025): no session on a day the patient is under 18,
    whatever the screening's planned date said. Not a clinical detail: the front desk has the
    date of birth."""
    if patient.age_on(day) < 18:
        return f"The patient is under 18 on {day:%d %b %Y}: treatment is for adults only."
    return ""


def preparation_notice(plan, starts, now=None):
    """For each start (aware datetimes): the notice the patient's preparation needs if the
    session leaves less than that, else 0. Said to the clinic admin without clinical detail."""
    now = now or timezone.now()
    instructions = patient_instructions(plan.patient)
    return [max((i.hours_before for i in too_late(instructions, start, now)), default=0) for start in starts]


def series_proposal(*, plan, practitioner, room, first_local, chosen=None, now=None):
    """The plan's remaining sessions from `first_local` (clinic wall-clock time), each checked."""
    zone = clinic_zone()
    already = booked_count(plan)
    count = plan.sessions_planned - already
    if count <= 0:
        return []
    intervals = plan.intervals[already:] if already else plan.intervals
    targets = list(remaining_targets(plan, first_local, already).values())
    wanted = targets + list((chosen or {}).values())
    # Alternatives are searched a week either side of each wanted time.
    margin = datetime.timedelta(days=slots.SEARCH_DAYS + 1)
    window_start = _lenient_localize(min(wanted) - margin, zone)
    window_end = _lenient_localize(max(wanted) + margin, zone)
    availability = availability_for(
        practitioner=practitioner,
        room=room,
        patient=plan.patient,
        window_start=window_start,
        window_end=window_end,
        now=now,
        zone=zone,
    )
    proposals = slots.propose_series(
        first=first_local,
        intervals=intervals,
        count=count,
        duration=datetime.timedelta(minutes=plan.session_minutes),
        availability=availability,
        first_sequence=already + 1,
        chosen=chosen,
        min_gap_days=plan.minimum_spacing_days,
    )
    for proposal in proposals:
        problem = minor_problem(plan.patient, proposal.wanted.date())
        if problem:
            proposal.problems.append(problem)
    timed = [p for p in proposals if p.starts_at is not None]
    for proposal, hours in zip(timed, preparation_notice(plan, [p.starts_at for p in timed], now), strict=True):
        proposal.too_soon_hours = hours
    return proposals


def _lenient_localize(naive, zone):
    # Window edges only need a moment near that wall time, whichever side of a DST change.
    return naive.replace(tzinfo=zone)


@transaction.atomic
def series_book(
    *, plan, practitioner, room, local_starts: list, by, now=None, too_soon_confirmed=False
) -> SessionSeries:
    """Book sessions at these local wall-clock times, all of them or none. A session that
    leaves the patient too little time to prepare is booked only when the clinic admin
    confirms it (the practitioner then weighs it at the re-check). The plan is locked first:
    a concurrent booking of the same plan waits, then counts what this one booked."""
    plan = _lock_plan(plan)
    problems = []
    refusal = booking_refusal(plan)
    if refusal:
        raise SchedulingConflict(refusal)
    if practitioner.role != Role.PRACTITIONER or not practitioner.is_active:
        raise SchedulingConflict({"practitioner": "Choose a practitioner of this clinic."})
    if not room.is_active:
        raise SchedulingConflict({"room": "That room is not in use."})
    remaining = remaining_sessions(plan)
    if not local_starts:
        raise SchedulingConflict("There is nothing to book.")
    if len(local_starts) > remaining:
        raise SchedulingConflict(
            f"The plan has {remaining} session{'s' if remaining != 1 else ''} left to book; this series has {len(local_starts)}."
        )
    zone = clinic_zone()
    duration = datetime.timedelta(minutes=plan.session_minutes)
    for offset, local in enumerate(local_starts):
        if problem := horizon_problem(local.date(), now):
            problems.append(f"Session {booked_count(plan) + offset + 1}: {problem}")
    if problems:
        raise SchedulingConflict(problems)
    moments = []
    for offset, local in enumerate(local_starts):
        try:
            moments.append(slots.localize(local, zone))
        except slots.LocalTimeError as error:
            problems.append(f"Session {offset + 1}: {error}")
    if problems:
        raise SchedulingConflict(problems)
    availability = availability_for(
        practitioner=practitioner,
        room=room,
        patient=plan.patient,
        window_start=min(moments),
        window_end=max(moments) + duration,
        now=now,
        zone=zone,
    )
    first_sequence = booked_count(plan) + 1
    for offset, start in enumerate(moments):
        problem = minor_problem(plan.patient, wall_clock(start, zone).date())
        if problem:
            problems.append(f"Session {first_sequence + offset}: {problem}")
    if problems:
        raise SchedulingConflict(problems)
    notices = preparation_notice(plan, moments, now)
    if any(notices) and not too_soon_confirmed:
        late = ", ".join(str(first_sequence + i) for i, hours in enumerate(notices) if hours)
        raise SchedulingConflict(
            {"too_soon": f"Session {late} leaves the patient too little time to prepare: confirm to book anyway."}
        )
    for offset, start in enumerate(moments):
        found = availability.problems(start, start + duration)
        if found:
            problems.append(f"Session {first_sequence + offset}: {' '.join(found)}")
        else:
            availability.book(start, start + duration)
    if problems:
        raise SchedulingConflict(problems)
    series = SessionSeries.objects.create(plan=plan, patient=plan.patient, created_by=by)
    numbers = _free_numbers(plan, len(moments))  # then renumbered in time order, below
    try:
        with transaction.atomic():
            sessions = [
                TreatmentSession.objects.create(
                    series=series,
                    plan=plan,
                    patient=plan.patient,
                    practitioner=practitioner,
                    room=room,
                    sequence=numbers[offset],
                    starts_at=start,
                    ends_at=start + duration,
                )
                for offset, start in enumerate(moments)
            ]
    except IntegrityError as error:
        raise _conflict_from(error) from error
    _renumbered(plan, sessions)
    _sessions_changed(sessions)
    return series


@dataclass
class MoveResult:
    moved: list
    flags: list = field(default_factory=list)


@transaction.atomic
def session_move(*, session, new_local, by, following=False, note="", now=None) -> MoveResult:
    """Move one session, or it and every later scheduled session of its plan by the same
    wall-clock difference (keeping the spacing). Refused as a whole if any one conflicts.
    Locks the plan, then the sessions; renumbers by time afterwards (a session moved past the
    next one swaps numbers with it)."""
    plan = _lock_plan(TreatmentSession.objects.values_list("plan_id", flat=True).get(pk=session.pk))
    session = (
        TreatmentSession.objects.select_for_update().select_related("plan", "practitioner", "room").get(pk=session.pk)
    )
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict("Only a scheduled session can be moved.")
    zone = clinic_zone()
    if problem := horizon_problem(new_local.date(), now):
        raise SchedulingConflict(problem)
    delta = new_local - wall_clock(session.starts_at, zone)
    if not delta:  # a second click on the same move: it is done already
        raise SchedulingConflict("The session is already at that time: nothing to move.")
    if following:
        group = list(
            TreatmentSession.objects.select_for_update()
            .filter(plan=session.plan, status=SessionStatus.SCHEDULED, sequence__gte=session.sequence)
            .order_by("starts_at")
        )
    else:
        group = [session]
    far = [
        f"Session {s.sequence}: {problem}"
        for s in group
        if (problem := horizon_problem((wall_clock(s.starts_at, zone) + delta).date(), now))
    ]
    if far:
        raise SchedulingConflict(far)
    try:
        new_starts = slots.shift_wall_clock([s.starts_at for s in group], delta, zone)
    except slots.LocalTimeError as error:
        raise SchedulingConflict(str(error)) from error
    moving = {s.pk for s in group}
    window_start = min(min(new_starts), min(s.starts_at for s in group))
    availability = availability_for(
        practitioner=session.practitioner,
        room=session.room,
        patient=session.patient,
        window_start=window_start,
        window_end=max(new_starts) + max(s.duration for s in group),
        now=now,
        zone=zone,
    )
    problems = []
    for item, start in zip(group, new_starts, strict=True):
        found = availability.problems(start, start + item.duration, ignore=moving)
        minor = minor_problem(session.patient, wall_clock(start, zone).date())
        if minor:
            found = [*found, minor]
        if found:
            problems.append(f"Session {item.sequence}: {' '.join(found)}")
    if problems:
        raise SchedulingConflict(problems)
    # Later sessions move first when moving later (earlier first when moving earlier), so
    # the series never overlaps itself halfway through and trips the database's constraint.
    order = sorted(
        zip(group, new_starts, strict=True), key=lambda pair: pair[0].starts_at, reverse=delta > datetime.timedelta(0)
    )
    label = note or ("Moved with the following sessions" if following else "Moved")
    try:
        with transaction.atomic():
            for item, start in order:
                before = wall_clock(item.starts_at, zone)
                duration = item.duration
                item.starts_at, item.ends_at = start, start + duration
                item.timed_at = timezone.now()
                item.change_note = f"{label}: {before:%d %b %H:%M} → {wall_clock(start, zone):%d %b %H:%M}"[:200]
                item.save(update_fields=["starts_at", "ends_at", "timed_at", "change_note", "updated_at"])
    except IntegrityError as error:
        raise _conflict_from(error) from error
    _renumbered(plan, group)
    _sessions_changed(group)
    flags = spacing_flags_for(session.plan, zone)
    notices = preparation_notice(session.plan, [item.starts_at for item in group], now)
    flags += [
        f"Session {item.sequence}: {TOO_SOON.format(notice=duration_words(hours))}"
        for item, hours in zip(group, notices, strict=True)
        if hours
    ]
    return MoveResult(moved=group, flags=flags)


def spacing_flags_for(plan, zone=None):
    zone = zone or clinic_zone()
    occupying = plan.sessions.filter(status__in=OCCUPYING).values_list("sequence", "starts_at")
    return slots.spacing_flags(
        [(sequence, wall_clock(start, zone)) for sequence, start in occupying], plan.minimum_spacing_days
    )


def _cancel(sessions, reason, by, status=SessionStatus.CANCELLED, plan=None):
    """Cancel (or mark no-show) `sessions`; the audit trail records `by` as who did it. The
    plan (locked by the caller) is renumbered: a cancelled number goes to the next in time."""
    with acting_as(by):
        for item in sessions:
            item.status = status
            item.change_note = (reason or status.label)[:200]
            item.save(update_fields=["status", "change_note", "updated_at"])
    if plan is not None:
        _renumbered(plan, sessions)
    _sessions_changed(sessions)
    return len(sessions)


@transaction.atomic
def session_cancel(*, session, reason, by) -> int:
    plan = _lock_plan(TreatmentSession.objects.values_list("plan_id", flat=True).get(pk=session.pk))
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict("Only a scheduled session can be cancelled.")
    return _cancel([session], f"Cancelled: {reason}" if reason else "Cancelled", by, plan=plan)


@transaction.atomic
def session_cancel_remaining(*, session, reason, by) -> int:
    """Cancel this session and every later scheduled session of its plan."""
    plan = _lock_plan(session.plan_id)
    session = TreatmentSession.objects.get(pk=session.pk)  # its number as the lock holder left it
    sessions = list(
        TreatmentSession.objects.select_for_update()
        .filter(plan_id=session.plan_id, status=SessionStatus.SCHEDULED, sequence__gte=session.sequence)
        .order_by("sequence")
    )
    if not sessions:
        raise SchedulingConflict("There are no scheduled sessions left to cancel.")
    return _cancel(
        sessions,
        f"Cancelled with the remaining sessions: {reason}" if reason else "Cancelled with the remaining sessions",
        by,
        plan=plan,
    )


@transaction.atomic
def session_no_show(*, session, by, now=None) -> TreatmentSession:
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict("Only a scheduled session can be marked as a no-show.")
    if session.starts_at > (now or timezone.now()):
        raise SchedulingConflict("A session can be marked as a no-show only once its time has come.")
    _cancel([session], "The patient did not come", by, status=SessionStatus.NO_SHOW)
    return session


@transaction.atomic
def cancel_remaining_for_plan(*, plan, by, reason) -> int:
    """When a plan ends, its sessions still to come leave the calendar."""
    plan = _lock_plan(plan.pk)  # a fresh copy: the caller's may hold changes of its own
    sessions = list(
        TreatmentSession.objects.select_for_update().filter(
            plan=plan, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now()
        )
    )
    return _cancel(sessions, reason, by, plan=plan) if sessions else 0


def _sessions_changed(sessions):
    """Booked, moved or cancelled: what hangs off a session's time follows it (reminders)."""
    for session in sessions:
        sync_reminders(session)
