"""Writes to patient records. The audit trail records each through auditlog's signals."""

from django.db import transaction

from .models import Patient


@transaction.atomic
def patient_create(*, data: dict) -> Patient:
    patient = Patient(**data)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, data: dict) -> Patient:
    for field, value in data.items():
        setattr(patient, field, value)
    patient.full_clean()
    patient.save()
    return patient
