"""Writes to the clinic's setup: its details, hours, closures, rooms and staff rotas.

The forms have validated everything by the time these run; each write is one transaction,
so a page saves all of its rows or none.
"""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.forms import BaseModelFormSet
from django.utils import timezone

from .models import Clinic, User


@transaction.atomic
def clinic_update(*, clinic: Clinic, data: dict) -> Clinic:
    """Saving the clinic drops the cached copy (see signals), so every page shows the change."""
    for field in (
        "name",
        "phone",
        "email",
        "address",
        "timezone",
        "staff_language",
        "consent_requires_signature",
        "consent_regulatory_notice",
        "consent_regulatory_notice_tr",
    ):
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


@transaction.atomic
def user_deactivate(*, user: User) -> int:
    """Departed or compromised staff: the account can no longer sign in, and every session it
    holds ends now. Returns how many sessions were ended.

    The account stays, with its history: the audit trail names it (see AuditEntry.actor).
    Even a session this cannot reach (a cache-only session store) is refused on its next
    request, because Django's ModelBackend does not load an inactive user."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    return _end_sessions_of(user)


def _end_sessions_of(user: User) -> int:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0  # the cache or signed cookies: nothing to list; the inactive flag refuses them
    ended = 0
    for session in store.get_model_class().objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store(session_key=session.session_key).delete()  # through the store: its cache too
            ended += 1
    return ended
