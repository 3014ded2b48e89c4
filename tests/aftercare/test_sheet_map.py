"""The aftercare sheet's simplified map: where the patient was treated, kept in the sheet when it
is made, shown in the HTML and the PDF, and nothing of the volumes or the lots."""

import datetime
import io
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from pypdf import PdfReader

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.aftercare.render import sheet_words
from mesoclinic.aftercare.services import sheet_for
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.treatment_sessions.session_day import charting
from mesoclinic.treatment_sessions.session_day.diagrams import DIAGRAMS
from mesoclinic.treatment_sessions.session_day.mapping import read_map
from mesoclinic.treatment_sessions.stock.services import delivery_receive
from tests.builders import (
    CHART_VALUES,
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

LOTS = ("HB-7101", "VC-7202")
SHEET_PAGE_QUERIES = 6  # session, user, clinic, the sheet with its patient and session, audit entry
ZONE = [[30, 40], [40, 38], [44, 46], [36, 52], [29, 48]]


def _map(points=3, deep=2):
    """Syringe A (two products, 60/40): a painted zone on the right cheek, `points` nappage
    points on the forehead and `deep` deeper points on the chin."""
    marks = [
        {
            "syringe": "A",
            "diagram": "face_front",
            "area": "face",
            "shape": "zone",
            "outline": ZONE,
            "depth_mm": "1.0",
            "technique": "nappage",
            "needle_gauge": 32,
            "volume_ml": "0.4",
        },
    ]
    marks += [
        {
            "syringe": "A",
            "diagram": "face_front",
            "area": "face",
            "shape": "point",
            "x": str(36 + 4 * n),
            "y": "28",
            "depth_mm": "1.0",
            "technique": "nappage",
            "needle_gauge": 32,
            "volume_ml": "0.05",
        }
        for n in range(points)
    ]
    marks += [
        {"syringe": "A", "diagram": "face_front", "area": "face", "shape": "point", "x": str(46 + 4 * n), "y": "78",
         "depth_mm": "1.5", "technique": "point_by_point", "needle_gauge": 30, "volume_ml": "0.1"}
        for n in range(deep)
    ]  # fmt: skip
    return {
        "syringes": [
            {"label": "A", "components": [{"lot": LOTS[0], "percent": "60"}, {"lot": LOTS[1], "percent": "40"}]}
        ],
        "points": marks,
    }


def marks_of(svg):
    """What the sheet marks over the diagram (the drawing has circles of its own: the eyes)."""
    return svg[svg.index('<g class="sheet-map-marks">') :]


@pytest.fixture
def mapped_sheet(alice, room, patient, clinic):
    return sheet_with_map(patient, alice, room)


def sheet_with_map(patient, alice, room):
    """A signed facial session charted with a map, and its sheet."""
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face"])
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    session = session_at(plan, alice, room, moment(clinic_today(), 10))
    rechecked(booked_long_ago(session), alice, decisions=[])
    session.refresh_from_db()
    expires = clinic_today() + datetime.timedelta(days=300)
    for name, lot in zip(("Hydra Boost", "Vita Glow"), LOTS, strict=True):
        product, _made = Product.objects.get_or_create(name=name, manufacturer="Meso Labs")
        delivery_receive(product=product, lot_number=lot, expires_on=expires, quantity_ml=Decimal("10"), by=alice)
    chart = charting.chart_save(
        session=session,
        by=alice,
        values=CHART_VALUES,
        areas=[],
        products=[],
        events=[],
        measurements=[],
        map_input=read_map(json.dumps(_map()), session=session),
    )
    charting.chart_sign(chart=chart, by=alice)
    session.refresh_from_db()
    return sheet_for(session)


def test_the_sheet_keeps_where_the_patient_was_treated_and_nothing_else(mapped_sheet):
    (entry,) = mapped_sheet.content["map"]
    assert entry["diagram"] == "face_front"
    assert entry["title"] == "Face (front)"  # in English: translated when read
    assert entry["dots"] == [[36.0, 28.0], [40.0, 28.0], [44.0, 28.0], [46.0, 78.0], [50.0, 78.0]]
    assert entry["zones"] == [[[float(x), float(y)] for x, y in ZONE]]
    assert set(entry) == {"diagram", "title", "dots", "zones"}  # no volume, lot, depth or needle
    stored = json.dumps(mapped_sheet.content["map"])
    assert not any(word in stored for word in ("volume", "lot", "depth", "needle", "syringe", *LOTS))


def test_the_map_is_read_from_the_sheet_not_from_the_chart(mapped_sheet):
    """A sheet shows what was done when it was made: its map is the stored one."""
    content = mapped_sheet.content
    content["map"][0]["dots"] = [[12.5, 12.5]]
    content["map"][0]["zones"] = []
    AftercareSheet.objects.filter(pk=mapped_sheet.pk).update(content=content)
    (row,) = sheet_words(AftercareSheet.objects.get(pk=mapped_sheet.pk), "en")["map_rows"]
    (figure,) = row
    assert re.findall(r"<circle [^>]*>", marks_of(str(figure["svg"]))) == [
        '<circle cx="12.5" cy="12.5" r="1.3" fill="#0e5a60" stroke="#fff" stroke-width="0.35"/>'
    ]
    assert "<polygon" not in marks_of(str(figure["svg"]))


def test_the_patient_sees_the_map_on_the_sheet_without_volumes_or_lots(pat, pat_client, alice, room, clinic):
    sheet = sheet_with_map(pat, alice, room)
    html = pat_client.get(sheet.get_absolute_url()).content.decode()
    section = html[html.index('class="sheet-section sheet-map"') : html.index("</section>", html.index("sheet-map"))]
    assert "Where we treated, on the diagram" in section
    assert 'aria-label="Face (front): the places treated are marked."' in section
    assert len(re.findall(r"<circle ", marks_of(section))) == 5
    assert len(re.findall(r"<polygon ", marks_of(section))) == 1
    assert "Face (front)" in section
    # The diagram's own lines are drawn, without its ids and titles (the chart's editor names).
    assert section.count("<path") > 10
    assert "<title>" not in section and 'id="region-' not in section
    words = " ".join(re.sub(r"<[^>]+>", " ", "<" + section).split())
    assert words == "Where we treated, on the diagram Face (front)"
    assert not any(lot in html for lot in LOTS)  # nowhere on the patient's page


def test_the_diagram_is_named_in_the_language_the_sheet_is_read_in(mapped_sheet):
    """Stored in English, named when read: the Turkish sheet names it as the Turkish catalogue does."""
    (row,) = sheet_words(mapped_sheet, "tr")["map_rows"]
    with translation.override("tr"):
        title = str(DIAGRAMS["face_front"].title)
    assert row[0]["title"] == title
    assert f'aria-label="{title}: ' in str(row[0]["svg"])


def test_a_sheet_made_before_maps_shows_none(mapped_sheet, alice_client):
    content = mapped_sheet.content
    del content["map"]
    AftercareSheet.objects.filter(pk=mapped_sheet.pk).update(content=content)
    html = alice_client.get(mapped_sheet.get_absolute_url()).content.decode()
    assert "sheet-map" not in html
    assert "Your aftercare" in html


def test_the_pdf_draws_the_map_and_stays_within_two_pages(mapped_sheet, alice_client):
    response = alice_client.get(f"/aftercare/sheets/{mapped_sheet.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert 1 <= len(reader.pages) <= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Where we treated, on the diagram" in text
    assert "Face (front)" in text
    assert not any(lot in text for lot in LOTS)
    # The drawing is in the page itself: its curves and the dots are path operators.
    drawn = b"".join(page.get_contents().get_data() for page in reader.pages)
    assert drawn.count(b" c\n") + drawn.count(b" c ") > 100


def test_the_map_costs_the_sheet_page_no_query(pat_client, pat, alice, room, clinic):
    """It is read from the sheet: a page with a map takes the queries of one without."""
    sheet = sheet_with_map(pat, alice, room)
    url = sheet.get_absolute_url()
    pat_client.get(url)
    with CaptureQueriesContext(connection) as with_map:
        assert pat_client.get(url).status_code == 200
    content = sheet.content
    del content["map"]
    AftercareSheet.objects.filter(pk=sheet.pk).update(content=content)
    with CaptureQueriesContext(connection) as without:
        assert pat_client.get(url).status_code == 200
    assert len(with_map.captured_queries) == len(without.captured_queries) == SHEET_PAGE_QUERIES
