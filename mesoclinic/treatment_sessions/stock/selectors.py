"""Reads of the stock: which lot to use first, whether a lot may be used, and the shelf as a list,
each in a fixed number of queries whatever the number of lots."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mesoclinic.patients.selectors import newest_first_page
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Lot, StockMovement

from .gs1 import gtin_forms

EXPIRING_DAYS = 30  # "expires soon": within this many days, the list flags the lot


def usable_lots(on_day):
    """Lots that may be injected on `on_day`: not expired, not recalled, and some left (or not
    counted: a lot typed at a chart before the clinic counted stock is used as before)."""
    return Lot.objects.filter(expires_on__gte=on_day, recalled_at__isnull=True).filter(
        Q(on_hand_ml__gt=0) | Q(on_hand_ml__isnull=True)
    )


def lots_first_to_expire(product, on_day):
    """The product's usable lots, the one that expires first first (FEFO: first expired, first
    out), so the oldest stock is offered before it goes to waste."""
    return usable_lots(on_day).filter(product=product).select_related("product").order_by("expires_on", "lot_number")


def lot_problem(lot, on_day) -> str:
    """ "" when `lot` may be used on `on_day`; else why not, in a sentence for the chart: recalled,
    expired, or none left on the shelf."""
    names = {"lot": lot.lot_number, "product": lot.product}
    if lot.recalled_at is not None:
        names["date"] = date_format(lot.recalled_at.date(), "d M Y")
        if lot.recall_reason:
            return _("Lot %(lot)s of %(product)s was recalled on %(date)s (%(reason)s): it must not be used.") % {
                **names,
                "reason": lot.recall_reason,
            }
        return _("Lot %(lot)s of %(product)s was recalled on %(date)s: it must not be used.") % names
    if lot.expires_on < on_day:
        return _("Lot %(lot)s of %(product)s expired on %(expired)s: it must not be used.") % {
            **names,
            "expired": date_format(lot.expires_on, "d M Y"),
        }
    if lot.on_hand_ml is not None and lot.on_hand_ml <= 0:
        return (
            _(
                "None of lot %(lot)s of %(product)s is left on the shelf: check the lot number, or receive the delivery first."
            )
            % names
        )
    return ""


def product_for_gtin(gtin):
    """The catalogue's product with this GTIN (stored in any of its lengths), or None."""
    forms = gtin_forms(gtin)
    if not forms:
        return None
    return Product.objects.filter(gtin__in=forms).first()


# --- The shelf -------------------------------------------------------------------------------


@dataclass
class LotLine:
    lot: Lot
    expired: bool
    expiring_soon: bool

    @property
    def recalled(self):
        return self.lot.recalled_at is not None

    @property
    def counted(self):
        return self.lot.on_hand_ml is not None

    @property
    def usable(self):
        return not self.expired and not self.recalled

    @property
    def needs_attention(self):
        return self.expired or self.expiring_soon or self.recalled


@dataclass
class ProductStock:
    product: Product
    lots: list = field(default_factory=list)  # every lot on the shelf: the totals count them all
    shown: list | None = None  # the lots a filter shows (None: all)

    @property
    def lines(self):
        return self.lots if self.shown is None else self.shown

    @property
    def usable_ml(self):
        """What can still be injected: counted lots neither expired nor recalled."""
        return sum((line.lot.on_hand_ml for line in self.lots if line.usable and line.counted), Decimal("0"))

    @property
    def to_discard_ml(self):
        """On the shelf but not to be used: expired or recalled."""
        return sum((line.lot.on_hand_ml for line in self.lots if not line.usable and line.counted), Decimal("0"))

    @property
    def uncounted(self):
        """Some usable lot was never counted: the total is a floor, not the stock."""
        return any(line.usable and not line.counted for line in self.lots)

    @property
    def below_reorder(self):
        reorder = self.product.reorder_ml
        return reorder is not None and not self.uncounted and self.usable_ml < reorder

    @property
    def expiring_soon(self):
        return any(line.expired or line.expiring_soon for line in self.lots)

    @property
    def recalled(self):
        return any(line.recalled for line in self.lots)


@dataclass
class StockList:
    rows: list
    show: str
    expiring_count: int
    reorder_count: int
    on_day: datetime.date
    soon_until: datetime.date


SHOW_ALL, SHOW_EXPIRING, SHOW_REORDER = "", "expiring", "reorder"


def shelf_lots(on_day):
    """The lots on the shelf: counted with some left (expired or recalled ones too: they are
    there until discarded), or not counted and not yet expired."""
    return Lot.objects.filter(Q(on_hand_ml__gt=0) | Q(on_hand_ml__isnull=True, expires_on__gte=on_day))


def stock_list(on_day, show=SHOW_ALL) -> StockList:
    """Per product, its lots on the shelf (first to expire first) with their flags; active
    products with nothing left are listed too (they may need reordering), inactive ones only
    while some of theirs is on the shelf. Two queries whatever the number of lots; the
    filters (`show`: expiring, reorder) apply to those rows."""
    soon_until = on_day + datetime.timedelta(days=EXPIRING_DAYS)
    on_shelf = shelf_lots(on_day)
    products = (
        Product.objects.filter(Q(is_active=True) | Exists(on_shelf.filter(product=OuterRef("pk"))))
        .prefetch_related(Prefetch("lots", queryset=on_shelf.order_by("expires_on", "lot_number"), to_attr="shelf"))
        .order_by("name", "manufacturer")
    )
    rows = []
    for product in products:
        lines = [
            LotLine(lot=lot, expired=lot.expires_on < on_day, expiring_soon=on_day <= lot.expires_on <= soon_until)
            for lot in product.shelf
        ]
        for line in lines:
            line.lot.product = product  # no query per lot for its name
        rows.append(ProductStock(product=product, lots=lines))
    expiring = [row for row in rows if row.expiring_soon]
    reorder = [row for row in rows if row.below_reorder]
    if show == SHOW_EXPIRING:
        for row in expiring:
            row.shown = [line for line in row.lots if line.expired or line.expiring_soon]
        shown = expiring
    elif show == SHOW_REORDER:
        shown = reorder
    else:
        shown = rows
    return StockList(
        rows=shown,
        show=show,
        expiring_count=len(expiring),
        reorder_count=len(reorder),
        on_day=on_day,
        soon_until=soon_until,
    )


def lot_history(lot, *, before=None, after=None):
    """A page of the lot's movements, newest first (patients.selectors.newest_first_page: a lot
    used at thousands of sessions reads 50 rows along the index on (lot, at)), with who made
    them and the session a use was charted at, in one query."""
    movements = StockMovement.objects.filter(lot=lot).select_related("by", "chart__session")
    return newest_first_page(movements, time_field="at", before=before, after=after)
