"""Celery adapters for aftercare: the sheet of a signed chart, retried until it is made."""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from . import services

log = logging.getLogger(__name__)
MAKE_SHEET = "aftercare.make_sheet"
# A sheet still missing this long after signing is queued again by the sweep; older ones are
# left for a person (the session page says the sheet is missing).
SWEEP_BACK = datetime.timedelta(days=7)
SWEEP_AFTER = datetime.timedelta(minutes=5)


@shared_task(
    name=MAKE_SHEET,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def make_sheet(session_id):
    services.session_completed(session_id=session_id)
    return session_id


@shared_task(name="aftercare.sweep_missing_sheets")
def sweep_missing_sheets(now=None):
    """Queue again the sheets of charts signed a while ago that still have none."""
    now = now or timezone.now()
    missing = services.sessions_without_sheet(now - SWEEP_BACK, now - SWEEP_AFTER)
    for session_id in missing:
        queue_sheet(session_id)
    return len(missing)


def queue_sheet(session_id):
    """Hand the sheet to the broker. If it is down the chart stays signed and the sweep queues
    the sheet later: signing never fails because of its aftercare."""
    try:
        make_sheet.delay(session_id)
    except Exception as error:  # the broker is unreachable: kombu's errors vary by transport
        log.warning("Aftercare sheet of session %s not queued (%s); the sweep retries.", session_id, error)
