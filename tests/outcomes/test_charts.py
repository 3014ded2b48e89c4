"""The progress chart (outcomes.charts): the patient's dots where their values are, the
documents' figure at the study's session count and the target from this patient's baseline,
labelled with its source, and the caveat written on the chart where the documents disagree."""

import base64
import xml.etree.ElementTree as ET

import pytest

from mesoclinic.outcomes.charts import render
from mesoclinic.outcomes.progress import plan_progress
from tests.builders import PatientFactory, measured_course

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def rows_of(alice, room, indication, series):
    plan, _sessions = measured_course(alice, room, PatientFactory(), indication, series)
    return plan, {row.measure.code: row for row in plan_progress(plan)}


def dots(svg, serie):
    """[(value text, cx, cy, r)] of one series' dots, as pygal wrote them."""
    root = ET.fromstring(svg)
    found = []
    for group in root.iter(f"{SVG}g"):
        if f"serie-{serie}" not in (group.get("class") or "").split() or "overlay" in (group.get("class") or ""):
            continue
        for dot in group.iter(f"{SVG}g"):
            if dot.get("class") != "dots":
                continue
            circle = dot.find(f"{SVG}circle")
            value = next(d.text for d in dot.findall(f"{SVG}desc") if d.get("class") == "value")
            found.append((value, float(circle.get("cx")), float(circle.get("cy")), float(circle.get("r"))))
    return found


def texts(svg):
    return ["".join(node.itertext()) for node in ET.fromstring(svg).iter(f"{SVG}text")]


@pytest.fixture
def wrinkles(alice, room):
    plan, rows = rows_of(
        alice, room, "skin_rejuvenation", [{"wrinkle_depth": "300"}, {"wrinkle_depth": "290"}, {"wrinkle_depth": "255"}]
    )
    return plan, rows["wrinkle_depth"]


def test_the_patients_dots_are_at_their_sessions_and_values(wrinkles):
    plan, row = wrinkles
    chart = render(row, language="en", sessions_planned=plan.sessions_planned)
    patient = dots(chart.svg, 0)
    assert [value for value, *_ in patient] == ["1: 300", "2: 290", "3: 255"]
    (_, x1, y1, _), (_, x2, y2, _), (_, x3, y3, _) = patient
    # One session apart on x; on y in proportion to the values (lower on the page = smaller).
    assert x2 - x1 == pytest.approx(x3 - x2)
    assert (y2 - y1) / (290 - 300) == pytest.approx((y3 - y2) / (255 - 290))
    assert y3 > y2 > y1
    assert "baseline" in texts(chart.svg) and "\u22123.3%" in texts(chart.svg) and "\u221215%" in texts(chart.svg)


def test_the_documents_figure_sits_at_the_studys_session_count_and_the_patients_target(wrinkles):
    plan, row = wrinkles
    chart = render(row, language="en", sessions_planned=plan.sessions_planned)
    (_, x1, y1, _), (_, x2, y2, _), _third = dots(chart.svg, 0)
    marker = [dot for dot in dots(chart.svg, 1) if dot[3] > 0]
    # basaksehir-2025: -18% after 6 sessions, from this patient's 300 µm: 246 µm at session 6.
    assert [value for value, *_ in marker] == ["6: 246"]
    _, x, y, _ = marker[0]
    assert x == pytest.approx(x1 + 5 * (x2 - x1))
    assert y == pytest.approx(y1 + (246 - 300) * (y2 - y1) / (290 - 300))
    assert "basaksehir-2025: \u221218% after 6 sessions" in texts(chart.svg)
    assert "basaksehir-2025: \u221218% after 6 sessions" in chart.labels
    # Told apart from the patient's line without colour: the reference is dashed.
    assert ".serie-1{stroke-width:3;stroke-dasharray:8,5}" in chart.svg.replace(" ", "")


def test_where_the_documents_disagree_the_caveat_is_on_the_chart_and_in_its_alt(wrinkles):
    plan, row = wrinkles
    chart = render(row, language="en", sessions_planned=plan.sessions_planned)
    assert any("guide-2024: some studies found no benefit" in text for text in texts(chart.svg))
    assert "guide-2024: some studies found no benefit" in chart.alt
    assert chart.alt.startswith("Wrinkle depth: 300 µm at session 1, 290 µm at session 2 (\u22123.3%)")
    assert "would be 246 µm" in chart.alt


def test_no_caveat_where_the_documents_agree(alice, room):
    plan, rows = rows_of(alice, room, "skin_rejuvenation", [{"skin_elasticity": "0.40"}, {"skin_elasticity": "0.45"}])
    chart = render(rows["skin_elasticity"], language="en", sessions_planned=plan.sessions_planned)
    assert not any("no benefit" in text for text in texts(chart.svg))
    assert [value for value, *_ in dots(chart.svg, 0)] == ["1: 0.40", "2: 0.45"]
    assert [v for v, *_, r in dots(chart.svg, 1) if r > 0] == ["6: 0.50"]  # +25% of 0.40


def test_a_figure_without_a_session_count_is_drawn_at_the_planned_count_and_says_so(alice, room):
    plan, rows = rows_of(alice, room, "hair_loss", [{"hair_diameter": "60"}])
    chart = render(rows["hair_diameter"], language="en", sessions_planned=plan.sessions_planned)
    marker = [dot for dot in dots(chart.svg, 1) if dot[3] > 0]
    assert [value for value, *_ in marker] == [f"{plan.sessions_planned}: 69"]  # +15% of 60
    assert "basaksehir-2025: +15%, sessions not given" in texts(chart.svg)


def test_a_share_and_a_finding_in_words_are_not_drawn_as_points(alice, room):
    plan, rows = rows_of(
        alice, room, "cellulite", [{"satisfaction": "6", "cellulite_grade": "9"}, {"satisfaction": "8"}]
    )
    for code in ("satisfaction", "cellulite_grade"):  # 85% satisfied (a share); no figure for the grade
        chart = render(rows[code], language="en", sessions_planned=plan.sessions_planned)
        assert dots(chart.svg, 1) == []
        assert len(dots(chart.svg, 0)) == len(rows[code].points)
        assert chart.labels == ()


def test_the_svg_is_self_contained_without_script_and_its_data_uri_is_the_same_svg(wrinkles):
    plan, row = wrinkles
    chart = render(row, language="en", sessions_planned=plan.sessions_planned)
    root = ET.fromstring(chart.svg)
    assert not list(root.iter(f"{SVG}script"))
    assert "<style" in chart.svg and 'xlink:href="http' not in chart.svg and "//kozea" not in chart.svg
    prefix = "data:image/svg+xml;base64,"
    assert chart.data_uri.startswith(prefix)
    assert base64.b64decode(chart.data_uri[len(prefix) :]).decode() == chart.svg


def test_turkish_labels_and_numbers(alice, room):
    plan, rows = rows_of(alice, room, "skin_rejuvenation", [{"skin_elasticity": "0.40"}, {"skin_elasticity": "0.45"}])
    chart = render(rows["skin_elasticity"], language="tr", sessions_planned=plan.sessions_planned)
    assert "Seans" in texts(chart.svg)  # the x axis
    assert "0,40" in texts(chart.svg) and "0,40" in chart.alt  # decimal comma
    assert chart.alt.startswith("Cilt elastikiyeti")
    assert [line.value for line in chart.table] == ["0,40 R2", "0,45 R2"]
