"""The chart of a session: what was actually done. Saved as a draft, then signed and locked.

A chart may carry an injection map (mapping.py): its syringes and points are stored with the
chart, and its areas and products are then derived from the map. Signing draws the lots used
down from the stock, under the lots' locks, so two charts signed at once never take more than
is on the shelf. After signing, corrections are addenda; the chart, its areas, products,
syringes, points, events and measurements refuse any change (models.ChartLockedError), here
and in the models.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
    InjectionPoint,
    Lot,
    Measurement,
    ProductUse,
    SessionStatus,
    Syringe,
    SyringeComponent,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.reminders.services import sync_reminders
from mesoclinic.treatment_sessions.signals import chart_signed
from mesoclinic.treatment_sessions.stock.selectors import lot_problem
from mesoclinic.treatment_sessions.stock.services import draw_down

from .mapping import (
    EMPTY_MAP,
    MAX_VOLUME_ML,
    ChartWarning,
    find_lot,
    indication_warning,
    map_flags,
    map_lines,
    map_of,
    map_totals,
)
from .recheck import may_chart


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
    """The lot a typed or scanned number names, saved when it is new to the clinic (it needs its
    product and expiry then). A lot that must not be injected is refused (mapping.find_lot):
    expired, recalled, or none of it left."""
    lot = find_lot(line.lot_number, product=line.product, expires_on=line.expires_on, on_day=on_day)
    if lot.pk is None:
        lot.save()
    return lot


def product_allergy_problems(session, lots, names=None):
    """The engine's allergy rule on the products actually charted: a product with an
    ingredient the patient is allergic to (or of its class) is refused. The rule allows no
    override: the cocktail changes instead (fixtures/rules.yaml, ingredient-allergy).
    `names` say where each lot is on the page ("Syringe A, product 2"); by default "Product 1"..."""
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
            where = names[index - 1] if names else _("Product %(number)s") % {"number": index}
            problems.append(
                _("%(where)s (%(product)s): %(what)s. It must not be used.")
                % {"where": where, "product": lot.product, "what": what}
            )
    return problems


# --- Warnings: allowed, but the practitioner must see them, and the chart keeps them -----------


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


def saved_chart_warnings(chart, mapped=None):
    """The warnings of a chart as saved (its rows, and its map's flags). With a map, the areas
    and the products come from the same points, so they cannot disagree on the volume: only
    the map's own flags are added (without the product warnings the rows already give)."""
    uses = list(chart.products_used.select_related("lot__product").prefetch_related("lot__product__ingredients"))
    mapped = map_of(chart) if mapped is None else mapped
    warnings = chart_warnings(
        chart.session,
        [] if mapped.points else [row.volume_ml for row in chart.areas.all()],
        [(use.lot.product, use.volume_ml) for use in uses],
    )
    said = {warning.message for warning in warnings}
    for flag in map_flags(mapped, chart.session.plan, stock=not chart.is_signed):
        if flag.message not in said:
            warnings.append(ChartWarning("map", flag.message, flag.source))
    return warnings


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
def chart_save(
    *,
    session,
    by,
    values: dict,
    areas: list,
    products: list,
    events: list,
    measurements: list,
    map_input=None,
) -> Chart:
    """Save the chart as it stands (a draft until signed). Rows are replaced as a whole.

    `map_input` (mapping.read_map) is the injection map: its syringes and points are stored,
    and when it has points the chart's areas and products are derived from it (the `areas`
    and `products` given are not used), so everything that reads them (aftercare, lot recall,
    the allergy check) reads what the map says was injected."""
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

    mapped = map_input or EMPTY_MAP
    day = session_day(session)
    errors = []
    if mapped.points:
        totals = map_totals(mapped)
        areas = [(total.area, total.volume_ml) for total in totals.areas]
        resolved = [(total.lot, total.volume_ml) for total in totals.lots]
    else:
        resolved = []
        for index, line in enumerate(products, start=1):
            try:
                resolved.append((resolve_lot(line, day), line.volume_ml))
            except ValidationError as error:
                errors.append(
                    _("Product %(number)s: %(problem)s") % {"number": index, "problem": " ".join(error.messages)}
                )
        errors += product_allergy_problems(session, [lot for lot, _volume in resolved])
    map_errors = _syringe_allergy_problems(session, mapped)
    for volume in [*(v for _area, v in areas), *(v for _lot, v in resolved)]:
        if not Decimal("0") < volume <= MAX_VOLUME_ML:
            errors.append(
                _("A volume of %(volume)s ml is not sensible (more than 0, at most %(most)s ml).")
                % {"volume": volume, "most": MAX_VOLUME_ML}
            )
    if map_errors:  # beside the map on the page; the rest above the form
        raise ValidationError({"__all__": errors, "map": map_errors} if errors else {"map": map_errors})
    if errors:
        raise ValidationError(errors)

    before = chart_lines(chart)
    chart.areas.all().delete()
    chart.products_used.all().delete()
    chart.adverse_events.all().delete()
    chart.measurements.all().delete()
    chart.points.all().delete()
    chart.syringes.all().delete()  # and their components
    _save_new_lots(mapped)
    ChartArea.objects.bulk_create(ChartArea(chart=chart, area=area, volume_ml=volume) for area, volume in areas)
    ProductUse.objects.bulk_create(ProductUse(chart=chart, lot=lot, volume_ml=volume) for lot, volume in resolved)
    _store_map(chart, mapped)
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
        Measurement(chart=chart, measure=measure, kind=kind, value=value, unit=unit)
        for measure, kind, value, unit in measurements
    )
    after = chart_lines(chart)
    record_change(chart, {name: (before[name], after[name]) for name in after}, actor=by)
    return chart


def _syringe_allergy_problems(session, mapped):
    """The allergy rule on every lot of every syringe prepared, named as the page shows it."""
    lots, names = [], []
    for syringe in mapped.syringes:
        for number, component in enumerate(syringe.components, start=1):
            lots.append(component.lot)
            names.append(_("Syringe %(label)s, product %(number)s") % {"label": syringe.label, "number": number})
    return product_allergy_problems(session, lots, names)


def _save_new_lots(mapped):
    """Lots the map names for the first time (read_map found them new, with their product and
    expiry). A colleague who recorded the same lot a moment ago wins; this save asks again."""
    for lot in mapped.lots:
        if lot.pk is None:
            try:
                with transaction.atomic():
                    lot.save()
            except IntegrityError as error:
                raise ValidationError(
                    {
                        "map": _("Lot %(lot)s was just recorded by a colleague: save the chart again.")
                        % {"lot": lot.lot_number}
                    }
                ) from error


def _store_map(chart, mapped):
    """The map's syringes, their components and its points, as rows of the chart."""
    if not mapped.syringes:
        return
    syringes = Syringe.objects.bulk_create(Syringe(chart=chart, label=s.label) for s in mapped.syringes)
    by_label = {row.label: row for row in syringes}
    SyringeComponent.objects.bulk_create(
        SyringeComponent(syringe=row, lot=component.lot, percent=component.percent)
        for row, syringe in zip(syringes, mapped.syringes, strict=True)
        for component in syringe.components
    )
    InjectionPoint.objects.bulk_create(
        (
            InjectionPoint(
                chart=chart,
                syringe=by_label[point.syringe.label],
                diagram=point.diagram,
                area=point.area,
                shape=point.shape,
                x=point.x,
                y=point.y,
                outline=[[float(x), float(y)] for x, y in point.outline],
                depth_mm=point.depth_mm,
                technique=point.technique,
                needle_gauge=point.needle_gauge,
                volume_ml=point.volume_ml,
                position=point.number,
            )
            for point in mapped.points
        ),
        batch_size=500,
    )


def chart_lines(chart):
    """The chart's rows as lines a reader of the audit trail understands. They are deleted and
    recreated on each save, which auditlog does not see; chart_save records the difference."""
    mapped = map_of(chart)
    return {
        "areas": sorted(f"{row.area.code}: {row.volume_ml} ml" for row in chart.areas.select_related("area")),
        "products": sorted(
            f"{row.lot.product} lot {row.lot.lot_number} (exp. {row.lot.expires_on:%Y-%m-%d}): {row.volume_ml} ml"
            for row in chart.products_used.select_related("lot__product")
        ),
        # Each area's points and each syringe's recipe; the points themselves are in the rows.
        "map": map_lines(mapped),
        "adverse events": sorted(
            f"{row.type_id} ({row.severity}), follow up {row.follow_up_on or '-'}"
            + (f": {row.notes}" if row.notes else "")
            for row in chart.adverse_events.all()
        ),
        "measurements": sorted(f"{row.kind}: {row.value} {row.unit}".strip() for row in chart.measurements.all()),
        # Saving with a warning is allowed; the audit trail keeps what the practitioner was shown
        # (the map's flags among them).
        "warnings": [warning.message for warning in saved_chart_warnings(chart, mapped)],
    }


@transaction.atomic
def chart_sign(*, chart, by) -> Chart:
    """Sign and lock: the session is done, and the lots used are drawn down from the stock.
    What follows a completed session happens after commit. A chart signed meanwhile raises
    ChartAlreadySigned: it is signed once, by whoever came first."""
    session = _lock_session(chart.session_id)
    chart = Chart.objects.select_for_update(of=("self",)).get(pk=chart.pk)
    if chart.is_signed:
        raise ChartAlreadySigned(str(ALREADY_SIGNED))
    if not chart.areas.exists():
        raise ValidationError(_("Record at least one treated area before signing."))
    _draw_down_lots(chart, session, by)
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


def _draw_down_lots(chart, session, by):
    """The chart's lots, locked in pk order (as stock.services.draw_down locks them, so two
    signings queue up instead of deadlocking) and checked as they stand now: a lot recalled or
    expired since the chart was saved is refused; then each is drawn down by what the chart
    used. The second of two charts that together need more than is on hand is refused here,
    and its whole signing rolls back: the chart stays a draft, the stock as the first left it."""
    used = {}
    for use in chart.products_used.all():
        used[use.lot_id] = used.get(use.lot_id, Decimal("0")) + use.volume_ml
    if not used:
        return
    lots = list(
        Lot.objects.select_for_update(of=("self",)).select_related("product").filter(pk__in=used).order_by("pk")
    )
    day = session_day(session)
    problems = [problem for lot in lots if (problem := lot_problem(lot, day)) and lot.on_hand_ml != 0]
    if problems:
        raise ValidationError(problems)
    try:
        with transaction.atomic():
            draw_down(chart=chart, uses=[(lot, used[lot.pk]) for lot in lots], by=by)
    except IntegrityError as error:  # the database's own check: never below zero
        raise ValidationError(
            _("The stock changed while signing: less is on hand than this chart uses. Check the lots and sign again.")
        ) from error


def chart_save_and_sign(*, session, by, **record) -> Chart:
    """Save the chart as submitted and sign it: a second click waits for the first on the
    session's lock, then finds the chart signed (ChartAlreadySigned). A signing refused (the
    stock ran out meanwhile, a lot was recalled) keeps what was saved as a draft, and says so."""
    with transaction.atomic():
        chart = chart_save(session=session, by=by, **record)
        try:
            with transaction.atomic():
                return chart_sign(chart=chart, by=by)
        except ValidationError as error:
            refusal = error
    raise ValidationError(_("Saved as a draft, not signed: %(why)s") % {"why": " ".join(refusal.messages)}) from refusal


@transaction.atomic
def chart_addendum(*, chart, text: str, by) -> Addendum:
    if not chart.is_signed:
        raise ValidationError(_("The chart is not signed yet: change it directly."))
    if not text.strip():
        raise ValidationError({"text": _("Write the correction or note.")})
    return Addendum.objects.create(chart=chart, text=text.strip(), author=by)
