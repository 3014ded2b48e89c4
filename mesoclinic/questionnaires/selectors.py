"""Reads of a patient's questionnaires for the clinic's pages: the practitioner's panel, and the
clinic admin's one line per appointment (never clinical: returned or not, and whether the
clinic must call first).

Both come from one query (`patient_questionnaires`): the requests, newest first, each with its
response and how its message went out, so the patient page costs the same whatever the count.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, IntegerField, OuterRef, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today, current_clinic
from mesoclinic.treatment_sessions.models import (
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderStatus,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.reminders.channels import address, channels_for

from .models import PatientMessage, QuestionnaireRequest

SHOWN = 10  # requests on the panel: the open one, those to review, the latest history
FRESH_FOR = datetime.timedelta(days=30)  # a return this recent is not asked again (services)
AHEAD = datetime.timedelta(days=7)  # the visit day offered when nothing is booked

# The clinic admin's words for an appointment's questionnaire (templates/questionnaires/_diary.html).
NOT_RETURNED, RETURNED, CALL, NONE = "not returned", "returned", "call", "none"


def _messages_of_request():
    """The questionnaire's own reminder rows (not the chase), matched on the request's id."""
    return Reminder.objects.annotate(
        questionnaire_id=Cast(KeyTextTransform("questionnaire", "details"), IntegerField())
    ).filter(questionnaire_id=OuterRef("pk"))


def patient_questionnaires(patient, limit=SHOWN):
    """The patient's latest questionnaires, newest first, in ONE query: each with its response
    (if returned), and as annotations how its message went: `message_sent_at` (the first copy
    that went), `message_failed` (a copy was not sent), `message_waiting` (a copy still to go),
    `chase_due_at` (the reminder still to go 3 days before the visit, if any)."""
    messages = _messages_of_request()
    first = messages.filter(kind=ReminderKind.QUESTIONNAIRE)
    return list(
        QuestionnaireRequest.objects.filter(patient=patient)
        .select_related("response", "session", "created_by")
        .annotate(
            message_sent_at=Subquery(
                first.filter(status=ReminderStatus.SENT).order_by("sent_at").values("sent_at")[:1]
            ),
            message_failed=Exists(first.filter(status=ReminderStatus.FAILED)),
            message_waiting=Exists(first.filter(status=ReminderStatus.PENDING)),
            chase_due_at=Subquery(
                messages.filter(kind=ReminderKind.QUESTIONNAIRE_CHASE, status=ReminderStatus.PENDING)
                .order_by("due_at")
                .values("due_at")[:1]
            ),
        )
        .order_by("-created_at", "-id")[:limit]
    )


def state_of(request, now=None):
    """Where it stands: "open", "to review", "adopted", "locked", "expired" or "revoked"."""
    problem = request.problem(now)
    if problem == "answered":
        return "adopted" if request.response.is_adopted else "to review"
    return problem or "open"


@dataclass
class Panel:
    """The practitioner's "Pre-visit questionnaire" panel: the one the patient can answer now,
    the answers waiting for review, those adopted into a screening, and the newest one that
    closed unanswered (locked, expired: the clinic sends again)."""

    open: QuestionnaireRequest | None = None
    to_review: list = field(default_factory=list)
    adopted: list = field(default_factory=list)
    unanswered: QuestionnaireRequest | None = None

    @property
    def is_empty(self):
        return not (self.open or self.to_review or self.adopted or self.unanswered)

    @property
    def must_call(self):
        """Answers not yet reviewed asked the patient to call the clinic (they would defer
        treatment): both roles see it at the top, booked or not; the admin answers the phone."""
        return any(request.response.patient_message == PatientMessage.CALL for request in self.to_review)


def panel(requests, now=None):
    """The panel of `requests` (patient_questionnaires): no query."""
    now = now or timezone.now()
    shown = Panel()
    for request in requests:
        request.state = state_of(request, now)
        request.answerable_until = last_moment(request)
        if request.state == "open" and shown.open is None:
            shown.open = request
        elif request.state == "to review":
            shown.to_review.append(request)
        elif request.state == "adopted":
            shown.adopted.append(request)
    # The newest one, if it closed unanswered: an older one is history, not news.
    if requests and requests[0].state in ("locked", "expired", "revoked") and shown.open is None:
        shown.unanswered = requests[0]
    return shown


def last_moment(request):
    """The last minute it can be answered, in the clinic's time: a link that works "until the
    end of the visit day" reads as that day at 23:59, not as the next day at 00:00."""
    until = timezone.localtime(request.expires_at, current_clinic().zone)
    return until - datetime.timedelta(minutes=1) if until.time() == datetime.time.min else until


# --- The clinic admin: one line per appointment --------------------------------------------


def session_day(session, zone):
    return timezone.localtime(session.starts_at, zone).date()


def diary_status(session, requests, zone):
    """What the clinic admin needs for one appointment: CALL (the patient was asked to call
    before coming), RETURNED, NOT_RETURNED or NONE, from the questionnaires sent for this
    session or its day that were not switched off. A call is never hidden by a newer one sent
    since; answers in hand count as returned. With none sent for it, answers returned in the 30
    days before the appointment count (no new one is sent while they are fresh)."""
    day = session_day(session, zone)
    sent = [r for r in requests if r.revoked_at is None and (r.session_id == session.pk or r.visit_on == day)]
    if not sent:
        sent = [r for r in requests if _fresh_for(session, r)]
        if not sent:
            return NONE
    found = {_returned_or_call(request) for request in sent}
    for status in (CALL, RETURNED):
        if status in found:
            return status
    return NOT_RETURNED


def _fresh_for(session, request):
    response = getattr(request, "response", None)
    return response is not None and session.starts_at - FRESH_FOR <= response.submitted_at <= session.starts_at


def _returned_or_call(request):
    response = getattr(request, "response", None)
    if response is None:
        return ""
    return CALL if response.patient_message == PatientMessage.CALL else RETURNED


def upcoming_with_status(sessions, requests, zone, now=None):
    """[(session, status)] for the next scheduled session, and every later one a questionnaire
    was sent for, in time order. (The sessions after a plan's first are not asked again: a
    line for each saying "No questionnaire sent" would be noise on the desk.)"""
    now = now or timezone.now()
    upcoming = [s for s in sessions if s.status == SessionStatus.SCHEDULED and s.starts_at >= now]
    asked = {r.session_id for r in requests if r.revoked_at is None} | {
        r.visit_on for r in requests if r.revoked_at is None
    }
    return [
        (session, diary_status(session, requests, zone))
        for number, session in enumerate(upcoming)
        if number == 0 or session.pk in asked or session_day(session, zone) in asked
    ]


# --- Sending: the form's default day, the session it is for, where it goes ---------------------


def default_visit_day(next_session, zone):
    """The next booked session's day, else a week ahead."""
    return session_day(next_session, zone) if next_session is not None else clinic_today() + AHEAD


def session_on(patient, day, zone, now=None):
    """The patient's next scheduled session on the clinic day `day`, if any: the questionnaire
    is sent for it (its appointment time is in the message)."""
    now = now or timezone.now()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
    return (
        TreatmentSession.objects.filter(
            patient=patient,
            status=SessionStatus.SCHEDULED,
            starts_at__gte=max(start, now),
            starts_at__lt=start + datetime.timedelta(days=1),
        )
        .select_related("room")
        .order_by("starts_at")
        .first()
    )


def destinations(patient):
    """[(channel, masked address)] the questionnaire goes to, as the patient takes messages."""
    found = []
    for channel in channels_for(patient):
        where = address(patient, channel)
        if where:
            found.append((channel, mask_phone(where) if channel == ReminderChannel.SMS else mask_email(where)))
    return found


def mask_email(email):
    """An address as a•••@example.com: enough for the clinic to recognise it, not to read it out."""
    name, _at, domain = email.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else "•••"


def mask_phone(number):
    """A number as +90 ••• 67: the country code and the last two digits of an E.164 number."""
    digits = number.lstrip("+")
    return f"+{digits[:2]} ••• {digits[-2:]}" if len(digits) > 6 else "•••"
