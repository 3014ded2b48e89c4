"""Celery adapter for the clinic's outcomes page: counting its figures off the request path."""

from celery import shared_task

from . import clinic


@shared_task(name=clinic.COUNT_TASK, acks_late=True)
def count_clinic_outcomes():
    """Every period's figures, counted again (beat: every clinic.CLINIC_OUTCOMES_EVERY)."""
    for period in clinic.PERIODS:
        clinic.count_clinic_outcomes(period)
