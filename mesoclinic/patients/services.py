"""Writes to patient records. The audit trail records each through auditlog's signals."""

import logging

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mesoclinic.core.selectors import current_clinic

from .models import Patient

log = logging.getLogger(__name__)
CONTACT_NOTICE_TASK = "patients.send_contact_change_notice"


@transaction.atomic
def patient_create(*, data: dict) -> Patient:
    patient = Patient(**data)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, data: dict) -> Patient:
    # From the database: a ModelForm has already set the new values on `patient`.
    before = Patient.objects.filter(pk=patient.pk).values("email", "phone").get()
    for field, value in data.items():
        setattr(patient, field, value)
    patient.full_clean()
    patient.save()
    changed = [name for name, old in before.items() if getattr(patient, name) != old]
    if changed:
        _notify_contact_change(patient, before, changed)
    return patient


def _notify_contact_change(patient, before, changed):
    """Tell the patient, at the address the clinic had, that their contact details changed:
    a changed email is announced to the old address (whoever changed it cannot silence the
    notice), a changed phone to the email on file (the clinic sends no text messages)."""
    to = before["email"] if "email" in changed and before["email"] else patient.email
    if not to:
        return
    transaction.on_commit(lambda: queue_contact_notice(patient.pk, to, changed))


def queue_contact_notice(patient_id, to, fields):
    """Hand the notice to the broker; the task is named, not imported (tasks.py imports us)."""
    try:
        current_app.signature(CONTACT_NOTICE_TASK, args=(patient_id, to, list(fields))).delay()
    except Exception as error:  # the broker is unreachable: kombu's errors vary by transport
        log.error("Contact change notice for patient %s not queued (%s).", patient_id, error)


def contact_change_notice_send(*, patient_id: int, to: str, fields: list) -> str:
    """Send the notice of changed contact details to `to`, in the patient's language. It
    names what changed, never the new values: the old address may no longer be theirs."""
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None or not to:
        return "skipped"
    clinic = current_clinic()
    context = {
        "patient": patient,
        "clinic": clinic,
        "email_changed": "email" in fields,
        "phone_changed": "phone" in fields,
        "to_old_address": "email" in fields and to != patient.email,
        "when": timezone.localtime(),
    }
    with translation.override(patient.preferred_language):
        subject = render_to_string("emails/contact_changed_subject.txt", context).strip()
        body = render_to_string("emails/contact_changed.txt", context)
    EmailMessage(subject=subject, body=body, to=[to], from_email=settings.DEFAULT_FROM_EMAIL).send(fail_silently=False)
    return "sent"


# --- Archive --------------------------------------------------------------------------------


@transaction.atomic
def patient_archive(*, patient: Patient, by, reason: str, merged_into: Patient | None = None) -> Patient:
    """Keep the record, stop using it: hidden from search and lists, no new plans or bookings.
    A record with sessions still booked ahead is refused: cancel them, or merge the record."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.is_archived:
        raise ValidationError(_("This record is already archived."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why this record is archived.")})
    if merged_into is None and patient.sessions.filter(status="scheduled", starts_at__gte=timezone.now()).exists():
        raise ValidationError(
            _("This record has sessions booked ahead. Cancel them first, or merge the record into the one to keep.")
        )
    patient.archived_at = timezone.now()
    patient.archived_by = by
    patient.archive_reason = reason[:200]
    patient.merged_into = merged_into
    patient.save()
    return patient


@transaction.atomic
def patient_restore(*, patient: Patient, by) -> Patient:
    """Use an archived record again. A merged record cannot come back: its rows moved."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if not patient.is_archived:
        raise ValidationError(_("This record is not archived."))
    if patient.merged_into_id:
        raise ValidationError(_("This record was merged into another; open that one instead."))
    patient.archived_at = None
    patient.archived_by = None
    patient.archive_reason = ""
    patient.save()
    return patient
