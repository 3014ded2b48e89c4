"""Closing days that have sessions booked: the clinic's closures and a practitioner's absences.

The setup pages (core.setup_views) cannot see sessions, so they hand the days they are about to
save to `closing_guard`, registered in the app's AppConfig.ready. When scheduled sessions fall on
the days, nothing is saved yet: the page lists them (patient, time, practitioner, room) and the
clinic admin chooses for each, move it to one of the free times proposed, or cancel it, or does
not close at all. Confirming saves the days and applies every choice in one transaction, or
nothing: a move whose time was taken meanwhile sends the admin back to the list with fresh times.

Proposals are searched as booking searches them (slots.nearest_free over availability_for):
opening hours, closures and the new days among them, the practitioner's hours and absences, the
room, the patient and the plan's spacing. A cancelled session's reminders stop through the usual
sync (session_cancel), and a moved session's follow its new time.

A double click or a stale page is harmless: the confirm step locks the clinic row, then looks the
sessions up again; what someone else moved or cancelled meanwhile is no longer asked about, a
session booked meanwhile is added to the list, and the days already saved are not saved twice
(core.forms.SavedOnceMixin).
"""

import datetime
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mesoclinic.core.models import Clinic
from mesoclinic.core.selectors import clinic_zone, day_bounds, wall_clock
from mesoclinic.core.setup_views import BACK, CLOSING_STEP, CONFIRM, Closing
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

from . import services, slots
from .selectors import availability_for

PROPOSALS = 3
CHOICE = "session-{pk}"  # a radio group per session: CANCEL, or MOVE + the clinic wall-clock time
CANCEL, MOVE = "cancel", "move-"
MOVE_FORMAT = "%Y-%m-%dT%H:%M"


# --- Reads ---------------------------------------------------------------------------------------


def sessions_on(days, practitioner=None, now=None):
    """Scheduled sessions still to come on any of `days` ([(first, last, reason)], clinic dates),
    of `practitioner` only if one is given (an absence), in time order, with what the list shows.
    One query."""
    if not days:
        return []
    zone = clinic_zone()
    when = Q()
    for first, last, _reason in days:
        start, end = day_bounds(first, last, zone)
        when |= Q(starts_at__gte=start, starts_at__lt=end)
    sessions = TreatmentSession.objects.filter(
        when, status=SessionStatus.SCHEDULED, starts_at__gt=now or timezone.now()
    )
    if practitioner is not None:
        sessions = sessions.filter(practitioner=practitioner)
    return list(
        sessions.select_related("patient", "practitioner", "room", "plan__indication", "plan__protocol").order_by(
            "starts_at", "pk"
        )
    )


def _reason_for(session, days, zone):
    day = wall_clock(session.starts_at, zone).date()
    return next((reason for first, last, reason in days if first <= day <= last), "")


@dataclass
class Proposal:
    """One session to decide about, with the free times it could move to (clinic wall-clock
    times, nearest first)."""

    session: TreatmentSession
    local_start: datetime.datetime
    local_end: datetime.datetime
    reason: str
    free: list = field(default_factory=list)
    error: str = ""
    chosen: str = ""  # the radio value the admin picked, kept when the page comes back

    @property
    def name(self):
        return CHOICE.format(pk=self.session.pk)

    @property
    def options(self):
        """(radio value, wall-clock time) of each proposed time."""
        return [(MOVE + local.strftime(MOVE_FORMAT), local) for local in self.free]


def proposals_for(closing: Closing, sessions, *, now=None, chosen=None, errors=None) -> list[Proposal]:
    """For each session, up to PROPOSALS free times, searched as if the new days were already
    closed. A time proposed for one session is not proposed to another session of the same
    practitioner, room or patient: whichever times the admin picks, they do not collide.
    Queries: availability_for's per session (each has its own practitioner, room and patient)."""
    zone = clinic_zone()
    now = now or timezone.now()
    chosen, errors = chosen or {}, errors or {}
    claimed = []  # (start, end, practitioner id, room id, patient id) of the times proposed so far
    found = []
    for session in sessions:
        local_start, local_end = wall_clock(session.starts_at, zone), wall_clock(session.ends_at, zone)
        free = _free_times(session, closing, local_start, claimed, zone, now)
        claimed += [
            (start, start + session.duration, session.practitioner_id, session.room_id, session.patient_id)
            for start in free
        ]
        free = [wall_clock(start, zone) for start in free]
        found.append(
            Proposal(
                session=session,
                local_start=local_start,
                local_end=local_end,
                reason=_reason_for(session, closing.days, zone),
                free=free,
                error=errors.get(session.pk, ""),
                chosen=chosen.get(session.pk, ""),
            )
        )
    return found


def _free_times(session, closing, wanted, claimed, zone, now):
    """Free times for `session` near its own, and (for a long closure) near the first day after
    the closed days, nearest first."""
    last_closed = max(last for _first, last, _reason in closing.days)
    after = datetime.datetime.combine(last_closed + datetime.timedelta(days=1), wanted.time())
    margin = datetime.timedelta(days=slots.SEARCH_DAYS + 1)
    availability = availability_for(
        practitioner=session.practitioner,
        room=session.room,
        patient=session.patient,
        window_start=(min(wanted, after) - margin).replace(tzinfo=zone),
        window_end=(max(wanted, after) + margin).replace(tzinfo=zone),
        now=now,
        zone=zone,
        plan=session.plan,
    )
    # The new days count as closed already (they are saved only on confirming).
    for first, last, reason in closing.days:
        if closing.practitioner is None:
            availability.closures.append((first, last, reason))
        elif closing.practitioner.pk == session.practitioner_id:
            availability.absences.append((first, last))
    for start, end, practitioner_id, room_id, patient_id in claimed:
        for busy, mine in (
            (availability.practitioner, practitioner_id == session.practitioner_id),
            (availability.room, room_id == session.room_id),
            (availability.patient, patient_id == session.patient_id),
        ):
            if mine:
                busy.add(start, end)
    ignore = frozenset({session.pk})  # its own place and day do not stand in its way
    targets = [wanted]
    if after.date() - wanted.date() > datetime.timedelta(days=slots.SEARCH_DAYS):
        targets.append(after)  # a long closure: the days after it, too
    free = []
    for target in targets:
        free += _one_a_day(target, session.duration, availability, ignore, zone)
    free.sort(key=lambda start: (abs(start - session.starts_at), start))
    return sorted(free[:PROPOSALS])


def _one_a_day(target, duration, availability, ignore, zone):
    """The nearest free time on each of the days nearest `target` (up to PROPOSALS days): three
    times on one afternoon are one choice, not three. Each day is searched from its own start,
    so the nearest free time found is that day's, if it has one."""
    found = []
    offsets = sorted(range(-slots.SEARCH_DAYS, slots.SEARCH_DAYS + 1), key=lambda days: (abs(days), days))
    for offset in offsets:
        day = target.date() + datetime.timedelta(days=offset)
        on_day = datetime.datetime.combine(day, target.time())
        start_of_day = datetime.datetime.combine(day, datetime.time(0))
        free = slots.nearest_free(on_day, duration, availability, not_before=start_of_day, limit=1, ignore=ignore)
        if free and wall_clock(free[0], zone).date() == day:
            found.append(free[0])
            if len(found) == PROPOSALS:
                break
    return found


# --- The write -----------------------------------------------------------------------------------


class ClosingRefused(Exception):
    """Nothing was saved: some sessions lack a choice, or a choice could not be applied."""

    def __init__(self, sessions, errors):
        super().__init__("closing refused")
        self.sessions = sessions
        self.errors = errors  # {session id: what to fix}


@dataclass
class ClosingOutcome:
    moved: list = field(default_factory=list)
    cancelled: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # what the moves warn about (spacing, preparation)
    already: int = 0  # sessions on the page that someone else moved or cancelled meanwhile


def parse_choices(posted) -> dict:
    """{session id: (CANCEL, None) or (MOVE, clinic wall-clock time)} from the posted radios;
    anything unreadable is left out (and then asked for again)."""
    found = {}
    for key, value in posted.items():
        if not key.startswith("session-") or not key[len("session-") :].isdigit():
            continue
        pk = int(key[len("session-") :])
        if value == CANCEL:
            found[pk] = (CANCEL, None)
        elif value.startswith(MOVE):
            try:
                found[pk] = (MOVE, datetime.datetime.strptime(value[len(MOVE) :], MOVE_FORMAT))
            except ValueError:
                continue
    return found


@transaction.atomic
def closing_apply(*, closing: Closing, choices: dict, listed: set, by, now=None) -> ClosingOutcome:
    """Save the days and apply the choice made for each session booked on them, all or nothing.

    Locks the clinic's row first, so two confirmations of the same closing (a double click, two
    admins) take turns, and the second finds the sessions the first dealt with gone from the days.
    Then, as every scheduling write does, each move or cancel locks the session's plan."""
    Clinic.objects.select_for_update().filter(pk=Clinic.current().pk).first()
    zone = clinic_zone()
    sessions = sessions_on(closing.days, closing.practitioner, now=now)
    missing = {
        session.pk: _("Choose what to do with this session.")
        if session.pk in listed
        else _("Booked while you were deciding: choose for it too.")
        for session in sessions
        if session.pk not in choices
    }
    if missing:
        raise ClosingRefused(sessions, missing)
    closing.save()
    outcome = ClosingOutcome(already=len(listed - {session.pk for session in sessions}))
    errors = {}
    for session in sessions:
        action, new_local = choices[session.pk]
        reason = _reason_for(session, closing.days, zone)
        why = _closed_words(closing, reason)
        try:
            if action == CANCEL:
                services.session_cancel(session=session, reason=why, by=by)
                outcome.cancelled.append(session)
            else:
                result = services.session_move(session=session, new_local=new_local, by=by, note=why)
                outcome.moved.append(session)
                outcome.flags += result.flags
        except ValidationError as error:
            errors[session.pk] = " ".join(error.messages)
    if errors:
        raise ClosingRefused(sessions, errors)  # rolls back the days and every move and cancel
    return outcome


def _closed_words(closing, reason):
    """The session's change note, kept in the audit trail: why it moved or was cancelled."""
    if closing.practitioner is not None:
        words = _("%(who)s away") % {"who": closing.practitioner.display_name}
    else:
        words = _("Clinic closed")
    return f"{words}: {reason}" if reason else words


# --- The page ------------------------------------------------------------------------------------


def closing_guard(request, closing: Closing):
    """The setup pages' guard (core.setup_views.register_closing_guard): None when no session is
    booked on the days (the page saves as usual), else the list to decide about or, once
    confirmed, the outcome."""
    if request.POST.get(CLOSING_STEP) != CONFIRM:
        sessions = sessions_on(closing.days, closing.practitioner)
        if not sessions:
            return None
        return _confirm_page(request, closing, proposals_for(closing, sessions))
    choices = parse_choices(request.POST)
    listed = {int(pk) for pk in request.POST.getlist("listed") if pk.isdigit()}
    try:
        outcome = closing_apply(closing=closing, choices=choices, listed=listed, by=request.user)
    except ClosingRefused as refused:
        # Nothing was saved. The list again as it stands now (someone may have moved a session
        # meanwhile), with fresh times, what the admin chose kept, and what went wrong.
        chosen = {
            int(key[len("session-") :]): value
            for key, value in request.POST.items()
            if key.startswith("session-") and key[len("session-") :].isdigit()
        }
        sessions = sessions_on(closing.days, closing.practitioner) or refused.sessions
        page = proposals_for(closing, sessions, chosen=chosen, errors=refused.errors)
        return _confirm_page(request, closing, page, refused=True)
    _tell(request, outcome)
    return closing.saved(request)


def _tell(request, outcome):
    if outcome.moved:
        count = len(outcome.moved)
        messages.success(
            request, ngettext("Moved %(count)d session.", "Moved %(count)d sessions.", count) % {"count": count}
        )
    if outcome.cancelled:
        count = len(outcome.cancelled)
        messages.success(
            request,
            ngettext(
                "Cancelled %(count)d session: its reminders will not be sent.",
                "Cancelled %(count)d sessions: their reminders will not be sent.",
                count,
            )
            % {"count": count},
        )
    if outcome.already:
        messages.info(
            request,
            ngettext(
                "%(count)d session on the list had already been moved or cancelled.",
                "%(count)d sessions on the list had already been moved or cancelled.",
                outcome.already,
            )
            % {"count": outcome.already},
        )
    for flag in outcome.flags:
        messages.warning(request, flag)


def _carried(posted):
    """What the setup page sent, to send again on confirming: (name, value) pairs, the page's
    own rows only (not the token, the step or the choices, which the confirm page sets)."""
    skip = ("csrfmiddlewaretoken", CLOSING_STEP, "listed")
    return [
        (name, value)
        for name, values in posted.lists()
        if name not in skip and not name.startswith("session-")
        for value in values
    ]


def _confirm_page(request, closing, proposals, refused=False):
    zone = clinic_zone()
    days = [
        {"first": first, "last": last, "reason": reason}
        for first, last, reason in sorted(closing.days, key=lambda day: day[0])
    ]
    context = {
        "closing": closing,
        "days": days,
        "proposals": proposals,
        "carried": _carried(closing.posted),
        "refused": refused,
        "zone": zone,
        "step": CLOSING_STEP,
        "confirm": CONFIRM,
        "back": BACK,
        "cancel_value": CANCEL,
    }
    return render(request, "treatment_sessions/scheduling/closure_confirm.html", context)
