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


ALREADY_SIGNED = "This chart is already signed and locked; corrections are addenda."


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
        raise ValidationError("Type or scan the lot number.")
    lots = list(Lot.objects.select_related("product").filter(lot_number__iexact=number))
    if line.product is not None:
        lots = [lot for lot in lots if lot.product_id == line.product.pk] or []
    if len(lots) > 1:
        raise ValidationError(f"Lot {number} exists for several products; choose the product.")
    if lots:
        lot = lots[0]
        if line.expires_on and line.expires_on != lot.expires_on:
            raise ValidationError(
                f"Lot {number} of {lot.product} expires on {lot.expires_on:%d %b %Y}, not {line.expires_on:%d %b %Y}: check the box."
            )
    else:
        if line.product is None or line.expires_on is None:
            raise ValidationError(f"Lot {number} is new here: give its product and expiry date.")
        lot = Lot(product=line.product, lot_number=number, expires_on=line.expires_on)
    if lot.expires_on < on_day:
        raise ValidationError(
            f"Lot {number} of {lot.product} expired on {lot.expires_on:%d %b %Y}: it must not be used."
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
                f"it contains {ingredient} and the patient is allergic to {allergy}"
                for allergy, ingredient in conflicts
            ) or "; ".join(f"{f.title}: {', '.join(f.matched)}" for f in found)
            problems.append(f"Product {index} ({lot.product}): {what}. It must not be used.")
    return problems


def chart_problems(values):
    """Values outside what is physically sensible: refused (flags outside the protocol are not)."""
    problems = {}
    depth, gauge = values.get("depth_mm"), values.get("needle_gauge")
    if depth is not None and not limits.SANE_DEPTH_MM[0] <= Decimal(str(depth)) <= limits.SANE_DEPTH_MM[1]:
        problems["depth_mm"] = f"A depth of {depth} mm is not a mesotherapy injection (0.1–13 mm)."
    if gauge is not None and not limits.SANE_GAUGE[0] <= gauge <= limits.SANE_GAUGE[1]:
        problems["needle_gauge"] = f"A {gauge} G needle is not used for mesotherapy (18–34 G)."
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
        raise ValidationError(f"The session is {session.get_status_display().lower()}; it cannot be charted.")
    allowed, reason = may_chart(session)
    if not allowed:
        raise ValidationError(reason)
    problems = chart_problems(values)
    if problems:
        raise ValidationError(problems)
    chart = Chart.objects.select_for_update(of=("self",)).filter(session=session).first()
    if chart is not None and chart.is_signed:
        raise ChartAlreadySigned(ALREADY_SIGNED)
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
            errors.append(f"Product {index}: {' '.join(error.messages)}")
    errors += product_allergy_problems(session, [lot for lot, _ in resolved])
    for _, volume in [*areas, *[(None, v) for _, v in resolved]]:
        if not Decimal("0") < volume <= MAX_VOLUME_ML:
            errors.append(f"A volume of {volume} ml is not sensible (more than 0, at most {MAX_VOLUME_ML} ml).")
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
    }


@transaction.atomic
def chart_sign(*, chart, by) -> Chart:
    """Sign and lock: the session is done. What follows a completed session happens after commit.
    A chart signed meanwhile raises ChartAlreadySigned: it is signed once, by whoever came first."""
    session = _lock_session(chart.session_id)
    chart = Chart.objects.select_for_update(of=("self",)).get(pk=chart.pk)
    if chart.is_signed:
        raise ChartAlreadySigned(ALREADY_SIGNED)
    if not chart.areas.exists():
        raise ValidationError("Record at least one treated area before signing.")
    chart.signed_at = timezone.now()
    chart.signed_by = by
    chart.save(update_fields=["signed_at", "signed_by"])  # allowed once: the stored chart is still unsigned
    session.status = SessionStatus.COMPLETED
    session.change_note = "Charted and signed"
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
        raise ValidationError("The chart is not signed yet: change it directly.")
    if not text.strip():
        raise ValidationError({"text": "Write the correction or note."})
    return Addendum.objects.create(chart=chart, text=text.strip(), author=by)
