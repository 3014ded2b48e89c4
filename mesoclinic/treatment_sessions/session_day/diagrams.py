"""The body diagrams a practitioner marks injections on (issue 17): which there are, what each
region of each is, and the drawing itself for pages and PDFs.

Each diagram is an SVG drawn for the project, `static/img/diagrams/<code>.svg`, in diagram
units: x from 0 to 100 across, y from 0 down to its `height` (100 unless the body part is
taller than wide). A chart's points are stored in those units, so they stay where they were
put whatever size a screen or a sheet shows the drawing at.

Every place one injects is a closed `<path id="region-<name>" class="region" data-area="...">`
carrying its area's vocabulary code; the regions of a drawing tile the skin there without gaps
or overlaps, so a tap lands in exactly one. The registry repeats each region's area, title
(translatable) and an anchor (a point well inside it, for points added from the keyboard list)
so that nothing on the server has to read SVG; the tests hold the two in step.

Sides are always the patient's: in front views the patient's right is on the viewer's left; in
the back views, and on the scalp seen from above with the face at the top, it is on the
viewer's right.
"""

import re
from dataclasses import dataclass, field
from functools import cache

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# Areas of the vocabulary that are part of a broader one (screening.Term parents, held in step
# with fixtures/vocabulary.yaml by the tests): a plan for "joints" wants the knees and elbows.
AREA_PARENTS = {"submental": "face", "knee": "joints", "shoulder": "joints"}


@dataclass(frozen=True)
class Diagram:
    code: str
    title: str  # lazy: in the reader's language
    file: str  # static path
    default_area: str  # for a mark outside every region (the JS and the map reader use it)
    height: int = 100
    regions: dict = field(default_factory=dict)  # SVG id ("region-forehead") -> area code
    region_titles: dict = field(default_factory=dict)  # SVG id -> lazy title
    anchors: dict = field(default_factory=dict)  # SVG id -> (x, y) inside the region

    @property
    def areas(self):
        """The area codes one can mark on this diagram."""
        return {*self.regions.values(), self.default_area}


def _drawn(code, title, *, default_area, regions, height=100):
    return Diagram(
        code=code,
        title=title,
        file=f"img/diagrams/{code}.svg",
        default_area=default_area,
        height=height,
        regions={rid: area for rid, area, _title, _anchor in regions},
        region_titles={rid: title for rid, _area, title, _anchor in regions},
        anchors={rid: anchor for rid, _area, _title, anchor in regions},
    )


_ALL = (
    _drawn(
        "face_front",
        _("Face (front)"),
        default_area="face",
        regions=(
            ("region-forehead", "face", _("Forehead"), (50, 29.3)),
            ("region-temple-right", "face", _("Right temple"), (23.9, 34)),
            ("region-periorbital-right", "face", _("Around the right eye"), (36.2, 44.5)),
            ("region-cheek-right", "face", _("Right cheek"), (31.9, 58.8)),
            ("region-jawline-right", "face", _("Right jawline"), (31.9, 73.4)),
            ("region-temple-left", "face", _("Left temple"), (76.1, 34)),
            ("region-periorbital-left", "face", _("Around the left eye"), (63.8, 44.5)),
            ("region-cheek-left", "face", _("Left cheek"), (68.1, 58.8)),
            ("region-jawline-left", "face", _("Left jawline"), (68.1, 73.4)),
            ("region-nose", "face", _("Nose"), (50, 50.5)),
            ("region-perioral", "face", _("Around the mouth"), (50, 67.3)),
            ("region-chin", "face", _("Chin"), (50, 79.5)),
            ("region-submental", "submental", _("Under the chin"), (50, 87.5)),
        ),
    ),
    _drawn(
        "face_left",
        _("Face (left side)"),
        default_area="face",
        regions=(
            ("region-profile-left-forehead", "face", _("Forehead"), (32.6, 27.6)),
            ("region-profile-left-temple", "face", _("Left temple"), (43.2, 34.3)),
            ("region-profile-left-periorbital", "face", _("Around the left eye"), (31.8, 43.7)),
            ("region-profile-left-nose", "face", _("Nose"), (25.1, 53.4)),
            ("region-profile-left-cheek", "face", _("Left cheek"), (43.6, 58.9)),
            ("region-profile-left-perioral", "face", _("Around the mouth"), (27, 66.1)),
            ("region-profile-left-chin", "face", _("Chin"), (29.7, 79.3)),
            ("region-profile-left-jawline", "face", _("Left jawline"), (41.1, 80.7)),
            ("region-profile-left-submental", "submental", _("Under the chin"), (41.6, 86.4)),
            ("region-profile-left-neck", "neck", _("Left side of the neck"), (67, 82)),
        ),
    ),
    _drawn(
        "face_right",
        _("Face (right side)"),
        default_area="face",
        regions=(
            ("region-profile-right-forehead", "face", _("Forehead"), (67.4, 27.6)),
            ("region-profile-right-temple", "face", _("Left temple"), (56.8, 34.3)),
            ("region-profile-right-periorbital", "face", _("Around the right eye"), (68.2, 43.7)),
            ("region-profile-right-nose", "face", _("Nose"), (74.9, 53.4)),
            ("region-profile-right-cheek", "face", _("Left cheek"), (56.4, 58.9)),
            ("region-profile-right-perioral", "face", _("Around the mouth"), (73, 66.1)),
            ("region-profile-right-chin", "face", _("Chin"), (70.3, 79.3)),
            ("region-profile-right-jawline", "face", _("Left jawline"), (58.9, 80.7)),
            ("region-profile-right-submental", "submental", _("Under the chin"), (58.4, 86.4)),
            ("region-profile-right-neck", "neck", _("Left side of the neck"), (33, 82)),
        ),
    ),
    _drawn(
        "scalp",
        _("Scalp (from above)"),
        default_area="scalp",
        regions=(
            ("region-scalp-frontal", "scalp", _("Front of the scalp"), (50, 29.9)),
            ("region-scalp-midscalp", "scalp", _("Middle of the scalp"), (50, 46.3)),
            ("region-scalp-crown", "scalp", _("Crown"), (50, 64.6)),
            ("region-scalp-occipital", "scalp", _("Back of the scalp"), (50, 82.1)),
            ("region-scalp-temporal-right", "scalp", _("Right temple (scalp)"), (72.2, 34.9)),
            ("region-scalp-parietal-right", "scalp", _("Right side of the scalp"), (70.4, 54.4)),
            ("region-scalp-temporal-left", "scalp", _("Left temple (scalp)"), (27.7, 34.9)),
            ("region-scalp-parietal-left", "scalp", _("Left side of the scalp"), (29.6, 54.4)),
        ),
    ),
    _drawn(
        "neck_decollete",
        _("Neck and décolleté"),
        default_area="neck",
        regions=(
            ("region-neck-submental", "submental", _("Under the chin"), (50, 21.2)),
            ("region-neck-front", "neck", _("Front of the neck"), (50, 35.6)),
            ("region-decollete-center", "decollete", _("Middle of the décolleté"), (50, 66.8)),
            ("region-neck-right", "neck", _("Right side of the neck"), (38.7, 34.4)),
            ("region-decollete-right", "decollete", _("Right side of the décolleté"), (29.9, 62.3)),
            ("region-neck-left", "neck", _("Left side of the neck"), (61.3, 34.4)),
            ("region-decollete-left", "decollete", _("Left side of the décolleté"), (70.1, 62.3)),
        ),
    ),
    _drawn(
        "abdomen",
        _("Abdomen"),
        default_area="abdomen",
        regions=(
            ("region-abdomen-upper-right", "abdomen", _("Upper abdomen, right"), (39.4, 29.4)),
            ("region-abdomen-lower-right", "abdomen", _("Lower abdomen, right"), (35.8, 71.7)),
            ("region-flank-right", "hips", _("Right flank"), (29.1, 46.9)),
            ("region-abdomen-upper-left", "abdomen", _("Upper abdomen, left"), (60.6, 29.4)),
            ("region-abdomen-lower-left", "abdomen", _("Lower abdomen, left"), (64.2, 71.7)),
            ("region-flank-left", "hips", _("Left flank"), (70.9, 46.9)),
        ),
    ),
    _drawn(
        "arms",
        _("Arms"),
        default_area="arms",
        regions=(
            ("region-shoulder-right", "shoulder", _("Right shoulder"), (27.2, 20.7)),
            ("region-upper-arm-outer-right", "arms", _("Right upper arm, outer side"), (22.2, 36.5)),
            ("region-upper-arm-inner-right", "arms", _("Right upper arm, inner side"), (28.9, 36.3)),
            ("region-elbow-right", "joints", _("Right elbow"), (23.7, 48.5)),
            ("region-forearm-right", "arms", _("Right forearm"), (21.3, 64.6)),
            ("region-hand-right", "hands", _("Back of the right hand"), (19.9, 85.8)),
            ("region-shoulder-left", "shoulder", _("Left shoulder"), (72.8, 20.7)),
            ("region-upper-arm-outer-left", "arms", _("Left upper arm, outer side"), (77.8, 36.5)),
            ("region-upper-arm-inner-left", "arms", _("Left upper arm, inner side"), (71.1, 36.3)),
            ("region-elbow-left", "joints", _("Left elbow"), (76.3, 48.5)),
            ("region-forearm-left", "arms", _("Left forearm"), (78.7, 64.6)),
            ("region-hand-left", "hands", _("Back of the left hand"), (80.1, 85.8)),
        ),
    ),
    _drawn(
        "thighs",
        _("Thighs and legs"),
        default_area="thighs",
        regions=(
            ("region-thigh-front-outer-right", "thighs", _("Right thigh, outer side"), (13.8, 21.4)),
            ("region-thigh-front-right", "thighs", _("Right thigh, front"), (20.2, 27.5)),
            ("region-thigh-inner-right", "thighs", _("Right thigh, inner side"), (26.2, 29.6)),
            ("region-knee-front-right", "knee", _("Right knee, front"), (21.4, 49.4)),
            ("region-shin-right", "legs", _("Right shin"), (21.1, 69.7)),
            ("region-thigh-front-outer-left", "thighs", _("Left thigh, outer side"), (43.1, 21.4)),
            ("region-thigh-front-left", "thighs", _("Left thigh, front"), (36.7, 27.5)),
            ("region-thigh-inner-left", "thighs", _("Left thigh, inner side"), (30.7, 29.6)),
            ("region-knee-front-left", "knee", _("Left knee, front"), (35.5, 49.4)),
            ("region-shin-left", "legs", _("Left shin"), (35.8, 69.7)),
            ("region-thighs-buttock-right", "buttocks", _("Right buttock"), (80.6, 11.8)),
            ("region-thigh-back-outer-right", "thighs", _("Right thigh, back, outer side"), (84, 30.1)),
            ("region-thigh-back-inner-right", "thighs", _("Right thigh, back, inner side"), (76.4, 31.4)),
            ("region-knee-back-right", "knee", _("Back of the right knee"), (78.6, 49.4)),
            ("region-calf-right", "legs", _("Right calf"), (78.9, 69.7)),
            ("region-thighs-buttock-left", "buttocks", _("Left buttock"), (62.5, 11.8)),
            ("region-thigh-back-outer-left", "thighs", _("Left thigh, back, outer side"), (59.1, 30.1)),
            ("region-thigh-back-inner-left", "thighs", _("Left thigh, back, inner side"), (66.7, 31.4)),
            ("region-knee-back-left", "knee", _("Back of the left knee"), (64.5, 49.4)),
            ("region-calf-left", "legs", _("Left calf"), (64.2, 69.7)),
        ),
    ),
    _drawn(
        "buttocks_hips",
        _("Back, hips and buttocks"),
        default_area="buttocks",
        regions=(
            ("region-back-neck", "neck", _("Back of the neck"), (50, 4.3)),
            ("region-upper-back-right", "back", _("Upper back, right"), (64.9, 23.9)),
            ("region-lower-back-right", "back", _("Lower back, right"), (61.1, 50.5)),
            ("region-love-handle-right", "hips", _("Right flank (love handle)"), (72.3, 52.8)),
            ("region-hip-right", "hips", _("Right hip"), (75.2, 73.1)),
            ("region-buttock-right", "buttocks", _("Right buttock"), (62.4, 77.6)),
            ("region-upper-thigh-back-right", "thighs", _("Right thigh, back, below the buttock"), (67.9, 95.7)),
            ("region-upper-back-left", "back", _("Upper back, left"), (35.1, 23.9)),
            ("region-lower-back-left", "back", _("Lower back, left"), (38.9, 50.5)),
            ("region-love-handle-left", "hips", _("Left flank (love handle)"), (27.7, 52.8)),
            ("region-hip-left", "hips", _("Left hip"), (24.8, 73.1)),
            ("region-buttock-left", "buttocks", _("Left buttock"), (37.6, 77.6)),
            ("region-upper-thigh-back-left", "thighs", _("Left thigh, back, below the buttock"), (32.1, 95.7)),
        ),
    ),
    _drawn(
        "knees",
        _("Knees"),
        default_area="knee",
        regions=(
            ("region-knee-suprapatellar-right", "knee", _("Above the right kneecap"), (29.1, 27.4)),
            ("region-kneecap-right", "knee", _("Right kneecap"), (28.8, 41.2)),
            ("region-knee-infrapatellar-right", "knee", _("Below the right kneecap"), (28.8, 56.6)),
            ("region-knee-lateral-right", "knee", _("Right knee, outer side"), (17.5, 43.2)),
            ("region-knee-medial-right", "knee", _("Right knee, inner side"), (40.5, 42.8)),
            ("region-knee-suprapatellar-left", "knee", _("Above the left kneecap"), (70.9, 27.4)),
            ("region-kneecap-left", "knee", _("Left kneecap"), (71.2, 41.2)),
            ("region-knee-infrapatellar-left", "knee", _("Below the left kneecap"), (71.2, 56.6)),
            ("region-knee-lateral-left", "knee", _("Left knee, outer side"), (82.5, 43.2)),
            ("region-knee-medial-left", "knee", _("Left knee, inner side"), (59.5, 42.8)),
        ),
    ),
)

# In the order the chart offers them: the face first, then down the body.
DIAGRAMS = {diagram.code: diagram for diagram in _ALL}


def diagram(code):
    """The diagram drawn under `code`, or None for a code no longer (or never) drawn."""
    return DIAGRAMS.get(code)


def area_at(code, region_id):
    """The area code of a region of a diagram ("region-forehead" or just "forehead"), or None
    when the diagram or the region is unknown (the caller then falls back on default_area)."""
    found = DIAGRAMS.get(code)
    if found is None or not region_id:
        return None
    region_id = region_id if region_id.startswith("region-") else f"region-{region_id}"
    return found.regions.get(region_id)


def _broader(area):
    return {area, AREA_PARENTS[area]} if area in AREA_PARENTS else {area}


def diagrams_for_areas(area_codes):
    """The diagrams a plan's areas are marked on: those whose own area (default_area) is one of
    them first, then those with a region of one of them, each in the registry's order. An area
    asks for its narrower ones too ("joints": the knees and the elbows)."""
    wanted = set(area_codes)
    main, also = [], []
    for drawn in DIAGRAMS.values():
        if _broader(drawn.default_area) & wanted:
            main.append(drawn)
        elif any(_broader(area) & wanted for area in drawn.regions.values()):
            also.append(drawn)
    return main + also


@cache
def _source(code):
    """The SVG file's text, read once per process (from the collected files where the source
    folders are not deployed)."""
    path = finders.find(DIAGRAMS[code].file) or staticfiles_storage.path(DIAGRAMS[code].file)
    with open(path, encoding="utf-8") as svg:
        return svg.read().strip()


_REGION_TITLE = re.compile(r'(<path id="(region-[a-z0-9-]+)"[^>]*>)<title>[^<]*</title>')
_ROOT_TITLE = re.compile(r'(<svg\b[^>]*?aria-label=")[^"]*("[^>]*>\s*<title>)[^<]*(</title>)')


@cache
def _localized(code, language):
    drawn = DIAGRAMS[code]
    title = escape(str(drawn.title))

    def region(match):
        return f"{match[1]}<title>{escape(str(drawn.region_titles[match[2]]))}</title>"

    markup = _ROOT_TITLE.sub(lambda m: f"{m[1]}{title}{m[2]}{title}{m[3]}", _source(code), count=1)
    return _REGION_TITLE.sub(region, markup)


def svg_markup(code):
    """The diagram as inline SVG for a template or a PDF, its title and its regions' titles in
    the active language. Ours, read from our static files: safe to put in a page as it is."""
    return mark_safe(_localized(code, get_language()))
