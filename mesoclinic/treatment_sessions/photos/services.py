"""Session photos: the upload, checked and re-encoded, and thumbnails.

An upload is checked with Pillow (size, format, pixel count, a readable file) and then
re-encoded: turned upright from its EXIF orientation, converted to sRGB, and saved as a
new JPEG that carries no metadata at all (no GPS position, no camera, no date, no
thumbnail). The original bytes are never stored.

Photos are shown only while the plan's current consent includes the separate photo
consent; withdrawing consent hides them everywhere (the files stay, as clinical records).
"""

import contextlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from mesoclinic.plans.selectors import current_consent
from mesoclinic.treatment_sessions.models import PhotoAlignment, PhotoKind, SessionPhoto

from . import alignment
from .selectors import (
    CLOSED_SESSION,
    JPEG_QUALITY,
    MAX_FILES,
    MAX_PIXELS,
    NO_PHOTO_CONSENT,
    THUMBNAIL_SIZE,
    accepted_formats,
    accepted_label,
    max_megabytes,
    photos_refusal,
)

# --- Checking and re-encoding ----------------------------------------------------------------


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # a JPEG with no metadata
    width: int
    height: int


def clean_image(upload) -> CleanImage:
    """The upload as a new metadata-free sRGB JPEG, or ValidationError saying what is wrong."""
    name = getattr(upload, "name", "") or _("The photo")
    limit = settings.MESOCLINIC_PHOTO_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("%(name)s is larger than the %(limit)s limit for a photo.") % {"name": name, "limit": max_megabytes()}
        )
    formats = accepted_formats()
    unreadable = _("%(name)s could not be read as a %(formats)s image.") % {"name": name, "formats": accepted_label()}
    try:
        upload.seek(0)
        with Image.open(upload, formats=formats) as probe:
            _check_pixels(probe, name)
            probe.verify()
        # verify() leaves the image unusable: open it again to decode it.
        upload.seek(0)
        with Image.open(upload, formats=formats) as image:
            _check_pixels(image, name)
            image.load()
            return _reencode(image)
    except Image.DecompressionBombError:
        raise ValidationError(_too_many_pixels(name)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError, EOFError):
        raise ValidationError(unreadable) from None


def _too_many_pixels(name):
    return _("%(name)s has too many pixels (more than %(megapixels)d megapixels); export it smaller.") % {
        "name": name,
        "megapixels": MAX_PIXELS // 1_000_000,
    }


def _check_pixels(image, name):
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise ValidationError(_too_many_pixels(name))


def _reencode(image) -> CleanImage:
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    image = _to_rgb(image)
    if icc:
        image = _to_srgb(image, icc)
    # A new image holding only pixels: nothing from the original's info (EXIF, XMP, ICC,
    # comments) can travel with it.
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(out.getvalue(), clean.width, clean.height)


def _to_rgb(image):
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits before converting.
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert("RGB") if image.mode != "RGB" else image


def _to_srgb(image, icc):
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unreadable profile: keep the pixels as they are


# --- Writes ----------------------------------------------------------------------------------


def photos_upload(*, session, files, kind, caption="", area=None, by) -> list[SessionPhoto]:
    """Store `files` as `kind` photos of `area` at `session`: all of them, or none (ValidationError).

    `area`: one of the plan's areas (None: not recorded, as for photos from before areas were kept).
    """
    if kind not in PhotoKind.values:
        raise ValidationError({"kind": _("Choose before or after.")})
    if not files:
        raise ValidationError({"images": _("Choose at least one photo.")})
    if len(files) > MAX_FILES:
        raise ValidationError({"images": _("Upload at most %(count)d photos at once.") % {"count": MAX_FILES}})
    if session.status in CLOSED_SESSION:
        raise ValidationError(CLOSED_SESSION[session.status])
    caption = (caption or "").strip()
    if len(caption) > 120:
        raise ValidationError({"caption": _("Keep the caption under 120 characters.")})
    if photos_refusal(session):
        raise ValidationError(NO_PHOTO_CONSENT)
    if area is not None and not session.plan.areas.filter(pk=area.pk).exists():
        raise ValidationError({"area": _("Choose one of the plan's areas.")})

    # Check and re-encode everything first (slow, no transaction held), then store.
    encoded, problems = [], []
    for upload in files:
        try:
            encoded.append(clean_image(upload))
        except ValidationError as error:
            problems += error.messages
    if problems:
        raise ValidationError({"images": problems})
    return _store(session=session, encoded=encoded, kind=kind, caption=caption, area=area, by=by)


@transaction.atomic
def _store(*, session, encoded, kind, caption, area, by):
    # Lock the consent so a withdrawal cannot slip in between the check and the save.
    consent = current_consent(session.plan, for_update=True)
    if consent is None or not consent.photo_consent:
        raise ValidationError(NO_PHOTO_CONSENT)
    photos, stored = [], []
    try:
        for image in encoded:
            photo = SessionPhoto(
                session=session,
                patient_id=session.patient_id,
                kind=kind,
                caption=caption,
                area=area,
                uploaded_by=by,
            )
            # The name is random (photo_path); nothing of the uploaded file name is kept.
            photo.image.save("photo.jpg", ContentFile(image.data), save=False)
            photo.width, photo.height = image.width, image.height
            stored.append(photo.image.name)
            photo.save()
            photos.append(photo)
    except BaseException:
        _delete_files(stored)
        raise
    return photos


def _delete_files(names):
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


# --- Reads -----------------------------------------------------------------------------------


def thumbnail(photo) -> bytes:
    """A small JPEG of `photo` for lists (made on the fly, never stored)."""
    with photo.image.open("rb") as handle, Image.open(handle, formats=["JPEG"]) as image:
        image.draft("RGB", THUMBNAIL_SIZE)  # decode JPEGs at a reduced scale: fast
        image.thumbnail(THUMBNAIL_SIZE)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=80)
        return out.getvalue()


# --- Alignment -------------------------------------------------------------------------------

NOT_SAME_AREA = gettext_lazy("Compare photos of the same area: these two were taken of different areas.")


@transaction.atomic
def alignment_record(*, baseline, later, baseline_points, later_points, by) -> PhotoAlignment:
    """Keep how `later` lines up with `baseline` (the newest alignment of a pair is the one used).

    Both photos must be the same patient's, of the same area, different photos, and shown under
    consent now; the landmarks are checked and fitted by alignment.fit (ValidationError).
    """
    if baseline.pk == later.pk:
        raise ValidationError(_("Choose two different photos: a baseline and a later one."))
    if baseline.patient_id != later.patient_id:
        raise ValidationError(_("Both photos must be of the same patient."))
    if baseline.area_id != later.area_id:
        raise ValidationError(NOT_SAME_AREA)
    # Lock both consents so a withdrawal cannot slip in between the check and the save.
    for photo in (baseline, later):
        consent = current_consent(photo.session.plan, for_update=True)
        if consent is None or not consent.photo_consent:
            raise ValidationError(NO_PHOTO_CONSENT)
    result = alignment.fit(
        baseline_points,
        later_points,
        baseline_size=(baseline.width, baseline.height),
        later_size=(later.width, later.height),
    )
    return PhotoAlignment.objects.create(
        baseline=baseline,
        later=later,
        patient_id=baseline.patient_id,
        baseline_points=alignment.clean_points(baseline_points),
        later_points=alignment.clean_points(later_points),
        scale=result.scale,
        rotation_degrees=result.rotation_degrees,
        shift_x=result.shift_x,
        shift_y=result.shift_y,
        residual_px=result.residual_px,
        created_by=by,
    )
