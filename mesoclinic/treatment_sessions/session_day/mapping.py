"""The injection map of a chart: where each injection went on a diagram, from which syringe,
how deep, by which technique and needle, and how much; and the syringes, each a mixture of
products from their lots in proportions, prepared once and used for many points.

The chart page posts the map as JSON in one hidden field, `map`:

    {"syringes": [{"label": "A", "components": [
        {"lot": "HB-2611", "product": 3, "expires_on": "2027-05-31", "percent": "60"}, ...]}],
     "points": [{"syringe": "A", "diagram": "face_front", "area": "face", "shape": "point",
        "x": "41.5", "y": "30.2", "outline": [], "depth_mm": "1.0", "technique": "nappage",
        "needle_gauge": 32, "volume_ml": "0.05"}, ...]}

Numbers may be JSON numbers or strings (a decimal comma too). A component that names its
product but no lot takes the product's lot that expires first (FEFO). A zone is a painted
area (nappage): its outline has at least three corners; its x/y (the outline's centre when
left out) place its label. read_map checks all of it and names each problem by the point or
syringe it belongs to, numbered as the practitioner sees them: whatever is posted, the answer
is a MapInput or a ValidationError, never a crash, and nothing is written.

From a map come the chart's areas and products (chart_save derives ChartArea and ProductUse
from it, so lot recall, aftercare and the allergy check read what was injected), its totals,
and its flags against the plan's protocol: warnings, as in the plan builder, that the
practitioner weighs; they are shown beside the map and kept in the chart's audit trail.
"""

import datetime
import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mesoclinic.plans import limits
from mesoclinic.plans.models import Product, Technique
from mesoclinic.screening import bilingual
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import Lot, PointShape, SyringeComponent
from mesoclinic.treatment_sessions.stock.selectors import lot_problem, lots_first_to_expire

from .diagrams import DIAGRAMS
from .recheck import session_date

MAX_VOLUME_ML = Decimal("20")  # in one area, or of one lot, at one session
MAX_POINT_ML = Decimal("2")  # at one point (or one painted zone)
MAX_POINTS = 2000
MAX_SYRINGES = 20
MAX_COMPONENTS = 8
MAX_OUTLINE = 100  # corners of one zone: the page simplifies a painted outline to fewer
MAX_MAP_CHARS = 4_000_000  # within the server's 5 MB for a request
MAX_LABEL = 20  # Syringe.label
MAX_LOT = 60  # Lot.lot_number
MAX_PROBLEMS_SHOWN = 30
CENT = Decimal("0.01")
ACROSS = Decimal("100")  # x runs 0-100 on every diagram; y from 0 down to its height
STORED_DOWN = Decimal("100")  # InjectionPoint's check constraint stores y up to 100


# --- Lots and products: what the practitioner names, and whether it may be injected ------------


def find_lot(number, *, product=None, expires_on=None, on_day) -> Lot:
    """The lot a typed or scanned number names; a lot the clinic has not met before needs its
    product and expiry, and comes back unsaved (charting saves it with the chart).

    A lot that must not be injected on `on_day` is refused: expired, recalled, or none of it
    left on the shelf (stock.selectors.lot_problem), whatever else is right.
    """
    number = str(number or "").strip().upper()
    if not number:
        raise ValidationError(_("Type or scan the lot number."))
    lots = list(Lot.objects.select_related("product").filter(lot_number__iexact=number))
    if product is not None:
        lots = [lot for lot in lots if lot.product_id == product.pk]
    if len(lots) > 1:
        raise ValidationError(_("Lot %(lot)s exists for several products; choose the product.") % {"lot": number})
    if lots:
        lot = lots[0]
        if expires_on and expires_on != lot.expires_on:
            raise ValidationError(
                _("Lot %(lot)s of %(product)s expires on %(expires)s, not %(typed)s: check the box.")
                % {
                    "lot": number,
                    "product": lot.product,
                    "expires": date_format(lot.expires_on, "d M Y"),
                    "typed": date_format(expires_on, "d M Y"),
                }
            )
    else:
        if product is None or expires_on is None:
            raise ValidationError(_("Lot %(lot)s is new here: give its product and expiry date.") % {"lot": number})
        lot = Lot(product=product, lot_number=number, expires_on=expires_on)
    if lot.expires_on < on_day:
        raise ValidationError(
            _("Lot %(lot)s of %(product)s expired on %(expired)s: it must not be used.")
            % {"lot": number, "product": lot.product, "expired": date_format(lot.expires_on, "d M Y")}
        )
    if lot.pk is not None and (problem := lot_problem(lot, on_day)):
        raise ValidationError(problem)
    return lot


@dataclass(frozen=True)
class ChartWarning:
    """Something on the chart worth a second look that does not stop it being saved: shown next
    to its field, on the session page, and kept in the chart's audit entries (chart_lines)."""

    field: str  # "areas", "products-<row>" for one product line, "map" for the injection map
    message: str
    source: str = ""


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


# --- The map as read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentInput:
    lot: Lot  # unsaved for a lot new to the clinic (chart_save saves it)
    percent: Decimal


@dataclass(frozen=True)
class SyringeInput:
    label: str
    components: tuple  # of ComponentInput, shares adding up to 100


@dataclass(frozen=True)
class PointInput:
    number: int  # as the practitioner sees it: "Point 4"; stored as InjectionPoint.position
    syringe: SyringeInput
    diagram: str
    area: Term
    shape: str
    x: Decimal
    y: Decimal
    outline: tuple  # a zone's corners, ((x, y), ...); empty for a point
    depth_mm: Decimal
    technique: str
    needle_gauge: int | None  # none for needle-free
    volume_ml: Decimal


@dataclass(frozen=True)
class MapInput:
    syringes: tuple = ()
    points: tuple = ()

    @property
    def lots(self):
        """Every lot of the syringes, once each, in the order they were prepared."""
        seen = {}
        for syringe in self.syringes:
            for component in syringe.components:
                seen.setdefault(_lot_key(component.lot), component.lot)
        return list(seen.values())


@dataclass(frozen=True)
class MapProblem:
    """One refusal, with the point or syringe it is about (for the page to mark it)."""

    message: str
    point: int | None = None
    syringe: str | None = None

    def as_json(self):
        return {"point": self.point, "syringe": self.syringe, "message": self.message}


class MapInvalid(ValidationError):
    """The map's refusals as one ValidationError (its messages, the first few dozen), with
    every problem kept in `problems`, each naming its point or syringe."""

    def __init__(self, problems):
        shown = [problem.message for problem in problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(problems) - len(shown)
        if hidden > 0:
            shown.append(
                ngettext(
                    "… and %(count)s more problem on the map.", "… and %(count)s more problems on the map.", hidden
                )
                % {"count": hidden}
            )
        super().__init__(shown)
        self.problems = list(problems)


EMPTY_MAP = MapInput()


def _lot_key(lot):
    return lot.pk if lot.pk is not None else ("new", lot.product_id, lot.lot_number)


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number")


def _text(value, most):
    """A posted string fit to store and to query with: at most `most` characters, no control
    characters (PostgreSQL refuses NUL) and no lone surrogates. None otherwise."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > most or any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        return None
    return value


def _number(value):
    """A posted number (a JSON number, or a string; "0,05" too) as a finite Decimal, else None."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            number = Decimal(value.strip().replace(",", ".", 1))
        except InvalidOperation:
            return None
    else:
        return None  # bools, lists, null, objects
    return number if number.is_finite() else None


def _fits(number, low, high, step):
    """Within [low, high] and given to `step` (0.1, 0.01...) at most; compared before rounding,
    so an absurd exponent never reaches decimal arithmetic."""
    return low <= number <= high and number == number.quantize(step)


def _shown(number):
    """A posted number as the message repeats it: 2.50 -> "2.5"; an absurd one as typed."""
    if number.is_zero() or Decimal("0.000001") <= number.copy_abs() < Decimal("1000000"):
        return format(number.normalize(), "f")
    return str(number)[:24]


def _whole(value, low, high):
    number = _number(value)
    if number is None or not _fits(number, Decimal(low), Decimal(high), Decimal("1")):
        return None
    return int(number)


def _date(value):
    text = _text(value, 10)
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def area_words(term, code=None):
    """An area as a sentence names it: the English codes are the words themselves ("face"),
    another language reads the term's label (as plans.limits does)."""
    if term is None:
        return code or "—"
    if bilingual.active_language() == bilingual.ENGLISH:
        return term.code.replace("_", " ")
    return bilingual.text(term, "label")


def _down(diagram):
    """How far down a mark may lie on `diagram`: its height, within what is stored."""
    return min(Decimal(getattr(diagram, "height", 100)), STORED_DOWN)


def read_map(text, *, session) -> MapInput:
    """The map as posted for `session`'s chart, checked whole: every problem is collected, each
    naming its point ("Point 4 (face, syringe A): ...") or syringe. Raises MapInvalid (a
    ValidationError); an empty text is an empty map (a chart charted without one)."""
    return _Reader(session).read(text)


class _Reader:
    def __init__(self, session):
        self.day = session_date(session)
        self.problems = []
        self.products = {}
        self.terms = {}
        self._lots = {}
        self._new_lots = {}
        self._first = {}

    def fail(self, message, *, point=None, syringe=None):
        self.problems.append(MapProblem(message, point, syringe))

    def read(self, text):
        if text is None or not str(text).strip():
            return EMPTY_MAP
        text = str(text)
        if len(text) > MAX_MAP_CHARS:
            raise MapInvalid([MapProblem(_("The map is too large to save: chart fewer points or simpler zones."))])
        try:
            data = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError, ArithmeticError):  # not JSON, too deep, an exponent beyond any
            data = None
        raw_syringes = data.get("syringes") or [] if isinstance(data, dict) else None
        raw_points = data.get("points") or [] if isinstance(data, dict) else None
        if not isinstance(raw_syringes, list) or not isinstance(raw_points, list):
            raise MapInvalid([MapProblem(_("The map could not be read: reload the page and mark the points again."))])
        if len(raw_points) > MAX_POINTS:
            raise MapInvalid(
                [
                    MapProblem(
                        _("The map has %(count)s points; at most %(most)s can be charted at one session.")
                        % {"count": len(raw_points), "most": MAX_POINTS}
                    )
                ]
            )
        if len(raw_syringes) > MAX_SYRINGES:
            raise MapInvalid(
                [
                    MapProblem(
                        _("The map has %(count)s syringes; at most %(most)s can be charted at one session.")
                        % {"count": len(raw_syringes), "most": MAX_SYRINGES}
                    )
                ]
            )
        self.load_products(raw_syringes)
        self.load_terms(raw_points)
        syringes = self.syringes(raw_syringes)
        points = [
            point for number, raw in enumerate(raw_points, start=1) if (point := self.point(raw, number, syringes))
        ]
        if not self.problems:
            self.check_totals(points)
        if self.problems:
            raise MapInvalid(self.problems)
        return MapInput(syringes=tuple(syringes.values()), points=tuple(points))

    # One query each for the products and the areas the map names, whatever its size.

    def load_products(self, raw_syringes):
        wanted = set()
        for raw in raw_syringes:
            components = raw.get("components") if isinstance(raw, dict) else None
            for part in components[:MAX_COMPONENTS] if isinstance(components, list) else ():
                if isinstance(part, dict) and (pk := _whole(part.get("product"), 1, 2**31 - 1)):
                    wanted.add(pk)
        if wanted:
            self.products = {p.pk: p for p in Product.objects.filter(pk__in=wanted).prefetch_related("ingredients")}

    def load_terms(self, raw_points):
        codes = {diagram.default_area for diagram in DIAGRAMS.values()}
        codes |= {code for raw in raw_points if isinstance(raw, dict) and (code := _text(raw.get("area"), 60))}
        self.terms = {term.code: term for term in Term.objects.filter(kind="area", code__in=codes)}

    # Syringes

    def syringes(self, raw_syringes):
        """{label (casefolded): SyringeInput, or None for one refused (its points say nothing
        more: the syringe's own problem says why)}."""
        found = {}
        for number, raw in enumerate(raw_syringes, start=1):
            label = _text(raw.get("label"), MAX_LABEL) if isinstance(raw, dict) else None
            if not label:
                self.fail(
                    _("Syringe %(number)s: give it a label (A, B...) of at most %(most)s characters.")
                    % {"number": number, "most": MAX_LABEL}
                )
                continue
            if label.casefold() in found:
                self.fail(_("Two syringes are labelled %(label)s: give each its own label.") % {"label": label})
                continue
            found[label.casefold()] = self.syringe(label, raw.get("components"))
        return found

    def syringe(self, label, raw_components):
        if not isinstance(raw_components, list) or not raw_components:
            self.fail(_("Syringe %(label)s: add the products it holds.") % {"label": label}, syringe=label)
            return None
        if len(raw_components) > MAX_COMPONENTS:
            self.fail(
                _("Syringe %(label)s: at most %(most)s products in one syringe.")
                % {"label": label, "most": MAX_COMPONENTS},
                syringe=label,
            )
            return None
        components, refused = [], False
        for number, raw in enumerate(raw_components, start=1):
            try:
                components.append(self.component(raw, single=len(raw_components) == 1))
            except ValidationError as error:
                refused = True
                self.fail(
                    _("Syringe %(label)s, product %(number)s: %(problem)s")
                    % {"label": label, "number": number, "problem": " ".join(error.messages)},
                    syringe=label,
                )
        if refused:
            return None
        keys = [_lot_key(component.lot) for component in components]
        twice = sorted({c.lot.lot_number for c, key in zip(components, keys, strict=True) if keys.count(key) > 1})
        if twice:
            self.fail(
                _("Syringe %(label)s: lot %(lot)s is listed twice; give it once with its whole share.")
                % {"label": label, "lot": twice[0]},
                syringe=label,
            )
            return None
        total = sum((component.percent for component in components), Decimal("0"))
        if abs(total - 100) > CENT:
            self.fail(
                _("Syringe %(label)s: the shares add up to %(total)s %%, not 100 %%.")
                % {"label": label, "total": _shown(total)},
                syringe=label,
            )
            return None
        return SyringeInput(label, tuple(components))

    def component(self, raw, *, single):
        if not isinstance(raw, dict):
            raise ValidationError(_("It could not be read: choose the product and its lot again."))
        product = None
        if raw.get("product") not in (None, ""):
            pk = _whole(raw.get("product"), 1, 2**31 - 1)
            product = self.products.get(pk)
            if product is None:
                raise ValidationError(_("That product is not in the catalogue."))
        expires_on = None
        if raw.get("expires_on") not in (None, ""):
            expires_on = _date(raw.get("expires_on"))
            if expires_on is None:
                raise ValidationError(_("Give the expiry date as a date, such as 2027-05-31."))
        number = "" if raw.get("lot") in (None, "") else _text(raw.get("lot"), MAX_LOT)
        if number is None:
            raise ValidationError(
                _("A lot number has at most %(most)s characters, as printed on the box.") % {"most": MAX_LOT}
            )
        if number:
            lot = self.lot(number, product, expires_on)
        elif product is not None:
            lot = self.first_to_expire(product)
        else:
            raise ValidationError(_("Type or scan the lot number."))
        if raw.get("percent") in (None, "") and single:
            percent = Decimal("100")
        else:
            percent = _number(raw.get("percent"))
            if percent is None or not _fits(percent, CENT, Decimal("100"), CENT) or percent <= 0:
                raise ValidationError(_("Give its share of the syringe in per cent: more than 0, at most 100."))
        return ComponentInput(lot, percent)

    def lot(self, number, product, expires_on):
        for (_product, lot_number), new in self._new_lots.items():  # new here, named again
            if lot_number == number.upper() and product in (None, new.product):
                if expires_on and expires_on != new.expires_on:
                    raise ValidationError(
                        _("Lot %(lot)s is given two expiry dates on this map: check the box.") % {"lot": lot_number}
                    )
                return new
        key = (number.upper(), getattr(product, "pk", None), expires_on)
        if key not in self._lots:
            try:
                self._lots[key] = find_lot(number, product=product, expires_on=expires_on, on_day=self.day)
            except ValidationError as error:
                self._lots[key] = error
        found = self._lots[key]
        if isinstance(found, ValidationError):
            raise found
        if found.pk is None:  # a lot new to the clinic, named by two syringes: saved once
            same = self._new_lots.setdefault((found.product_id, found.lot_number), found)
            if same.expires_on != found.expires_on:
                raise ValidationError(
                    _("Lot %(lot)s is given two expiry dates on this map: check the box.") % {"lot": found.lot_number}
                )
            return same
        return found

    def first_to_expire(self, product):
        """FEFO: the product's usable lot that expires first (stock.selectors)."""
        if product.pk not in self._first:
            self._first[product.pk] = next(iter(lots_first_to_expire(product, self.day)), None)
        lot = self._first[product.pk]
        if lot is None:
            raise ValidationError(
                _("No lot of %(product)s is in date, not recalled and on the shelf: type or scan the lot you use.")
                % {"product": product}
            )
        lot.product = product  # with its ingredients already loaded
        return lot

    # Points

    def point(self, raw, number, syringes):
        if not isinstance(raw, dict):
            self.fail(_("Point %(number)s could not be read: mark it again.") % {"number": number}, point=number)
            return None
        label = _text(raw.get("syringe"), MAX_LABEL)
        diagram_code = _text(raw.get("diagram"), 40)
        diagram = DIAGRAMS.get(diagram_code) if diagram_code else None
        posted_area = raw.get("area")
        area_code = _text(posted_area, 60)
        if posted_area in (None, "") and diagram is not None:
            area_code = diagram.default_area
        term = self.terms.get(area_code) if area_code else None
        problems = []
        if not label:
            problems.append(_("Choose the syringe it came from."))
        elif label.casefold() not in syringes:
            problems.append(_("There is no syringe %(label)s on this chart.") % {"label": label})
        if diagram is None:
            problems.append(_("Choose the diagram it is marked on."))
        elif term is None or area_code not in diagram.areas:
            problems.append(_("Choose an area of the %(diagram)s diagram.") % {"diagram": diagram.title})
        shape = raw.get("shape") if raw.get("shape") not in (None, "") else PointShape.POINT
        outline = ()
        if shape not in PointShape.values:
            problems.append(_("A mark is a point or a zone."))
        elif shape == PointShape.ZONE:
            outline = _outline(raw.get("outline"), _down(diagram) if diagram else STORED_DOWN)
            if outline is None:
                problems.append(
                    _("A zone needs an outline of %(least)s to %(most)s corners on the diagram.")
                    % {"least": 3, "most": MAX_OUTLINE}
                )
        x, y = self.place(raw, outline, _down(diagram) if diagram else STORED_DOWN, problems)
        depth = self.depth(raw.get("depth_mm"), problems)
        technique = raw.get("technique")
        if technique not in Technique.values:
            problems.append(_("Choose the technique: nappage, papule, point by point, mesogun or needle-free."))
        gauge = self.gauge(raw.get("needle_gauge"), technique, problems)
        volume = self.volume(raw.get("volume_ml"), problems)
        if problems:
            self.fail(
                _("Point %(number)s (%(area)s, syringe %(syringe)s): %(problems)s")
                % {
                    "number": number,
                    "area": area_words(term, (area_code or "")[:30] or None),
                    "syringe": label or "—",
                    "problems": " ".join(problems),
                },
                point=number,
                syringe=label,
            )
            return None
        syringe = syringes[label.casefold()]
        if syringe is None:
            return None  # the syringe was refused, and says why
        return PointInput(
            number=number,
            syringe=syringe,
            diagram=diagram.code,
            area=term,
            shape=shape,
            x=x,
            y=y,
            outline=outline or (),
            depth_mm=depth,
            technique=technique,
            needle_gauge=gauge,
            volume_ml=volume,
        )

    @staticmethod
    def place(raw, outline, down, problems):
        x, y = _number(raw.get("x")), _number(raw.get("y"))
        if x is None and y is None and outline:  # a zone placed at its outline's centre
            x = sum(corner[0] for corner in outline) / len(outline)
            y = sum(corner[1] for corner in outline) / len(outline)
        if x is None or y is None or not (0 <= x <= ACROSS and 0 <= y <= down):
            problems.append(
                _("The mark must lie on the diagram (0 to 100 across, 0 to %(down)s down).") % {"down": _shown(down)}
            )
            return None, None
        return x.quantize(CENT, ROUND_HALF_UP), y.quantize(CENT, ROUND_HALF_UP)

    @staticmethod
    def depth(value, problems):
        depth = _number(value)
        low, high = limits.SANE_DEPTH_MM
        if depth is None:
            problems.append(_("Give the depth in mm."))
        elif not low <= depth <= high:
            problems.append(
                _("A depth of %(depth)s mm is not a mesotherapy injection (0.1–13 mm).") % {"depth": _shown(depth)}
            )
        elif depth != depth.quantize(Decimal("0.1")):
            problems.append(_("Give the depth to 0.1 mm."))
        else:
            return depth.quantize(Decimal("0.1"))
        return None

    @staticmethod
    def gauge(value, technique, problems):
        if value in (None, ""):
            if technique != Technique.NEEDLE_FREE:
                problems.append(_("Give the needle gauge (G)."))
            return None
        number = _number(value)
        low, high = limits.SANE_GAUGE
        if number is None:
            problems.append(_("Give the needle gauge (G) as a whole number."))
        elif not low <= number <= high:
            problems.append(
                _("A %(gauge)s G needle is not used for mesotherapy (18–34 G).") % {"gauge": _shown(number)}
            )
        elif number != number.to_integral_value():
            problems.append(_("Give the needle gauge (G) as a whole number."))
        else:
            return int(number)
        return None

    @staticmethod
    def volume(value, problems):
        volume = _number(value)
        if volume is None:
            problems.append(_("Give the volume in ml."))
        elif not Decimal("0") < volume <= MAX_POINT_ML:
            problems.append(
                _("%(volume)s ml at one point is not sensible: more than 0 and at most %(most)s ml.")
                % {"volume": _shown(volume), "most": _shown(MAX_POINT_ML)}
            )
        elif volume != volume.quantize(Decimal("0.001")):
            problems.append(_("Give the volume to 0.001 ml."))
        else:
            return volume.quantize(Decimal("0.001"))
        return None

    def check_totals(self, points):
        """An area, or a lot, with more on the map than one session sensibly takes (the same
        limit as a typed volume): a slip of the finger over many points."""
        totals = map_totals(MapInput(points=tuple(points)))
        for area in totals.areas:
            if area.volume_ml > MAX_VOLUME_ML:
                self.fail(
                    _("The %(area)s has %(volume)s ml on the map: more than %(most)s ml in one area is not sensible.")
                    % {"area": area_words(area.area), "volume": _shown(area.volume_ml), "most": _shown(MAX_VOLUME_ML)}
                )
        for used in totals.lots:
            if used.volume_ml > MAX_VOLUME_ML:
                self.fail(
                    _(
                        "The map uses %(volume)s ml of lot %(lot)s (%(product)s): more than %(most)s ml of one lot "
                        "is not sensible."
                    )
                    % {
                        "volume": _shown(used.volume_ml),
                        "lot": used.lot.lot_number,
                        "product": used.lot.product,
                        "most": _shown(MAX_VOLUME_ML),
                    }
                )


def _outline(value, down):
    """A zone's corners, ((x, y), ...) in diagram units to 0.01, or None if it is not one."""
    if not isinstance(value, list) or not 3 <= len(value) <= MAX_OUTLINE:
        return None
    corners = []
    for corner in value:
        if not isinstance(corner, list) or len(corner) != 2:
            return None
        x, y = _number(corner[0]), _number(corner[1])
        if x is None or y is None or not (0 <= x <= ACROSS and 0 <= y <= down):
            return None
        corners.append((x.quantize(CENT, ROUND_HALF_UP), y.quantize(CENT, ROUND_HALF_UP)))
    return tuple(corners)


# --- Totals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaTotal:
    area: Term
    volume_ml: Decimal
    points: int


@dataclass(frozen=True)
class LotTotal:
    lot: Lot
    volume_ml: Decimal
    points: tuple  # the numbers of the points that took from it


@dataclass(frozen=True)
class ProductTotal:
    product: Product
    volume_ml: Decimal
    lots: tuple  # of LotTotal


@dataclass(frozen=True)
class SyringeTotal:
    syringe: SyringeInput
    volume_ml: Decimal
    points: int


@dataclass(frozen=True)
class MapTotals:
    areas: tuple
    lots: tuple
    products: tuple
    syringes: tuple
    volume_ml: Decimal
    points: int


def _up(volume):
    """To 0.01 ml, up: stock is never drawn down by less than was injected, and a lot with a
    small share at one point still has its row, so lot recall finds the patient."""
    return volume.quantize(CENT, ROUND_UP)


def map_totals(map_input) -> MapTotals:
    """Per area (its points' volumes), per lot and product (each point's volume by the
    syringe's shares), per syringe; each in the order first met on the map, to 0.01 ml
    rounded up. These are the volumes chart_save stores as the chart's areas and products."""
    areas = {}
    lots = {}
    syringes = {syringe.label: [syringe, Decimal("0"), 0] for syringe in map_input.syringes}
    for point in map_input.points:
        area = areas.setdefault(point.area.code, [point.area, Decimal("0"), 0])
        area[1] += point.volume_ml
        area[2] += 1
        syringe = syringes.setdefault(point.syringe.label, [point.syringe, Decimal("0"), 0])
        syringe[1] += point.volume_ml
        syringe[2] += 1
        for component in point.syringe.components:
            used = lots.setdefault(_lot_key(component.lot), [component.lot, Decimal("0"), []])
            used[1] += point.volume_ml * component.percent / 100
            used[2].append(point.number)
    lot_totals = tuple(LotTotal(lot, _up(volume), tuple(numbers)) for lot, volume, numbers in lots.values())
    products = {}
    for used in lot_totals:
        products.setdefault(used.lot.product_id or id(used.lot.product), (used.lot.product, []))[1].append(used)
    return MapTotals(
        areas=tuple(AreaTotal(term, _up(volume), count) for term, volume, count in areas.values()),
        lots=lot_totals,
        products=tuple(
            ProductTotal(product, sum((u.volume_ml for u in used), Decimal("0")), tuple(used))
            for product, used in products.values()
        ),
        syringes=tuple(SyringeTotal(syringe, _up(volume), count) for syringe, volume, count in syringes.values()),
        volume_ml=_up(sum((point.volume_ml for point in map_input.points), Decimal("0"))),
        points=len(map_input.points),
    )


# --- Flags: outside the protocol or the maker's limits; the practitioner decides --------------


@dataclass(frozen=True)
class MapFlag:
    """A warning about part of the map, with the numbers of the points it is about."""

    field: str  # depth_mm, needle_gauge, technique, areas, products, stock
    message: str
    source: str = ""
    points: tuple = ()

    def as_json(self):
        return {"field": self.field, "message": self.message, "source": self.source, "points": list(self.points)}


def point_numbers(numbers):
    """[1, 2, 3, 5] -> "Points 1–3, 5"; a long list is cut short."""
    numbers = sorted(set(numbers))
    runs = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    words = [str(low) if low == high else f"{low}–{high}" for low, high in runs[:8]]
    if len(runs) > 8:
        words.append("…")
    return ngettext("Point %(numbers)s", "Points %(numbers)s", len(numbers)) % {"numbers": ", ".join(words)}


def _about(points, message):
    areas = ", ".join(dict.fromkeys(area_words(point.area) for point in points))
    return _("%(points)s (%(areas)s): %(flag)s") % {
        "points": point_numbers(point.number for point in points),
        "areas": areas,
        "flag": message,
    }


def map_flags(map_input, plan, *, stock=True, kb=None) -> list:
    """What on the map lies outside the plan's protocol or a product's own limits, as the plan
    builder flags a plan (limits.plan_flags, on each point's depth, needle and area): depth and
    gauge outside the protocol's ranges, a technique it does not describe, an area not in the
    plan, a product over the most its maker allows per session, a product whose ingredients the
    protocol does not use; and, while the chart is a draft (`stock`), a lot with less on hand
    than the map takes, which signing will refuse. Warnings only: nothing here refuses."""
    if not map_input.points:
        return []
    protocol = plan.protocol
    flags = []
    by_how = defaultdict(list)
    for point in map_input.points:
        by_how[(point.area.code, point.depth_mm, point.needle_gauge, point.syringe.label)].append(point)
    found = defaultdict(list)
    for (area, depth, gauge, _label), points in by_how.items():
        ingredients = sorted(
            {
                term.code
                for component in points[0].syringe.components
                for term in component.lot.product.ingredients.all()
            }
        )
        for flag in limits.plan_flags(
            protocol=protocol,
            areas=[area],
            technique=None,
            depth_mm=depth,
            needle_gauge=gauge,
            session_minutes=None,
            sessions=None,
            intervals=[],
            ingredients=ingredients,
        ):
            if flag.field in ("depth_mm", "needle_gauge"):
                found[(flag.field, flag.message, flag.source)].extend(points)
    cite = bilingual.text(protocol, "title")
    for point in map_input.points:
        if point.technique not in protocol.techniques:
            message = _("%(technique)s is not a technique this protocol describes.") % {
                "technique": Technique(point.technique).label
            }
            found[("technique", message, cite)].append(point)
    kb = kb or knowledge_base()
    planned = {term.code for term in plan.areas.all()}
    for point in map_input.points:
        info = kb.terms.get(("area", point.area.code))
        if not planned & set(info.ancestors if info else {point.area.code}):  # under the chin: the face
            message = _("not among the plan's areas.")
            found[("areas", message, "")].append(point)
    for (field, message, source), points in found.items():
        flags.append(MapFlag(field, _about(points, message), source, tuple(p.number for p in points)))
    flags += _product_flags(map_input, plan, stock=stock, kb=kb)
    return flags


def _product_flags(map_input, plan, *, stock, kb):
    totals = map_totals(map_input)
    flags = []
    for product in totals.products:
        numbers = tuple(sorted({n for used in product.lots for n in used.points}))
        most = product.product.max_ml_per_session
        if most is not None and product.volume_ml > most:
            flags.append(
                MapFlag(
                    "products",
                    _(
                        "%(product)s: %(volume)s ml on the map, more than the %(most)s ml its maker allows in one session."
                    )
                    % {"product": product.product, "volume": _shown(product.volume_ml), "most": _shown(most)},
                    str(product.product.manufacturer or product.product),
                    numbers,
                )
            )
        unusual = indication_warning(product.product, plan, "products", kb)
        if unusual:
            flags.append(MapFlag("products", unusual.message, unusual.source, numbers))
    if stock:
        for used in totals.lots:
            on_hand = used.lot.on_hand_ml
            if on_hand is not None and used.volume_ml > on_hand:
                flags.append(
                    MapFlag(
                        "stock",
                        _(
                            "Lot %(lot)s of %(product)s: the map takes %(volume)s ml and %(on_hand)s ml is on hand, "
                            "so signing will be refused."
                        )
                        % {
                            "lot": used.lot.lot_number,
                            "product": used.lot.product,
                            "volume": _shown(used.volume_ml),
                            "on_hand": _shown(on_hand),
                        },
                        "",
                        used.points,
                    )
                )
    return flags


# --- The map of a saved chart, and back to the page's JSON ------------------------------------


def map_of(chart, *, points=True) -> MapInput:
    """A saved chart's map, as read_map would give it: four queries (two without syringes),
    however many points; its syringes alone with `points=False`."""
    components = SyringeComponent.objects.select_related("lot__product").prefetch_related("lot__product__ingredients")
    syringes = {
        syringe.pk: SyringeInput(
            syringe.label, tuple(ComponentInput(c.lot, c.percent) for c in syringe.components.all())
        )
        for syringe in chart.syringes.prefetch_related(Prefetch("components", queryset=components.order_by("id")))
    }
    rows = tuple(
        PointInput(
            number=point.position,
            syringe=syringes[point.syringe_id],
            diagram=point.diagram,
            area=point.area,
            shape=point.shape,
            x=point.x,
            y=point.y,
            outline=tuple((Decimal(str(x)), Decimal(str(y))) for x, y in point.outline or ()),
            depth_mm=point.depth_mm,
            technique=point.technique,
            needle_gauge=point.needle_gauge,
            volume_ml=point.volume_ml,
        )
        for point in (chart.points.select_related("area") if points and syringes else ())
    )
    return MapInput(syringes=tuple(syringes.values()), points=rows)


def plain_number(number):
    """2.50 -> "2.5", 10.00 -> "10": a Decimal as the page's JSON and the audit lines give it."""
    return format(number.normalize(), "f") if number is not None else None


def component_data(lot, percent):
    return {
        "lot": lot.lot_number,
        "product": lot.product_id,
        "expires_on": lot.expires_on.isoformat() if lot.expires_on else None,
        "percent": plain_number(percent),
    }


def map_data(map_input) -> dict:
    """The map in the page's JSON shape (read_map reads it back to the same map)."""
    return {
        "syringes": [
            {"label": s.label, "components": [component_data(c.lot, c.percent) for c in s.components]}
            for s in map_input.syringes
        ],
        "points": [
            {
                "syringe": p.syringe.label,
                "diagram": p.diagram,
                "area": p.area.code,
                "shape": p.shape,
                "x": plain_number(p.x),
                "y": plain_number(p.y),
                "outline": [[plain_number(x), plain_number(y)] for x, y in p.outline],
                "depth_mm": plain_number(p.depth_mm),
                "technique": p.technique,
                "needle_gauge": p.needle_gauge,
                "volume_ml": plain_number(p.volume_ml),
            }
            for p in map_input.points
        ],
    }


def map_json(map_input) -> str:
    return json.dumps(map_data(map_input)) if map_input.syringes or map_input.points else ""


def map_lines(map_input):
    """The map as lines a reader of the audit trail understands: each area's points and
    volume, each syringe's recipe with its lots."""
    if not map_input.syringes and not map_input.points:
        return []
    totals = map_totals(map_input)
    lines = [f"{t.area.code}: {t.points} points, {t.volume_ml} ml" for t in totals.areas]
    for total in totals.syringes:
        recipe = ", ".join(
            f"{c.lot.product} lot {c.lot.lot_number} (exp. {c.lot.expires_on:%Y-%m-%d}) {plain_number(c.percent)} %"
            for c in total.syringe.components
        )
        lines.append(f"syringe {total.syringe.label}: {recipe}: {total.points} points, {total.volume_ml} ml")
    return lines
