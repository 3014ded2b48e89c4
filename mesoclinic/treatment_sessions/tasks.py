"""Celery adapters for reminders: take an id, call the service, retry with backoff."""

import logging
from smtplib import SMTPException

from celery import shared_task
from django.db import OperationalError

from .models import Reminder, ReminderStatus
from .reminders import delivery, services

log = logging.getLogger(__name__)


@shared_task(name="reminders.sweep")
def sweep_due_reminders():
    return services.sweep()


@shared_task(
    bind=True,
    name=services.SEND_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(SMTPException, OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def send_reminder(self, reminder_id):
    try:
        return delivery.deliver(reminder_id)
    except Exception as error:
        if self.request.retries >= self.max_retries:
            # Out of retries: say so on the outbox instead of trying for ever.
            Reminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(
                status=ReminderStatus.FAILED, last_error=f"{type(error).__name__}: {error}"[:300]
            )
            log.error("Reminder %s not sent after %s attempts: %s", reminder_id, self.max_retries, error)
        raise
