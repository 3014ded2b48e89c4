"""The injection map in the browser, on a tablet held in one hand (820 x 1180, touch).

The issue's journey: a two-product syringe (two lots, 60/40), a painted nappage zone, 20 nappage
points and 3 deep points on the face, saved, reopened with the server's flags, signed; then the
map on the patient page, the simplified map on the aftercare sheet and in its PDF (rendered to
an image and looked at). Every tap is counted (`Taps`): the report gives the count for a
facial session. Also: the page is clean for axe with a map on it; a point added from the list
with the keyboard alone; and how long the map takes to draw 200 points.
"""

import datetime
import itertools
import json
import re
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.treatment_sessions.models import Chart, Lot
from mesoclinic.treatment_sessions.session_day import charting
from mesoclinic.treatment_sessions.session_day.mapping import read_map
from mesoclinic.treatment_sessions.stock.services import delivery_receive
from tests.builders import (
    CHART_VALUES,
    PatientFactory,
    booked_long_ago,
    consented,
    covering,
    plan_for,
    rechecked,
    screened,
    session_at,
)
from tests.e2e.conftest import SCREENSHOTS, _benign, login

TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
AXE_SOURCE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# Where the marks go on the front of the face, in the diagram's units (0-100 across and down).
ZONE = [(29, 24), (33, 22), (38, 23), (39, 28), (37, 33), (32, 34), (29, 30)]  # right of the forehead
NAPPAGE = (
    [(44 + 6 * i, 26) for i in range(4)]
    + [(44 + 6 * i, 32) for i in range(4)]  # forehead
    + [(30, 56), (34, 59), (30, 62), (36, 64), (26, 52), (38, 57)]  # right cheek
    + [(70, 56), (66, 59), (70, 62), (64, 64), (74, 52), (62, 57)]  # left cheek
)
DEEP = [(45, 79), (50, 79), (55, 79)]  # chin


@pytest.fixture
def tablet(browser, live_server):
    yield from _context(browser, live_server, TABLET)


@pytest.fixture
def axe_tablet(browser, live_server):
    """A tablet page that ignores the CSP, so that axe-core can be injected (as conftest's axe_page)."""
    yield from _context(browser, live_server, TABLET, bypass_csp=True)


def _context(browser, live_server, viewport, **options):
    context = browser.new_context(base_url=live_server.url, viewport=viewport, has_touch=True, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not _benign(m.text) else None)
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"


def shot(page, name, full_page=True):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"injection-map-{name}.png"), full_page=full_page)


class Taps:
    """The practitioner's taps, counted: a tap on a control or on the diagram. Typing a value
    into a field is not a tap (the tap that focused it is)."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def on(self, locator):
        locator.tap()
        self.count += 1

    def type(self, locator, text):
        self.on(locator)
        locator.fill(text)

    def choose(self, select, value):
        """A select is two taps: open it, pick the option."""
        self.on(select)
        select.select_option(value)
        self.count += 1

    def diagram(self, code, x, y):
        self.page.touchscreen.tap(*spot(self.page, code, x, y))
        self.count += 1

    def paint(self, code, outline):
        """One stroke of a finger around `outline` (touch events, as the tablet sends them)."""
        cdp = self.page.context.new_cdp_session(self.page)
        points = [spot(self.page, code, x, y) for x, y in [*outline, outline[0]]]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_touch(points[0])]})
        for (ax, ay), (bx, by) in itertools.pairwise(points):
            for step in range(1, 5):
                at = (ax + (bx - ax) * step / 4, ay + (by - ay) * step / 4)
                cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_touch(at)]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
        self.count += 1


def _touch(at):
    return {"x": at[0], "y": at[1], "radiusX": 4, "radiusY": 4, "force": 1, "id": 1}


def spot(page, code, x, y):
    """Where (x, y) of a diagram is on the screen, the diagram scrolled into view."""
    svg = page.locator(f"#map-panel-{code} svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    return box["x"] + box["width"] * x / 100, box["y"] + box["height"] * y / 100


def the_map(page):
    return json.loads(page.locator("input[name=map]").input_value() or "{}")


def facial_session(clinic, alice, room, name="Elif"):
    """A first facial session starting within the hour, re-checked: ready to chart. The plan's
    two products are in stock, the first in two lots (the one that expires first is offered)."""
    patient = PatientFactory(given_name=name, family_name="Yıldız")
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face"])
    booster, _made = Product.objects.get_or_create(name="Hyaluronic Booster", manufacturer="Meso Labs")
    serum, _made = Product.objects.get_or_create(name="Vitamin C Serum", manufacturer="Derma")
    plan.products.set([booster, serum])
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    today = datetime.date.today()
    for product, lot, days in ((booster, "HB-2702", 400), (booster, "HB-2611", 120), (serum, "VC-118", 200)):
        if not Lot.objects.filter(lot_number=lot).exists():
            delivery_receive(
                product=product,
                lot_number=lot,
                expires_on=today + datetime.timedelta(days=days),
                quantity_ml=Decimal("10"),
                supplier="Meso Labs",
                by=alice,
            )
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    start = now + datetime.timedelta(minutes=20)
    if start.astimezone(clinic.zone).date() != now.astimezone(clinic.zone).date():
        start = now - datetime.timedelta(minutes=50)  # near midnight: keep it today
    taken = Chart.objects.count()  # one practitioner, one session at a time
    session = booked_long_ago(session_at(plan, alice, room, start + datetime.timedelta(hours=taken)))
    rechecked(session, alice, decisions=[])
    session.refresh_from_db()
    return session


def test_a_facial_session_charted_on_the_map_then_seen_on_the_patient_page_the_sheet_and_its_pdf(
    tablet, clinic, alice, room
):
    page = tablet
    session = facial_session(clinic, alice, room)
    login(page, "alice")
    page.goto(f"/sessions/{session.pk}/chart/")
    editor = page.locator("#map-editor")
    expect(editor).to_be_visible()
    taps = Taps(page)

    # The syringe: the plan's two products, each from the lot that expires first.
    syringe = editor.locator(".map-syringe").first
    expect(syringe).to_contain_text("Syringe A")
    expect(syringe).to_contain_text("HB-2611")  # expires before HB-2702
    expect(syringe).to_contain_text("VC-118")
    taps.on(syringe.locator("summary"))
    lot = syringe.get_by_label("Lot (first to expire first)").first
    assert lot.locator("option").first.inner_text().startswith("HB-2611")
    shares = syringe.get_by_label("Share (%)")
    taps.type(shares.nth(0), "60")
    taps.type(shares.nth(1), "40")
    taps.on(syringe.locator("summary"))  # folds it: ready
    expect(syringe.locator("[data-syringe-part=total]")).to_have_text("100 %")
    expect(syringe).to_contain_text("Hyaluronic Booster (Meso Labs) HB-2611 60 % + Vitamin C Serum (Derma) VC-118 40 %")

    # A painted nappage zone, then 20 nappage points: the bar's settings stay from tap to tap.
    taps.on(editor.locator("label[for=map-mode-zone]"))
    taps.paint("face_front", ZONE)
    expect(page.locator("#map-status")).to_contain_text("Zone 1 painted: Face.")
    taps.on(editor.locator("label[for=map-mode-point]"))
    for x, y in NAPPAGE:
        taps.diagram("face_front", x, y)
    expect(page.locator("#map-status")).to_contain_text("Point 21 added: Face.")
    marking = taps.count

    # Three deep points, point by point: technique, depth, needle and volume, then three taps.
    taps.choose(page.locator("#map-set-technique"), "point_by_point")
    taps.type(page.locator("#map-set-depth"), "2.5")
    taps.type(page.locator("#map-set-gauge"), "30")
    taps.type(page.locator("#map-set-volume"), "0.1")
    for x, y in DEEP:
        taps.diagram("face_front", x, y)
    marked = the_map(page)
    assert len(marked["points"]) == 24
    assert [p["shape"] for p in marked["points"]].count("zone") == 1
    assert {(p["technique"], p["depth_mm"], p["needle_gauge"], p["volume_ml"]) for p in marked["points"][-3:]} == {
        ("point_by_point", "2.5", 30, "0.1")
    }
    assert marked["syringes"] == [
        {
            "label": "A",
            "components": [
                {"lot": "HB-2611", "product": Product.objects.get(name="Hyaluronic Booster").pk, "expires_on": None, "percent": "60"},
                {"lot": "VC-118", "product": Product.objects.get(name="Vitamin C Serum").pk, "expires_on": None, "percent": "40"},
            ],
        }
    ]  # fmt: skip
    expect(page.locator("#map-rows tr")).to_have_count(24)
    totals = page.locator("#map-totals")
    expect(totals).to_contain_text("1.8 ml in 24 points and zones")  # 0.5 + 20 x 0.05 + 3 x 0.1
    expect(totals).to_contain_text("Face: 1.8 ml (24)")
    expect(totals).to_contain_text("Hyaluronic Booster (Meso Labs): 1.08 ml (lot HB-2611 1.08 ml)")
    expect(totals).to_contain_text("Vitamin C Serum (Derma): 0.72 ml (lot VC-118 0.72 ml)")

    # Tapping a point selects it; Undo takes a change back (a slip: not counted).
    page.touchscreen.tap(*spot(page, "face_front", *DEEP[-1]))
    expect(page.locator("#map-edit")).to_be_visible()
    expect(page.locator("#map-edit-title")).to_have_text("Point 24")
    page.locator("[data-map-action=delete-selected]").tap()
    expect(page.locator("#map-rows tr")).to_have_count(23)
    page.locator("[data-map-action=undo]").tap()
    expect(page.locator("#map-rows tr")).to_have_count(24)
    shot(page, "chart-tablet")

    # Saved as a draft, and reopened: the map as it was, and the server's flags beside it.
    taps.on(page.get_by_role("button", name="Save draft"))
    expect(page.get_by_text("Chart saved as a draft.")).to_be_visible()
    page.get_by_role("link", name="Continue the chart").click()
    expect(page.locator("#map-rows tr")).to_have_count(24)
    flags = page.locator("#map-flags")
    expect(flags).to_contain_text("Points 22–24 (face)")
    expect(flags).to_contain_text("Deeper than 1.5 mm on the face")
    expect(page.locator("[data-map-derived-note]").first).to_be_visible()  # areas and lots come from the map
    expect(page.locator("#map-rows tr.has-flag")).to_have_count(3)
    shot(page, "chart-tablet-flags")
    page.set_viewport_size(PHONE)
    shot(page, "chart-phone")
    page.set_viewport_size(DESKTOP)
    shot(page, "chart-desktop")
    page.set_viewport_size(TABLET)

    page.get_by_label("I have checked the chart; signing locks it.").check()
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Chart signed and locked.")).to_be_visible()
    taps.count += 2  # the box and the button
    facial_taps = taps.count

    chart = Chart.objects.get(session=session)
    assert chart.is_signed
    assert chart.points.count() == 24
    assert sorted(c.percent for c in chart.syringes.get().components.all()) == [Decimal("40"), Decimal("60")]
    assert {(a.area.code, a.volume_ml) for a in chart.areas.select_related("area")} == {("face", Decimal("1.80"))}
    assert {(u.lot.lot_number, u.volume_ml) for u in chart.products_used.select_related("lot")} == {
        ("HB-2611", Decimal("1.08")),
        ("VC-118", Decimal("0.72")),
    }
    assert Lot.objects.get(lot_number="HB-2611").on_hand_ml == Decimal("8.92")  # drawn down at signing

    # The patient page: the map with its 24 marks, numbered, and the table behind it.
    page.goto(session.patient.get_absolute_url())
    panel = page.locator("#injection-map")
    expect(panel.locator(".map-view-mark")).to_have_count(24)
    expect(panel.locator(".map-view-mark text").last).to_have_text("24")
    expect(panel).to_contain_text("Syringe A:")
    expect(panel).to_contain_text("lot HB-2611 60 %")
    panel.get_by_text("The points as a table").click()
    expect(panel.locator("tbody tr")).to_have_count(24)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(SCREENSHOTS / "injection-map-patient-page.png"))

    # The aftercare sheet: where she was treated; no volumes, no lots.
    sheet = AftercareSheet.objects.get(session=session)
    page.goto(sheet.get_absolute_url())
    drawing = page.locator(".sheet-map")
    expect(drawing.locator(".sheet-map-marks circle")).to_have_count(23)
    expect(drawing.locator(".sheet-map-marks polygon")).to_have_count(1)
    expect(drawing).to_contain_text("Face (front)")
    for secret in ("HB-2611", "VC-118", "0.05", "ml"):
        expect(drawing).not_to_contain_text(secret)
    shot(page, "sheet")
    page.set_viewport_size(PHONE)
    shot(page, "sheet-phone")
    page.set_viewport_size(TABLET)

    # Its PDF, rendered to an image: the map is drawn where its heading says.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    inked, zone_shade = pdf_map_ink(pdf)
    assert inked > 2000, f"the map region of the PDF is nearly blank ({inked} inked pixels)"
    assert zone_shade > 40, f"the painted zone is not shaded in the PDF ({zone_shade} pixels)"

    print(
        f"\ntaps for the facial session (syringe 60/40, a zone, 20 nappage + 3 deep points, save, sign): {facial_taps}"
    )
    print(f"of which marking the zone and the 20 nappage points: {marking - 4}")


DPI = 100


def pdf_map_ink(pdf):
    """Render the PDF's first page, find the map below its heading ("Where we treated"), and
    count the pixels inked there, and those in the zone's shade. Saves the page as a PNG to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(source), str(SCREENSHOTS / "injection-map-sheet-pdf")],
            check=True,
        )  # fmt: skip
        subprocess.run(
            ["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(source), f"{folder}/page"], check=True
        )
        layout = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(source), "-"], check=True, capture_output=True, text=True
        ).stdout
        width, height, pixels = read_ppm(Path(folder) / "page.ppm")
    heading = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">Where</word>', layout)
    assert heading, "the PDF has no map heading"
    top = int(float(heading[3]) * DPI / 72)
    bottom = min(height, top + int(70 / 25.4 * DPI))  # the drawing is at most 58 mm high, and its caption
    inked = shade = 0
    for row in range(top, bottom):
        line = pixels[row * width * 3 : (row + 1) * width * 3]
        for column in range(0, width * 3, 3):
            r, g, b = line[column], line[column + 1], line[column + 2]
            if r + g + b < 720:
                inked += 1
            if abs(r - 187) < 14 and abs(g - 209) < 14 and abs(b - 210) < 14:
                shade += 1
    return inked, shade


def read_ppm(path):
    data = path.read_bytes()
    magic, width, height, _most, pixels = data.split(maxsplit=4)
    assert magic == b"P6"
    return int(width), int(height), pixels


def test_the_chart_page_with_a_map_is_clean_for_axe(axe_tablet, clinic, alice, room):
    page = axe_tablet
    session = facial_session(clinic, alice, room, name="Deniz")
    login(page, "alice")
    page.goto(f"/sessions/{session.pk}/chart/")
    expect(page.locator("#map-editor")).to_be_visible()
    for x, y in NAPPAGE[:5]:
        page.touchscreen.tap(*spot(page, "face_front", x, y))
    page.locator(".map-syringe summary").first.tap()  # the syringe builder open
    page.touchscreen.tap(*spot(page, "face_front", *NAPPAGE[2]))  # a point selected: its edit box
    expect(page.locator("#map-edit")).to_be_visible()
    page.add_script_tag(content=AXE_SOURCE.read_text())
    violations = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
            .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))""",
        AXE_TAGS,
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    print(f"\naxe on the chart with a map: {[(v['impact'], v['id']) for v in violations] or 'nothing'}")


def test_points_added_from_the_list_with_the_keyboard_alone(tablet, clinic, alice, room):
    page = tablet
    session = facial_session(clinic, alice, room, name="Can")
    login(page, "alice")
    page.goto(f"/sessions/{session.pk}/chart/")
    expect(page.locator("#map-editor")).to_be_visible()
    # Nothing marked, nothing posted: the chart's area and product rows would say what was done.
    assert page.locator("input[name=map]").input_value() == ""
    # From the top of the page, Tab alone reaches the list's first field.
    page.locator("body").press("Tab")
    for _press in range(80):
        if page.evaluate("document.activeElement.id") == "map-list-diagram":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "map-list-diagram"
    page.keyboard.press("Tab")  # the region: the forehead is first
    assert page.evaluate("document.activeElement.id") == "map-list-region"
    page.keyboard.press("ArrowDown")  # the next region
    region = page.locator("#map-list-region option:checked").inner_text()
    for _field in ("syringe", "technique", "depth", "gauge", "volume", "count"):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "map-list-count"
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    page.keyboard.press("Enter")  # adds, and does not send the chart
    expect(page.locator("#map-status")).to_have_text(f"Points 1 to 3 added: {region.split(' (')[-1].rstrip(')')}.")
    expect(page.locator("#map-rows tr")).to_have_count(3)
    assert page.url.endswith(f"/sessions/{session.pk}/chart/")
    points = the_map(page)["points"]
    assert [p["shape"] for p in points] == ["point"] * 3
    assert len({(p["x"], p["y"]) for p in points}) == 3  # spread around the region's centre
    # The table's buttons, by keyboard: delete the second point.
    delete = page.get_by_role("button", name="Delete point 2")
    delete.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#map-rows tr")).to_have_count(2)
    expect(page.locator("#map-status")).to_have_text("Point 2 deleted. Undo brings it back.")
    page.get_by_role("button", name="Save draft").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Chart saved as a draft.")).to_be_visible()
    assert Chart.objects.get(session=session).points.count() == 2


def test_the_map_draws_200_points_quickly(tablet, clinic, alice, room):
    session = facial_session(clinic, alice, room, name="Ece")
    marks = [
        {"syringe": "A", "diagram": "face_front", "area": "face", "shape": "point", "x": str(x), "y": str(y),
         "depth_mm": "1.0", "technique": "nappage", "needle_gauge": 32, "volume_ml": "0.02"}
        for y in range(24, 84, 3) for x in range(30, 71, 4)
    ][:200]  # fmt: skip
    assert len(marks) == 200
    text = json.dumps(
        {"syringes": [{"label": "A", "components": [{"lot": "HB-2611", "percent": "100"}]}], "points": marks}
    )
    values = CHART_VALUES
    charting.chart_save(
        session=session,
        by=alice,
        values=values,
        areas=[],
        products=[],
        events=[],
        measurements=[],
        map_input=read_map(text, session=session),
    )
    page = tablet
    login(page, "alice")
    timings = []
    for _run in range(3):
        page.goto(f"/sessions/{session.pk}/chart/")
        editor = page.locator("#map-editor[data-drawn-at]")
        expect(editor).to_have_attribute("data-drawn-points", "200")
        drawn = int(editor.get_attribute("data-drawn-at"))
        script = int(editor.get_attribute("data-script-ms"))
        arrived = page.evaluate("Math.round(performance.getEntriesByType('navigation')[0].responseEnd)")
        timings.append((drawn - arrived, drawn, script))
    expect(page.locator("#map-panel-face_front .map-mark")).to_have_count(200)
    expect(page.locator("#map-rows tr")).to_have_count(200)
    page.touchscreen.tap(*spot(page, "face_front", 50, 21))
    expect(page.locator("#map-rows tr")).to_have_count(201)
    redraw = float(page.locator("#map-editor").get_attribute("data-change-ms"))
    shot(page, "chart-200-points")
    best = min(timings)
    print(f"\n200 points: all drawn {best[0]} ms after the page arrived ({best[1]} ms after it was asked for); "
          f"the map script {best[2]} ms; a tap's redraw with 201 points {redraw} ms (runs: {timings})")  # fmt: skip
    assert best[0] < 1500 and best[2] < 500 and redraw < 100
