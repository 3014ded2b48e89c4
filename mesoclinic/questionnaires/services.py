"""Writing questionnaires: send, open with the date of birth, save as the patient goes,
submit (the engine runs), revoke, and adopt into a screening.

What the patient is told after submitting is decided here and only here (`patient_outcome`):
- a critical finding (pregnancy, breastfeeding, under 18, an active infection, anything else
  that defers treatment unless the practitioner overrides it): "please call the clinic before
  your appointment", with no clinical detail: the patient cannot know whether an override will
  apply, and must not travel for a treatment that will not happen;
- otherwise "thank you; the clinic will review your answers";
- and in both cases the preparation the patient can act on now (stop ibuprofen a week before,
  no alcohol for a day), from the same place every email and sheet takes it
  (screening.instructions). A medicine only its prescriber may pause is never among them: with
  no prescriber's decision recorded yet, the patient is told nothing about stopping it.
"""

from __future__ import annotations

import datetime
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.core.audit import acting_as, record_change
from mesoclinic.core.selectors import clinic_today, current_clinic, wall_clock
from mesoclinic.screening import engine
from mesoclinic.screening.instructions import STOP, for_session, instructions_from
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import hours_until
from mesoclinic.treatment_sessions.models import (
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.reminders.channels import address, channels_for, lead_channel
from mesoclinic.treatment_sessions.reminders.services import enqueue

from . import answers as reading
from .definition import questionnaire
from .models import (
    MAX_DATE_OF_BIRTH_TRIES,
    VALID_FOR,
    PatientMessage,
    QuestionnaireLink,
    QuestionnaireRequest,
    QuestionnaireResponse,
)

CHASE_BEFORE = datetime.timedelta(days=3)
log = logging.getLogger(__name__)


class QuestionnaireRefused(Exception):
    """The questionnaire cannot be sent, submitted or adopted now; the message says why."""


# --- Sending ---------------------------------------------------------------------------


def can_reach(patient):
    return any(address(patient, channel) for channel in channels_for(patient))


@transaction.atomic
def questionnaire_send(*, patient, by=None, visit_on=None, session=None, now=None) -> QuestionnaireRequest:
    """Send the patient a questionnaire for the visit on `visit_on` (or `session`'s day): a new
    request, revoking any open one (one questionnaire to fill in at a time, and the newest link
    is the one that works), its message queued through the reminders (email, SMS or both, as
    the patient takes them), and a chase 3 days before the visit if it is still not returned."""
    now = now or timezone.now()
    patient = type(patient).objects.select_for_update().get(pk=patient.pk)
    if session is not None:
        visit_on = timezone.localtime(session.starts_at, current_clinic().zone).date()
    visit_on = visit_on or clinic_today() + datetime.timedelta(days=7)
    if patient.is_archived:
        raise QuestionnaireRefused(_("The record is archived: nothing is sent from it."))
    if visit_on < clinic_today():
        raise QuestionnaireRefused(_("The visit is in the past: give the day of the appointment."))
    if not can_reach(patient):
        raise QuestionnaireRefused(
            _("The patient has no email address or mobile number for messages: add one to the record, then send.")
        )
    with acting_as(by):
        for open_request in QuestionnaireRequest.objects.open(now).filter(patient=patient):
            _revoke(open_request, by=by, now=now)
        request = QuestionnaireRequest.objects.create(
            patient=patient,
            session=session,
            visit_on=visit_on,
            created_at=now,
            created_by=by,
            # 7 days, or less when the visit comes first: answers after the visit are no use.
            # The chase 3 days before a later visit reopens it until the visit (message_context).
            expires_at=min(now + VALID_FOR, end_of(visit_on)),
        )
    _queue_message(request, ReminderKind.QUESTIONNAIRE, due=now, key=f"questionnaire:{request.pk}")
    chase = datetime.datetime.combine(visit_on, datetime.time(10), tzinfo=current_clinic().zone) - CHASE_BEFORE
    if chase > now + datetime.timedelta(days=1):
        _queue_message(request, ReminderKind.QUESTIONNAIRE_CHASE, due=chase, key=f"questionnaire-chase:{request.pk}")
    return request


def end_of(day):
    """The end of the clinic's day `day`: a link sent for a visit more than 7 days away still
    works until the visit, so the chase 3 days before can bring the patient back to it."""
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=current_clinic().zone)


def _queue_message(request, kind, *, due, key):
    """A reminder row for the questionnaire's message. It names no session: a session's own
    reminders are kept in step with it (reminders.services.sync_reminders cancels every pending
    row of a session it did not make), and this message belongs to the questionnaire, which
    says itself whether it is still wanted (`chase_still_wanted`). The visit day is in the
    details, for the outbox and its preview."""
    reminder = Reminder.objects.create(
        key=key,
        patient=request.patient,
        session=None,
        kind=kind,
        channel=lead_channel(request.patient),
        due_at=due,
        enqueued_at=due if due <= timezone.now() else None,
        details={"questionnaire": request.pk, "visit_on": request.visit_on.isoformat()},
    )
    if reminder.enqueued_at is not None:
        transaction.on_commit(lambda: enqueue(reminder.pk))
    return reminder


def link_create(request) -> str:
    """A fresh key to `request`; the token itself is only ever in the message."""
    token = secrets.token_urlsafe(32)
    QuestionnaireLink.objects.create(request=request, token_sha256=QuestionnaireLink.digest(token))
    return token


def message_context(reminder):
    """What the questionnaire's message says besides the patient and the clinic (reminders call
    this when the message goes, under its row's lock): a fresh link to the same questionnaire,
    the visit (the session's day and time as they are now, if it was sent for one), and until
    when it can be answered. Whether it should still go is `chase_still_wanted`'s question.

    A chase reopens the questionnaire until the end of the visit day: the first link works 7
    days, and a visit further away is chased 3 days before it."""
    request = QuestionnaireRequest.objects.select_related("patient", "session").get(
        pk=reminder.details["questionnaire"]
    )
    if reminder.kind == ReminderKind.QUESTIONNAIRE_CHASE and request.expires_at < end_of(request.visit_on):
        request.expires_at = end_of(request.visit_on)
        request.save(update_fields=["expires_at"])
    token = link_create(request)
    return {
        **message_preview(reminder, request),
        "link": settings.MESOCLINIC_BASE_URL.rstrip("/") + reverse("questionnaires:link", args=[token]),
    }


def message_preview(reminder, request=None):
    """The message's facts without its link, for the outbox's preview (it writes nothing). Times
    are the clinic's wall clock: a worker renders in UTC, and a link that works "until 23:59"
    must not read "20:59"."""
    if request is None:
        request = QuestionnaireRequest.objects.select_related("patient", "session").get(
            pk=reminder.details["questionnaire"]
        )
    zone = current_clinic().zone
    session = _still_booked(request)
    expires_at = request.expires_at
    if reminder.kind == ReminderKind.QUESTIONNAIRE_CHASE:
        expires_at = max(expires_at, end_of(request.visit_on))
    until = wall_clock(expires_at, zone)
    if until.time() == datetime.time.min:  # "until the end of the visit day", not "00:00 the day after"
        until -= datetime.timedelta(minutes=1)
    return {
        "link": _("[a new link, made when the message is sent]"),
        "questionnaire": request,
        "days": VALID_FOR.days,
        "visit_on": wall_clock(session.starts_at, zone).date() if session else request.visit_on,
        "appointment": wall_clock(session.starts_at, zone) if session else None,
        "until": until,
    }


def _still_booked(request):
    session = request.session
    return session if session is not None and session.status == SessionStatus.SCHEDULED else None


def chase_still_wanted(reminder):
    """The questionnaire's messages go only while it can still be answered, and, if it was sent
    for a session, while that session is still booked (a cancelled appointment is not chased)."""
    request = (
        QuestionnaireRequest.objects.select_related("session").filter(pk=reminder.details.get("questionnaire")).first()
    )
    if request is None:
        return False
    problem = request.problem()
    # A chase reopens a questionnaire that merely ran past its 7 days (message_context).
    if problem and not (problem == "expired" and reminder.kind == ReminderKind.QUESTIONNAIRE_CHASE):
        return False
    return request.session_id is None or _still_booked(request) is not None


@transaction.atomic
def questionnaire_revoke(*, request, by, now=None) -> bool:
    request = QuestionnaireRequest.objects.select_for_update().get(pk=request.pk)
    if request.revoked_at is not None or hasattr(request, "response"):
        return False
    with acting_as(by):
        _revoke(request, by=by, now=now or timezone.now())
    return True


def _revoke(request, *, by, now):
    request.revoked_at = now
    request.revoked_by = by
    request.save(update_fields=["revoked_at", "revoked_by"])
    Reminder.objects.filter(details__questionnaire=request.pk, status=ReminderStatus.PENDING).update(
        status=ReminderStatus.CANCELLED, last_error="The questionnaire was switched off."
    )


# --- Opening with the date of birth ------------------------------------------------------


def link_lookup(token):
    """(request, problem): the request a token names, or why it cannot be opened."""
    if not token or len(token) > 100:
        return None, "unknown"
    link = (
        QuestionnaireLink.objects.select_related("request__patient", "request__response")
        .filter(token_sha256=QuestionnaireLink.digest(token))
        .first()
    )
    if link is None:
        return None, "unknown"
    return link.request, link.request.problem()


@transaction.atomic
def date_of_birth_check(*, request, date_of_birth) -> str:
    """ "ok", "wrong" or "locked". Five wrong dates in a row lock the questionnaire: the clinic
    sends a new one. The count is taken under the row's lock, so parallel guesses count too."""
    request = QuestionnaireRequest.objects.select_for_update(of=("self",)).select_related("patient").get(pk=request.pk)
    if request.locked_at is not None:
        return "locked"
    if date_of_birth == request.patient.date_of_birth:
        if request.failed_checks:
            request.failed_checks = 0
            request.save(update_fields=["failed_checks"])
        return "ok"
    request.failed_checks += 1
    fields = ["failed_checks"]
    if request.failed_checks >= MAX_DATE_OF_BIRTH_TRIES:
        request.locked_at = timezone.now()
        fields.append("locked_at")
    request.save(update_fields=fields)
    return "locked" if request.locked_at else "wrong"


# --- Answering ---------------------------------------------------------------------------


def screens_for(request, language=None):
    return questionnaire(asks_about_pregnancy=request.patient.sex != "male", language=language)


@transaction.atomic
def draft_save(*, request, given) -> QuestionnaireRequest:
    """Keep what the patient has given so far (a screen's answers merged into the rest)."""
    request = QuestionnaireRequest.objects.select_for_update().get(pk=request.pk)
    if request.problem():
        raise QuestionnaireRefused(_problem_words(request.problem()))
    request.draft = {**request.draft, **given}
    request.draft_saved_at = timezone.now()
    request.save(update_fields=["draft", "draft_saved_at"])
    return request


def _unanswered_words(name):
    if name in ("pregnant", "breastfeeding"):
        return _("Answer yes or no.")
    return _("Tick what applies, write it in, or tick “none”.")


def _problem_words(problem):
    return {
        "answered": _("These answers have already been sent to the clinic."),
        "revoked": _("The clinic has switched this questionnaire off."),
        "expired": _("This questionnaire has expired."),
        "locked": _("This questionnaire is locked."),
    }.get(problem, _("This questionnaire cannot be answered."))


def evaluate(request, given, *, kb=None, language=None):
    """(reading, result): the patient's answers read and, when complete, the engine's result."""
    kb = kb or knowledge_base()
    read = reading.read(
        given,
        screens_for(request, language),
        kb=kb,
        date_of_birth=request.patient.date_of_birth,
        on_date=request.visit_on,
    )
    if read.answers is None or read.unanswered:
        return read, None
    return read, engine.evaluate(read.answers, kb, hours_to_prepare=hours_until(request.visit_on))


def patient_outcome(result, submitted_at, starts_at, now=None):
    """(message, instructions): what the patient is told (see the module's docstring). Only
    what can still be kept before `starts_at` is an instruction: a week's stop of ibuprofen
    for a visit tomorrow is the practitioner's to weigh, not the patient's to attempt."""
    message = PatientMessage.CALL if result.verdict == "defer" else PatientMessage.THANKS
    response = _Findings([finding.as_json() for finding in result.findings], submitted_at)
    instructions = [i for i in instructions_from(response, [], knowledge_base()) if i.kind == STOP]
    return message, for_session(instructions, starts_at, now or timezone.now())


def visit_starts(request):
    """When the visit starts: the session's time, or (not booked yet) the start of the clinic's
    day, the cautious reading, as the screening's hold timing takes it."""
    if request.session is not None:
        return request.session.starts_at
    return datetime.datetime.combine(request.visit_on, datetime.time.min, tzinfo=current_clinic().zone)


class _Findings:
    """The shape screening.instructions reads: findings and when they were given."""

    def __init__(self, findings, recorded_at):
        self.findings = findings
        self.recorded_at = recorded_at
        self.consultation = self


@transaction.atomic
def questionnaire_submit(*, request, given, language) -> QuestionnaireResponse:
    """Record what the patient sent, with the engine's findings, once. A second submission
    (a double tap, a second tab, after the clinic adopted it) is refused with words."""
    request = (
        QuestionnaireRequest.objects.select_for_update(of=("self",))
        .select_related("patient", "session")
        .get(pk=request.pk)
    )
    if request.problem():
        raise QuestionnaireRefused(_problem_words(request.problem()))
    given = {**request.draft, **given}
    read, result = evaluate(request, given, language=language)
    if result is None:
        raise ValidationError(read.problems or {name: _unanswered_words(name) for name in read.unanswered})
    now = timezone.now()
    message, instructions = patient_outcome(result, now, visit_starts(request), now)
    response = QuestionnaireResponse.objects.create(
        request=request,
        patient=request.patient,
        submitted_at=now,
        language=language,
        given=given,
        answers=read.answers.as_json(),
        goals=given.get("goals", "").strip(),
        previous_treatments=given.get("previous_treatments", "").strip(),
        findings=[finding.as_json() for finding in result.findings],
        verdict=result.verdict,
        rules_version=result.rules_version,
        patient_message=message,
        instructions=[i.as_json() for i in instructions],
    )
    request.draft_saved_at = now
    request.save(update_fields=["draft_saved_at"])
    Reminder.objects.filter(
        details__questionnaire=request.pk, kind=ReminderKind.QUESTIONNAIRE_CHASE, status=ReminderStatus.PENDING
    ).update(status=ReminderStatus.CANCELLED, last_error="The questionnaire came back.")
    return response


# --- Adopting ----------------------------------------------------------------------------


@transaction.atomic
def questionnaire_adopt(*, response, submission, by):
    """Record the screening the practitioner made from these answers, and link the two. The
    response is locked first: two practitioners adopting at once make one screening."""
    response = QuestionnaireResponse.objects.select_for_update().get(pk=response.pk)
    if response.is_adopted:
        raise QuestionnaireRefused(_("These answers were already adopted into a screening."))
    screening = submission.save(by)
    if screening is None:
        return None
    response.adopted_screening = screening
    response.adopted_at = timezone.now()
    response.adopted_by = by
    with acting_as(by):
        response.save(update_fields=list(QuestionnaireResponse.ADOPTION))
    record_change(
        screening, {"started from": ["", f"the patient's questionnaire of {response.submitted_at:%Y-%m-%d}"]}, actor=by
    )
    return screening


def send_for_first_booking(session_id):
    """A plan's first session was booked: send the questionnaire for it, unless the patient has
    one still to answer, or returned one in the last 30 days (their answers are fresh). A
    patient the clinic cannot message is not an error for the booking: the patient page
    offers to send it once an address is added."""
    session = TreatmentSession.objects.select_related("patient").filter(pk=session_id).first()
    if session is None:
        return None
    patient = session.patient
    recent = timezone.now() - datetime.timedelta(days=30)
    if QuestionnaireRequest.objects.open().filter(patient=patient).exists():
        return None
    if QuestionnaireResponse.objects.filter(patient=patient, submitted_at__gte=recent).exists():
        return None
    try:
        return questionnaire_send(patient=patient, session=session)
    except QuestionnaireRefused as refusal:
        log.info("No questionnaire sent for session %s: %s", session_id, refusal)
        return None
