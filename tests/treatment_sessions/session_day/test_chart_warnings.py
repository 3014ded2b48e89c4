"""The chart warns, and still saves, when more is injected than the charted lots supply (a lot
missing from the chart is a patient lot recall would miss) and when a product does not fit the
plan's indication (the protocol's ingredients, as the plan builder flags them). The warning is
shown next to its field, on the session page, and kept in the chart's audit trail."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import Chart
from mesoclinic.treatment_sessions.session_day import charting
from tests.builders import CHART_VALUES, active_plan, booked_long_ago, moment, rechecked, session_at

pytestmark = pytest.mark.django_db
EXPIRY = datetime.date.today() + datetime.timedelta(days=200)


def product(name, *ingredients):
    made = Product.objects.create(name=name, manufacturer="Meso Labs")
    made.ingredients.set(Term.objects.filter(kind="ingredient", code__in=ingredients))
    return made


@pytest.fixture
def lipolytic(db):
    return product("Lipo Serum", "phosphatidylcholine", "deoxycholate")


@pytest.fixture
def hydrating(db):
    return product("Hydra Serum", "hyaluronic_acid", "vitamin_c")


def session_for(alice, room, indication="cellulite", hour=12):
    plan = active_plan(alice, indication)
    session = booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), hour)))
    rechecked(session, alice)
    session.refresh_from_db()
    return session


@pytest.fixture
def cellulite_today(clinic, alice, room):
    return session_for(alice, room)


def chart(session, alice, areas, products):
    thighs, buttocks = (Term.objects.get(kind="area", code=code) for code in ("thighs", "buttocks"))
    return charting.chart_save(
        session=session,
        by=alice,
        values=CHART_VALUES,
        areas=list(zip((thighs, buttocks), (Decimal(str(v)) for v in areas), strict=False)),
        products=[
            charting.ProductLine(f"LOT-{i}", Decimal(str(volume)), made, EXPIRY)
            for i, (made, volume) in enumerate(products)
        ],
        events=[],
        measurements=[],
    )


def messages_of(chart):
    return [warning.message for warning in charting.saved_chart_warnings(chart)]


# --- Volumes ----------------------------------------------------------------------------------


def test_more_injected_than_the_lots_supply_is_saved_with_a_warning(cellulite_today, alice, lipolytic):
    saved = chart(cellulite_today, alice, areas=[2, 1.5], products=[(lipolytic, 2)])
    assert saved.areas.count() == 2 and saved.products_used.count() == 1  # saved all the same
    assert messages_of(saved) == [
        "3.5 ml injected in the areas, but the charted products supply only 2 ml: "
        "chart the missing lot or check the volumes."
    ]


def test_areas_injected_without_any_product_charted_warn_to_chart_the_lots(cellulite_today, alice):
    assert messages_of(chart(cellulite_today, alice, areas=[2], products=[])) == [
        "2 ml injected, but no product is charted: chart the lots used."
    ]


def test_what_the_lots_supply_covers_what_was_injected_no_warning(cellulite_today, alice, lipolytic):
    assert messages_of(chart(cellulite_today, alice, areas=[1, 1], products=[(lipolytic, 1.5), (lipolytic, 0.5)])) == []
    assert messages_of(chart(cellulite_today, alice, areas=[1], products=[(lipolytic, 2)])) == []  # some left over


# --- The indication ---------------------------------------------------------------------------


def test_a_product_whose_ingredients_the_protocol_does_not_use_is_a_warning_citing_the_protocol(
    cellulite_today, alice, hydrating
):
    [warning] = charting.saved_chart_warnings(chart(cellulite_today, alice, areas=[1], products=[(hydrating, 1)]))
    assert warning.field == "products-0"
    assert warning.message == (
        "Hydra Serum (Meso Labs) is not usual for cellulite: Hyaluronic acid, Vitamin C are not among "
        "the ingredients of its protocol."
    )
    # The protocol's own documents (fixtures/protocols.yaml), each named once.
    assert warning.source == "Cellulite: guide-2024, basaksehir-2025, prep-2023"


def test_a_product_fits_when_its_ingredients_or_their_classes_are_the_protocols(clinic, alice, room, lipolytic):
    assert messages_of(chart(session_for(alice, room), alice, areas=[1], products=[(lipolytic, 1)])) == []
    # Piroxicam is not on the pain protocol by name; it is an NSAID, an anti-inflammatory, which is.
    relief = product("Relief Serum", "piroxicam", "lidocaine")
    pain = session_for(alice, room, "pain", hour=14)
    area = Term.objects.get(kind="area", code="joints")
    saved = charting.chart_save(
        session=pain,
        by=alice,
        values={**CHART_VALUES, "depth_mm": Decimal("4")},
        areas=[(area, Decimal("1"))],
        products=[charting.ProductLine("RS-1", Decimal("1"), relief, EXPIRY)],
        events=[],
        measurements=[],
    )
    assert messages_of(saved) == []


def test_the_warnings_are_kept_in_the_charts_audit_trail(cellulite_today, alice, hydrating):
    saved = chart(cellulite_today, alice, areas=[3], products=[(hydrating, 1)])
    entry = AuditEntry.objects.get_for_object(saved).filter(changes__has_key="warnings").latest("pk")
    before, after = entry.changes["warnings"]
    assert before == [] and len(after) == 2
    assert "3 ml injected in the areas" in after[0] and "not usual for cellulite" in after[1]


# --- The pages --------------------------------------------------------------------------------


def post_data(**rows):
    data = {
        **{name: str(value) for name, value in CHART_VALUES.items()},
        "action": "save",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "thighs",
        "areas-0-volume_ml": "3",
        "products-TOTAL_FORMS": "2",
        "products-INITIAL_FORMS": "0",
    }
    data.update(rows)
    return data


def test_the_chart_page_saves_with_the_warnings_and_shows_them_next_to_their_fields(
    alice_client, cellulite_today, hydrating
):
    url = reverse("session_day:chart", args=[cellulite_today.pk])
    response = alice_client.post(
        url,
        post_data(
            **{
                "products-0-lot_number": "HS-1",
                "products-0-product": str(hydrating.pk),
                "products-0-expires_on": EXPIRY.isoformat(),
                "products-0-volume_ml": "1",
            }
        ),
    )
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Chart saved as a draft." in said
    assert any(m.startswith("Saved with a warning: 3 ml injected in the areas") for m in said)
    assert any("Hydra Serum (Meso Labs) is not usual for cellulite" in m for m in said)
    assert Chart.objects.filter(session=cellulite_today).exists()

    session_page = alice_client.get(cellulite_today.get_absolute_url()).content.decode()
    assert "3 ml injected in the areas, but the charted products supply only 1 ml" in session_page
    assert "is not usual for cellulite" in session_page

    page = alice_client.get(url).content.decode()  # the draft, with each warning beside its field
    volume = page.index("3 ml injected in the areas")
    assert page.index('name="areas-0-volume_ml"') < volume < page.index('id="c-products"')
    fit = page.index("Hydra Serum (Meso Labs) is not usual for cellulite")
    assert page.index('name="products-0-volume_ml"') < fit < page.index('name="products-1-lot_number"')
    assert "You can still save; the chart keeps this warning." in page


def test_a_chart_with_warnings_can_still_be_signed(alice_client, cellulite_today, lipolytic):
    url = reverse("session_day:chart", args=[cellulite_today.pk])
    data = post_data(
        action="sign",
        confirm_sign="on",
        **{
            "products-0-lot_number": "LS-1",
            "products-0-product": str(lipolytic.pk),
            "products-0-expires_on": EXPIRY.isoformat(),
            "products-0-volume_ml": "1",
        },
    )
    response = alice_client.post(url, data)
    assert response.status_code == 302
    chart = Chart.objects.get(session=cellulite_today)
    assert chart.is_signed and messages_of(chart) == [
        "3 ml injected in the areas, but the charted products supply only 1 ml: "
        "chart the missing lot or check the volumes."
    ]


def test_a_known_lot_typed_by_number_alone_is_checked_against_the_indication(alice_client, cellulite_today, hydrating):
    from mesoclinic.treatment_sessions.models import Lot

    Lot.objects.create(product=hydrating, lot_number="HS-9", expires_on=EXPIRY)
    url = reverse("session_day:chart", args=[cellulite_today.pk])
    # A refused post (no volume for the lot) still shows the warning for what was typed.
    page = alice_client.post(url, post_data(**{"products-0-lot_number": "hs-9"})).content.decode()
    assert "Give the volume used from this lot." in page
    assert "Hydra Serum (Meso Labs) is not usual for cellulite" in page
