"""Lining a later photo up with a baseline photo of the same area.

The practitioner clicks the same two or three landmarks (the eyes, the nose tip) on both
photos, in the same order. A similarity transform (scale, rotation, shift; no shear, so the
face is never distorted) maps the later photo's landmarks onto the baseline's; the later photo
is then redrawn in the baseline's frame, cropped or padded to the baseline's size, and its
exposure matched to the baseline's so a change of light does not read as a change of skin.

Points are in pixels of the stored images (SessionPhoto.width × height), x to the right and
y down, measured from the top-left corner of the photo, as a browser reports a click. Work is
done on the stored JPEGs, decoded at a reduced scale (JPEG draft mode) and drawn at most
WORK_SIDE pixels long, which is what a screen needs: a 12-megapixel pair aligns in about a
second.
"""

import io
import math
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from PIL import Image
from skimage.exposure import match_histograms
from skimage.transform import AffineTransform, SimilarityTransform, warp

MIN_POINTS, MAX_POINTS = 2, 3
# Landmarks closer than this on one photo cannot set a scale or an angle.
MIN_SEPARATION_PX = 5
# The longest side drawn for the compare page; the stored photo stays the record.
WORK_SIDE = 1280
PAD_GREY = 128  # the area the later photo does not cover: neutral, never mistaken for skin
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Fit:
    """A similarity transform from the later photo's pixels to the baseline's."""

    scale: float
    rotation_degrees: float
    shift_x: float
    shift_y: float
    residual_px: float  # mean distance left between matched landmarks (0 with two landmarks)
    matrix: tuple  # 3×3, rows, later (x, y, 1) -> baseline (x, y, 1)


def clean_points(points, *, size=None, which=""):
    """`points` as a list of [x, y] floats, or ValidationError saying what is wrong.

    `size` (width, height): refuse points outside the photo. `which` names the photo in messages.
    """
    if not isinstance(points, list | tuple):
        raise ValidationError(_("Landmarks on the %(which)s photo must be a list of x, y pairs.") % {"which": which})
    cleaned = []
    for number, point in enumerate(points, start=1):
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValidationError(
                _("Landmark %(number)d on the %(which)s photo needs an x and a y.") % {"number": number, "which": which}
            )
        try:
            x, y = float(point[0]), float(point[1])
        except (TypeError, ValueError, OverflowError):
            raise ValidationError(
                _("Landmark %(number)d on the %(which)s photo: x and y must be numbers.")
                % {"number": number, "which": which}
            ) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValidationError(
                _("Landmark %(number)d on the %(which)s photo: x and y must be numbers.")
                % {"number": number, "which": which}
            )
        if size is not None and not (0 <= x <= size[0] and 0 <= y <= size[1]):
            raise ValidationError(
                _(
                    "Landmark %(number)d on the %(which)s photo is outside the photo "
                    "(x from 0 to %(width)d, y from 0 to %(height)d)."
                )
                % {"number": number, "which": which, "width": size[0], "height": size[1]}
            )
        cleaned.append([x, y])
    return cleaned


def _check_spread(points, which):
    for i, first in enumerate(points):
        for second in points[i + 1 :]:
            if math.dist(first, second) < MIN_SEPARATION_PX:
                raise ValidationError(
                    _("Two landmarks on the %(which)s photo are on the same spot; click distinct points.")
                    % {"which": which}
                )


def fit(baseline_points, later_points, *, baseline_size=None, later_size=None) -> Fit:
    """The similarity transform mapping `later_points` onto `baseline_points` (2 or 3 pairs).

    ValidationError with one clear message per problem: too few or too many landmarks, counts
    that differ, landmarks on the same spot, landmarks outside the photo (when sizes are given).
    """
    which_baseline, which_later = pgettext("which photo", "baseline"), pgettext("which photo", "later")
    baseline = clean_points(baseline_points, size=baseline_size, which=which_baseline)
    later = clean_points(later_points, size=later_size, which=which_later)
    if len(baseline) != len(later):
        raise ValidationError(
            _("Mark the same landmarks on both photos: %(baseline)d on the baseline, %(later)d on the later one.")
            % {"baseline": len(baseline), "later": len(later)}
        )
    if len(baseline) < MIN_POINTS:
        raise ValidationError(_("Mark at least two landmarks on each photo (for example the two eyes)."))
    if len(baseline) > MAX_POINTS:
        raise ValidationError(_("Mark at most three landmarks on each photo."))
    _check_spread(baseline, which_baseline)
    _check_spread(later, which_later)
    source, target = np.array(later, dtype=float), np.array(baseline, dtype=float)
    transform = SimilarityTransform.from_estimate(source, target)
    if not transform:
        raise ValidationError(_("These landmarks do not define an alignment; click distinct points."))
    residual = float(np.mean(np.linalg.norm(transform(source) - target, axis=1)))
    shift_x, shift_y = (float(value) for value in transform.translation)
    return Fit(
        scale=float(transform.scale),
        rotation_degrees=math.degrees(float(transform.rotation)),
        shift_x=shift_x,
        shift_y=shift_y,
        residual_px=residual,
        matrix=tuple(tuple(float(value) for value in row) for row in transform.params),
    )


def matrix_of(alignment):
    """The stored alignment's transform (later -> baseline pixels), rebuilt from its fit."""
    return SimilarityTransform(
        scale=alignment.scale,
        rotation=math.radians(alignment.rotation_degrees),
        translation=(alignment.shift_x, alignment.shift_y),
    ).params


# --- Drawing -------------------------------------------------------------------------------


def _open(photo, longest):
    """The stored JPEG decoded as RGB, at a reduced scale when far larger than `longest`."""
    with photo.image.open("rb") as handle, Image.open(handle, formats=["JPEG"]) as image:
        width = image.width
        # draft() decodes at 1/2, 1/4 or 1/8 scale, never below the requested size: fast.
        image.draft("RGB", (longest, longest))
        rgb = image.convert("RGB")
        rgb.load()
    return rgb, width


def _fit_within(image, longest):
    if max(image.size) <= longest:
        return image
    ratio = longest / max(image.size)
    return image.resize(
        (max(1, round(image.width * ratio)), max(1, round(image.height * ratio))),
        Image.Resampling.LANCZOS,
        reducing_gap=2.0,
    )


def _shift(by):
    return np.array([[1.0, 0.0, by], [0.0, 1.0, by], [0.0, 0.0, 1.0]])


def _draw(alignment, longest):
    """(baseline, aligned later) as Pillow images of the same size, the baseline's longest side ≤ `longest`."""
    baseline, base_w = _open(alignment.baseline, longest)
    baseline = _fit_within(baseline, longest)
    later, later_w = _open(alignment.later, longest)
    out_scale = baseline.width / base_w  # drawn pixels per stored baseline pixel
    in_scale = later.width / later_w  # decoded pixels per stored later pixel
    # warp() wants the map from output pixels to input pixels: drawn baseline -> stored
    # baseline -> (inverse fit) stored later -> decoded later. Clicks measure from a pixel's
    # corner, skimage from its centre: half a pixel on each side of the chain.
    to_input = (
        _shift(-0.5)
        @ np.diag([in_scale, in_scale, 1.0])
        @ np.linalg.inv(matrix_of(alignment))
        @ np.diag([1 / out_scale, 1 / out_scale, 1.0])
        @ _shift(0.5)
    )
    source = np.asarray(later)
    warped = warp(
        source,
        AffineTransform(matrix=to_input),
        output_shape=(baseline.height, baseline.width),
        order=1,
        mode="constant",
        cval=-1.0,  # marks the pixels the later photo does not cover
        preserve_range=True,
    )
    covered = warped[..., 0] >= 0
    result = np.full(warped.shape, PAD_GREY, dtype=np.uint8)
    if covered.any():
        later_pixels = np.clip(np.rint(warped[covered]), 0, 255).astype(np.uint8)
        reference = np.asarray(baseline)[covered]
        # Exposure matched on the overlap only: the grey padding must not skew the histogram.
        matched = match_histograms(later_pixels[np.newaxis], reference[np.newaxis], channel_axis=-1)[0]
        result[covered] = np.clip(np.rint(matched), 0, 255).astype(np.uint8)
    return baseline, Image.fromarray(result, "RGB")


def aligned_later(alignment, *, longest=WORK_SIDE):
    """The later photo in the baseline's frame and size, exposure matched (a Pillow image)."""
    return _draw(alignment, longest)[1]


def jpeg_bytes(image, quality=JPEG_QUALITY) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def aligned_jpeg(alignment, *, longest=WORK_SIDE) -> bytes:
    """aligned_later() as JPEG bytes, for the photos:aligned view."""
    return jpeg_bytes(aligned_later(alignment, longest=longest))


def pair_jpegs(alignment, max_width=800) -> tuple[bytes, bytes]:
    """(baseline JPEG, aligned later JPEG), the same size, at most `max_width` pixels wide.

    For the progress report, which embeds both as data URIs in its PDF. The caller checks
    consent first (selectors.report_pair does); this only draws.
    """
    base_w, base_h = alignment.baseline.width or 1, alignment.baseline.height or 1
    # The longest side that makes the baseline at most max_width wide.
    longest = max(1, int(max_width * max(base_w, base_h) / base_w))
    baseline, later = _draw(alignment, longest)
    return jpeg_bytes(baseline), jpeg_bytes(later)
