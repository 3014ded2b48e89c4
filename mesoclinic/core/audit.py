"""The audit trail: who saw and changed which patient's data, when, and from where.

Changes are recorded by django-auditlog from model signals (register models with
`track`); views of clinical pages are recorded explicitly with `record_view`, because
only the view knows which page was read.
"""

import contextlib

from auditlog.context import auditlog_value, set_actor
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType

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


def client_ip(request):
    # Behind a proxy the first X-Forwarded-For address is the client (as auditlog does).
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded:
        return forwarded.split(",")[0].strip().split("%")[0] or None
    return request.META.get("REMOTE_ADDR") or None


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
