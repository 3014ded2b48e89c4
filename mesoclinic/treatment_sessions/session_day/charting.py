"""The chart of a session: what was actually done. Saved as a draft, then signed and locked.

After signing, corrections are addenda; the chart, its areas, products, events and
measurements refuse any change (models.ChartLockedError), here and in the models.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mesoclinic.core.audit import record_change
from mesoclinic.core.selectors import clinic_zone, wall_clock
from mesoclinic.plans import limits
from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.treatment_sessions.models import (
    Addendum,
    AdverseEvent,
    Chart,
    ChartArea,
    ChartLockedError,
    Lot,
    Measurement,
    ProductUse,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.reminders.services import sync_reminders
from mesoclinic.treatment_sessions.signals import chart_signed

from .recheck import may_chart

MAX_VOLUME_ML = Decimal("20")


class ChartAlreadySigned(ChartLockedError):
    """The chart was signed already (a double click, or a colleague): nothing to do."""


ALREADY_SIGNED = gettext_lazy("This chart is already signed and locked; corrections are addenda.")


def _lock_session(session_pk):
    """The session row, locked. Every write to a chart locks its session first and then the
    chart, always in that order: two clicks on "Sign and lock" queue up instead of deadlocking."""
    return TreatmentSession.objects.select_for_update(of=("self",)).get(pk=session_pk)


@dataclass
class ProductLine:
    lot_number: str
    volume_ml: Decimal
    product: object = None  # needed only for a lot the clinic has not used before
    expires_on: datetime.date | None = None


def session_day(session):
    """The clinic's calendar day of the session: lots must not be expired on it."""
    return wall_clock(session.starts_at, clinic_zone()).date()


def resolve_lot(line: ProductLine, on_day: datetime.date) -> Lot:
    """The lot a typed or scanned number names; a new lot needs its product and expiry.

    An expired lot is refused: it may not be injected, whatever else is right.
    """
    number = line.lot_number.strip().upper()
    if not number:
        raise ValidationError(_("Type or scan the lot number."))
    lots = list(Lot.objects.select_related("product").filter(lot_number__iexact=number))
    if line.product is not None:
        lots = [lot for lot in lots if lot.product_id == line.product.pk] or []
    if len(lots) > 1:
        raise ValidationError(_("Lot %(lot)s exists for several products; choose the product.") % {"lot": number})
    if lots:
        lot = lots[0]
        if line.expires_on and line.expires_on != lot.expires_on:
            raise ValidationError(
                _("Lot %(lot)s of %(product)s expires on %(expires)s, not %(typed)s: check the box.")
                % {
                    "lot": number,
                    "product": lot.product,
                    "expires": date_format(lot.expires_on, "d M Y"),
                    "typed": date_format(line.expires_on, "d M Y"),
                }
            )
    else:
        if line.product is None or line.expires_on is None:
            raise ValidationError(_("Lot %(lot)s is new here: give its product and expiry date.") % {"lot": number})
        lot = Lot(product=line.product, lot_number=number, expires_on=line.expires_on)
    if lot.expires_on < on_day:
        raise ValidationError(
            _("Lot %(lot)s of %(product)s expired on %(expired)s: it must not be used.")
            % {"lot": number, "product": lot.product, "expired": date_format(lot.expires_on, "d M Y")}
        )
    if lot.pk is None:
        lot.save()
    return lot


def product_allergy_problems(session, lots):
    """The engine's allergy rule on the products actually charted: a product with an
    ingredient the patient is allergic to (or of its class) is refused. The rule allows no
    override: the cocktail changes instead (fixtures/rules.yaml, ingredient-allergy)."""
    screening = session.recheck
    if screening is None or not lots:
        return []
    kb = knowledge_base()
    allergy_rules = {
        r.code for r in kb.rules if {"allergy_to_planned_ingredient", "allergy_shares_class_with_planned"} & set(r.when)
    }
    base = {name: value for name, value in screening.answers.items() if value is not None}
    problems = []
    for index, lot in enumerate(lots, start=1):
        codes = sorted({term.code for term in lot.product.ingredients.all()})
        if not codes:
            continue
        try:
            answers = engine.parse_answers({**base, "ingredients": codes}, kb)
        except engine.InvalidAnswers:
            continue  # the screening no longer fits the vocabulary: the re-check said so already
        found = [f for f in engine.evaluate(answers, kb).findings if f.rule in allergy_rules]
        if found:
            conflicts = engine.allergy_conflicts(answers.allergies, answers.ingredients, kb)
            what = "; ".join(
                _("it contains %(ingredient)s and the patient is allergic to %(allergy)s")
                % {"ingredient": ingredient, "allergy": allergy}
                for allergy, ingredient in conflicts
            ) or "; ".join(f"{f.title}: {', '.join(f.matched)}" for f in found)
            problems.append(
                _("Product %(number)s (%(product)s): %(what)s. It must not be used.")
                % {"number": index, "product": lot.product, "what": what}
            )
    return problems


# --- Warnings: allowed, but the practitioner must see them, and the chart keeps them -----------


@dataclass(frozen=True)
class ChartWarning:
    """Something on the chart worth a second look that does not stop it being saved: shown next
    to its field, on the session page, and kept in the chart's audit entries (chart_lines)."""

    field: str  # "areas", or "products-<row>" for one product line
    message: str
    source: str = ""


def _ml(value):
    return format(value.normalize(), "f")  # 2.50 -> "2.5", 10.00 -> "10"


def volume_warning(area_volumes, product_volumes):
    """More injected into the areas than the charted lots supply: a lot is missing from the
    chart (lot recall would miss this patient) or a volume was mistyped."""
    injected = sum((Decimal(str(v)) for v in area_volumes), Decimal("0"))
    supplied = sum((Decimal(str(v)) for v in product_volumes), Decimal("0"))
    if injected <= supplied:
        return None
    if not product_volumes:
        message = _("%(injected)s ml injected, but no product is charted: chart the lots used.") % {
            "injected": _ml(injected)
        }
    else:
        message = _(
            "%(injected)s ml injected in the areas, but the charted products supply only %(supplied)s ml: "
            "chart the missing lot or check the volumes."
        ) % {"injected": _ml(injected), "supplied": _ml(supplied)}
    return ChartWarning("areas", message)


def indication_warning(product, plan, field, kb=None):
    """A product with an ingredient the plan's protocol does not use for this indication (nor
    one of its classes): the same reading as the plan builder's "not a usual ingredient"
    (limits.plan_flags), on what is actually injected. Cited by the protocol's documents
    (fixtures/protocols.yaml, in step with fixtures/ingredients.yaml)."""
    kb = kb or knowledge_base()
    protocol = plan.protocol
    usual = set(protocol.usual_ingredient_codes)
    unusual = []
    for term in product.ingredients.all():
        info = kb.terms.get(("ingredient", term.code))
        classes = info.ancestors if info else {term.code}
        if not usual & set(classes):
            unusual.append(term.label)
    if not unusual:
        return None
    message = ngettext(
        "%(product)s is not usual for %(indication)s: %(ingredients)s is not among the ingredients of its protocol.",
        "%(product)s is not usual for %(indication)s: %(ingredients)s are not among the ingredients of its protocol.",
        len(unusual),
    ) % {"product": product, "indication": plan.indication.label.lower(), "ingredients": ", ".join(sorted(unusual))}
    documents = list(dict.fromkeys(source["document"] for source in protocol.sources))
    return ChartWarning(field, message, f"{protocol.title}: {', '.join(documents)}")


def chart_warnings(session, area_volumes, product_lines, kb=None):
    """The warnings for a chart: `area_volumes` are the areas' volumes, `product_lines` are
    (product or None, volume) per product row, in the page's row order."""
    warnings = []
    volume = volume_warning(area_volumes, [v for _product, v in product_lines if v is not None])
    if volume:
        warnings.append(volume)
    for row, (product, _volume) in enumerate(product_lines):
        if product is not None:
            found = indication_warning(product, session.plan, f"products-{row}", kb)
            if found:
                warnings.append(found)
    return warnings


def saved_chart_warnings(chart):
    """The warnings of a chart as saved (its rows)."""
    uses = list(chart.products_used.select_related("lot__product").prefetch_related("lot__product__ingredients"))
    return chart_warnings(
        chart.session,
        [row.volume_ml for row in chart.areas.all()],
        [(use.lot.product, use.volume_ml) for use in uses],
    )


def chart_problems(values):
    """Values outside what is physically sensible: refused (flags outside the protocol are not)."""
    problems = {}
    depth, gauge = values.get("depth_mm"), values.get("needle_gauge")
    if depth is not None and not limits.SANE_DEPTH_MM[0] <= Decimal(str(depth)) <= limits.SANE_DEPTH_MM[1]:
        problems["depth_mm"] = _("A depth of %(depth)s mm is not a mesotherapy injection (0.1–13 mm).") % {
            "depth": depth
        }
    if gauge is not None and not limits.SANE_GAUGE[0] <= gauge <= limits.SANE_GAUGE[1]:
        problems["needle_gauge"] = _("A %(gauge)s G needle is not used for mesotherapy (18–34 G).") % {"gauge": gauge}
    return problems


@transaction.atomic
def chart_save(*, session, by, values: dict, areas: list, products: list, events: list, measurements: list) -> Chart:
    """Save the chart as it stands (a draft until signed). Rows are replaced as a whole."""
    session = (  # first the session, then the chart (see _lock_session)
        TreatmentSession.objects.select_for_update(of=("self",))
        .select_related("plan", "patient", "recheck")
        .get(pk=session.pk)
    )
    if session.status not in (SessionStatus.SCHEDULED, SessionStatus.COMPLETED):
        raise ValidationError(
            _("The session is %(status)s; it cannot be charted.") % {"status": session.get_status_display().lower()}
        )
    allowed, reason = may_chart(session)
    if not allowed:
        raise ValidationError(reason)
    problems = chart_problems(values)
    if problems:
        raise ValidationError(problems)
    chart = Chart.objects.select_for_update(of=("self",)).filter(session=session).first()
    if chart is not None and chart.is_signed:
        raise ChartAlreadySigned(str(ALREADY_SIGNED))
    if chart is None:
        chart = Chart(session=session, patient=session.patient, created_by=by)
    for field, value in values.items():
        setattr(chart, field, value)
    chart.save()

    day = session_day(session)
    errors = []
    resolved = []
    for index, line in enumerate(products, start=1):
        try:
            resolved.append((resolve_lot(line, day), line.volume_ml))
        except ValidationError as error:
            errors.append(_("Product %(number)s: %(problem)s") % {"number": index, "problem": " ".join(error.messages)})
    errors += product_allergy_problems(session, [lot for lot, _volume in resolved])
    for volume in [*(v for _area, v in areas), *(v for _lot, v in resolved)]:
        if not Decimal("0") < volume <= MAX_VOLUME_ML:
            errors.append(
                _("A volume of %(volume)s ml is not sensible (more than 0, at most %(most)s ml).")
                % {"volume": volume, "most": MAX_VOLUME_ML}
            )
    if errors:
        raise ValidationError(errors)

    before = chart_lines(chart)
    chart.areas.all().delete()
    chart.products_used.all().delete()
    chart.adverse_events.all().delete()
    chart.measurements.all().delete()
    ChartArea.objects.bulk_create(ChartArea(chart=chart, area=area, volume_ml=volume) for area, volume in areas)
    ProductUse.objects.bulk_create(ProductUse(chart=chart, lot=lot, volume_ml=volume) for lot, volume in resolved)
    AdverseEvent.objects.bulk_create(
        AdverseEvent(
            chart=chart,
            type=kind,
            severity=severity,
            follow_up_on=follow_up or day + datetime.timedelta(days=kind.follow_up_days),
            notes=notes,
        )
        for kind, severity, follow_up, notes in events
    )
    Measurement.objects.bulk_create(
        Measurement(chart=chart, kind=kind, value=value, unit=unit) for kind, value, unit in measurements
    )
    after = chart_lines(chart)
    record_change(chart, {name: (before[name], after[name]) for name in after}, actor=by)
    return chart


def chart_lines(chart):
    """The chart's rows as lines a reader of the audit trail understands. They are deleted and
    recreated on each save, which auditlog does not see; chart_save records the difference."""
    return {
        "areas": sorted(f"{row.area.code}: {row.volume_ml} ml" for row in chart.areas.select_related("area")),
        "products": sorted(
            f"{row.lot.product} lot {row.lot.lot_number} (exp. {row.lot.expires_on:%Y-%m-%d}): {row.volume_ml} ml"
            for row in chart.products_used.select_related("lot__product")
        ),
        "adverse events": sorted(
            f"{row.type_id} ({row.severity}), follow up {row.follow_up_on or '-'}"
            + (f": {row.notes}" if row.notes else "")
            for row in chart.adverse_events.all()
        ),
        "measurements": sorted(f"{row.kind}: {row.value} {row.unit}".strip() for row in chart.measurements.all()),
        # Saving with a warning is allowed; the audit trail keeps what the practitioner was shown.
        "warnings": [warning.message for warning in saved_chart_warnings(chart)],
    }


@transaction.atomic
def chart_sign(*, chart, by) -> Chart:
    """Sign and lock: the session is done. What follows a completed session happens after commit.
    A chart signed meanwhile raises ChartAlreadySigned: it is signed once, by whoever came first."""
    session = _lock_session(chart.session_id)
    chart = Chart.objects.select_for_update(of=("self",)).get(pk=chart.pk)
    if chart.is_signed:
        raise ChartAlreadySigned(str(ALREADY_SIGNED))
    if not chart.areas.exists():
        raise ValidationError(_("Record at least one treated area before signing."))
    chart.signed_at = timezone.now()
    chart.signed_by = by
    chart.save(update_fields=["signed_at", "signed_by"])  # allowed once: the stored chart is still unsigned
    session.status = SessionStatus.COMPLETED
    session.change_note = _("Charted and signed")
    session.save(update_fields=["status", "change_note", "updated_at"])
    sync_reminders(session)
    # The aftercare sheet and its email follow a signed chart: the aftercare app listens and
    # queues its task. After commit, and robustly: nothing it does can unsign the chart.
    transaction.on_commit(lambda: chart_signed.send_robust(sender=Chart, session_id=session.pk))
    return chart


@transaction.atomic
def chart_save_and_sign(*, session, by, **record) -> Chart:
    """Save the chart as submitted and sign it, in one transaction: a second click waits for
    the first on the session's lock, then finds the chart signed (ChartAlreadySigned)."""
    return chart_sign(chart=chart_save(session=session, by=by, **record), by=by)


@transaction.atomic
def chart_addendum(*, chart, text: str, by) -> Addendum:
    if not chart.is_signed:
        raise ValidationError(_("The chart is not signed yet: change it directly."))
    if not text.strip():
        raise ValidationError({"text": _("Write the correction or note.")})
    return Addendum.objects.create(chart=chart, text=text.strip(), author=by)
