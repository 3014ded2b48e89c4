"""Writes to the clinic's setup: its details, hours, closures, rooms and staff rotas.

The forms have validated everything by the time these run; each write is one transaction,
so a page saves all of its rows or none.
"""

from django.db import transaction
from django.forms import BaseModelFormSet

from .models import Clinic, User


@transaction.atomic
def clinic_update(*, clinic: Clinic, data: dict) -> Clinic:
    """Saving the clinic drops the cached copy (see signals), so every page shows the change."""
    for field in ("name", "phone", "email", "address", "timezone"):
        if field in data:
            setattr(clinic, field, data[field])
    clinic.full_clean()
    clinic.save()
    clinic.__dict__.pop("zone", None)  # the cached ZoneInfo belongs to the old zone
    return clinic


@transaction.atomic
def opening_hours_save(*, formset: BaseModelFormSet) -> None:
    formset.save()


@transaction.atomic
def closures_save(*, formset: BaseModelFormSet) -> None:
    formset.save()


@transaction.atomic
def rooms_save(*, formset: BaseModelFormSet) -> None:
    """Adds and renames rooms and takes them in or out of use. It never deletes one."""
    for room in formset.save(commit=False):
        room.save()


@transaction.atomic
def practitioner_schedule_save(
    *, practitioner: User, working_hours: BaseModelFormSet, absences: BaseModelFormSet
) -> None:
    """A practitioner's working hours and absences, saved together."""
    for formset in (working_hours, absences):
        for obj in formset.save(commit=False):
            obj.practitioner = practitioner
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
