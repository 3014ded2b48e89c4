"""Merging two records of one person. Every app's rows follow the record kept, so this lives
at the top of the dependency order.

What follows: every row with a foreign key to the patient, found from the model graph (so a
model added later follows too): screenings, prescriber decisions, plans, consents, series,
sessions, charts, photos, reminders, aftercare sheets. Rows are repointed with one UPDATE per
model, not re-saved: a signed chart or consent stays exactly as signed.

What does not move: the audit trail. Its entries are never changed; the duplicate is archived
with `merged_into` pointing at the record kept, and the kept record's history is read by both
ids (patients.selectors.record_ids). The merge itself is one more entry.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from mesoclinic.core.audit import acting_as
from mesoclinic.core.models import AuditEntry
from mesoclinic.patients.models import Patient
from mesoclinic.patients.services import patient_archive
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession


def patient_links():
    """(model, field name) of every foreign key to Patient but the merge pointer itself."""
    found = []
    for relation in Patient._meta.related_objects:
        if relation.related_model is Patient or not isinstance(relation.field, models.ForeignKey):
            continue
        found.append((relation.related_model, relation.field.name))
    return sorted(found, key=lambda link: link[0]._meta.label)


def _label(model):
    return str(model._meta.verbose_name_plural)


def _audit_label(model):
    """The audit trail keeps the English name, whoever merged: an entry is never rewritten."""
    with translation.override("en"):
        return _label(model)


def row_counts(patient):
    """{what: how many} of the rows that hang on `patient`, in the clinic's words."""
    return {_label(model): model._base_manager.filter(**{name: patient}).count() for model, name in patient_links()}


def _overlapping_sessions(duplicate, kept):
    """Pairs of live sessions, one of each record, at the same time: one person cannot be in
    two sessions, and the database refuses it once both are one patient's."""
    live = TreatmentSession.objects.exclude(status=SessionStatus.CANCELLED)
    clashes = []
    for session in live.filter(patient=duplicate):
        other = live.filter(patient=kept, starts_at__lt=session.ends_at, ends_at__gt=session.starts_at).first()
        if other is not None:
            clashes.append((session, other))
    return clashes


def merge_problems(duplicate, kept):
    """Why these two records cannot be merged ([] if they can)."""
    if duplicate.pk == kept.pk:
        return [_("A record cannot be merged into itself.")]
    problems = []
    if kept.is_archived:
        problems.append(_("The record to keep is archived: merge into a record in use."))
    if duplicate.is_archived:
        problems.append(
            _("The duplicate is already archived (merged).")
            if duplicate.merged_into_id
            else _("The duplicate is already archived.")
        )
    for session, other in _overlapping_sessions(duplicate, kept):
        problems.append(
            _("Both records have a session at the same time (%(one)s and %(other)s): cancel one of them first.")
            % {"one": session, "other": other}
        )
    return problems


@dataclass
class MergeResult:
    kept: Patient
    duplicate: Patient
    moved: dict = field(default_factory=dict)  # {what: rows moved}
    login: str = ""  # what happened to the duplicate's patient login


@transaction.atomic
def patient_merge(*, duplicate: Patient, kept: Patient, by, remote_addr: str | None = None) -> MergeResult:
    """Move everything of `duplicate` to `kept`, archive `duplicate` pointing at `kept`, and
    write the merge to the audit trail. All of it or nothing."""
    # Both rows locked, in id order, so two merges of the same pair cannot cross.
    locked = {
        p.pk: p for p in Patient.objects.select_for_update().filter(pk__in={duplicate.pk, kept.pk}).order_by("pk")
    }
    duplicate, kept = locked[duplicate.pk], locked[kept.pk]
    problems = merge_problems(duplicate, kept)
    if problems:
        raise ValidationError(problems)
    result = MergeResult(kept=kept, duplicate=duplicate)
    with acting_as(by):
        for model, name in patient_links():
            moved = model._base_manager.filter(**{name: duplicate}).update(**{name: kept})
            if moved:
                result.moved[_audit_label(model)] = moved
        # Records merged into the duplicate earlier now belong to the record kept.
        Patient.objects.filter(merged_into=duplicate).update(merged_into=kept)
        result.login = _move_login(duplicate, kept)
        if duplicate.notes.strip() and duplicate.notes.strip() not in kept.notes:
            kept.notes = "\n\n".join(
                part
                for part in (kept.notes.strip(), f"From the merged record #{duplicate.pk}: {duplicate.notes.strip()}")
                if part
            )
            kept.save(update_fields=["notes", "updated_at"])
        result.duplicate = duplicate = patient_archive(
            patient=duplicate, by=by, reason=f"Merged into record #{kept.pk}", merged_into=kept
        )
    moved_text = ", ".join(f"{count} {what}" for what, count in result.moved.items()) or "no rows"
    AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(Patient),
        object_pk=str(kept.pk),
        object_id=kept.pk,
        object_repr=str(kept)[:200],
        action=AuditEntry.Action.UPDATE,
        changes={"merged record": ["", f"#{duplicate.pk} {duplicate.display_name}"]},
        actor=by,
        actor_email=getattr(by, "email", None) or None,
        remote_addr=remote_addr,
        patient_id=kept.pk,
        additional_data={
            "label": "patient record",
            "summary": f"Merged record #{duplicate.pk} ({duplicate.display_name}, born "
            f"{duplicate.date_of_birth:%d.%m.%Y}) into this one: moved {moved_text}",
            "merged_from": duplicate.pk,
            "moved": result.moved,
            "login": result.login,
        },
    )
    return result


def _move_login(duplicate, kept):
    """The duplicate's patient login follows if the kept record has none; if both have one,
    the duplicate's is switched off (the patient signs in with the kept record's)."""
    user = duplicate.user
    if user is None:
        return ""
    if kept.user_id is None:
        duplicate.user = None
        duplicate.save(update_fields=["user", "updated_at"])
        kept.user = user
        kept.save(update_fields=["user", "updated_at"])
        return f"login {user.username} moved to the record kept"
    user.is_active = False
    user.save(update_fields=["is_active"])
    return f"login {user.username} switched off (the record kept has its own)"
