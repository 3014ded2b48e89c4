"""The injection map of a chart: read from the page's JSON with every problem named by its
point or syringe, totalled per area, product, lot and syringe, flagged against the plan's
protocol and the products' own limits; stored with the chart, from which the chart's areas and
products are derived; drawn down from the stock and locked when the chart is signed."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans.models import Product
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import (
    Chart,
    ChartLockedError,
    Lot,
    StockMovement,
    StockMovementKind,
    SyringeComponent,
)
from mesoclinic.treatment_sessions.session_day import charting, mapping
from mesoclinic.treatment_sessions.session_day.mapping import MapInvalid, map_flags, map_totals, read_map
from mesoclinic.treatment_sessions.session_day.selectors import chart_initial, chart_map
from tests.builders import (
    CHART_VALUES,
    PatientFactory,
    active_plan,
    booked_long_ago,
    consented,
    covering,
    moment,
    plan_for,
    rechecked,
    screened,
    session_at,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
IN_DATE = TODAY + datetime.timedelta(days=200)
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def product(name, *ingredients, most=None):
    made = Product.objects.create(name=name, manufacturer="Meso Labs", max_ml_per_session=most)
    made.ingredients.set(Term.objects.filter(kind="ingredient", code__in=ingredients))
    return made


def lot(made, number, *, days=200, on_hand=None, recalled=False):
    return Lot.objects.create(
        product=made,
        lot_number=number,
        expires_on=TODAY + datetime.timedelta(days=days),
        on_hand_ml=None if on_hand is None else Decimal(str(on_hand)),
        recalled_at=timezone.now() if recalled else None,
        recall_reason="sterility" if recalled else "",
    )


def face_session(alice, room, hour=12, patient=None, decisions=(), **answers):
    """A skin rejuvenation session today on the face, re-checked and ready to chart."""
    from mesoclinic.plans.services import plan_activate

    patient = patient or PatientFactory()
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face"])
    screened(patient, alice, **covering(plan), **answers)
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    session = booked_long_ago(session_at(plan, alice, room, moment(datetime.date.today(), hour)))
    rechecked(session, alice, decisions=list(decisions))
    session.refresh_from_db()
    return session


@pytest.fixture
def session(clinic, alice, room):
    return face_session(alice, room)


@pytest.fixture
def stock(db):
    """Hydra (hyaluronic acid, vitamin C; at most 0.5 ml a session), Amino (amino acids) and
    Lipo (a lipolytic, not a skin rejuvenation ingredient), each with a lot."""
    hydra = product("Hydra Boost", "hyaluronic_acid", "vitamin_c", most=Decimal("0.5"))
    amino = product("Amino Mix", "amino_acids")
    lipo = product("Lipo Serum", "phosphatidylcholine", "deoxycholate")
    return {
        "hydra": hydra,
        "amino": amino,
        "lipo": lipo,
        "HB-1": lot(hydra, "HB-1", on_hand=10),
        "AM-1": lot(amino, "AM-1", on_hand="0.5"),
        "LP-1": lot(lipo, "LP-1"),
    }


def component(number, percent, product_pk=None, expires_on=None):
    return {"lot": number, "product": product_pk, "expires_on": expires_on, "percent": percent}


def point(syringe="A", area="face", diagram="face_front", **values):
    return {
        "syringe": syringe,
        "diagram": diagram,
        "area": area,
        "shape": "point",
        "x": "41.5",
        "y": "30.2",
        "outline": [],
        "depth_mm": "1.0",
        "technique": "nappage",
        "needle_gauge": 32,
        "volume_ml": "0.05",
        **values,
    }


def known_map():
    """20 nappage points and 3 deep points on the face from a two-product syringe A (60/40),
    and one painted zone on the neck from syringe B (Lipo)."""
    return {
        "syringes": [
            {"label": "A", "components": [component("HB-1", "60"), component("AM-1", "40")]},
            {"label": "B", "components": [component("LP-1", 100)]},
        ],
        "points": [point(x=str(20 + i), y="40") for i in range(20)]
        + [point(technique="point_by_point", depth_mm="2.0", needle_gauge="30", volume_ml="0.1") for _ in range(3)]
        + [
            point(
                syringe="B",
                diagram="neck_decollete",
                area="neck",
                shape="zone",
                x=None,
                y=None,
                outline=[[40, 20], [60, 20], [60, 40], [40, 40]],
                volume_ml=0.2,
            )
        ],
    }


def read(data, session):
    return read_map(json.dumps(data), session=session)


def problems_of(data, session):
    with pytest.raises(ValidationError) as refused:
        read(data, session)
    return refused.value.messages


# --- Reading the map -------------------------------------------------------------------------


def test_a_known_map_is_read_with_its_syringes_lots_and_points(session, stock):
    mapped = read(known_map(), session)
    a, b = mapped.syringes
    assert a.label == "A" and [(c.lot, c.percent) for c in a.components] == [
        (stock["HB-1"], Decimal("60")),
        (stock["AM-1"], Decimal("40")),
    ]
    assert [c.lot for c in b.components] == [stock["LP-1"]]
    assert len(mapped.points) == 24
    first, zone = mapped.points[0], mapped.points[-1]
    assert (first.number, first.x, first.y, first.area.code, first.syringe) == (
        1,
        Decimal("20"),
        Decimal("40"),
        "face",
        a,
    )
    assert (zone.number, zone.shape, zone.area.code, zone.volume_ml) == (24, "zone", "neck", Decimal("0.200"))
    assert (zone.x, zone.y) == (Decimal("50.00"), Decimal("30.00"))  # a zone without x/y: its outline's centre
    assert zone.outline[0] == (Decimal("40"), Decimal("20"))
    assert read_map("", session=session) == mapping.EMPTY_MAP


def test_numbers_may_be_strings_or_numbers_with_a_decimal_comma(session, stock):
    data = {
        "syringes": [{"label": "A", "components": [component("hb-1", 100)]}],
        "points": [point(x=41.5, y="30,25", depth_mm=1.5, needle_gauge=30.0, volume_ml="0,05")],
    }
    [only] = read(data, session).points
    assert (only.x, only.y, only.depth_mm, only.needle_gauge, only.volume_ml) == (
        Decimal("41.50"),
        Decimal("30.25"),
        Decimal("1.5"),
        30,
        Decimal("0.050"),
    )


REFUSALS = [
    # (what changes in the known map, the words the practitioner reads)
    (
        lambda m: m["points"][3].update(depth_mm="25"),
        "Point 4 (face, syringe A): A depth of 25 mm is not a mesotherapy injection (0.1–13 mm).",
    ),
    (lambda m: m["points"][3].update(depth_mm=None), "Point 4 (face, syringe A): Give the depth in mm."),
    (lambda m: m["points"][3].update(depth_mm="1.25"), "Point 4 (face, syringe A): Give the depth to 0.1 mm."),
    (
        lambda m: m["points"][3].update(needle_gauge=40),
        "Point 4 (face, syringe A): A 40 G needle is not used for mesotherapy (18–34 G).",
    ),
    (lambda m: m["points"][3].update(needle_gauge=None), "Point 4 (face, syringe A): Give the needle gauge (G)."),
    (
        lambda m: m["points"][3].update(needle_gauge="30.5"),
        "Point 4 (face, syringe A): Give the needle gauge (G) as a whole number.",
    ),
    (
        lambda m: m["points"][3].update(technique="laser"),
        "Point 4 (face, syringe A): Choose the technique: nappage, papule, point by point, mesogun or needle-free.",
    ),
    (
        lambda m: m["points"][3].update(volume_ml="3"),
        "Point 4 (face, syringe A): 3 ml at one point is not sensible: more than 0 and at most 2 ml.",
    ),
    (
        lambda m: m["points"][3].update(volume_ml="0"),
        "Point 4 (face, syringe A): 0 ml at one point is not sensible: more than 0 and at most 2 ml.",
    ),
    (lambda m: m["points"][3].update(volume_ml="0.0001"), "Point 4 (face, syringe A): Give the volume to 0.001 ml."),
    (lambda m: m["points"][3].update(volume_ml=None), "Point 4 (face, syringe A): Give the volume in ml."),
    (
        lambda m: m["points"][3].update(x="100.5"),
        "Point 4 (face, syringe A): The mark must lie on the diagram (0 to 100 across, 0 to 100 down).",
    ),
    (
        lambda m: m["points"][3].update(y=-1),
        "Point 4 (face, syringe A): The mark must lie on the diagram (0 to 100 across, 0 to 100 down).",
    ),
    (
        lambda m: m["points"][3].update(diagram="feet"),
        "Point 4 (face, syringe A): Choose the diagram it is marked on.",
    ),
    (
        lambda m: m["points"][3].update(area="knee"),
        "Point 4 (knee, syringe A): Choose an area of the",
    ),
    (lambda m: m["points"][3].update(syringe="C"), "Point 4 (face, syringe C): There is no syringe C on this chart."),
    (lambda m: m["points"][3].update(syringe=None), "Point 4 (face, syringe —): Choose the syringe it came from."),
    (lambda m: m["points"][3].update(shape="line"), "Point 4 (face, syringe A): A mark is a point or a zone."),
    (
        lambda m: m["points"][23].update(outline=[[40, 20], [60, 20]]),
        "Point 24 (neck, syringe B): A zone needs an outline of 3 to 100 corners on the diagram.",
    ),
    (
        lambda m: m["points"][23].update(outline=[[40, 20], [60, 20], [60, 140]]),
        "Point 24 (neck, syringe B): A zone needs an outline of 3 to 100 corners on the diagram.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(percent="30"),
        "Syringe A: the shares add up to 90 %, not 100 %.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(percent=None),
        "Syringe A, product 2: Give its share of the syringe in per cent: more than 0, at most 100.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(lot="AB-404"),
        "Syringe A, product 2: Lot AB-404 is new here: give its product and expiry date.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(lot="", product=None),
        "Syringe A, product 2: Type or scan the lot number.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(product=999999),
        "Syringe A, product 2: That product is not in the catalogue.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(expires_on="31/05/2027"),
        "Syringe A, product 2: Give the expiry date as a date, such as 2027-05-31.",
    ),
    (
        lambda m: m["syringes"][0]["components"][1].update(lot="HB-1"),
        "Syringe A: lot HB-1 is listed twice; give it once with its whole share.",
    ),
    (lambda m: m["syringes"][1].update(label="a"), "Two syringes are labelled a: give each its own label."),
    (lambda m: m["syringes"][1].update(label=""), "Syringe 2: give it a label (A, B...) of at most 20 characters."),
    (lambda m: m["syringes"][1].update(components=[]), "Syringe B: add the products it holds."),
    (
        lambda m: m["points"].extend([point(volume_ml="2")] * 10),
        "The face has 21.3 ml on the map: more than 20 ml in one area is not sensible.",
    ),
]


@pytest.mark.parametrize(("change", "words"), REFUSALS)
def test_each_refusal_names_its_point_or_syringe(session, stock, change, words):
    data = known_map()
    change(data)
    said = problems_of(data, session)
    assert any(message.startswith(words) for message in said), said


def test_every_problem_is_collected_and_each_is_marked_with_its_point(session, stock):
    data = known_map()
    data["points"][0]["depth_mm"] = "30"
    data["points"][1]["volume_ml"] = "5"
    data["points"][1]["needle_gauge"] = 12
    with pytest.raises(MapInvalid) as refused:
        read(data, session)
    assert [(p.point, p.syringe) for p in refused.value.problems] == [(1, "A"), (2, "A")]
    assert refused.value.messages[1] == (
        "Point 2 (face, syringe A): A 12 G needle is not used for mesotherapy (18–34 G). "
        "5 ml at one point is not sensible: more than 0 and at most 2 ml."
    )


def test_a_point_of_a_refused_syringe_says_nothing_more(session, stock):
    data = known_map()
    data["syringes"][1]["components"][0]["percent"] = "50"
    with pytest.raises(MapInvalid) as refused:
        read(data, session)
    assert [p.message for p in refused.value.problems] == ["Syringe B: the shares add up to 50 %, not 100 %."]


def test_a_share_within_a_hundredth_of_100_is_accepted(session, stock):
    data = known_map()
    data["syringes"][0]["components"] = [
        component("HB-1", "33.33"),
        component("AM-1", "33.33"),
        component("LP-1", "33.33"),
    ]
    assert len(read(data, session).syringes[0].components) == 3
    data["syringes"][0]["components"][2]["percent"] = "33.32"
    assert "Syringe A: the shares add up to 99.98 %, not 100 %." in problems_of(data, session)


def test_many_problems_are_shown_a_few_at_a_time_and_all_kept(session, stock):
    data = known_map()
    data["points"] = [point(depth_mm="99") for _ in range(100)]
    with pytest.raises(MapInvalid) as refused:
        read(data, session)
    assert len(refused.value.problems) == 100
    assert len(refused.value.messages) == 31 and refused.value.messages[-1] == "… and 70 more problems on the map."


def test_at_most_2000_points(session, stock):
    data = known_map()
    data["points"] = [point(volume_ml="0.005") for _ in range(2000)]
    assert len(read(data, session).points) == 2000
    data["points"].append(point())
    assert problems_of(data, session) == ["The map has 2001 points; at most 2000 can be charted at one session."]


# --- Lots: first to expire first; expired, recalled, nothing left refused --------------------


def test_a_product_without_a_lot_takes_its_lot_that_expires_first(session, stock):
    hydra = stock["hydra"]
    lot(hydra, "HB-LATE", days=400, on_hand=5)
    soonest = lot(hydra, "HB-SOON", days=20, on_hand=1)
    lot(hydra, "HB-OLD", days=-1, on_hand=5)  # expired
    lot(hydra, "HB-RECALLED", days=5, on_hand=5, recalled=True)
    lot(hydra, "HB-EMPTY", days=3, on_hand=0)
    data = known_map()
    data["syringes"][0]["components"][0] = component("", "60", hydra.pk)
    assert read(data, session).syringes[0].components[0].lot == soonest


def test_no_usable_lot_of_the_product_is_a_refusal(session, stock):
    made = product("Empty Serum", "hyaluronic_acid")
    lot(made, "ES-1", on_hand=0)
    data = known_map()
    data["syringes"][0]["components"][0] = component(None, "60", made.pk)
    assert problems_of(data, session) == [
        "Syringe A, product 1: No lot of Empty Serum (Meso Labs) is in date, not recalled and on the shelf: "
        "type or scan the lot you use."
    ]


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("expired", "Lot OLD-1 of Hydra Boost (Meso Labs) expired on"),
        ("recalled", "Lot OLD-1 of Hydra Boost (Meso Labs) was recalled on"),
        ("empty", "None of lot OLD-1 of Hydra Boost (Meso Labs) is left on the shelf"),
    ],
)
def test_an_expired_recalled_or_empty_lot_is_refused(session, stock, kind, words):
    lot(
        stock["hydra"],
        "OLD-1",
        days=-3 if kind == "expired" else 100,
        recalled=kind == "recalled",
        on_hand=0 if kind == "empty" else None,
    )
    data = known_map()
    data["syringes"][0]["components"][0]["lot"] = "OLD-1"
    [said] = problems_of(data, session)
    assert said.startswith(f"Syringe A, product 1: {words}"), said


def test_a_lot_new_to_the_clinic_is_saved_with_the_chart_once(session, alice, stock):
    data = known_map()
    data["syringes"][1]["components"] = [component("NEW-7", "100", stock["lipo"].pk, IN_DATE.isoformat())]
    data["syringes"].append({"label": "C", "components": [component("new-7", "100", stock["lipo"].pk)]})
    mapped = read(data, session)
    assert not Lot.objects.filter(lot_number="NEW-7").exists()  # reading writes nothing
    saved = save(session, alice, mapped)
    new = Lot.objects.get(lot_number="NEW-7")
    assert new.expires_on == IN_DATE
    assert set(saved.syringes.get(label="C").components.values_list("lot", flat=True)) == {new.pk}


# --- Totals and flags --------------------------------------------------------------------------


def test_totals_per_area_product_lot_and_syringe(session, stock):
    totals = map_totals(read(known_map(), session))
    # Worked by hand: the face has 20 x 0.05 + 3 x 0.1 = 1.3 ml, syringe A at 60/40; the neck 0.2 of B.
    assert [(t.area.code, t.volume_ml, t.points) for t in totals.areas] == [
        ("face", Decimal("1.30"), 23),
        ("neck", Decimal("0.20"), 1),
    ]
    assert [(t.lot.lot_number, t.volume_ml) for t in totals.lots] == [
        ("HB-1", Decimal("0.78")),
        ("AM-1", Decimal("0.52")),
        ("LP-1", Decimal("0.20")),
    ]
    assert [(t.product.name, t.volume_ml) for t in totals.products] == [
        ("Hydra Boost", Decimal("0.78")),
        ("Amino Mix", Decimal("0.52")),
        ("Lipo Serum", Decimal("0.20")),
    ]
    assert [(t.syringe.label, t.volume_ml, t.points) for t in totals.syringes] == [
        ("A", Decimal("1.30"), 23),
        ("B", Decimal("0.20"), 1),
    ]
    assert (totals.volume_ml, totals.points) == (Decimal("1.50"), 24)


def test_a_small_share_is_rounded_up_so_the_lot_keeps_its_row(session, stock):
    data = known_map()
    data["points"] = [point(volume_ml="0.005")]
    data["syringes"][0]["components"] = [component("HB-1", "99"), component("AM-1", "1")]
    totals = map_totals(read(data, session))
    assert [(t.lot.lot_number, t.volume_ml) for t in totals.lots] == [
        ("HB-1", Decimal("0.01")),
        ("AM-1", Decimal("0.01")),
    ]


def test_the_flags_of_a_known_map_name_their_points(session, stock):
    flags = map_flags(read(known_map(), session), session.plan)
    said = {(flag.field, flag.message): flag.points for flag in flags}
    protocol = "Skin rejuvenation (mesolift)"
    assert said == {
        (
            "depth_mm",
            "Points 21–23 (face): 2.0 mm is outside this protocol's 1.0-1.5 mm.",
        ): (21, 22, 23),
        (
            "depth_mm",
            "Points 21–23 (face): Deeper than 1.5 mm on the face: facial mesotherapy goes 1-1.5 mm deep.",
        ): (21, 22, 23),
        ("areas", "Point 24 (neck): not among the plan's areas."): (24,),
        (
            "products",
            "Hydra Boost (Meso Labs): 0.78 ml on the map, more than the 0.5 ml its maker allows in one session.",
        ): tuple(range(1, 24)),
        (
            "products",
            "Lipo Serum (Meso Labs) is not usual for skin rejuvenation: Phosphatidylcholine, Sodium deoxycholate are not "
            "among the ingredients of its protocol.",
        ): (24,),
        (
            "stock",
            "Lot AM-1 of Amino Mix (Meso Labs): the map takes 0.52 ml and 0.5 ml is on hand, so signing will be refused.",
        ): tuple(range(1, 24)),
    }
    assert {flag.source for flag in flags if flag.field == "depth_mm"} == {protocol, "face-2023"}


def test_an_area_within_a_planned_one_is_not_flagged(session, stock):
    """Under the chin is part of the face (the vocabulary's classes): a face plan covers it."""
    data = known_map()
    data["points"] = [point(area="submental"), point(area="neck", diagram="neck_decollete")]
    flags = [flag for flag in map_flags(read(data, session), session.plan) if flag.field == "areas"]
    assert [(flag.message, flag.points) for flag in flags] == [("Point 2 (neck): not among the plan's areas.", (2,))]


def test_a_mark_lies_within_the_diagrams_height_as_stored(session, stock):
    data = known_map()
    data["points"] = [point(diagram="thighs", area="thighs", y="100"), point(diagram="thighs", area="thighs", y="101")]
    assert problems_of(data, session) == [
        "Point 2 (thighs, syringe A): The mark must lie on the diagram (0 to 100 across, 0 to 100 down)."
    ]


def test_gauge_and_technique_outside_the_protocol_are_flagged(clinic, alice, room, stock):
    cellulite = active_plan(alice, "cellulite")
    session = booked_long_ago(session_at(cellulite, alice, room, moment(datetime.date.today(), 15)))
    rechecked(session, alice)
    session.refresh_from_db()
    data = {
        "syringes": [{"label": "A", "components": [component("LP-1", "100")]}],
        "points": [
            point(diagram="thighs", area="thighs", technique="papule", needle_gauge=27, depth_mm="3.0"),
            point(diagram="thighs", area="thighs", technique="nappage", needle_gauge=30, depth_mm="3.0"),
        ],
    }
    said = {(flag.field, flag.message) for flag in map_flags(read(data, session), session.plan)}
    assert said == {
        ("needle_gauge", "Point 1 (thighs): 27 G is outside the 30-32 G the documents describe."),
        ("technique", "Point 1 (thighs): Papule (small intradermal blebs) is not a technique this protocol describes."),
    }


# --- Saved with the chart ----------------------------------------------------------------------


def save(session, by, mapped, **record):
    thighs = Term.objects.get(kind="area", code="thighs")
    return charting.chart_save(
        session=session,
        by=by,
        values=CHART_VALUES,
        areas=record.get("areas", [(thighs, Decimal("9"))]),  # typed rows: not read when the map has points
        products=record.get("products", []),
        events=[],
        measurements=[],
        map_input=mapped,
    )


def test_the_charts_areas_and_products_are_derived_from_the_map(session, alice, stock):
    saved = save(session, alice, read(known_map(), session), products=[charting.ProductLine("IGNORED", Decimal("1"))])
    assert sorted((a.area.code, a.volume_ml) for a in saved.areas.all()) == [
        ("face", Decimal("1.30")),
        ("neck", Decimal("0.20")),
    ]
    assert sorted((u.lot.lot_number, u.volume_ml) for u in saved.products_used.all()) == [
        ("AM-1", Decimal("0.52")),
        ("HB-1", Decimal("0.78")),
        ("LP-1", Decimal("0.20")),
    ]
    assert saved.syringes.count() == 2 and SyringeComponent.objects.filter(syringe__chart=saved).count() == 3
    assert saved.points.count() == 24
    zone = saved.points.get(position=24)
    assert zone.outline == [[40.0, 20.0], [60.0, 20.0], [60.0, 40.0], [40.0, 40.0]]
    assert zone.syringe.label == "B" and zone.area.code == "neck"
    # What reads the chart's products reads the map's: lot recall finds the patient by the lot.
    assert Chart.objects.filter(products_used__lot=stock["LP-1"]).get() == saved


def test_a_saved_map_reads_back_the_same_and_saving_again_replaces_it(session, alice, stock):
    mapped = read(known_map(), session)
    saved = save(session, alice, mapped)
    again = mapping.map_of(saved)
    assert again == mapped
    assert read_map(mapping.map_json(again), session=session) == mapped
    smaller = known_map()
    smaller["points"] = smaller["points"][:2]
    save(session, alice, read(smaller, session))
    assert saved.points.count() == 2 and list(saved.areas.values_list("volume_ml", flat=True)) == [Decimal("0.10")]
    assert chart_initial(session, saved).chart["map"] == mapping.map_json(read(smaller, session))


def test_without_points_the_chart_is_charted_as_before(session, alice, stock):
    face = Term.objects.get(kind="area", code="face")
    saved = save(
        session,
        alice,
        mapping.EMPTY_MAP,
        areas=[(face, Decimal("1.5"))],
        products=[charting.ProductLine("HB-1", Decimal("1.5"))],
    )
    assert [(a.area.code, a.volume_ml) for a in saved.areas.all()] == [("face", Decimal("1.50"))]
    assert saved.products_used.get().lot == stock["HB-1"] and not saved.points.exists()


def test_the_audit_entry_keeps_the_map_and_its_flags(session, alice, stock):
    saved = save(session, alice, read(known_map(), session))
    entry = AuditEntry.objects.get_for_object(saved).filter(changes__has_key="map").latest("pk")
    before, after = entry.changes["map"]
    assert before == []
    assert after == [
        "face: 23 points, 1.30 ml",
        "neck: 1 points, 0.20 ml",
        "syringe A: Hydra Boost (Meso Labs) lot HB-1 "
        f"(exp. {stock['HB-1'].expires_on:%Y-%m-%d}) 60 %, Amino Mix (Meso Labs) lot AM-1 "
        f"(exp. {stock['AM-1'].expires_on:%Y-%m-%d}) 40 %: 23 points, 1.30 ml",
        f"syringe B: Lipo Serum (Meso Labs) lot LP-1 (exp. {stock['LP-1'].expires_on:%Y-%m-%d}) 100 %: 1 points, 0.20 ml",
    ]
    warnings = entry.changes["warnings"][1]
    assert "Points 21–23 (face): 2.0 mm is outside this protocol's 1.0-1.5 mm." in warnings
    assert "Point 24 (neck): not among the plan's areas." in warnings
    assert sum("Lipo Serum (Meso Labs) is not usual for skin rejuvenation" in w for w in warnings) == 1  # once


def test_a_syringe_component_the_patient_is_allergic_to_is_refused(clinic, alice, room, stock):
    allergic = face_session(
        alice,
        room,
        hour=14,
        allergies=["local_anaesthetic"],
        decisions=[{"rule": "allergy-history", "key": "allergy-history", "decision": "acknowledged"}],
    )
    numbing = product("Numb Serum", "hyaluronic_acid", "lidocaine")
    lot(numbing, "NS-1")
    data = known_map()
    data["syringes"][0]["components"][1]["lot"] = "NS-1"
    with pytest.raises(ValidationError) as refused:
        save(allergic, alice, read(data, allergic))
    assert refused.value.message_dict["map"] == [
        "Syringe A, product 2 (Numb Serum (Meso Labs)): it contains Lidocaine and the patient is allergic to "
        "Local anaesthetic. It must not be used."
    ]
    assert not Chart.objects.filter(session=allergic).exists()


# --- Signing: stock drawn down, lots checked again, the map locked ------------------------------


def test_signing_draws_the_lots_down_and_locks_the_map(session, alice, stock):
    saved = charting.chart_sign(chart=save(session, alice, read(without_shortage(), session)), by=alice)
    hydra, amino = Lot.objects.get(lot_number="HB-1"), Lot.objects.get(lot_number="AM-1")
    assert (hydra.on_hand_ml, amino.on_hand_ml) == (Decimal("9.22"), Decimal("0.48"))
    assert Lot.objects.get(lot_number="LP-1").on_hand_ml is None  # not counted: used as before
    movements = StockMovement.objects.filter(chart=saved, kind=StockMovementKind.USED)
    assert sorted((m.lot.lot_number, m.change_ml, m.on_hand_after_ml) for m in movements) == [
        ("AM-1", Decimal("-0.52"), Decimal("0.48")),
        ("HB-1", Decimal("-0.78"), Decimal("9.22")),
    ]
    for row in (
        saved.points.first(),
        saved.syringes.first(),
        SyringeComponent.objects.filter(syringe__chart=saved).first(),
    ):
        with pytest.raises(ChartLockedError):
            row.save()
        with pytest.raises(ChartLockedError):
            row.delete()
    with pytest.raises(ChartLockedError):
        save(session, alice, read(without_shortage(), session))


def without_shortage():
    Lot.objects.filter(lot_number="AM-1").update(on_hand_ml=Decimal("1"))
    return known_map()


def test_signing_more_than_is_on_hand_is_refused_and_the_chart_stays_a_draft(session, alice, stock):
    draft = save(session, alice, read(known_map(), session))  # AM-1: 0.52 ml needed, 0.5 on hand
    with pytest.raises(ValidationError) as refused:
        charting.chart_sign(chart=draft, by=alice)
    assert refused.value.messages == ["Lot AM-1 of Amino Mix (Meso Labs): 0.5 ml on hand, 0.52 ml charted."]
    draft.refresh_from_db()
    assert not draft.is_signed and draft.points.count() == 24
    assert Lot.objects.get(lot_number="HB-1").on_hand_ml == Decimal("10")  # nothing taken from any lot
    assert not StockMovement.objects.filter(chart=draft).exists()


@pytest.mark.parametrize("change", ["expired", "recalled"])
def test_a_lot_expired_or_recalled_since_the_draft_is_refused_at_signing(session, alice, stock, change):
    draft = save(session, alice, read(without_shortage(), session))
    if change == "expired":
        Lot.objects.filter(lot_number="LP-1").update(expires_on=TODAY - datetime.timedelta(days=1))
    else:
        Lot.objects.filter(lot_number="LP-1").update(recalled_at=timezone.now(), recall_reason="sterility")
    with pytest.raises(ValidationError) as refused:
        charting.chart_sign(chart=draft, by=alice)
    assert (
        f"Lot LP-1 of Lipo Serum (Meso Labs) {'expired' if change == 'expired' else 'was recalled'} on"
        in (refused.value.messages[0])
    )
    assert not Chart.objects.get(pk=draft.pk).is_signed
    assert Lot.objects.get(lot_number="HB-1").on_hand_ml == Decimal("10")


def test_save_and_sign_refused_keeps_the_draft_and_says_so(session, alice, stock):
    with pytest.raises(ValidationError) as refused:
        charting.chart_save_and_sign(
            session=session,
            by=alice,
            values=CHART_VALUES,
            areas=[],
            products=[],
            events=[],
            measurements=[],
            map_input=read(known_map(), session),
        )
    assert refused.value.messages == [
        "Saved as a draft, not signed: Lot AM-1 of Amino Mix (Meso Labs): 0.5 ml on hand, 0.52 ml charted."
    ]
    draft = Chart.objects.get(session=session)
    assert not draft.is_signed and draft.points.count() == 24


# --- The next session starts from the last chart's syringes ------------------------------------


def test_the_next_chart_carries_the_syringes_with_their_lots_still_usable(session, alice, room, stock):
    charting.chart_sign(chart=save(session, alice, read(without_shortage(), session)), by=alice)
    Lot.objects.filter(lot_number="LP-1").update(recalled_at=timezone.now())
    later = session_at(
        session.plan, alice, room, session.starts_at + datetime.timedelta(hours=3), series=session.series
    )
    carried = json.loads(chart_initial(later, None).chart["map"])
    assert carried["points"] == []
    assert carried["syringes"] == [
        {
            "label": "A",
            "components": [
                {"lot": "HB-1", "product": stock["hydra"].pk, "expires_on": IN_DATE.isoformat(), "percent": "60"},
                {"lot": "AM-1", "product": stock["amino"].pk, "expires_on": IN_DATE.isoformat(), "percent": "40"},
            ],
        },
        # The recalled lot gives way to its product: the lot that expires first is taken on saving.
        {"label": "B", "components": [{"lot": "", "product": stock["lipo"].pk, "expires_on": None, "percent": "100"}]},
    ]


# --- Hostile input: never anything but a ValidationError ---------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["A", "face", "face_front", "zone", "nappage", "HB-1", "NaN", "-0", "0,5", "\x00", "\ud800"])
    | st.sampled_from(["1e999999", "1E+9999999999999999999999", "-1e-999999999", "2027-05-31", "9" * 400]),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
FIELDS = [
    "syringe",
    "diagram",
    "area",
    "shape",
    "x",
    "y",
    "outline",
    "depth_mm",
    "technique",
    "needle_gauge",
    "volume_ml",
]
PARTS = ["label", "components", "lot", "product", "expires_on", "percent"]


def reads_or_refuses(text, session):
    """A map, or a refusal in words: any other exception fails the test."""
    try:
        mapped = read_map(text, session=session)
    except ValidationError as refused:
        assert refused.messages and all(isinstance(message, str) for message in refused.messages)
    else:
        assert isinstance(mapped, mapping.MapInput)


@PROPERTY_SETTINGS
@given(value=JSON_VALUES)
def test_any_json_is_read_or_refused(session, stock, value):
    reads_or_refuses(json.dumps(value), session)
    reads_or_refuses(json.dumps({"syringes": value, "points": value}), session)


@PROPERTY_SETTINGS
@given(text=st.text(max_size=200))
def test_any_text_is_read_or_refused(session, text):
    reads_or_refuses(text, session)


@PROPERTY_SETTINGS
@given(
    point_junk=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=4),
    part_junk=st.dictionaries(st.sampled_from(PARTS[2:]), JSON_VALUES, max_size=3),
    label=JSON_VALUES,
)
def test_a_known_map_with_junk_in_its_fields_is_read_or_refused(session, stock, point_junk, part_junk, label):
    data = known_map()
    data["points"][0].update(point_junk)
    data["syringes"][0]["components"][0].update(part_junk)
    data["syringes"][1]["label"] = label
    reads_or_refuses(json.dumps(data), session)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100000,
        '{"points": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"points": [{"x": NaN, "y": Infinity}]}',
        '{"points": [{"volume_ml": 1e999999999, "x": "-1e999999999", "needle_gauge": 1e-999999999}]}',
        '{"points": [{"volume_ml": 1e9999999999999999999999}]}',
        '{"points": [{"volume_ml": "1e9999999999999999999999", "depth_mm": "-0"}]}',
        '{"points": [{"volume_ml": ' + "9" * 10000 + "}]}",
        '{"syringes": [{"label": "A\\u0000", "components": []}]}',
        '{"syringes": [{"label": "A", "components": [{"lot": "\\ud800"}]}]}',
        "x" * (mapping.MAX_MAP_CHARS + 1),
        "null",
        '"points"',
        '{"points": {}, "syringes": 3}',
    ],
)
def test_hostile_texts_are_refused_in_words(session, text):
    with pytest.raises(ValidationError) as refused:
        read_map(text, session=session)
    assert refused.value.messages and all(isinstance(m, str) and m for m in refused.value.messages)


# --- The page ----------------------------------------------------------------------------------


def page_data(mapped, **extra):
    return {
        **{name: str(value) for name, value in CHART_VALUES.items()},
        "action": "save",
        "map": json.dumps(mapped),
        # Rows left as the page had them: not read when the map has points, even if broken.
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-volume_ml": "1",
        "products-TOTAL_FORMS": "1",
        "products-INITIAL_FORMS": "0",
        "products-0-volume_ml": "1",
        **extra,
    }


def test_the_chart_page_saves_the_map(alice_client, session, stock):
    url = reverse("session_day:chart", args=[session.pk])
    response = alice_client.post(url, page_data(known_map()))
    assert response.status_code == 302
    saved = Chart.objects.get(session=session)
    assert saved.points.count() == 24 and saved.areas.count() == 2
    page = alice_client.get(url)
    assert page.status_code == 200
    assert page.context["map_in_use"] and page.context["map_totals"].points == 24
    assert json.loads(page.context["form"]["map"].value())["points"][23]["area"] == "neck"
    assert {flag["field"] for flag in page.context["map_page"]["flags"]} == {"depth_mm", "areas", "products", "stock"}


def test_the_chart_page_shows_the_maps_problems_and_keeps_what_was_posted(alice_client, session, stock):
    url = reverse("session_day:chart", args=[session.pk])
    data = known_map()
    data["points"][3]["depth_mm"] = "25"
    response = alice_client.post(url, page_data(data))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["map"] == [
        "Point 4 (face, syringe A): A depth of 25 mm is not a mesotherapy injection (0.1–13 mm)."
    ]
    assert response.context["map_page"]["problems"] == [
        {
            "point": 4,
            "syringe": "A",
            "message": "Point 4 (face, syringe A): A depth of 25 mm is not a mesotherapy injection (0.1–13 mm).",
        }
    ]
    assert json.loads(form["map"].value()) == data  # as posted, for the page to show again
    assert not Chart.objects.filter(session=session).exists()


def test_signing_on_the_page_with_too_little_on_hand_keeps_a_draft(alice_client, session, stock):
    url = reverse("session_day:chart", args=[session.pk])
    response = alice_client.post(url, page_data(known_map(), action="sign", confirm_sign="on"))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "Saved as a draft, not signed: Lot AM-1 of Amino Mix (Meso Labs): 0.5 ml on hand, 0.52 ml charted."
    ]
    assert not Chart.objects.get(session=session).is_signed


# --- Query counts ------------------------------------------------------------------------------


def chart_with_points(session, alice, count):
    data = known_map()
    data["points"] = [point(x=str(i % 100), volume_ml="0.005") for i in range(count)]
    return save(session, alice, read(data, session)) if count else save(session, alice, mapping.EMPTY_MAP)


@pytest.mark.parametrize(("count", "queries"), [(0, 1), (20, 4), (200, 4)])
def test_the_map_of_a_chart_is_a_few_queries_however_many_points(
    session, alice, stock, django_assert_num_queries, count, queries
):
    saved = Chart.objects.select_related("session__plan").get(pk=chart_with_points(session, alice, count).pk)
    with django_assert_num_queries(queries):
        shown = chart_map(saved)
        # the syringes, their components with their lots and products, the products' ingredients,
        # the points with their areas (no syringes: no points either)
        assert len(shown.points) == count
        assert sum(t.points for t in shown.totals.areas) == count


def test_the_chart_page_costs_the_same_queries_at_20_and_200_points(alice_client, session, alice, stock):
    url = reverse("session_day:chart", args=[session.pk])
    counts = []
    for count in (20, 200):
        chart_with_points(session, alice, count)
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_map_of_a_chart_is_grouped_per_diagram(session, alice, stock):
    shown = chart_map(save(session, alice, read(known_map(), session)), flags=True)
    assert [(d.diagram.code, len(d.points)) for d in shown.diagrams] == [("face_front", 23), ("neck_decollete", 1)]
    assert {flag.field for flag in shown.flags} == {"depth_mm", "areas", "products", "stock"}
