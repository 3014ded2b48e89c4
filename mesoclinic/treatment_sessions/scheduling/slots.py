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
from dataclasses import dataclass, field

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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
            _("%(time)s does not exist on %(day)s: the clocks go forward that night.")
            % {"time": f"{naive:%H:%M}", "day": date_format(naive, "d M Y")}
        )
    if first.utcoffset() != second.utcoffset():
        raise AmbiguousLocalTime(
            _("%(time)s happens twice on %(day)s: the clocks go back that night. Choose another time.")
            % {"time": f"{naive:%H:%M}", "day": date_format(naive, "d M Y")}
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
class PlanSpacing:
    """The plan's sessions by clinic day, and how far apart the protocol lets them be.

    Shorter than `min_days` is always a conflict: the skin has not recovered (the protocol's
    minimum). Longer than `max_days` is a conflict only between sessions still to come: a
    patient who comes back after a break must still be bookable, so a gap after a session
    that has happened is left to the practitioner (the plan flags it)."""

    min_days: int
    max_days: int
    sessions: list = field(default_factory=list)  # (clinic day, number, session id, has happened)

    def add(self, day, number, session_id=None):
        self.sessions.append((day, number, session_id, False))

    def problems(self, day, ignore=frozenset()):
        others = [s for s in self.sessions if s[2] is None or s[2] not in ignore]
        before = max((s for s in others if s[0] <= day), default=None, key=lambda s: s[0])
        after = min((s for s in others if s[0] > day), default=None, key=lambda s: s[0])
        found = []
        for neighbour, after_it in ((before, True), (after, False)):
            if neighbour is None:
                continue
            gap = abs((day - neighbour[0]).days)
            which = _("session {number} ({day})").format(number=neighbour[1], day=date_format(neighbour[0], "D j M"))
            if gap < self.min_days:
                at_least = days_words(self.min_days)
                if gap == 0:
                    found.append(_("The same day as {which}: the protocol asks for at least {days} between sessions."))
                elif after_it:
                    found.append(_("Only {gap} after {which}: the protocol asks for at least {days} between sessions."))
                else:
                    found.append(
                        _("Only {gap} before {which}: the protocol asks for at least {days} between sessions.")
                    )
                found[-1] = found[-1].format(which=which, gap=days_words(gap), days=at_least)
            elif gap > self.max_days and not neighbour[3]:
                words = (
                    _("{gap} after {which}: the protocol allows at most {days} between sessions.")
                    if after_it
                    else _("{gap} before {which}: the protocol allows at most {days} between sessions.")
                )
                found.append(words.format(gap=days_words(gap), which=which, days=days_words(self.max_days)))
                found[-1] = found[-1][:1].upper() + found[-1][1:]
        return found


def days_words(count):
    return ngettext("{count} day", "{count} days", count).format(count=count)


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
    spacing: PlanSpacing | None = None  # the plan's, when booking or moving its sessions

    def problems(self, start: datetime.datetime, end: datetime.datetime, ignore=frozenset()) -> list[str]:
        """Why [start, end) cannot be booked; an empty list means it can."""
        local_start, local_end = wall_clock(start, self.zone), wall_clock(end, self.zone)
        day = local_start.date()
        found = []
        if start < self.now:
            found.append(_("That time has passed."))
        if local_end.date() != day:
            found.append(_("A session cannot run past midnight."))
        closure = next((c for c in self.closures if c[0] <= day <= c[1]), None)
        open_then = _within(self.opening.get(day.weekday(), ()), local_start, local_end)
        if closure:
            found.append(
                _("The clinic is closed: %(reason)s.") % {"reason": closure[2]}
                if closure[2]
                else _("The clinic is closed.")
            )
        elif not open_then:
            found.append(_("The clinic is not open then."))
        if any(a[0] <= day <= a[1] for a in self.absences):
            found.append(_("%(who)s is away that day.") % {"who": self.practitioner.label})
        elif open_then and not closure and not _within(self.working.get(day.weekday(), ()), local_start, local_end):
            # (when the clinic is shut, that the practitioner does not work then is no news)
            found.append(_("%(who)s does not work then.") % {"who": self.practitioner.label})
        for busy in (self.practitioner, self.room, self.patient):
            clash = busy.clash(start, end, ignore)
            if clash:
                when = f"{wall_clock(clash[0], self.zone):%H:%M}–{wall_clock(clash[1], self.zone):%H:%M}"
                words = _("%(who)s is already booked %(when)s.") % {"who": busy.label, "when": when}
                found.append(words[:1].upper() + words[1:])
        if self.spacing is not None:
            found += self.spacing.problems(day, ignore)
        return found

    def book(self, start, end, session_id=None, number=None):
        """Count [start, end) as taken from now on (for the later sessions of a proposal)."""
        for busy in (self.practitioner, self.room, self.patient):
            busy.add(start, end, session_id)
        if self.spacing is not None and number is not None:
            self.spacing.add(wall_clock(start, self.zone).date(), number, session_id)


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
            availability.book(proposal.starts_at, proposal.ends_at, number=sequence)
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


def nearest_free(
    wanted, duration, availability, not_before=None, limit=ALTERNATIVES, ignore=frozenset(), not_after=None
):
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

    # The nearest day first, and on it the time nearest the one wanted (a patient who comes at
    # 10:00 is offered 10:00 on another day before 19:15 the evening before); between two
    # equally near, the later keeps at least the planned gap. One time per day, so that the
    # few offered are real choices.
    def nearness(moment):
        days_apart = abs((moment.date() - wanted.date()).days)
        minutes_apart = abs((moment - datetime.datetime.combine(moment.date(), wanted.time())).total_seconds())
        return (days_apart, minutes_apart, moment < wanted, moment)

    candidates.sort(key=nearness)
    found, days_offered = [], set()
    for moment in candidates:
        if moment.date() in days_offered:
            continue
        if not_before and moment.date() < not_before.date():
            continue
        if not_after and moment.date() > not_after:
            continue
        try:
            start = localize(moment, availability.zone)
        except LocalTimeError:
            continue
        if not availability.problems(start, start + duration, ignore):
            found.append(start)
            days_offered.add(moment.date())
            if len(found) == limit:
                break
    return found


def shift_wall_clock(moments: list[datetime.datetime], delta: datetime.timedelta, zone) -> list[datetime.datetime]:
    """Move aware moments by `delta` of wall-clock time (a week later stays 10:00)."""
    return [localize(wall_clock(moment, zone) + delta, zone) for moment in moments]
