"""Sending one reminder: lock the row, compose the message in the patient's language, send, mark.

A reminder goes by email, text message (SMS) or both, as the patient prefers
(`Patient.contact_by`, read when it is sent, so a changed preference counts). Each channel is
its own row: the row the services made (the lead) and, for a second channel, a copy keyed
`<lead key>+sms` (or `+email`), made from the lead in a transaction of its own just before the
lead is sent. One row per channel keeps "sent exactly once" what it was for email: each row is
locked, sent and marked in one transaction, so an SMS gateway that fails and is retried never
sends the email again, and the other way round. (Flags for two channels on one row could not
do that: the failure of the second would roll back the mark of the first.) A lead whose
channel the patient no longer takes moves to one they do, if that channel has no row yet.

Apps above this one add to the emails of their kinds with `register_composer` (aftercare puts
a fresh link to the sheet in its email), so this module never imports them.

The outbox previews a message with the same `compose` and `compose_sms`, so what staff read is
what the patient gets; only what a composer makes at sending time (a fresh secret link) is shown
as a placeholder, because a preview must not make one.

A text message says no more than when and where, and a link (templates/sms/): no medicine, no
treatment, nothing a lock screen should show. It is at most two parts (core/sms.py counts them:
Turkish letters make it UCS-2, 67 characters a part); if the full wording is longer, the short
one goes (without the clinic's name), and if that is still too long it is "Not sent", saying why.
"""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from mesoclinic.core import sms
from mesoclinic.core.selectors import current_clinic, wall_clock
from mesoclinic.screening.instructions import translate_substance
from mesoclinic.treatment_sessions.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus

from .channels import channels_for, copy_key, sms_number
from .services import enqueue

SESSION_KINDS = (
    ReminderKind.HOLD,
    ReminderKind.APPOINTMENT,
    ReminderKind.FOLLOW_UP,
    ReminderKind.AFTERCARE,
    ReminderKind.CHANGE,
)
# kind -> function(reminder) -> extra template context for that kind's email.
COMPOSERS = {}
# kind -> function(reminder) -> False when the message is no longer wanted (a chase for a
# questionnaire that came back): checked under the row's lock, just before sending.
STILL_WANTED = {}
# kind -> function(reminder) -> what a preview shows instead of what its composer makes only
# when the email goes.
PREVIEWS = {
    # The aftercare link is a new secret each time the email is sent (emails/aftercare.txt).
    ReminderKind.AFTERCARE: lambda reminder: {"link": gettext_lazy("[a new link, made when the email is sent]")},
}


def register_composer(kind, composer, *, preview=None, still_wanted=None):
    """`composer(reminder)` returns what the email of `kind` needs besides the session;
    `preview(reminder)`, if given, what a preview shows instead (it must write nothing);
    `still_wanted(reminder)`, if given, whether it should still go when it falls due."""
    COMPOSERS[kind] = composer
    if preview is not None:
        PREVIEWS[kind] = preview
    if still_wanted is not None:
        STILL_WANTED[kind] = still_wanted


def deliver(reminder_id):
    """Send one reminder if it is still due: lock, check, send, mark sent, in one transaction.

    If the process dies before the commit, nothing is marked and the message comes back;
    if it dies between the mail server's (or SMS gateway's) acceptance and the commit (a
    moment), the patient could get the message twice: the Message-ID, and the SMS reference
    (the row's key), are stable so mail systems and gateways can drop the copy.
    """
    _share_out(reminder_id)
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("patient", "session__plan__indication", "session__room", "session__practitioner")
            .filter(pk=reminder_id)
            .first()
        )
        if reminder is None or reminder.status != ReminderStatus.PENDING:
            return "skipped"
        if reminder.session_id is None and reminder.kind in SESSION_KINDS:
            reminder.status = ReminderStatus.CANCELLED
            reminder.last_error = "The session no longer exists."
            reminder.save(update_fields=["status", "last_error"])
            return "cancelled"
        if reminder.kind in STILL_WANTED and not STILL_WANTED[reminder.kind](reminder):
            reminder.status = ReminderStatus.CANCELLED
            reminder.last_error = "No longer needed when it fell due."
            reminder.save(update_fields=["status", "last_error"])
            return "cancelled"
        patient = reminder.patient
        if reminder.channel not in channels_for(patient):
            # A copy for a channel the patient has given up since it was made.
            reminder.status = ReminderStatus.CANCELLED
            reminder.last_error = f"The patient no longer takes reminders by {reminder.get_channel_display().lower()}."
            reminder.save(update_fields=["status", "last_error"])
            return "cancelled"
        reminder.attempts += 1
        if reminder.channel == ReminderChannel.SMS:
            return _send_sms(reminder)
        if not patient.email:
            reminder.status = ReminderStatus.FAILED
            reminder.last_error = "The patient has no email address."
            reminder.save(update_fields=["status", "last_error", "attempts"])
            return "no address"
        message = compose(reminder)
        message.send(fail_silently=False)
        reminder.status = ReminderStatus.SENT
        reminder.sent_at = timezone.now()
        reminder.subject = message.subject[:200]
        reminder.recipient = patient.email
        reminder.save(update_fields=["status", "sent_at", "subject", "recipient", "attempts"])
    return "sent"


def _share_out(reminder_id):
    """Give a due lead row the channels the patient takes now: move it to one it may no longer
    be sent by, and make a copy row for each other one (due at once, enqueued after commit).
    Its own transaction, before the lead is sent: a copy is not held back, or rolled back,
    by the lead's email failing. Unique keys make it safe to run any number of times."""
    with transaction.atomic():
        lead = (
            Reminder.objects.select_for_update(of=("self",))
            .select_related("patient")
            .filter(pk=reminder_id, status=ReminderStatus.PENDING)
            .first()
        )
        if lead is None or "copy_of" in lead.details:
            return []
        wanted = channels_for(lead.patient)
        have = set(
            Reminder.objects.filter(
                key__in=[copy_key(lead.key, channel) for channel in ReminderChannel.values]
            ).values_list("channel", flat=True)
        )
        if lead.channel not in wanted:
            free = [channel for channel in wanted if channel not in have]
            if free:
                lead.channel = free[0]
                lead.save(update_fields=["channel"])
        made = []
        now = timezone.now()
        for channel in wanted:
            if channel == lead.channel or channel in have:
                continue
            copy, created = Reminder.objects.get_or_create(
                key=copy_key(lead.key, channel),
                defaults={
                    "patient": lead.patient,
                    "session": lead.session,
                    "kind": lead.kind,
                    "channel": channel,
                    "due_at": now,
                    "enqueued_at": now,
                    "details": {**lead.details, "copy_of": lead.pk},
                },
            )
            if created:
                made.append(copy)
                transaction.on_commit(lambda pk=copy.pk: enqueue(pk))
    return made


def _send_sms(reminder):
    """The SMS half of `deliver`, inside its transaction. A gateway that may take it later
    raises (the task retries); one that never will, or a message with no number or too long,
    is marked not sent at once, with the reason."""
    number = sms_number(reminder.patient.phone)
    problem = "" if number else "The patient has no phone number for text messages."
    if not problem:
        try:
            text = compose_sms(reminder)
            sms.send(sms.SMSMessage(to=number, body=text, reference=reminder.key))
        except (MessageTooLong, sms.SMSRefused) as error:
            problem = str(error)[:300]
    if problem:
        reminder.status = ReminderStatus.FAILED
        reminder.last_error = problem
        reminder.save(update_fields=["status", "last_error", "attempts"])
        return "no address" if not number else "refused"
    reminder.status = ReminderStatus.SENT
    reminder.sent_at = timezone.now()
    reminder.recipient = number
    reminder.save(update_fields=["status", "sent_at", "recipient", "attempts"])
    return "sent"


def _context(reminder, preview):
    """What the templates of either channel read. With `preview`, nothing is made or written:
    the composers of other apps are not called (see PREVIEWS)."""
    patient = reminder.patient
    clinic = current_clinic()
    session = reminder.session
    context = {"patient": patient, "clinic": clinic, "reminder": reminder, "details": reminder.details}
    if session is not None:
        context["when"] = wall_clock(session.starts_at, clinic.zone)
        context["session"] = session
    if preview:
        context.update(PREVIEWS[reminder.kind](reminder) if reminder.kind in PREVIEWS else {})
    elif reminder.kind in COMPOSERS:
        context.update(COMPOSERS[reminder.kind](reminder))
    if reminder.kind == ReminderKind.HOLD:
        hours = reminder.details.get("hours_before", 0)
        context["days"] = hours // 24 if hours >= 48 and hours % 24 == 0 else None
        context["instruction"] = reminder.details.get("kind", "stop")
        # Older reminder rows name no medicine: alcohol was the only hold without one.
        context["is_medicine"] = bool(reminder.details.get("medication")) or (
            "medication" not in reminder.details and reminder.details.get("substance", "").casefold() != "alcohol"
        )
    if reminder.kind == ReminderKind.CHANGE:
        context["changes"] = [
            {
                "was": wall_clock(datetime.datetime.fromisoformat(item["was"]), clinic.zone),
                "now": wall_clock(datetime.datetime.fromisoformat(item["now"]), clinic.zone) if item["now"] else None,
            }
            for item in reminder.details.get("sessions", [])
        ]
        context["moved"] = any(change["now"] for change in context["changes"])
    return context


def compose(reminder, *, preview=False):
    """The email, in the patient's language. With `preview`, nothing is made or written."""
    patient = reminder.patient
    context = _context(reminder, preview)
    with translation.override(patient.preferred_language):
        if reminder.kind == ReminderKind.HOLD:
            context["substance"] = translate_substance(reminder.details.get("substance", ""))
        subject = render_to_string(f"emails/{reminder.kind}_subject.txt", context).strip()
        body = render_to_string(f"emails/{reminder.kind}.txt", context)
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].rstrip(">")
    return EmailMessage(
        subject=subject,
        body=body,
        to=[patient.email],
        headers={"Message-ID": f"<{reminder.key.replace(':', '.')}@{domain}>"},
    )


# A link's secret is 43 characters (aftercare.services.link_create: token_urlsafe(32)).
PREVIEW_TOKEN = "NEW-LINK-MADE-WHEN-IT-IS-SENT".ljust(43, "-")


# The kinds whose text message carries a secret link, and the URL it points at: a preview shows
# one as long as the real one.
SMS_PREVIEW_LINKS = {ReminderKind.AFTERCARE: "aftercare:link"}


def register_sms_link(kind, url_name):
    SMS_PREVIEW_LINKS[kind] = url_name


class MessageTooLong(Exception):
    """Even the short wording of a text message is more than two parts."""


def compose_sms(reminder, *, preview=False):
    """The text message, in the patient's language: the full wording if it fits in two parts,
    else the short one; for a change of several sessions, as many as fit and "N more". It names
    no medicine or treatment, whatever the kind: the preparation reminder says only that there
    is something to prepare, and where to read it (the patient's page, for a patient who signs
    in; else the email, or a call)."""
    patient = reminder.patient
    context = _context(reminder, preview)
    context["takes_email"] = ReminderChannel.EMAIL in channels_for(patient)
    base = settings.MESOCLINIC_BASE_URL.rstrip("/")
    if reminder.kind == ReminderKind.HOLD and patient.user_id:
        context["link"] = base + reverse("aftercare:mine")
    if preview and reminder.kind in SMS_PREVIEW_LINKS:
        # As long as a real link, so that the preview's length in parts is the real one's.
        context["link"] = base + reverse(SMS_PREVIEW_LINKS[reminder.kind], args=[PREVIEW_TOKEN])
    changes = context.get("changes") or []
    shown = [len(changes) - dropped for dropped in range(len(changes))] or [0]
    with translation.override(patient.preferred_language):
        for count in shown:
            for short in (False, True):
                text = render_to_string(
                    f"sms/{reminder.kind}.txt",
                    {**context, "short": short, "shown": changes[:count], "more": len(changes) - count},
                )
                text = " ".join(text.split())
                if sms.fits(text):
                    return text
    raise MessageTooLong(
        f"The text message would be {sms.parts(text)} parts ({sms.encoding(text)}, {len(text)} characters); "
        f"at most {sms.MAX_PARTS} are sent."
    )
