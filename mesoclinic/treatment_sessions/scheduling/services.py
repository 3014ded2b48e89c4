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
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
from django.utils.translation import gettext as _

from mesoclinic.core.audit import acting_as
from mesoclinic.core.models import Role, Room, User
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.plans.models import Plan
from mesoclinic.screening.engine import duration_words
from mesoclinic.screening.instructions import too_late
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import OCCUPYING, SessionSeries, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.reminders.services import notify_changes, sync_reminders
from mesoclinic.treatment_sessions.signals import sessions_booked
from mesoclinic.treatment_sessions.status import booking_refusal

from . import slots
from .selectors import availability_for, booked_count

OVERLAP_CONSTRAINTS = {
    "session_no_overlap_practitioner": pgettext_lazy("someone else booked", "the practitioner"),
    "session_no_overlap_room": pgettext_lazy("someone else booked", "the room"),
    "session_no_overlap_patient": pgettext_lazy("someone else booked", "the patient"),
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


def _lock_calendars(practitioners, rooms):
    """Lock the practitioners' and rooms' rows, in one order (by id), until the transaction
    ends: two bookings of one practitioner or room take turns, so the second sees the first's
    session and says why, instead of both inserting and PostgreSQL's exclusion constraints
    answering one of them "deadlock detected". Taken after the plan's lock (and a moved session's),
    always in the same order: users, then rooms."""
    list(User.objects.select_for_update().filter(pk__in={p.pk for p in practitioners}).order_by("pk").values_list("pk"))
    list(Room.objects.select_for_update().filter(pk__in={r.pk for r in rooms}).order_by("pk").values_list("pk"))


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
    return SchedulingConflict(
        _("Someone else booked %(who)s at that time a moment ago. Check the times again.") % {"who": who}
    )


def _session_problem(number, problem):
    """'Session 3: the clinic is closed.': a problem of one session of a series."""
    return _("Session %(number)s: %(problem)s") % {"number": number, "problem": problem}


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
        return _("%(day)s is in the past.") % {"day": date_format(day, "d M Y")}
    if day > last:
        return _("%(day)s is beyond the booking horizon (%(last)s, two years ahead); check the year.") % {
            "day": date_format(day, "d M Y"),
            "last": date_format(last, "d M Y"),
        }
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


TOO_SOON = gettext_lazy(
    "Less than {notice} before this session: the patient cannot finish preparing for it. "
    "The practitioner reviews it at the re-check; a later date avoids it."
)


def minor_problem(patient, day):
    """Treatment is for adults (basaksehir-2025): no session on a day the patient is under 18,
    whatever the screening's planned date said. Not a clinical detail: the front desk has the
    date of birth."""
    if patient.age_on(day) < 18:
        return _("The patient is under 18 on %(day)s: treatment is for adults only.") % {
            "day": date_format(day, "d M Y")
        }
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
        plan=plan,
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


def booking_defaults(plan, now=None):
    """What the booking page starts from, so that a whole series is two clicks away: the plan's
    practitioner, the room of the patient's last session (else the first room), and the first
    free time that keeps the spacing from the plan's last session (else from tomorrow) and leaves
    the patient time to prepare. The
    clinic admin changes any of them; the proposal checks every session."""
    zone = clinic_zone()
    now = now or timezone.now()
    practitioner = plan.created_by
    if practitioner.role != Role.PRACTITIONER or not practitioner.is_active:
        practitioner = User.objects.practitioners().order_by("last_name").first()
    last = plan.sessions.filter(status__in=OCCUPYING).select_related("room").order_by("-starts_at").first()
    last_room = last.room if last and last.room.is_active else None
    room = last_room or Room.objects.filter(is_active=True).order_by("name").first()
    if practitioner is None or room is None:
        return {}
    # From tomorrow, or later if the patient's preparation needs more notice (a week without
    # ibuprofen): the first day after the longest lead time, so nothing proposed is too soon.
    lead = max((i.hours_before or 0 for i in patient_instructions(plan.patient)), default=0)
    tomorrow = wall_clock(now + datetime.timedelta(hours=lead), zone).date() + datetime.timedelta(days=1)
    already = booked_count(plan)
    if last is not None and already:
        gap = plan.intervals[already - 1] if already - 1 < len(plan.intervals) else plan.intervals[-1]
        wanted = max(
            wall_clock(last.starts_at, zone) + datetime.timedelta(days=gap),
            datetime.datetime.combine(tomorrow, datetime.time()),
        )
    else:
        wanted = datetime.datetime.combine(tomorrow, datetime.time())
    duration = datetime.timedelta(minutes=plan.session_minutes)
    margin = datetime.timedelta(days=slots.SEARCH_DAYS + 1)
    availability = availability_for(
        practitioner=practitioner,
        room=room,
        patient=plan.patient,
        window_start=_lenient_localize(wanted - margin, zone),
        window_end=_lenient_localize(wanted + margin, zone),
        now=now,
        zone=zone,
        plan=plan,
    )
    free = slots.nearest_free(wanted, duration, availability, not_before=wanted, limit=1)
    first = wall_clock(free[0], zone) if free else datetime.datetime.combine(wanted.date(), datetime.time(10))
    return {
        "start_date": first.date().isoformat(),
        "start_time": f"{first:%H:%M}",
        "practitioner": practitioner.pk,
        "room": room.pk,
    }


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
    _lock_calendars([practitioner], [room])
    problems = []
    refusal = booking_refusal(plan)
    if refusal:
        raise SchedulingConflict(refusal)
    if practitioner.role != Role.PRACTITIONER or not practitioner.is_active:
        raise SchedulingConflict({"practitioner": _("Choose a practitioner of this clinic.")})
    if not room.is_active:
        raise SchedulingConflict({"room": _("That room is not in use.")})
    remaining = remaining_sessions(plan)
    if not local_starts:
        raise SchedulingConflict(_("There is nothing to book."))
    if len(local_starts) > remaining:
        raise SchedulingConflict(
            ngettext(
                "The plan has {remaining} session left to book; this series has {count}.",
                "The plan has {remaining} sessions left to book; this series has {count}.",
                remaining,
            ).format(remaining=remaining, count=len(local_starts))
        )
    zone = clinic_zone()
    duration = datetime.timedelta(minutes=plan.session_minutes)
    for offset, local in enumerate(local_starts):
        if problem := horizon_problem(local.date(), now):
            problems.append(_session_problem(booked_count(plan) + offset + 1, problem))
    if problems:
        raise SchedulingConflict(problems)
    moments = []
    for offset, local in enumerate(local_starts):
        try:
            moments.append(slots.localize(local, zone))
        except slots.LocalTimeError as error:
            problems.append(_session_problem(offset + 1, error))
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
        plan=plan,
    )
    first_sequence = booked_count(plan) + 1
    for offset, start in enumerate(moments):
        problem = minor_problem(plan.patient, wall_clock(start, zone).date())
        if problem:
            problems.append(_session_problem(first_sequence + offset, problem))
    if problems:
        raise SchedulingConflict(problems)
    notices = preparation_notice(plan, moments, now)
    if any(notices) and not too_soon_confirmed:
        late = ", ".join(str(first_sequence + i) for i, hours in enumerate(notices) if hours)
        raise SchedulingConflict(
            {
                "too_soon": _(
                    "Session %(numbers)s leaves the patient too little time to prepare: confirm to book anyway."
                )
                % {"numbers": late}
            }
        )
    for offset, start in enumerate(moments):
        found = availability.problems(start, start + duration)
        if found:
            problems.append(_session_problem(first_sequence + offset, " ".join(found)))
        else:
            availability.book(start, start + duration, number=first_sequence + offset)
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
    ids, first = [s.pk for s in sessions], first_sequence == 1
    transaction.on_commit(
        lambda: sessions_booked.send(sender=TreatmentSession, plan_id=plan.pk, session_ids=ids, first=first)
    )
    return series


@dataclass
class MoveResult:
    moved: list
    flags: list = field(default_factory=list)


@dataclass
class MoveStep:
    """One session of a move as checked: the time tried, why it cannot be, and what is free.
    `proposed` is the time the move page offers: the one tried when it is free, else the
    nearest free one (the later sessions are checked as if it were taken)."""

    session: TreatmentSession
    tried: datetime.datetime  # clinic wall-clock time
    problems: list
    alternatives: list  # aware datetimes, nearest first
    proposed: datetime.datetime | None = None  # clinic wall-clock time

    @property
    def ok(self):
        return not self.problems


class MoveConflict(SchedulingConflict):
    """The move cannot be made as asked; `steps` says, per session, what was tried and what is free."""

    def __init__(self, message, steps):
        super().__init__(message)
        self.steps = steps


def _check_move(group, wanted, *, plan, who, zone, now):
    """Check each session of a move at its wanted time, in time order, as booking does: the
    clinic's and the practitioner's hours, closures and absences, the room, the patient, the
    protocol's spacing (against the sessions that stay and those already placed), age.
    `who` maps a session id to its (practitioner, room) after the move."""
    moving = frozenset(item.pk for item in group)
    moments = []
    for item in group:
        try:
            moments.append(slots.localize(wanted[item.pk], zone))
        except slots.LocalTimeError:
            moments.append(wanted[item.pk].replace(tzinfo=zone))
    margin = datetime.timedelta(days=slots.SEARCH_DAYS + 1)
    window = {
        "window_start": min(moments + [item.starts_at for item in group]) - margin,
        "window_end": max(moments) + max(item.duration for item in group) + margin,
    }
    # One busy list per practitioner, room and the patient, and one spacing for the whole move:
    # a session placed on one calendar is taken on every calendar it touches.
    availabilities, practitioners, rooms, shared = {}, {}, {}, None
    for practitioner, room in dict.fromkeys(who.values()):
        availability = availability_for(
            practitioner=practitioner, room=room, patient=plan.patient, now=now, zone=zone, plan=plan, **window
        )
        shared = shared or availability
        availability.patient, availability.spacing = shared.patient, shared.spacing
        availability.practitioner = practitioners.setdefault(practitioner.pk, availability.practitioner)
        availability.room = rooms.setdefault(room.pk, availability.room)
        availabilities[practitioner.pk, room.pk] = availability
    steps = []
    in_order = sorted(group, key=lambda item: wanted[item.pk])
    for index, item in enumerate(in_order):
        practitioner, room = who[item.pk]
        availability = availabilities[practitioner.pk, room.pk]
        tried, duration = wanted[item.pk], item.duration
        try:
            start = slots.localize(tried, zone)
        except slots.LocalTimeError as error:
            found = [str(error)]
        else:
            found = availability.problems(start, start + duration, ignore=moving)
        if minor := minor_problem(plan.patient, tried.date()):
            found.append(minor)
        step = MoveStep(session=item, tried=tried, problems=found, alternatives=[])
        if found:
            step.alternatives = _free_for_move(
                tried, duration, availability, moving, plan, zone, following=in_order[index + 1 :], wanted=wanted
            )
            start = step.alternatives[0] if step.alternatives else None
        if start is not None:
            step.proposed = wall_clock(start, zone)
            availability.book(start, start + duration, number=item.sequence)
        steps.append(step)
    return steps


def _free_for_move(tried, duration, availability, moving, plan, zone, *, following, wanted):
    """The nearest free times for a session of a move, the one to propose first. Where the
    next session of the move still has its own time, the first is one that leaves it the
    protocol's spacing (so one closed day does not push the rest of the series along)."""
    found = slots.nearest_free(tried, duration, availability, ignore=moving)
    if following and availability.spacing is not None:
        latest = wanted[following[0].pk].date() - datetime.timedelta(days=availability.spacing.min_days)
        keeps_the_next = slots.nearest_free(tried, duration, availability, ignore=moving, limit=1, not_after=latest)
        found = keeps_the_next + [alt for alt in found if alt not in keeps_the_next][: slots.ALTERNATIVES - 1]
    return [alt for alt in found if not minor_problem(plan.patient, wall_clock(alt, zone).date())]


def _save_in_turn(placed, label, zone):
    """Save each session at its new time without ever overlapping another of the move on the
    way (the database refuses an overlap even for a moment): a session goes once its new time
    is clear of the others' current times. Sessions that would swap times are refused."""
    pending = list(placed)
    while pending:
        ready = [
            (item, start)
            for item, start in pending
            if not any(
                other is not item and other.starts_at < start + item.duration and start < other.ends_at
                for other, _ in pending
            )
        ]
        if not ready:
            numbers = ", ".join(str(item.sequence) for item, _start in pending)
            raise SchedulingConflict(
                _("Sessions {numbers} would take each other's times: move one first, then the other.").format(
                    numbers=numbers
                )
            )
        for item, start in ready:
            before = wall_clock(item.starts_at, zone)
            duration = item.duration
            item.starts_at, item.ends_at = start, start + duration
            item.timed_at = timezone.now()
            item.change_note = (
                f"{label}: {date_format(before, 'd M H:i')} → {date_format(wall_clock(start, zone), 'd M H:i')}"[:200]
            )
            item.save(
                update_fields=[
                    "starts_at",
                    "ends_at",
                    "timed_at",
                    "change_note",
                    "practitioner",
                    "room",
                    "updated_at",
                ]
            )
            pending.remove((item, start))


@transaction.atomic
def session_move(
    *,
    session,
    new_local,
    by,
    following=False,
    note="",
    now=None,
    practitioner=None,
    room=None,
    times=None,
) -> MoveResult:
    """Move one session, or it and every later scheduled session of its plan, and/or give them
    another practitioner or room. The later sessions keep their distance from the first
    (the same wall-clock offset) unless `times` ({session id: clinic wall-clock time}) says
    otherwise. Every session is checked as booking checks it; if any one does not fit, nothing
    moves and MoveConflict lists, per session, the time tried, why, and the nearest free times.
    Locks the plan, the session, the calendars (practitioners, rooms), then the later sessions;
    renumbers by time afterwards (a session moved past the next one swaps numbers with it)."""
    plan = _lock_plan(TreatmentSession.objects.values_list("plan_id", flat=True).get(pk=session.pk))
    session = (
        TreatmentSession.objects.select_for_update(of=("self",))
        .select_related("plan", "practitioner", "room")
        .get(pk=session.pk)
    )
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict(_("Only a scheduled session can be moved."))
    practitioner = practitioner or session.practitioner
    room = room or session.room
    if following:
        # Who each later session is with, to lock their calendars too (before the sessions).
        others = TreatmentSession.objects.filter(
            plan=session.plan, status=SessionStatus.SCHEDULED, sequence__gte=session.sequence
        ).values_list("practitioner_id", "room_id")
        _lock_calendars(
            [practitioner, *(User(pk=pk) for pk, _room in others)], [room, *(Room(pk=pk) for _pk, pk in others)]
        )
    else:
        _lock_calendars([practitioner, session.practitioner], [room, session.room])
    if practitioner.pk != session.practitioner_id and (
        practitioner.role != Role.PRACTITIONER or not practitioner.is_active
    ):
        raise SchedulingConflict({"practitioner": _("Choose a practitioner of this clinic.")})
    if room.pk != session.room_id and not room.is_active:
        raise SchedulingConflict({"room": _("That room is not in use.")})
    zone = clinic_zone()
    if problem := horizon_problem(new_local.date(), now):
        raise SchedulingConflict(problem)
    delta = new_local - wall_clock(session.starts_at, zone)
    changes_who = practitioner.pk != session.practitioner_id or room.pk != session.room_id
    if not delta and not changes_who and not times:  # a second click on the same move: done already
        raise SchedulingConflict(_("The session is already at that time: nothing to move."))
    if following:
        group = list(
            TreatmentSession.objects.select_for_update(of=("self",))
            .select_related("practitioner", "room")
            .filter(plan=session.plan, status=SessionStatus.SCHEDULED, sequence__gte=session.sequence)
            .order_by("starts_at")
        )
    else:
        group = [session]
    times = times or {}
    wanted = {
        item.pk: new_local if item.pk == session.pk else times.get(item.pk, wall_clock(item.starts_at, zone) + delta)
        for item in group
    }
    far = [
        _session_problem(item.sequence, problem)
        for item in group
        if (problem := horizon_problem(wanted[item.pk].date(), now))
    ]
    if far:
        raise SchedulingConflict(far)
    # A new practitioner or room applies to every session moved; otherwise each keeps its own.
    who = {
        item.pk: (
            practitioner if changes_who else item.practitioner,
            room if changes_who else item.room,
        )
        for item in group
    }
    steps = _check_move(group, wanted, plan=plan, who=who, zone=zone, now=now)
    if not all(step.ok for step in steps):
        raise MoveConflict(
            [
                _("Session {number}, {when}: {problems}").format(
                    number=step.session.sequence,
                    when=date_format(step.tried, "D j M H:i"),
                    problems=" ".join(step.problems),
                )
                for step in steps
                if not step.ok
            ],
            steps,
        )
    for item in group:
        item.practitioner, item.room = who[item.pk]
    label = note or (_("Moved with the following sessions") if following else _("Moved"))
    placed = [(step.session, slots.localize(step.tried, zone)) for step in steps]
    was = {item.pk: item.starts_at for item in group}
    try:
        with transaction.atomic():
            _save_in_turn(placed, label, zone)
    except IntegrityError as error:
        raise _conflict_from(error) from error
    _renumbered(plan, group)
    _sessions_changed(group)
    notify_changes([(item, was[item.pk]) for item in group], now)
    notices = preparation_notice(session.plan, [item.starts_at for item in group], now)
    flags = [
        _session_problem(item.sequence, TOO_SOON.format(notice=duration_words(hours, (get_language() or "en")[:2])))
        for item, hours in zip(group, notices, strict=True)
        if hours
    ]
    return MoveResult(moved=group, flags=flags)


def _cancel(sessions, reason, by, status=SessionStatus.CANCELLED, plan=None):
    """Cancel (or mark no-show) `sessions`; the audit trail records `by` as who did it. The
    plan (locked by the caller) is renumbered: a cancelled number goes to the next in time."""
    was = [(item, item.starts_at) for item in sessions]
    with acting_as(by):
        for item in sessions:
            item.status = status
            item.change_note = (reason or status.label)[:200]
            item.save(update_fields=["status", "change_note", "updated_at"])
    if plan is not None:
        _renumbered(plan, sessions)
    _sessions_changed(sessions)
    if status == SessionStatus.CANCELLED:
        notify_changes(was)  # the patient is told; a no-show is not news to them
    return len(sessions)


@transaction.atomic
def session_cancel(*, session, reason, by) -> int:
    plan = _lock_plan(TreatmentSession.objects.values_list("plan_id", flat=True).get(pk=session.pk))
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict(_("Only a scheduled session can be cancelled."))
    cancelled = _("Cancelled: %(reason)s") % {"reason": reason} if reason else _("Cancelled")
    return _cancel([session], cancelled, by, plan=plan)


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
        raise SchedulingConflict(_("There are no scheduled sessions left to cancel."))
    return _cancel(
        sessions,
        _("Cancelled with the remaining sessions: %(reason)s") % {"reason": reason}
        if reason
        else _("Cancelled with the remaining sessions"),
        by,
        plan=plan,
    )


@transaction.atomic
def session_no_show(*, session, by, now=None) -> TreatmentSession:
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise SchedulingConflict(_("Only a scheduled session can be marked as a no-show."))
    if session.starts_at > (now or timezone.now()):
        raise SchedulingConflict(_("A session can be marked as a no-show only once its time has come."))
    _cancel([session], _("The patient did not come"), by, status=SessionStatus.NO_SHOW)
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
