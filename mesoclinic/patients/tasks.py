"""Celery adapter for patient records: the notice of changed contact details, retried."""

from smtplib import SMTPException

from celery import shared_task

from . import services


@shared_task(
    name=services.CONTACT_NOTICE_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def send_contact_change_notice(patient_id, to, fields):
    return services.contact_change_notice_send(patient_id=patient_id, to=to, fields=fields)
