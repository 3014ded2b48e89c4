"""What is on the shelf, lot by lot: deliveries received, counts corrected, signed charts drawing
down what they used.

Every change to a lot's quantity is a StockMovement (the stock's own history) and an entry in
the audit trail on the lot (`record_change`: who, from where, before and after). Quantities
are changed under a row lock, and the database refuses a negative quantity
(`lot_stock_never_negative`), so two charts signed at once cannot both take the last
millilitre: the second waits for the first, sees what is left, and is refused.

Locks, always in this order: a product (receiving a delivery), then its lots in pk order. A
chart being signed locks its session and chart first (session_day.charting), then its lots
here; nothing here locks a session, so the orders never cross.
"""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mesoclinic.core.audit import record_change
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Lot, StockMovement, StockMovementKind

CENT = Decimal("0.01")
MAX_DELIVERY_ML = Decimal("100000")  # a typing slip (5000 ampoules of 5 ml) beyond this
MAX_UNITS = 10_000
# Two identical deliveries by the same person this close together are one delivery sent twice
# (a double click, a resubmitted form): the second is not added again.
REPEAT_WINDOW = datetime.timedelta(seconds=30)


def clean_lot_number(lot_number):
    """A lot number as stored: trimmed, in capitals, as charting stores it (resolve_lot)."""
    return (lot_number or "").strip().upper()


def ml(value):
    """A quantity to the hundredth of a millilitre, as Lot.on_hand_ml keeps it."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def shown_ml(value):
    """2.50 -> "2.5", 10.00 -> "10": quantities in sentences."""
    return format(value.normalize(), "f") if value is not None else "—"


def _audit(lot, before, after, movement, *, by):
    """The lot's quantity change in the audit trail, with what moved it."""
    what = f"{movement.get_kind_display()} {movement.change_ml:+} ml"
    if movement.chart_id:
        what += f" (chart {movement.chart_id})"
    if movement.supplier:
        what += f" from {movement.supplier}"
    if movement.note:
        what += f": {movement.note}"
    record_change(
        lot,
        {
            "on_hand_ml": (None if before is None else str(before), str(after)),
            "stock_movement": (None, what),
        },
        actor=by,
    )


def delivery_quantity(product, units, quantity_ml):
    """The millilitres a delivery brings: as given, or units x the product's unit volume. Both
    given must agree (10 ampoules of 5 ml are 50 ml), which catches a slip in either."""
    problems = {}
    if units is not None and not 0 < units <= MAX_UNITS:
        problems["units"] = _("Give the number of vials or ampoules received (1 to %(max)s).") % {"max": MAX_UNITS}
    if quantity_ml is not None and not 0 < quantity_ml <= MAX_DELIVERY_ML:
        problems["quantity_ml"] = _("Give the millilitres received (more than 0, at most %(max)s).") % {
            "max": shown_ml(MAX_DELIVERY_ML)
        }
    if problems:
        raise ValidationError(problems)
    if units is None and quantity_ml is None:
        raise ValidationError({"units": _("Give the number of vials or ampoules received, or the millilitres.")})
    if units is not None and product.unit_ml is None and quantity_ml is None:
        raise ValidationError(
            {
                "quantity_ml": _(
                    "%(product)s has no volume per vial or ampoule in the catalogue: give the millilitres received."
                )
                % {"product": product}
            }
        )
    if units is not None and product.unit_ml is not None:
        from_units = ml(units * product.unit_ml)
        if quantity_ml is not None and ml(quantity_ml) != from_units:
            raise ValidationError(
                {
                    "quantity_ml": _(
                        "%(units)s × %(unit)s ml of %(product)s are %(total)s ml, not %(given)s ml: "
                        "check the count or the millilitres."
                    )
                    % {
                        "units": units,
                        "unit": shown_ml(product.unit_ml),
                        "product": product,
                        "total": shown_ml(from_units),
                        "given": shown_ml(ml(quantity_ml)),
                    }
                }
            )
        return from_units
    return ml(quantity_ml)


def _lot_for_delivery(product, number, expires_on, today):
    """The lot a delivery goes to, locked; a new one (unsaved) when the clinic has not had it."""
    lot = Lot.objects.select_for_update().filter(product=product, lot_number__iexact=number).first()
    if lot is not None and lot.expires_on != expires_on:
        raise ValidationError(
            {
                "expires_on": _("Lot %(lot)s of %(product)s expires on %(expires)s, not %(typed)s: check the box.")
                % {
                    "lot": lot.lot_number,
                    "product": product,
                    "expires": date_format(lot.expires_on, "d M Y"),
                    "typed": date_format(expires_on, "d M Y"),
                }
            }
        )
    if lot is not None and lot.recalled_at is not None:
        raise ValidationError(
            {
                "lot_number": _("Lot %(lot)s of %(product)s was recalled: it must not be put on the shelf.")
                % {"lot": lot.lot_number, "product": product}
            }
        )
    if expires_on < today:
        raise ValidationError(
            {
                "expires_on": _("Lot %(lot)s expired on %(expired)s: it must not be put on the shelf.")
                % {"lot": number, "expired": date_format(expires_on, "d M Y")}
            }
        )
    return lot or Lot(product=product, lot_number=number, expires_on=expires_on)


@transaction.atomic
def delivery_receive(*, product, lot_number, expires_on, units=None, quantity_ml=None, supplier="", by) -> Lot:
    """Put a delivery on the shelf: the lot (created when new) gains its millilitres, and the
    delivery is a RECEIVED movement naming the supplier. A lot first typed at a chart, never
    counted, is counted from this delivery on. Refused: a lot whose expiry contradicts the one
    the clinic knows, an expired lot, a recalled lot, a quantity that does not add up."""
    number = clean_lot_number(lot_number)
    if not number:
        raise ValidationError({"lot_number": _("Type or scan the lot number.")})
    if expires_on is None:
        raise ValidationError({"expires_on": _("Give the expiry date printed on the box.")})
    product = Product.objects.select_for_update().get(pk=product.pk)  # one delivery of a product at a time
    quantity = delivery_quantity(product, units, quantity_ml)
    lot = _lot_for_delivery(product, number, expires_on, clinic_today())
    before = lot.on_hand_ml
    after = (before or Decimal("0")) + quantity
    if lot.pk is None:
        lot.on_hand_ml = after
        lot.save()
    else:
        Lot.objects.filter(pk=lot.pk).update(on_hand_ml=after)
        lot.on_hand_ml = after
    movement = StockMovement.objects.create(
        lot=lot,
        kind=StockMovementKind.RECEIVED,
        change_ml=quantity,
        on_hand_after_ml=after,
        units=units,
        supplier=(supplier or "").strip(),
        by=by,
    )
    _audit(lot, before, after, movement, by=by)
    return lot


@transaction.atomic
def delivery_receive_once(*, product, lot_number, expires_on, units=None, quantity_ml=None, supplier="", by):
    """`delivery_receive`, unless the same person recorded this very delivery a moment ago (the
    form sent twice): then nothing is added. (lot, True when it was a repeat)."""
    Product.objects.select_for_update().filter(pk=product.pk).first()  # the first request commits first
    repeat = (
        StockMovement.objects.filter(
            kind=StockMovementKind.RECEIVED,
            lot__product=product,
            lot__lot_number__iexact=clean_lot_number(lot_number),
            lot__expires_on=expires_on,
            units=units,
            supplier=(supplier or "").strip(),
            by=by,
            at__gte=timezone.now() - REPEAT_WINDOW,
        )
        .select_related("lot")
        .first()
    )
    if repeat is not None:
        try:
            same = repeat.change_ml == delivery_quantity(product, units, quantity_ml)
        except ValidationError:
            same = False
        if same:
            return repeat.lot, True
    lot = delivery_receive(
        product=product,
        lot_number=lot_number,
        expires_on=expires_on,
        units=units,
        quantity_ml=quantity_ml,
        supplier=supplier,
        by=by,
    )
    return lot, False


@transaction.atomic
def stock_adjust(*, lot, counted_ml, note, by) -> Lot:
    """A count of what is really on the shelf: the lot's quantity becomes `counted_ml`, and the
    difference is an ADJUSTED movement with the reason (broken vial, miscount, discarded at
    expiry). A count that confirms the quantity is recorded too: the lot was checked."""
    note = (note or "").strip()
    problems = {}
    if not note:
        problems["note"] = _("Say why the quantity changes (broken vial, miscounted, discarded…).")
    if counted_ml is None or counted_ml < 0 or counted_ml > MAX_DELIVERY_ML:
        problems["counted_ml"] = _("Give the millilitres counted on the shelf (0 or more).")
    if problems:
        raise ValidationError(problems)
    lot = Lot.objects.select_for_update().select_related("product").get(pk=lot.pk)
    counted = ml(counted_ml)
    before = lot.on_hand_ml
    Lot.objects.filter(pk=lot.pk).update(on_hand_ml=counted)
    lot.on_hand_ml = counted
    movement = StockMovement.objects.create(
        lot=lot,
        kind=StockMovementKind.ADJUSTED,
        change_ml=counted - (before or Decimal("0")),
        on_hand_after_ml=counted,
        note=note[:300],
        by=by,
    )
    _audit(lot, before, counted, movement, by=by)
    return lot


def _needed_per_lot(uses):
    """{lot pk: ml} for the (lot, ml) pairs of a chart, one lot used from two syringes added up."""
    needed = defaultdict(Decimal)
    for lot, volume in uses:
        volume = Decimal(str(volume))
        if volume < 0:
            raise ValidationError(_("A volume used cannot be negative."))
        needed[lot.pk] += volume
    return {pk: ml(volume) for pk, volume in needed.items() if ml(volume) > 0}


@transaction.atomic
def draw_down(*, chart, uses, by):
    """Take what a signed chart used off the shelf, inside the signing's transaction: `uses` is
    a list of (lot, ml). The counted lots are locked in pk order (so two charts sharing lots
    queue up rather than deadlock); if any has less than the chart used, nothing is taken and
    the ValidationError names each lot and what is on hand. Lots not counted (on hand None)
    are used as before, without a movement. Returns the movements recorded."""
    needed = _needed_per_lot(uses)
    if not needed:
        return []
    lots = list(
        Lot.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=needed, on_hand_ml__isnull=False)
        .order_by("pk")
    )
    short = [lot for lot in lots if lot.on_hand_ml < needed[lot.pk]]
    if short:
        raise ValidationError(
            [
                ValidationError(
                    _("Lot %(lot)s of %(product)s: %(on_hand)s ml on hand, %(needed)s ml charted.")
                    % {
                        "lot": lot.lot_number,
                        "product": lot.product,
                        "on_hand": shown_ml(lot.on_hand_ml),
                        "needed": shown_ml(needed[lot.pk]),
                    },
                    code="not_enough_stock",
                )
                for lot in short
            ]
        )
    movements = []
    for lot in lots:
        before, taken = lot.on_hand_ml, needed[lot.pk]
        # Relative to the row as it stands: the lock makes `before` current, the check
        # constraint refuses a negative result should anything ever get past the lock.
        Lot.objects.filter(pk=lot.pk).update(on_hand_ml=F("on_hand_ml") - taken)
        lot.on_hand_ml = before - taken
        movement = StockMovement.objects.create(
            lot=lot,
            kind=StockMovementKind.USED,
            change_ml=-taken,
            on_hand_after_ml=lot.on_hand_ml,
            chart=chart,
            by=by,
        )
        _audit(lot, before, lot.on_hand_ml, movement, by=by)
        movements.append(movement)
    return movements
