"""The audit trail: who saw and changed which patient's data, when, and from where.

Changes are recorded by django-auditlog from model signals (register models with
`track`); views of clinical pages are recorded explicitly with `record_view`, because
only the view knows which page was read.
"""

import contextlib
import ipaddress

from auditlog.context import auditlog_value, set_actor
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from .models import AuditEntry


class PatientDataMixin:
    """For models that hold one patient's data: ties their audit entries to the patient."""

    audit_patient_field = "patient_id"

    def get_additional_data(self):
        return {
            "patient_id": getattr(self, self.audit_patient_field),
            "label": str(self._meta.verbose_name),
        }


@contextlib.contextmanager
def acting_as(user):
    """Changes made inside are recorded as `user`'s. A request already names its user (and its
    address) through auditlog's middleware; a service called from a task or a command does not,
    and a cancelled session must still say who cancelled it."""
    if user is None:
        yield
        return
    # auditlog's set_actor replaces the context it finds and never puts it back; the request's
    # context (its user's address) must come back after this block, or its later changes lose
    # their actor.
    outer = auditlog_value.get(None)
    where = {key: value for key, value in (outer or {}).items() if key in ("remote_addr", "remote_port")}
    try:
        with set_actor(user, **where):
            yield
    finally:
        if outer is not None:
            auditlog_value.set(outer)


def track(model, **options):
    """Record every create, change and delete of `model` in the audit trail."""
    auditlog.register(model, **options)
    return model


def _valid_ip(value):
    """`value` as a normalised IP address, or None: "1.2.3.4", "1.2.3.4:5678", "[::1]:80"."""
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":")[0]  # IPv4 with a port
    try:
        return str(ipaddress.ip_address(value.split("%")[0]))  # no IPv6 zone: the inet type refuses it
    except ValueError:
        return None


def client_ip(request):
    """The address the request came from, for the audit trail and for lockouts (axes).

    With MESOCLINIC_PROXY_COUNT = 0 (nothing in front) that is REMOTE_ADDR, and any
    X-Forwarded-For is the client's own claim, ignored. With N trusted proxies, each appends
    the address it saw, so the Nth entry from the right is the one the outermost proxy saw;
    whatever stands left of it was sent by the client and is never used. A header with fewer
    entries did not come through the proxies: REMOTE_ADDR then. Never anything but a valid
    IP address, or None."""
    count = settings.MESOCLINIC_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = forwarded.split(",")
        if len(hops) >= count:
            return _valid_ip(hops[-count])
    return _valid_ip(request.META.get("REMOTE_ADDR"))


def record_view(request, patient, page, obj=None, **extra):
    """Record that the signed-in user (or a link holder) read a page of `patient`'s data."""
    target = obj if obj is not None else patient
    user = request.user if request.user.is_authenticated else None
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_pk=str(target.pk),
        object_id=target.pk,
        object_repr=str(target)[:200],
        action=AuditEntry.Action.ACCESS,
        actor=user,
        actor_email=getattr(user, "email", None) or None,
        remote_addr=client_ip(request),
        patient_id=patient.pk,
        additional_data={"page": page, "path": request.path, **extra},
    )


def record_list_view(request, patients, page, **extra):
    """Record that a list page (Today, the outbox) showed these patients' data: one entry per
    patient, in one query, so each patient's access history says who had it on screen."""
    patients = list({patient.pk: patient for patient in patients}.values())
    if not patients:
        return []
    user = request.user if request.user.is_authenticated else None
    address, now = client_ip(request), timezone.now()
    return AuditEntry.objects.bulk_create(
        AuditEntry(
            content_type=ContentType.objects.get_for_model(patient),
            object_pk=str(patient.pk),
            object_id=patient.pk,
            object_repr=str(patient)[:200],
            action=AuditEntry.Action.ACCESS,
            actor=user,
            actor_email=getattr(user, "email", None) or None,
            remote_addr=address,
            timestamp=now,
            patient_id=patient.pk,
            additional_data={"page": page, "path": request.path, **extra},
        )
        for patient in patients
    )


def record_change(obj, changes, *, actor=None):
    """Record a change auditlog cannot see: rows replaced as a whole (a draft chart's areas,
    products, events and measurements are deleted and recreated on each save), as one entry
    on `obj` with `changes` = {what: [before, after]}. Nothing when nothing changed. The
    request's address and correlation id come from the audit context, as for auditlog's own."""
    changes = {name: [before, after] for name, (before, after) in changes.items() if before != after}
    if not changes:
        return None
    data = obj.get_additional_data() if hasattr(obj, "get_additional_data") else {}
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_pk=str(obj.pk),
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        action=AuditEntry.Action.UPDATE,
        changes=changes,
        actor=actor,
        actor_email=getattr(actor, "email", None) or None,
        additional_data=data,
    )
