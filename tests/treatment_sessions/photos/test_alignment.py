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
from PIL import Image
from skimage.transform import SimilarityTransform

from mesoclinic.treatment_sessions.photos import alignment

SIZE = (640, 480)
# The landmarks, in pixels from the photo's top-left corner as a click gives them, each its
# own colour so it can be found again after the warp.
DOTS = {(230, 30, 30): (200.0, 180.0), (30, 200, 30): (430.0, 170.0), (40, 60, 230): (320.0, 330.0)}
RADIUS = 9


def scene(x, y):
    """The photographed area at baseline coordinates (x, y): a smooth shaded background (a
    skin-like range of tones, so the histograms are those of a photo) and anti-aliased dots."""
    colour = np.stack([120 + 40 * x / SIZE[0], 110 + 40 * y / SIZE[1], 105 + 30 * (x + y) / sum(SIZE)], axis=-1)
    for dot, (dx, dy) in DOTS.items():
        cover = np.clip(RADIUS + 0.5 - np.hypot(x - dx, y - dy), 0, 1)[..., np.newaxis]
        colour = colour * (1 - cover) + np.array(dot, dtype=float) * cover
    return colour


def render(size, to_baseline=None, exposure=1.0):
    """The scene photographed into a picture of `size`; `to_baseline` maps its pixels (their
    centres) to baseline coordinates. `exposure` < 1: a darker photo."""
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]].astype(float) + 0.5
    if to_baseline is not None:
        mapped = to_baseline(np.column_stack([xs.ravel(), ys.ravel()]))
        xs, ys = mapped[:, 0].reshape(xs.shape), mapped[:, 1].reshape(ys.shape)
    return Image.fromarray(np.clip(np.rint(scene(xs, ys) * exposure), 0, 255).astype(np.uint8), "RGB")


def centre(image, colour, margin=70):
    """Where the dot of `colour` is, from the photo's corner: the centroid of the pixels whose
    strongest channel stands out. Matching the exposure shifts each channel but keeps the order
    of its values, so the red dot stays the reddest spot."""
    pixels = np.asarray(image).astype(int)
    channel = int(np.argmax(colour))
    others = np.delete(pixels, channel, axis=2).max(axis=2)
    near = pixels[..., channel] - others > margin
    ys, xs = np.nonzero(near)
    assert len(xs) > 20, f"dot {colour} not found"
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


class FileOf:
    """Enough of a FieldFile for alignment._open: open('rb')."""

    def __init__(self, name):
        self.name = name

    def open(self, mode="rb"):
        return default_storage.open(self.name, mode)


def stored(image, name):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    saved = default_storage.save(f"test/{name}.jpg", ContentFile(out.getvalue()))
    return SimpleNamespace(image=FileOf(saved), width=image.width, height=image.height)


def pair(scale, degrees, shift, later_size=SIZE, exposure=1.0):
    """A baseline and a later picture whose later -> baseline map is the given similarity."""
    known = SimilarityTransform(scale=scale, rotation=math.radians(degrees), translation=shift)
    later_dots = {colour: tuple(known.inverse(np.array([point]))[0]) for colour, point in DOTS.items()}
    return render(SIZE), render(later_size, known, exposure), later_dots


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
    baseline, later, later_dots = pair(scale, degrees, shift, later_size=later_size, exposure=0.7)
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
    # Exposure matched: the darker later photo comes out as light as the baseline.
    middle = (slice(200, 280), slice(250, 390))
    assert np.asarray(later).mean() < np.asarray(baseline).mean() - 30
    matched = np.asarray(aligned)[middle].reshape(-1, 3).mean(axis=0)
    assert matched == pytest.approx(np.asarray(baseline)[middle].reshape(-1, 3).mean(axis=0), abs=4)

    base_jpeg, later_jpeg = alignment.pair_jpegs(record, max_width=320)
    small_base, small_later = Image.open(io.BytesIO(base_jpeg)), Image.open(io.BytesIO(later_jpeg))
    assert small_base.size == small_later.size == (320, 240)
    for colour in DOTS:
        assert math.dist(centre(small_later, colour), centre(small_base, colour)) < 1.0


@pytest.mark.django_db
def test_a_twelve_megapixel_pair_is_quick():
    baseline = render(SIZE).resize((4000, 3000))
    later = render(SIZE, SimilarityTransform(rotation=math.radians(3), translation=(10, -5))).resize((4000, 3000))
    record = SimpleNamespace(
        baseline=stored(baseline, "big-baseline"),
        later=stored(later, "big-later"),
        scale=1.0,
        rotation_degrees=3.0,
        shift_x=10.0 * 6.25,
        shift_y=-5.0 * 6.25,
    )
    started = time.perf_counter()
    aligned = alignment.aligned_jpeg(record)
    seconds = time.perf_counter() - started
    print(f"12 MP aligned in {seconds:.2f} s")
    image = Image.open(io.BytesIO(aligned))
    assert max(image.size) == alignment.WORK_SIDE
    assert seconds < 5.0  # about 1 s here; generous for a loaded CI machine


# --- Landmarks refused, each with its own message --------------------------------------------

GOOD = [[100, 100], [300, 100]]


@pytest.mark.parametrize(
    ("baseline", "later", "message"),
    [
        ([[100, 100]], [[100, 100]], "at least two landmarks"),
        ([], [], "at least two landmarks"),
        (GOOD, [[100, 100]], "2 on the baseline, 1 on the later"),
        ([*GOOD, [200, 300], [50, 50]], [*GOOD, [200, 300], [50, 50]], "at most three"),
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
