"""photos.alignment: a known similarity is recovered from landmarks, and the redrawn later
photo puts the landmarks back on the baseline's, within a pixel."""

import io
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw
from skimage.transform import SimilarityTransform

from mesoclinic.treatment_sessions.photos import alignment

SIZE = (640, 480)
# The landmarks: distinct colours, so each can be found again after the warp.
DOTS = {(230, 30, 30): (200.0, 180.0), (30, 200, 30): (430.0, 170.0), (40, 60, 230): (320.0, 330.0)}
RADIUS = 9


def picture(size, dots, background=(180, 150, 130)):
    """A skin-toned picture with the coloured dots at `dots` ({colour: (x, y)})."""
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    for colour, (x, y) in dots.items():
        draw.ellipse((x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS), fill=colour)
    return image


def centre(image, colour, tolerance=60):
    """The centroid of the pixels close to `colour`."""
    pixels = np.asarray(image).astype(int)
    near = np.abs(pixels - np.array(colour)).sum(axis=2) < tolerance
    ys, xs = np.nonzero(near)
    assert len(xs) > 50, f"dot {colour} not found"
    return float(xs.mean()), float(ys.mean())


def stored(image, name):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    saved = default_storage.save(f"test/{name}.jpg", ContentFile(out.getvalue()))
    return SimpleNamespace(image=default_storage.open(saved).file and FileOf(saved), width=image.width, height=image.height)


class FileOf:
    """Enough of a FieldFile for alignment._open: open('rb')."""

    def __init__(self, name):
        self.name = name

    def open(self, mode="rb"):
        return default_storage.open(self.name, mode)


def pair(scale, degrees, shift, later_size=SIZE, darker=1.0):
    """A baseline and a later picture whose later->baseline map is the given similarity."""
    known = SimilarityTransform(scale=scale, rotation=math.radians(degrees), translation=shift)
    later_dots = {colour: tuple(known.inverse(np.array([point]))[0]) for colour, point in DOTS.items()}
    baseline = picture(SIZE, DOTS)
    later = picture(later_size, later_dots, background=tuple(int(c * darker) for c in (180, 150, 130)))
    return baseline, later, later_dots


@pytest.mark.parametrize(
    ("scale", "degrees", "shift"),
    [(1.0, 0.0, (0.0, 0.0)), (1.25, 12.0, (-30.0, 25.0)), (0.8, -7.5, (40.0, -15.0))],
)
def test_the_fit_recovers_a_known_similarity(scale, degrees, shift):
    _, _, later_dots = pair(scale, degrees, shift)
    result = alignment.fit(list(DOTS.values()), list(later_dots.values()), baseline_size=SIZE, later_size=SIZE)
    assert result.scale == pytest.approx(scale, abs=1e-6)
    assert result.rotation_degrees == pytest.approx(degrees, abs=1e-6)
    assert (result.shift_x, result.shift_y) == pytest.approx(shift, abs=1e-6)
    assert result.residual_px < 1e-6
    assert len(result.matrix) == 3 and result.matrix[2] == pytest.approx((0, 0, 1))


def test_two_landmarks_are_enough():
    _, _, later_dots = pair(1.1, 5.0, (10.0, -4.0))
    two = list(DOTS.values())[:2]
    result = alignment.fit(two, list(later_dots.values())[:2])
    assert (result.scale, result.rotation_degrees) == pytest.approx((1.1, 5.0), abs=1e-6)


def test_the_residual_reports_inconsistent_landmarks():
    _, _, later_dots = pair(1.0, 0.0, (0.0, 0.0))
    points = [list(p) for p in later_dots.values()]
    points[2][1] += 30  # the nose tip clicked 30 px too low
    assert alignment.fit(list(DOTS.values()), points).residual_px > 5


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scale", "degrees", "shift", "later_size"),
    [(1.2, 10.0, (-25.0, 20.0), SIZE), (0.9, -6.0, (30.0, 10.0), (720, 560))],
)
def test_the_aligned_later_photo_puts_the_landmarks_on_the_baselines(scale, degrees, shift, later_size):
    baseline, later, later_dots = pair(scale, degrees, shift, later_size=later_size, darker=0.7)
    result = alignment.fit(list(DOTS.values()), list(later_dots.values()))
    record = SimpleNamespace(
        baseline=stored(baseline, "baseline"),
        later=stored(later, "later"),
        scale=result.scale,
        rotation_degrees=result.rotation_degrees,
        shift_x=result.shift_x,
        shift_y=result.shift_y,
    )
    aligned = alignment.aligned_later(record)
    assert aligned.size == baseline.size  # cropped or padded to the baseline's frame
    for colour, point in DOTS.items():
        assert math.dist(centre(aligned, colour), point) < 1.0
    # Exposure matched: the darker later background comes out as light as the baseline's.
    background = np.asarray(aligned)[20:60, 20:60].reshape(-1, 3).mean(axis=0)
    assert background == pytest.approx((180, 150, 130), abs=8)

    base_jpeg, later_jpeg = alignment.pair_jpegs(record, max_width=320)
    small_base, small_later = Image.open(io.BytesIO(base_jpeg)), Image.open(io.BytesIO(later_jpeg))
    assert small_base.size == small_later.size == (320, 240)
    for colour, point in DOTS.items():
        assert math.dist(centre(small_later, colour), (point[0] / 2, point[1] / 2)) < 1.0


@pytest.mark.django_db
def test_a_twelve_megapixel_pair_is_quick():
    size = (4000, 3000)
    big = {colour: (x * 6, y * 6) for colour, (x, y) in DOTS.items()}
    baseline = picture(size, big)
    later = picture(size, {c: (x + 40, y - 30) for c, (x, y) in big.items()})
    record = SimpleNamespace(
        baseline=stored(baseline, "big-baseline"),
        later=stored(later, "big-later"),
        scale=1.0,
        rotation_degrees=0.0,
        shift_x=-40.0,
        shift_y=30.0,
    )
    started = time.perf_counter()
    aligned = alignment.aligned_jpeg(record)
    seconds = time.perf_counter() - started
    print(f"12 MP aligned in {seconds:.2f} s")
    image = Image.open(io.BytesIO(aligned))
    assert max(image.size) == alignment.WORK_SIDE
    assert seconds < 3.0


# --- Landmarks refused, each with its own message --------------------------------------------

GOOD = [[100, 100], [300, 100]]


@pytest.mark.parametrize(
    ("baseline", "later", "message"),
    [
        ([[100, 100]], [[100, 100]], "at least two landmarks"),
        ([], [], "at least two landmarks"),
        (GOOD, [[100, 100]], "2 on the baseline, 1 on the later"),
        (GOOD + [[200, 300], [50, 50]], GOOD + [[200, 300], [50, 50]], "at most three"),
        ([[100, 100], [101, 101]], GOOD, "same spot"),
        (GOOD, [[100, 100], [100, 100]], "same spot"),
        ([[100, 100], [700, 100]], GOOD, "outside the photo"),
        ([[-1, 100], [300, 100]], GOOD, "outside the photo"),
        ([["a", 100], [300, 100]], GOOD, "must be numbers"),
        ([[float("nan"), 100], [300, 100]], GOOD, "must be numbers"),
        ([[1e400, 100], [300, 100]], GOOD, "must be numbers"),
        ([[100], [300, 100]], GOOD, "needs an x and a y"),
        ("100,100", GOOD, "list of x, y pairs"),
    ],
)
def test_bad_landmarks_are_refused_clearly(baseline, later, message):
    with pytest.raises(ValidationError) as error:
        alignment.fit(baseline, later, baseline_size=SIZE, later_size=SIZE)
    assert message in " ".join(error.value.messages)
