"""Scheduling as pure functions: wall-clock time, free slots, series proposals.

Nothing here reads the database. `Availability` arrives filled with the clinic's hours and
every busy interval of the practitioner, room and patient over the window (selectors.py
loads it in a handful of queries), so proposing a whole series costs no queries at all.

Series are planned in the clinic's local wall-clock time: session n is the first
session's local date plus the plan's gaps, at the same local time. A weekly 10:00 stays
10:00 across daylight-saving changes; a local time that does not exist (clocks go
forward) or happens twice (clocks go back) is refused, never silently shifted.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
from dataclasses import dataclass, field

from mesoclinic.core.selectors import wall_clock

UTC = datetime.UTC
STEP = datetime.timedelta(minutes=15)
LONGEST_SESSION = datetime.timedelta(hours=8)
ALTERNATIVES = 3
SEARCH_DAYS = 7


class LocalTimeError(ValueError):
    """A wall-clock time that does not map to exactly one moment."""


class NonexistentLocalTime(LocalTimeError):
    pass


class AmbiguousLocalTime(LocalTimeError):
    pass


def localize(naive: datetime.datetime, zone) -> datetime.datetime:
    """The one moment a local wall-clock time names (in UTC), or LocalTimeError.

    In UTC because Python compares and subtracts two datetimes of the same zone by their
    wall-clock times, ignoring offsets: wrong by an hour across a change.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)

    def real(moment):
        return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive

    if not real(first) and not real(second):
        raise NonexistentLocalTime(
            f"{naive:%H:%M} does not exist on {naive:%d %b %Y}: the clocks go forward that night."
        )
    if first.utcoffset() != second.utcoffset():
        raise AmbiguousLocalTime(
            f"{naive:%H:%M} happens twice on {naive:%d %b %Y}: the clocks go back that night. Choose another time."
        )
    return first.astimezone(UTC)


@dataclass
class Busy:
    """One resource's occupied intervals, sorted by start, with a word for each."""

    label: str  # "Dr. Aksoy", "Room 2", "the patient"
    starts: list = field(default_factory=list)
    intervals: list = field(default_factory=list)  # (start, end, session id)

    @classmethod
    def of(cls, label, intervals):
        ordered = sorted(intervals)
        return cls(label, [start for start, _, _ in ordered], ordered)

    def add(self, start, end, session_id=None):
        index = bisect.bisect_left(self.starts, start)
        self.starts.insert(index, start)
        self.intervals.insert(index, (start, end, session_id))

    def clash(self, start, end, ignore=frozenset()):
        """The first interval overlapping [start, end), ignoring the sessions in `ignore`."""
        index = bisect.bisect_left(self.starts, end)
        while index > 0:
            index -= 1
            other_start, other_end, session_id = self.intervals[index]
            if other_start <= start - LONGEST_SESSION:
                return None
            if other_end > start and other_start < end and session_id not in ignore:
                return self.intervals[index]
        return None


@dataclass
class Availability:
    """Everything needed to judge a slot for one practitioner, room and patient."""

    zone: object
    opening: dict  # weekday -> [(time, time)]
    closures: list  # [(date, date, reason)]
    working: dict  # weekday -> [(time, time)] of the practitioner
    absences: list  # [(date, date)]
    practitioner: Busy
    room: Busy
    patient: Busy
    now: datetime.datetime

    def problems(self, start: datetime.datetime, end: datetime.datetime, ignore=frozenset()) -> list[str]:
        """Why [start, end) cannot be booked; an empty list means it can."""
        local_start, local_end = wall_clock(start, self.zone), wall_clock(end, self.zone)
        day = local_start.date()
        found = []
        if start < self.now:
            found.append("That time has passed.")
        if local_end.date() != day:
            found.append("A session cannot run past midnight.")
        closure = next((c for c in self.closures if c[0] <= day <= c[1]), None)
        if closure:
            found.append(f"The clinic is closed{': ' + closure[2] if closure[2] else ''}.")
        elif not _within(self.opening.get(day.weekday(), ()), local_start, local_end):
            found.append("The clinic is not open then.")
        if any(a[0] <= day <= a[1] for a in self.absences):
            found.append(f"{self.practitioner.label} is away that day.")
        elif not _within(self.working.get(day.weekday(), ()), local_start, local_end):
            found.append(f"{self.practitioner.label} does not work then.")
        for busy in (self.practitioner, self.room, self.patient):
            clash = busy.clash(start, end, ignore)
            if clash:
                when = f"{wall_clock(clash[0], self.zone):%H:%M}–{wall_clock(clash[1], self.zone):%H:%M}"
                found.append(f"{busy.label[:1].upper()}{busy.label[1:]} is already booked {when}.")
        return found

    def book(self, start, end, session_id=None):
        """Count [start, end) as taken from now on (for the later sessions of a proposal)."""
        for busy in (self.practitioner, self.room, self.patient):
            busy.add(start, end, session_id)


def _within(ranges, local_start, local_end):
    """Does [local_start, local_end) fit inside one of the day's ranges?"""
    return local_end.date() == local_start.date() and any(
        opens <= local_start.time() and local_end.time() <= closes for opens, closes in ranges
    )


@dataclass
class ProposedSession:
    sequence: int
    wanted: datetime.datetime  # the local wall-clock time the spacing asks for
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    problems: list
    alternatives: list  # aware datetimes, nearest first
    chosen: bool = False  # the scheduler picked this time rather than the spacing
    too_soon_hours: int = 0  # the patient's preparation needs this much notice, and the slot leaves less

    @property
    def ok(self):
        return not self.problems

    @property
    def local_start(self):
        return self.wanted


def series_targets(first: datetime.datetime, intervals: list[int], count: int) -> list[datetime.datetime]:
    """Local wall-clock times of `count` sessions: the first, then each gap in days."""
    targets = [first]
    for gap in intervals[: count - 1]:
        targets.append(targets[-1] + datetime.timedelta(days=gap))
    while len(targets) < count:  # more sessions than gaps: keep the last gap
        targets.append(targets[-1] + datetime.timedelta(days=intervals[-1] if intervals else 7))
    return targets


def propose_series(
    *,
    first: datetime.datetime,
    intervals: list[int],
    count: int,
    duration: datetime.timedelta,
    availability: Availability,
    first_sequence: int = 1,
    chosen: dict | None = None,
    min_gap_days: int = 1,
) -> list[ProposedSession]:
    """Every session of a series at its spacing, each checked, each conflict with the
    nearest free alternatives. `chosen` maps a sequence to a local time the scheduler
    picked instead of the spacing's."""
    chosen = chosen or {}
    proposals = []
    previous_local = None
    for offset, target in enumerate(series_targets(first, intervals, count)):
        sequence = first_sequence + offset
        wanted = chosen.get(sequence, target)
        proposal = check_slot(sequence, wanted, duration, availability)
        proposal.chosen = sequence in chosen
        if not proposal.ok:
            earliest = previous_local + datetime.timedelta(days=min_gap_days) if previous_local else None
            proposal.alternatives = nearest_free(wanted, duration, availability, not_before=earliest)
        else:
            availability.book(proposal.starts_at, proposal.ends_at)
        previous_local = wanted
        proposals.append(proposal)
    return proposals


def check_slot(sequence, wanted, duration, availability):
    try:
        start = localize(wanted, availability.zone)
    except LocalTimeError as error:
        return ProposedSession(sequence, wanted, None, None, [str(error)], [])
    end = start + duration
    return ProposedSession(sequence, wanted, start, end, availability.problems(start, end), [])


def nearest_free(wanted, duration, availability, not_before=None, limit=ALTERNATIVES):
    """The free slots nearest to `wanted` (local), searching a week either side."""
    candidates = []
    for day_offset in range(-SEARCH_DAYS, SEARCH_DAYS + 1):
        day = wanted.date() + datetime.timedelta(days=day_offset)
        for opens, closes in availability.opening.get(day.weekday(), ()):
            moment = datetime.datetime.combine(day, opens)
            latest = datetime.datetime.combine(day, closes) - duration
            while moment <= latest:
                candidates.append(moment)
                moment += STEP
    # Nearest first; between two equally near, the later keeps at least the planned gap.
    candidates.sort(key=lambda moment: (abs(moment - wanted), moment < wanted, moment))
    found = []
    for moment in candidates:
        if not_before and moment.date() < not_before.date():
            continue
        try:
            start = localize(moment, availability.zone)
        except LocalTimeError:
            continue
        if not availability.problems(start, start + duration):
            found.append(start)
            if len(found) == limit:
                break
    return found


def spacing_flags(local_starts: list[tuple[int, datetime.datetime]], min_gap_days: int) -> list[str]:
    """Sessions closer to the previous one than the protocol allows: [(sequence, local start)]."""
    flags = []
    ordered = sorted(local_starts, key=lambda item: item[1])
    for (prev_seq, prev), (seq, current) in itertools.pairwise(ordered):
        gap = (current.date() - prev.date()).days
        if gap < min_gap_days:
            flags.append(
                f"Session {seq} is {gap} day{'s' if gap != 1 else ''} after session {prev_seq}; "
                f"the protocol asks for at least {min_gap_days}."
            )
    return flags


def shift_wall_clock(moments: list[datetime.datetime], delta: datetime.timedelta, zone) -> list[datetime.datetime]:
    """Move aware moments by `delta` of wall-clock time (a week later stays 10:00)."""
    return [localize(wall_clock(moment, zone) + delta, zone) for moment in moments]
