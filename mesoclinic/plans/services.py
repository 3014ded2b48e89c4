"""Writes to plans and consents. A plan's status changes only here.

The gate (`plan_gate`) is the one place that decides whether a plan may become active:
the view shows its reasons, and `plan_activate` checks it again inside the transaction,
so no request, however crafted, activates a plan the gate refuses.
"""

import base64
import binascii
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from mesoclinic.core.models import Clinic
from mesoclinic.core.selectors import clinic_today
from mesoclinic.screening import bilingual, engine
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import ScreeningStanding, screening_standing
from mesoclinic.screening.services import override_problem

from . import limits
from .consent import consent_language, signing_problems
from .models import Consent, Plan, PlanStatus, fingerprint
from .selectors import current_consent, plan_ingredient_codes
from .signals import plan_ended

MAX_SIGNATURE_BYTES = 300_000


class GateClosed(ValidationError):
    """The plan may not become active; `messages` says why."""


class AlreadyDone(ValidationError):
    """What was asked is already so (a double click, a second tab): nothing changed."""


@transaction.atomic
def plan_create(*, patient, protocol, values: dict, created_by) -> Plan:
    if patient.is_archived:
        raise ValidationError(_("This patient's record is archived: no new plans can be made on it."))
    plan = Plan(patient=patient, protocol=protocol, indication=protocol.indication, created_by=created_by)
    _apply(plan, values)
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, values: dict) -> Plan:
    if not plan.is_draft:
        raise ValidationError(_("Only a draft plan can be changed. Stop this plan and start a new one."))
    _apply(plan, values)
    return plan


def _apply(plan, values):
    many = {name: values.pop(name) for name in ("areas", "ingredients", "products") if name in values}
    for name, value in values.items():
        setattr(plan, name, value)
    problems = limits.interval_problems(plan.intervals, plan.sessions_planned)
    if problems:
        raise ValidationError({"intervals": problems})
    plan.full_clean(exclude=["screening", "activated_by", "created_by"])
    plan.save()
    for name, items in many.items():
        getattr(plan, name).set(items)


@dataclass
class Gate:
    """Whether a plan may start, and everything the practitioner needs to see about why."""

    reasons: list = field(default_factory=list)
    status: ScreeningStanding | None = None
    result: engine.Result | None = None  # the engine re-run with the plan's own context
    consent: Consent | None = None
    screening_from: int = 0  # reasons from here on are the screening's

    @property
    def is_open(self):
        return not self.reasons

    @property
    def needs_screening(self):
        """Is the way on to screen (again)? Not when only consent or the status stands in the way."""
        return len(self.reasons) > self.screening_from


def _title(finding):
    """A finding's title in the practitioner's language."""
    return finding.text_in(bilingual.active_language(), "title")


def plan_gate(plan: Plan) -> Gate:
    """May `plan` become active? Only on a current, not-deferred screening that covered its
    areas and ingredients, whose findings (re-run with the plan's context) were all
    acknowledged or overridden, and with signed consent that was not withdrawn."""
    gate = Gate(status=screening_standing(plan.patient), consent=current_consent(plan))
    if not plan.is_draft:
        gate.reasons.append(
            _("The plan is %(status)s; only a draft can be activated.") % {"status": plan.get_status_display().lower()}
        )
    if gate.consent is None:
        gate.reasons.append(_("The patient has not signed consent to this plan."))
    gate.screening_from = len(gate.reasons)

    screening = gate.status.screening
    if screening is None:
        gate.reasons.append(_("The patient has no screening. Screen the patient for this plan first."))
        return gate
    if not gate.status.is_current:
        gate.reasons.append(
            _("The screening has lapsed (%(because)s). Screen again.") % {"because": gate.status.lapsed_because}
        )
        return gate
    if gate.status.defers:
        gate.reasons.append(_("The screening deferred treatment. A critical finding stands without an override."))
        return gate

    plan_areas = {term.code for term in plan.areas.all()}
    plan_ingredients = plan_ingredient_codes(plan)
    missing_areas = sorted(plan_areas - set(screening.answers.get("areas", [])))
    missing_ingredients = sorted(plan_ingredients - set(screening.answers.get("ingredients", [])))
    if missing_areas or missing_ingredients:
        kb = knowledge_base()

        def label(kind, code):
            info = kb.terms.get((kind, code))
            return bilingual.text(info, "label") if info else code

        named = [_("area %(name)s") % {"name": label("area", a)} for a in missing_areas]
        named += [_("ingredient %(name)s") % {"name": label("ingredient", i)} for i in missing_ingredients]
        what = ", ".join(named)
        gate.reasons.append(_("The screening did not cover %(what)s. Screen again for this plan.") % {"what": what})

    kb = knowledge_base()
    answers = {
        **{name: value for name, value in screening.answers.items() if value is not None},
        "areas": sorted(plan_areas),
        "ingredients": sorted(plan_ingredients),
        "indication": plan.indication.code,
        "on_date": max(screening.answers.get("on_date", ""), clinic_today().isoformat()),
    }
    try:
        gate.result = engine.evaluate(engine.parse_answers(answers, kb), kb)
    except engine.InvalidAnswers as error:
        gate.reasons.append(
            _("The screening's answers no longer fit the vocabulary (%(error)s). Screen again.") % {"error": error}
        )
        return gate
    for finding in gate.result.findings:
        decision = screening.decision_for(finding.key)
        if finding.severity == "critical":
            if not (decision and decision["decision"] == "overridden"):
                gate.reasons.append(
                    _("Critical for this plan: %(title)s. Screen again for this plan.") % {"title": _title(finding)}
                )
                continue
            # The override must still be one the rule allows, for this plan's areas.
            problem = override_problem(finding, decision, plan_areas, kb)
            if problem:
                gate.reasons.append(_("%(problem)s Screen again for this plan.") % {"problem": problem})
        elif finding.severity == "warning" and not decision:
            gate.reasons.append(
                _("New warning for this plan: %(title)s. Screen again to acknowledge it.") % {"title": _title(finding)}
            )
    return gate


@transaction.atomic
def plan_activate(*, plan: Plan, by) -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_active:
        raise AlreadyDone(_("The plan is already active."))
    gate = plan_gate(plan)
    if not gate.is_open:
        raise GateClosed(gate.reasons)
    plan.status = PlanStatus.ACTIVE
    plan.screening = gate.status.screening
    plan.activated_at = timezone.now()
    plan.activated_by = by
    plan.save()
    return plan


@transaction.atomic
def plan_stop(*, plan: Plan, reason: str, by) -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        raise ValidationError(_("The plan is already %(status)s.") % {"status": plan.get_status_display().lower()})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the plan stops.")})
    plan.status = PlanStatus.STOPPED
    plan.stop_reason = reason.strip()
    plan.ended_at = timezone.now()
    plan.save()
    _after_plan_ends(plan, by)
    return plan


@transaction.atomic
def plan_complete(*, plan: Plan, by) -> Plan:
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not plan.is_active:
        raise ValidationError(_("Only an active plan can be completed."))
    plan.status = PlanStatus.COMPLETED
    plan.ended_at = timezone.now()
    plan.save()
    _after_plan_ends(plan, by)
    return plan


def _after_plan_ends(plan, by):
    """What hangs off the plan follows it, in the same transaction: the session app listens
    (its sessions still to come are cancelled). A signal, so plans need not know that app."""
    plan_ended.send(sender=Plan, plan=plan, by=by, reason=f"Plan {plan.get_status_display().lower()}")


def decode_signature(data_url: str) -> bytes | None:
    """A drawn signature arrives as a PNG data URL; keep it only if it really is a small PNG."""
    if not data_url:
        return None
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise ValidationError({"signature": _("The drawn signature must be a PNG image.")})
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            {"signature": _("The drawn signature could not be read; clear it and sign again.")}
        ) from None
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise ValidationError({"signature": _("The drawn signature is too large; clear it and sign again.")})
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.verify()
            if image.format != "PNG":
                raise ValidationError({"signature": _("The drawn signature must be a PNG image.")})
    # Pillow reports a broken PNG (a chunk's checksum wrong) as SyntaxError, not as OSError.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            {"signature": _("The drawn signature could not be read; clear it and sign again.")}
        ) from None
    return raw


ALREADY_CONSENTED = gettext_lazy("This plan already has signed consent.")
DOCUMENT_CHANGED = gettext_lazy("The plan changed while the document was open. Please read the updated version.")


@transaction.atomic
def consent_sign(
    *,
    plan: Plan,
    document_html: str,
    signed_name: str,
    confirmed: bool,
    photo_consent: bool,
    witnessed_by,
    signature: str = "",
    shown_fingerprint: str | None = None,
    language: str | None = None,
) -> Consent:
    """Store the patient's consent to `plan` as the document they read. `signature`: the drawn
    signature as a PNG data URL, or "" (refused when the clinic requires one). `shown_fingerprint`:
    the fingerprint of the document the page showed; if the plan changed since, the patient must
    read the new one first. `language`: the language the document is in (by default the one
    consent.consent_language gives the patient)."""
    if shown_fingerprint is not None and shown_fingerprint != fingerprint(document_html):
        raise ValidationError(DOCUMENT_CHANGED)
    signature_png = decode_signature(signature)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        raise ValidationError(_("Consent can only be given to a draft or active plan."))
    if current_consent(plan) is not None:
        raise AlreadyDone(ALREADY_CONSENTED)
    errors = signing_problems(
        plan.patient,
        signed_name=signed_name,
        confirmed=confirmed,
        signed=signature_png is not None,
        signature_required=Clinic.current().consent_requires_signature,
    )
    if errors:
        raise ValidationError(errors)
    return Consent.objects.create(
        plan=plan,
        patient=plan.patient,
        document_html=document_html,
        language=language or consent_language(plan),
        signed_name=" ".join(signed_name.split()),
        confirmed=True,
        photo_consent=photo_consent,
        signature_png=signature_png,
        witnessed_by=witnessed_by,
    )


@transaction.atomic
def consent_withdraw(*, consent: Consent, reason: str, by) -> Consent:
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.is_withdrawn:
        raise AlreadyDone(_("This consent was already withdrawn."))
    if not reason.strip():
        raise ValidationError({"reason": _("Record what the patient said.")})
    consent.withdrawn_at = timezone.now()
    consent.withdrawn_reason = reason.strip()
    consent.withdrawn_recorded_by = by
    consent.save()
    plan = consent.plan
    if plan.status in (PlanStatus.DRAFT, PlanStatus.ACTIVE):
        plan_stop(plan=plan, reason=f"Consent withdrawn: {consent.withdrawn_reason}", by=by)
    return consent
