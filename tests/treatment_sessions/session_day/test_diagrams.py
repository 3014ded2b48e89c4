"""The body diagrams: safe to inline under the strict CSP, in step with their registry, every
region a vocabulary area, every protocol's areas drawable, and regions that tile (a tap lands in
exactly one region, and none is missing where injections go)."""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.utils import translation
from django.utils.safestring import SafeString
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from mesoclinic.treatment_sessions.models import InjectionPoint
from mesoclinic.treatment_sessions.session_day.diagrams import (
    AREA_PARENTS,
    DIAGRAMS,
    area_at,
    diagram,
    diagrams_for_areas,
    svg_markup,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DIAGRAM_DIR = Path(settings.BASE_DIR) / "static" / "img" / "diagrams"
CODES = list(DIAGRAMS)

# What a diagram may contain: line art and its names. No scripts, no styles, no links, no
# images, nothing that fetches or runs.
ELEMENTS = {"svg", "title", "g", "path", "circle"}
ATTRIBUTES = {
    "svg": {"viewBox", "class", "data-diagram", "role", "aria-label"},
    "title": set(),
    "g": {
        "class",
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-dasharray",
        "stroke-linecap",
        "stroke-linejoin",
        "pointer-events",
    },
    "path": {"d", "id", "class", "data-area"},
    "circle": {"cx", "cy", "r"},
}
GROUPS = {"regions", "boundaries", "context", "outline", "detail"}


def vocabulary():
    return yaml.safe_load((FIXTURES / "vocabulary.yaml").read_text())


def area_terms():
    return {row["fields"]["code"]: row["fields"] for row in vocabulary() if row["fields"]["kind"] == "area"}


def parse(code):
    return ET.parse(DIAGRAM_DIR / f"{code}.svg").getroot()


def regions_of(root):
    return [el for el in root.iter(f"{SVG_NS}path") if el.get("id", "").startswith("region-")]


# --- Geometry for the tiling checks: our paths use only absolute M, L, C and Z ---------------

PATH_TOKEN = re.compile(r"[MLCZ]|-?\d+(?:\.\d+)?")


def polygon(d, steps=12):
    """The path as a polygon, its curves cut into `steps` straight pieces each."""
    assert set(re.findall(r"[A-Za-z]", d)) <= {"M", "L", "C", "Z"}, d[:40]
    tokens = PATH_TOKEN.findall(d)
    points, here, i = [], None, 0
    while i < len(tokens):
        command = tokens[i]
        if command == "Z":
            i += 1
            continue
        if command in ("M", "L"):
            here = (float(tokens[i + 1]), float(tokens[i + 2]))
            points.append(here)
            i += 3
        elif command == "C":
            c1, c2, end = ((float(tokens[i + k]), float(tokens[i + k + 1])) for k in (1, 3, 5))
            for step in range(1, steps + 1):
                t = step / steps
                u = 1 - t
                points.append(
                    tuple(
                        u**3 * here[a] + 3 * u * u * t * c1[a] + 3 * u * t * t * c2[a] + t**3 * end[a] for a in (0, 1)
                    )
                )
            here = end
            i += 7
        else:
            raise AssertionError(f"unexpected path command {command}")
    return points


def contains(poly, x, y):
    inside = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


SCALE = 5  # pixels per diagram unit


def mask(poly, size, *, edge=False):
    image = Image.new("L", size, 0)
    corners = [(x * SCALE, y * SCALE) for x, y in poly]
    draw = ImageDraw.Draw(image)
    draw.polygon(corners, fill=1)
    if edge:  # the rasteriser's fill alone can leave out a pixel on an edge two polygons share
        draw.line([*corners, corners[0]], fill=1, width=1)
    return image


# --- The files -------------------------------------------------------------------------------


def test_there_is_a_drawing_for_every_diagram_and_no_other():
    assert sorted(path.stem for path in DIAGRAM_DIR.glob("*.svg")) == sorted(CODES)
    assert CODES[:3] == ["face_front", "face_left", "face_right"]


@pytest.mark.parametrize("code", CODES)
def test_the_drawing_has_the_declared_size_and_names(code):
    drawn = DIAGRAMS[code]
    root = parse(code)
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("viewBox") == f"0 0 100 {drawn.height}"
    assert drawn.file == f"img/diagrams/{code}.svg"
    assert root.get("role") == "img"
    with translation.override("en"):
        assert root.get("aria-label") == str(drawn.title)
        assert root[0].tag == f"{SVG_NS}title" and root[0].text == str(drawn.title)
    assert "diagram" in root.get("class").split()


@pytest.mark.parametrize("code", CODES)
def test_the_drawing_holds_only_line_art_and_names(code):
    """Nothing a strict CSP would refuse or that could run or fetch: no script, no style
    (element or attribute), no event handlers, no links or images."""
    text = (DIAGRAM_DIR / f"{code}.svg").read_text()
    assert "<!" not in text and "<?" not in text  # no doctype, entities or processing instructions
    for el in parse(code).iter():
        name = el.tag.removeprefix(SVG_NS)
        assert el.tag.startswith(SVG_NS), el.tag
        assert name in ELEMENTS, name
        for attribute in el.attrib:
            assert not attribute.startswith("on"), attribute
            assert "href" not in attribute and attribute != "style", attribute
            assert attribute in ATTRIBUTES[name], f"{name} {attribute}"
        if name == "g":
            assert el.get("class") in GROUPS
            if el.get("class") != "regions":
                assert el.get("pointer-events") == "none"  # lines never take a tap from a region
        if name == "path" and el.get("id"):
            assert el.get("class") == "region"


def test_every_diagram_fits_where_marks_are_stored():
    """A chart stores a mark's y up to what InjectionPoint's check allows: a region lower than
    that could be tapped but never saved."""
    (check,) = [c for c in InjectionPoint._meta.constraints if c.name == "point_inside_its_diagram"]
    lowest = dict(check.condition.children)["y__lte"]
    assert all(drawn.height <= lowest for drawn in DIAGRAMS.values())


def test_lines_are_drawn_alike_in_every_diagram():
    """The same kind of line has the same stroke in every diagram (all are 100 units across,
    so they show at the same width side by side)."""
    seen = {}
    for code in CODES:
        for group in parse(code).iter(f"{SVG_NS}g"):
            style = {k: v for k, v in group.attrib.items() if k != "class"}
            seen.setdefault(group.get("class"), {})[code] = style
    for kind, by_code in seen.items():
        styles = {tuple(sorted(style.items())) for style in by_code.values()}
        assert len(styles) == 1, f"{kind} drawn differently: {by_code}"
    assert seen["outline"]["face_front"]["stroke-width"] == "0.6"
    assert set(seen["regions"]) == set(CODES)


# --- Regions and the registry ----------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_regions_are_the_registrys(code):
    drawn = DIAGRAMS[code]
    found = regions_of(parse(code))
    ids = [el.get("id") for el in found]
    assert len(ids) == len(set(ids))
    assert {el.get("id"): el.get("data-area") for el in found} == drawn.regions
    assert ids == list(drawn.regions)  # the keyboard list follows the drawing's order
    with translation.override("en"):
        assert {el.get("id"): el.find(f"{SVG_NS}title").text for el in found} == {
            rid: str(title) for rid, title in drawn.region_titles.items()
        }
    assert set(drawn.anchors) == set(drawn.regions)


def test_region_ids_are_unique_across_diagrams():
    """Two diagrams inlined on one page must not share an element id."""
    ids = [rid for drawn in DIAGRAMS.values() for rid in drawn.regions]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"region-[a-z0-9]+(-[a-z0-9]+)*", rid) for rid in ids)


@pytest.mark.parametrize("code", CODES)
def test_every_region_is_an_area_of_the_vocabulary(code):
    areas = area_terms()
    drawn = DIAGRAMS[code]
    assert set(drawn.regions.values()) <= set(areas)
    assert drawn.default_area in areas
    assert drawn.default_area in drawn.regions.values()
    assert all(areas[area]["is_selectable"] for area in drawn.areas)


def test_every_area_a_protocol_uses_can_be_marked():
    protocols = yaml.safe_load((FIXTURES / "protocols.yaml").read_text())
    used = {area for row in protocols for _kind, area in row["fields"]["areas"]}
    drawn = {area for d in DIAGRAMS.values() for area in d.regions.values()}
    assert used, "protocols name their areas"
    assert used - drawn == set()
    for area in used:
        assert diagrams_for_areas([area]), area


def test_the_area_parents_are_the_vocabularys():
    parents = {
        code: fields["parents"][0][1]
        for code, fields in area_terms().items()
        if fields["parents"] and fields["parents"][0][0] == "area"
    }
    assert parents == AREA_PARENTS


def test_area_at_names_the_regions_area():
    assert area_at("face_front", "region-forehead") == "face"
    assert area_at("face_front", "forehead") == "face"
    assert area_at("face_front", "region-submental") == "submental"
    assert area_at("arms", "region-hand-left") == "hands"
    assert area_at("arms", "region-elbow-right") == "joints"
    assert area_at("abdomen", "region-flank-right") == "hips"
    assert area_at("knees", "region-kneecap-left") == "knee"
    assert area_at("face_front", "region-hand-left") is None  # another diagram's region
    assert area_at("face_front", "") is None
    assert area_at("no_such_diagram", "region-forehead") is None
    assert diagram("scalp").default_area == "scalp"
    assert diagram("no_such_diagram") is None


def test_the_diagrams_for_a_plans_areas():
    codes = [d.code for d in diagrams_for_areas(["face", "neck"])]
    assert codes[:4] == ["face_front", "face_left", "face_right", "neck_decollete"]
    assert "abdomen" not in codes and "knees" not in codes
    assert [d.code for d in diagrams_for_areas(["scalp"])] == ["scalp"]
    # A broader area asks for the narrower ones: the knees first (their own area), then the
    # diagrams with an elbow, a shoulder or a knee among their regions.
    joints = [d.code for d in diagrams_for_areas(["joints"])]
    assert joints[0] == "knees" and {"arms", "thighs"} <= set(joints)
    assert [d.code for d in diagrams_for_areas(["hips"])] == ["abdomen", "buttocks_hips"]
    assert [d.code for d in diagrams_for_areas(["submental"])][:3] == ["face_front", "face_left", "face_right"]
    assert diagrams_for_areas([]) == []
    assert diagrams_for_areas(["not_an_area"]) == []


# --- The regions tile ------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_regions_tile_without_gaps_or_overlaps(code):
    """Drawn at five pixels a unit: no two regions share more than their common edge, and no
    spot walled in by regions belongs to none (a gap a tap would fall through)."""
    drawn = DIAGRAMS[code]
    size = (100 * SCALE + 1, drawn.height * SCALE + 1)
    polygons = {el.get("id"): polygon(el.get("d")) for el in regions_of(parse(code))}
    union = Image.new("L", size, 0)
    cover = Image.new("L", size, 0)
    for rid, poly in polygons.items():
        assert all(0 <= x <= 100 and 0 <= y <= drawn.height for x, y in poly), rid
        filled = mask(poly, size)
        assert filled.histogram()[1] > 30 * SCALE * SCALE, f"{rid} is too small to tap"
        union = ImageChops.lighter(union, mask(poly, size, edge=True))
        # Shrunk by a pixel, neighbours no longer meet on their shared edge: what is left
        # covered twice is a real overlap.
        cover = ImageChops.add(cover, filled.filter(ImageFilter.MinFilter(3)))
    assert cover.histogram()[2:] == [0] * 254, "regions overlap"
    # Holes: paint the outside from a frame around the drawing; what stays unpainted and
    # uncovered is walled in by regions.
    framed = Image.new("L", (size[0] + 2, size[1] + 2), 0)
    framed.paste(union, (1, 1))
    ImageDraw.floodfill(framed, (0, 0), 2)
    assert framed.histogram()[0] == 0, "a gap between regions"


@pytest.mark.parametrize("code", CODES)
def test_each_anchor_lies_in_its_own_region(code):
    drawn = DIAGRAMS[code]
    polygons = {el.get("id"): polygon(el.get("d")) for el in regions_of(parse(code))}
    for rid, (x, y) in drawn.anchors.items():
        assert [other for other, poly in polygons.items() if contains(poly, x, y)] == [rid]


# --- Inline markup ---------------------------------------------------------------------------


def test_svg_markup_is_the_file_safe_for_a_page():
    with translation.override("en"):
        markup = svg_markup("face_front")
    assert isinstance(markup, SafeString)
    assert str(markup) == (DIAGRAM_DIR / "face_front.svg").read_text().strip()
    assert ET.fromstring(str(markup)).get("viewBox") == "0 0 100 100"


def test_svg_markup_speaks_the_readers_language():
    """The titles a screen reader or a tooltip gives follow the active language, on the
    diagram and on each region."""
    with translation.override("tr"):
        root = ET.fromstring(str(svg_markup("arms")))
        expected = {rid: str(title) for rid, title in DIAGRAMS["arms"].region_titles.items()}
    assert root.get("aria-label") == "Kollar" and root[0].text == "Kollar"
    assert {el.get("id"): el.find(f"{SVG_NS}title").text for el in regions_of(root)} == expected
    with translation.override("en"):
        assert ET.fromstring(str(svg_markup("arms"))).get("aria-label") == "Arms"
