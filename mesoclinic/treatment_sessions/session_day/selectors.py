"""Reads for the day of a session: the practitioner's list, the session's day, the chart's
starting values, the injection map for the pages. Each in a fixed number of queries."""

import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.templatetags.static import static
from django.utils.translation import gettext as _

from mesoclinic.core.selectors import clinic_zone, day_bounds, wall_clock
from mesoclinic.plans.limits import SANE_DEPTH_MM, SANE_GAUGE, plan_flags
from mesoclinic.plans.models import Product, RecordedBy, Technique
from mesoclinic.plans.selectors import current_consents
from mesoclinic.screening import bilingual
from mesoclinic.treatment_sessions.models import Chart, Measurement, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.status import clinical_statuses
from mesoclinic.treatment_sessions.stock.selectors import lot_problem, usable_lots

from . import mapping
from .charting import saved_chart_warnings
from .diagrams import DIAGRAMS
from .mapping import EMPTY_MAP, component_data, map_flags, map_json, map_of, map_totals, plain_number
from .recheck import clinic_date, is_for_the_day, may_chart, recheck_refusal, session_date


def today_rows(practitioner, day):
    """The practitioner's sessions on `day`, in time order, each with what needs attention:
    the patient's alerts (treatment_sessions.status, as the patient page shows them), then what
    this session still needs. Four queries, however many sessions."""
    zone = clinic_zone()
    start, end = day_bounds(day, zone=zone)
    sessions = list(
        TreatmentSession.objects.filter(practitioner=practitioner, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "room", "plan__indication", "recheck")
        .prefetch_related("plan__areas")
        .order_by("starts_at")
    )
    statuses = clinical_statuses({s.patient for s in sessions}, today=day)
    consents = current_consents(s.plan_id for s in sessions)
    rows = []
    for session in sessions:
        badges = list(statuses[session.patient_id].alerts)
        if session.plan_id not in consents:
            badges.append(("danger", _("Consent missing")))
        # A re-check of another day (the session was moved since) does not count for this one.
        if session.status == SessionStatus.SCHEDULED and not (
            session.recheck_id and clinic_date(session.recheck.recorded_at, zone) == session_date(session, zone)
        ):
            badges.append(("info", _("Holds to confirm (re-check)")))
        rows.append(
            {
                "session": session,
                "local_start": wall_clock(session.starts_at, zone),
                "local_end": wall_clock(session.ends_at, zone),
                "badges": badges,
            }
        )
    return rows


def session_day_summary(session):
    """What the session page shows a practitioner about the day: re-check, chart, addenda.
    A re-check of another day is history, not this session's re-check."""
    chart = getattr(session, "chart", None) if hasattr(session, "chart") else None
    allowed, reason = may_chart(session)
    on_the_day = is_for_the_day(session)
    context = {
        "recheck": session.recheck if on_the_day else None,
        "earlier_recheck": session.recheck if session.recheck and not on_the_day else None,
        "recheck_refusal": recheck_refusal(session),
        "session_date": session_date(session),
        "may_chart": allowed,
        "chart_blocked_reason": reason,
        "chart": chart,
    }
    if chart is not None:
        context.update(
            chart_areas=list(chart.areas.select_related("area")),
            chart_products=list(chart.products_used.select_related("lot__product")),
            chart_events=list(chart.adverse_events.select_related("type")),
            chart_measurements=shown_measurements(chart),
            chart_addenda=list(chart.addenda.select_related("author")),
            chart_warnings=saved_chart_warnings(chart),
            chart_map=chart_map(chart),  # its points per diagram, syringes and totals
        )
    return context


@dataclass(frozen=True)
class ShownMeasurement:
    """A chart's measurement as the session page shows it: the measure's name in the reader's
    language (what was typed for the practitioner's own), the value with its decimals."""

    label: str
    value: Decimal
    unit: str
    by_patient: bool = False


def shown_measurements(chart):
    """The chart's measurements for the session page, the protocol's measures in their order,
    then the practitioner's own (measure None, as older charts have them). One query."""
    rows = sorted(
        chart.measurements.select_related("measure"),
        key=lambda row: (row.measure is None, row.measure.position if row.measure else 0, row.id),
    )
    return [
        ShownMeasurement(
            label=bilingual.text(row.measure, "label"),
            value=measure_value(row.measure, row.value),
            unit=bilingual.text(row.measure, "unit"),
            by_patient=row.measure.recorded_by == RecordedBy.PATIENT,
        )
        if row.measure
        else ShownMeasurement(label=row.kind, value=row.value, unit=row.unit)
        for row in rows
    ]


def chart_measures(plan):
    """The protocol's outcome measures (plans.OutcomeMeasure), in their order; photos are taken
    in the photo section."""
    return list(plan.protocol.measures.order_by("position", "code"))


@dataclass(frozen=True)
class Earlier:
    """A measure's values at the plan's earlier signed sessions, beside its field on the chart:
    a value far from both is most often a typing slip."""

    baseline: Decimal  # the first value recorded (the plan's baseline for this measure)
    previous: Decimal  # the last value before this session
    sessions: int  # how many earlier sessions recorded it


def earlier_measurements(session) -> dict:
    """{measure code: Earlier} from the Measurement rows of the plan's signed charts before this
    session, in the order the sessions took place. One query, however many sessions. (The
    patient's own scores through their link are the outcomes app's; the chart shows what was
    charted.) Empty: this session's values are the plan's baseline."""
    rows = (
        Measurement.objects.filter(
            chart__session__plan_id=session.plan_id,
            chart__signed_at__isnull=False,
            chart__session__starts_at__lt=session.starts_at,
            measure__isnull=False,
        )
        .exclude(chart__session_id=session.pk)
        .order_by("chart__session__starts_at", "chart__session_id", "id")
        .values_list("measure_id", "measure__decimals", "value")
    )
    found = {}
    for code, decimals, value in rows:
        value = Decimal(value).quantize(Decimal(1).scaleb(-decimals))
        before = found.get(code)
        found[code] = Earlier(before.baseline, value, before.sessions + 1) if before else Earlier(value, value, 1)
    return found


def measure_value(measure, value):
    """A stored value (two decimals in the database) with the measure's own decimals: 120 µm,
    not 120.00."""
    if value is None or measure is None:
        return value
    return Decimal(value).quantize(Decimal(1).scaleb(-measure.decimals))


@dataclass(frozen=True)
class ChartInitial:
    """What the chart's forms start from: the plan's values for a new chart, the draft's own."""

    chart: dict  # "map": the map's JSON, as the page's hidden field takes it
    areas: list
    products: list
    events: dict
    measurements: dict
    mapped: mapping.MapInput = field(default=EMPTY_MAP)  # the draft's map, for its totals and flags


def _previous_chart(session):
    """The plan's last signed chart before this session: a series usually repeats it."""
    return (
        Chart.objects.filter(
            session__plan=session.plan, signed_at__isnull=False, session__starts_at__lt=session.starts_at
        )
        .order_by("-session__starts_at")
        .first()
    )


def _how(chart):
    """A chart's technique, depth, needle, duration and anaesthetic, as the form takes them."""
    fields = ("technique", "depth_mm", "needle_gauge", "duration_minutes", "anaesthetic")
    return {name: getattr(chart, name) for name in fields}


def _area_rows(chart):
    return [{"area": a.area.code, "volume_ml": a.volume_ml} for a in chart.areas.select_related("area")] + [{}]


def _product_rows(chart, in_date_on=None):
    """The chart's lots as the form takes them (and a free row); with `in_date_on`, only lots
    still in date that day."""
    return [
        {
            "lot_number": u.lot.lot_number,
            "product": u.lot.product_id,
            "expires_on": u.lot.expires_on,
            "volume_ml": u.volume_ml,
        }
        for u in chart.products_used.select_related("lot")
        if in_date_on is None or u.lot.expires_on is None or u.lot.expires_on >= in_date_on
    ] + [{}]


def _repeat(previous, session):
    """A new chart that starts from the previous session's (areas, volumes, lots still in date
    on this session's day): the practitioner changes what differs instead of typing it all."""
    return ChartInitial(
        chart={**_how(previous), "map": _carried_syringes(previous, session_date(session))},
        areas=_area_rows(previous),
        products=_product_rows(previous, in_date_on=session_date(session)),
        events={},
        measurements={},
    )


def _carried_syringes(previous, on_day):
    """The last chart's syringes, for the next chart to start from (a series repeats its
    cocktail): the same recipes, each lot kept while it may still be used on `on_day`; one that
    may not (expired, recalled, none left) gives way to its product, whose lot that expires
    first is taken when the chart is saved (FEFO). No points: each session is marked anew."""
    syringes = map_of(previous, points=False).syringes
    if not syringes:
        return ""
    data = {
        "syringes": [
            {
                "label": syringe.label,
                "components": [
                    component_data(c.lot, c.percent)
                    if not lot_problem(c.lot, on_day)
                    else {**component_data(c.lot, c.percent), "lot": "", "expires_on": None}
                    for c in syringe.components
                ],
            }
            for syringe in syringes
        ],
        "points": [],
    }
    return json.dumps(data)


def chart_initial(session, chart) -> ChartInitial:
    plan = session.plan
    if chart is None and (previous := _previous_chart(session)) is not None:
        return _repeat(previous, session)
    if chart is None:
        return ChartInitial(
            chart={
                "technique": plan.technique,
                "depth_mm": plan.depth_mm,
                "needle_gauge": plan.needle_gauge,
                "duration_minutes": plan.session_minutes,
                "anaesthetic": "none",
            },
            areas=[{"area": t.code} for t in plan.areas.all()] + [{}],
            products=[{"product": p.pk} for p in plan.products.all()] + [{}, {}],
            events={},
            measurements={},
        )
    events = {}
    for event in chart.adverse_events.select_related("type"):
        code = event.type_id
        events.update(
            {
                f"ae_{code}": True,
                f"ae_{code}_severity": event.severity,
                f"ae_{code}_follow_up": event.follow_up_on,
                f"ae_{code}_notes": event.notes,
            }
        )
    measures = {measure.code: measure for measure in chart_measures(plan)}
    measured = {}
    others = 0
    for item in chart.measurements.order_by("id"):
        if item.measure_id in measures:
            measured[f"m_{item.measure_id}"] = measure_value(measures[item.measure_id], item.value)
        else:
            # The practitioner's own ("other", measure None, as charts before the outcome
            # measures have them), or a measure the protocol no longer tracks: each keeps a row.
            suffix = f"_{others}" if others else ""
            measured.update(
                {f"other_kind{suffix}": item.kind, f"other_value{suffix}": item.value, f"other_unit{suffix}": item.unit}
            )
            others += 1
    mapped = map_of(chart)
    return ChartInitial(
        chart={**_how(chart), "notes": chart.notes, "map": map_json(mapped)},
        areas=_area_rows(chart),
        products=_product_rows(chart),
        events=events,
        measurements=measured,
        mapped=mapped,
    )


def chart_flags(session, values):
    """The protocol's limits the chart's technique, depth or needle go beyond (warnings)."""
    plan = session.plan
    try:
        depth = Decimal(str(values.get("depth_mm"))) if values.get("depth_mm") is not None else None
    except ArithmeticError:
        depth = None
    gauge = values.get("needle_gauge")
    flags = plan_flags(
        protocol=plan.protocol,
        areas=[t.code for t in plan.areas.all()],
        ingredients=[t.code for t in plan.ingredients.all()],
        technique=values.get("technique"),
        depth_mm=depth,
        needle_gauge=gauge if isinstance(gauge, int) else None,
        session_minutes=None,
        sessions=None,
        intervals=[],
    )
    return [flag for flag in flags if flag.field in ("depth_mm", "needle_gauge", "technique")]


# --- The injection map -------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagramMap:
    """One diagram of a chart's map, with the points marked on it."""

    diagram: object  # diagrams.Diagram
    points: list


@dataclass(frozen=True)
class ChartMap:
    """A saved chart's map for the pages: its points per diagram, syringes, totals (and, when
    asked, flags)."""

    map: mapping.MapInput
    totals: mapping.MapTotals
    diagrams: list  # of DiagramMap, in the registry's order, only those with points
    flags: list

    @property
    def points(self):
        return self.map.points

    @property
    def syringes(self):
        return self.map.syringes


def chart_map(chart, *, flags=False) -> ChartMap:
    """The chart's map for a page: four queries however many points (two without syringes),
    and with `flags` the plan's areas too (one more)."""
    mapped = map_of(chart)
    on = {}
    for point in mapped.points:
        on.setdefault(point.diagram, []).append(point)
    return ChartMap(
        map=mapped,
        totals=map_totals(mapped),
        diagrams=[DiagramMap(diagram, on[code]) for code, diagram in DIAGRAMS.items() if code in on],
        flags=map_flags(mapped, chart.session.plan, stock=not chart.is_signed) if flags else [],
    )


def totals_data(totals):
    """A map's totals for the page's script (JSON)."""
    return {
        "areas": [
            {"area": t.area.code, "volume_ml": plain_number(t.volume_ml), "points": t.points} for t in totals.areas
        ],
        "products": [
            {
                "product": t.product.pk,
                "name": str(t.product),
                "volume_ml": plain_number(t.volume_ml),
                "lots": [{"lot": u.lot.lot_number, "volume_ml": plain_number(u.volume_ml)} for u in t.lots],
            }
            for t in totals.products
        ],
        "syringes": [
            {"label": t.syringe.label, "volume_ml": plain_number(t.volume_ml), "points": t.points}
            for t in totals.syringes
        ],
        "volume_ml": plain_number(totals.volume_ml),
        "points": totals.points,
    }


def _offered_lots(on_day):
    """Each active product with its usable lots, the one that expires first first (FEFO, as
    stock.selectors.lots_first_to_expire): what the syringe builder offers. Two queries."""
    lots = {}
    for lot in usable_lots(on_day).filter(product__is_active=True).order_by("product", "expires_on", "lot_number"):
        lots.setdefault(lot.product_id, []).append(lot)
    return [
        {
            "pk": product.pk,
            "name": str(product),
            "max_ml_per_session": plain_number(product.max_ml_per_session),
            "lots": [
                {
                    "lot": lot.lot_number,
                    "expires_on": lot.expires_on.isoformat(),
                    "on_hand_ml": plain_number(lot.on_hand_ml),
                }
                for lot in lots.get(product.pk, [])
            ],
        }
        for product in Product.objects.filter(is_active=True)
    ]


def _diagram_data(diagram):
    return {
        "code": diagram.code,
        "title": str(diagram.title),
        "file": static(diagram.file),
        "regions": dict(diagram.regions),
        "default_area": diagram.default_area,
        "height": getattr(diagram, "height", 100),
        # Region names in the reader's language, and a point inside each (the keyboard list adds there).
        "region_titles": {rid: str(title) for rid, title in diagram.region_titles.items()},
        "anchors": {rid: list(anchor) for rid, anchor in diagram.anchors.items()},
    }


def map_page(session, map_input, *, problems=(), area_terms) -> dict:
    """What the chart page needs for its map, as context: the totals and flags of the map as it
    stands (MapTotals, mapping.MapFlag), its problems (mapping.MapProblem), whether it is in
    use (it has points: the area and product rows are then not read), and `map_page`, all of it
    for the page's script as JSON (json_script): diagrams, area names, techniques, products
    with their lots first to expire first, the protocol's ranges, the sane limits."""
    plan = session.plan
    protocol = plan.protocol
    totals = map_totals(map_input)
    flags = map_flags(map_input, plan)
    return {
        "map_totals": totals,
        "map_flags": flags,
        "map_problems": list(problems),
        "map_in_use": bool(map_input.points),
        "map_page": {
            "diagrams": [_diagram_data(diagram) for diagram in DIAGRAMS.values()],
            "areas": {code: bilingual.text(term, "label") for code, term in area_terms.items()},
            "techniques": [[value, str(label)] for value, label in Technique.choices],
            "products": _offered_lots(session_date(session)),
            "protocol": {
                "depth_mm": [plain_number(protocol.depth_min_mm), plain_number(protocol.depth_max_mm)],
                "needle_gauge": [protocol.gauge_min, protocol.gauge_max],
                "techniques": list(protocol.techniques),
                "plan_areas": [term.code for term in plan.areas.all()],
            },
            "limits": {
                "points": mapping.MAX_POINTS,
                "syringes": mapping.MAX_SYRINGES,
                "components": mapping.MAX_COMPONENTS,
                "outline": mapping.MAX_OUTLINE,
                "point_ml": plain_number(mapping.MAX_POINT_ML),
                "depth_mm": [plain_number(SANE_DEPTH_MM[0]), plain_number(SANE_DEPTH_MM[1])],
                "needle_gauge": list(SANE_GAUGE),
            },
            "problems": [problem.as_json() for problem in problems],
            "flags": [flag.as_json() for flag in flags],
            "totals": totals_data(totals),
        },
    }
