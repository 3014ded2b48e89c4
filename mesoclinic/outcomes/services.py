"""What the outcomes app writes: the patient's scores, and the progress report's message."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mesoclinic.plans.models import Plan
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus, TreatmentSession
from mesoclinic.treatment_sessions.reminders.channels import address, channels_for, lead_channel
from mesoclinic.treatment_sessions.reminders.services import enqueue

from .models import PatientScore
from .selectors import latest_sheet

# The same answer again within this time is the same answer sent twice (a double tap, a page
# sent again by the browser): it adds no row. Answering again later, or differently, does.
SAME_ANSWER_WINDOW = datetime.timedelta(minutes=10)


@transaction.atomic
def scores_give(*, patient, session, answers, channel, now=None):
    """Record the patient's `answers` ({measure: value}) for `session`, by `channel` (link or
    login). Scores are append-only: a new answer is a new row and the newest counts.

    A double submit must not make two rows. The form is not given a one-time key (a key would
    need a table of its own); instead the session's row is the lock, and an answer equal to the
    newest one given in the last SAME_ANSWER_WINDOW is taken as already recorded. Two taps at
    once wait for each other, and the second finds the first's row. Returns the new rows."""
    now = now or timezone.now()
    TreatmentSession.objects.select_for_update(of=("self",)).filter(pk=session.pk).first()
    newest = {}
    for score in PatientScore.objects.filter(
        session=session, patient=patient, measure__in=[measure.code for measure in answers]
    ).order_by("reported_at", "id"):
        newest[score.measure_id] = score
    made = []
    for measure, value in answers.items():
        last = newest.get(measure.code)
        if last is not None and last.value == value and now - last.reported_at < SAME_ANSWER_WINDOW:
            continue
        made.append(
            PatientScore.objects.create(
                patient=patient, session=session, measure=measure, value=value, channel=channel, reported_at=now
            )
        )
    return made


class ReportRefused(Exception):
    """The progress report cannot be sent now; the message says why, for the practitioner."""


def report_send(*, plan, by, now=None):
    """Send the patient a link to their progress report, by the channels they take reminders by,
    in their language. The message is a reminder row like the aftercare email, so it goes out
    through the same worker, outbox and retries; its link (through the aftercare link of the
    plan's latest sheet, 72 hours) is made when it is sent (reports.message_context).

    Refused, with the reason, when the patient has no address for the channels they take, when
    the plan has no aftercare sheet yet (no link to go through), or while a report is already on
    its way: a double click sends one message (the plan's row is the lock)."""
    now = now or timezone.now()
    with transaction.atomic():
        plan = Plan.objects.select_for_update(of=("self",)).select_related("patient").get(pk=plan.pk)
        patient = plan.patient
        if patient.is_archived:
            raise ReportRefused(_("This patient's record is archived: nothing is sent to it."))
        if not any(address(patient, channel) for channel in channels_for(patient)):
            raise ReportRefused(
                _("The patient has no email address or mobile number to send it to: add one to the record, then send.")
            )
        sheet = latest_sheet(plan)
        if sheet is None:
            raise ReportRefused(
                _("There is no aftercare sheet for this plan yet: the report is sent after the first signed session.")
            )
        waiting = Reminder.objects.filter(
            patient=patient, kind=ReminderKind.PROGRESS_REPORT, status=ReminderStatus.PENDING, details__plan=plan.pk
        )
        if waiting.exists():
            raise ReportRefused(_("The progress report is already on its way to the patient."))
        reminder = Reminder.objects.create(
            key=f"progress_report:{plan.pk}:{now:%Y%m%dT%H%M%S.%f}",
            patient=patient,
            session=sheet.session,
            kind=ReminderKind.PROGRESS_REPORT,
            channel=lead_channel(patient),
            due_at=now,
            enqueued_at=now,  # handed over below: the sweep leaves it alone unless that fails
            details={"plan": plan.pk, "sent_by": by.pk},
        )
        transaction.on_commit(lambda: enqueue(reminder.pk))
    return reminder
