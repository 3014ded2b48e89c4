"""Session photos: the upload form, the upload service, and the reads for pages.

An upload is checked with Pillow (size, format, pixel count, a readable file) and then
re-encoded: turned upright from its EXIF orientation, converted to sRGB, and saved as a
new JPEG that carries no metadata at all (no GPS position, no camera, no date, no
thumbnail). The original bytes are never stored.

Photos are shown only while the plan's current consent includes the separate photo
consent; withdrawing consent hides them everywhere (the files stay, as clinical records).
"""

import contextlib
import io
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from mesoclinic.plans.models import Consent
from mesoclinic.plans.services import current_consent

from .models import PhotoKind, SessionPhoto, SessionStatus

# Pillow format names we accept. HEIF (iPhone HEIC) only when a plugin such as
# pillow-heif has registered it; otherwise Pillow cannot read it and it is refused.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
MAX_PIXELS = 40_000_000  # about 40 megapixels; more is refused as a decompression bomb
JPEG_QUALITY = 90
MAX_FILES = 12
THUMBNAIL_SIZE = (480, 480)
NO_PHOTO_CONSENT = "The patient has not agreed to photos."
CLOSED_SESSION = {
    SessionStatus.CANCELLED: "This session was cancelled; photos belong to sessions that take place.",
    SessionStatus.NO_SHOW: "The patient did not come to this session; photos belong to sessions that take place.",
}


def accepted_formats():
    """The accepted formats Pillow can actually open here."""
    Image.init()
    return [name for name in ACCEPTED_FORMATS if name in Image.OPEN]


def accepted_label():
    names = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
    labels = [names[name] for name in accepted_formats()]
    return ", ".join(labels[:-1]) + " or " + labels[-1] if len(labels) > 1 else labels[0]


def max_megabytes():
    size = settings.MESOCLINIC_PHOTO_MAX_BYTES / (1024 * 1024)
    return f"{size:g} MB"


# --- The form --------------------------------------------------------------------------------


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files from one <input type="file" multiple>; Pillow checks them in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            files = [single(item, initial) for item in data if item]
            if not files and self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return files
        return [single(data, initial)] if data or self.required else []


class PhotoUploadForm(forms.Form):
    kind = forms.ChoiceField(label="Taken", choices=PhotoKind.choices, widget=forms.RadioSelect)
    images = MultipleImageField(
        label="Photos",
        help_text="",
        error_messages={"required": "Choose at least one photo."},
    )
    caption = forms.CharField(
        label="Caption",
        max_length=120,
        required=False,
        help_text="Optional, e.g. the area and the angle: “left thigh, side view”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images"].help_text = (
            f"{accepted_label()}; up to {max_megabytes()} each, up to {MAX_FILES} at once. "
            "Location and camera details are removed."
        )

    def clean_images(self):
        files = self.cleaned_data["images"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Upload at most {MAX_FILES} photos at once.")
        return files


# --- Checking and re-encoding ----------------------------------------------------------------


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # a JPEG with no metadata
    width: int
    height: int


def clean_image(upload) -> CleanImage:
    """The upload as a new metadata-free sRGB JPEG, or ValidationError saying what is wrong."""
    name = getattr(upload, "name", "") or "The photo"
    limit = settings.MESOCLINIC_PHOTO_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(f"{name} is larger than the {max_megabytes()} limit for a photo.")
    formats = accepted_formats()
    unreadable = f"{name} could not be read as a {accepted_label()} image."
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
    return f"{name} has too many pixels (more than {MAX_PIXELS // 1_000_000} megapixels); export it smaller."


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


# --- Consent ---------------------------------------------------------------------------------


def photos_refusal(session):
    """Why photos cannot be added to or shown for `session` (its plan's consent), or ''."""
    consent = current_consent(session.plan)
    if consent is None or not consent.photo_consent:
        return NO_PHOTO_CONSENT
    return ""


def photo_consent_plans(plan_ids=None, *, patient=None):
    """The plans (among `plan_ids`, or of `patient`) whose current consent includes photos.

    One query. A plan's current consent is its latest one not withdrawn (current_consent).
    """
    consents = Consent.objects.filter(withdrawn_at__isnull=True)
    consents = consents.filter(plan__patient=patient) if patient is not None else consents.filter(plan_id__in=plan_ids)
    current = {}
    for plan_id, photo_consent in consents.order_by("plan_id", "-signed_at", "-id").values_list(
        "plan_id", "photo_consent"
    ):
        current.setdefault(plan_id, photo_consent)
    return {plan_id for plan_id, allowed in current.items() if allowed}


def photo_viewable(photo):
    return not photos_refusal(photo.session)


# --- Writes ----------------------------------------------------------------------------------


def photos_upload(*, session, files, kind, caption="", by) -> list[SessionPhoto]:
    """Store `files` as `kind` photos of `session`: all of them, or none (ValidationError)."""
    if kind not in PhotoKind.values:
        raise ValidationError({"kind": "Choose before or after."})
    if not files:
        raise ValidationError({"images": "Choose at least one photo."})
    if len(files) > MAX_FILES:
        raise ValidationError({"images": f"Upload at most {MAX_FILES} photos at once."})
    if session.status in CLOSED_SESSION:
        raise ValidationError(CLOSED_SESSION[session.status])
    caption = (caption or "").strip()
    if len(caption) > 120:
        raise ValidationError({"caption": "Keep the caption under 120 characters."})
    if photos_refusal(session):
        raise ValidationError(NO_PHOTO_CONSENT)

    # Check and re-encode everything first (slow, no transaction held), then store.
    encoded, problems = [], []
    for upload in files:
        try:
            encoded.append(clean_image(upload))
        except ValidationError as error:
            problems += error.messages
    if problems:
        raise ValidationError({"images": problems})
    return _store(session=session, encoded=encoded, kind=kind, caption=caption, by=by)


@transaction.atomic
def _store(*, session, encoded, kind, caption, by):
    # Lock the consent so a withdrawal cannot slip in between the check and the save.
    consent = (
        Consent.objects.select_for_update()
        .filter(plan_id=session.plan_id, withdrawn_at__isnull=True)
        .order_by("-signed_at", "-id")
        .first()
    )
    if consent is None or not consent.photo_consent:
        raise ValidationError(NO_PHOTO_CONSENT)
    photos, stored = [], []
    try:
        for image in encoded:
            photo = SessionPhoto(
                session=session, patient_id=session.patient_id, kind=kind, caption=caption, uploaded_by=by
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


def session_photos_context(session, user):
    """The session page's photo section: the photos, whether consent allows them, the form."""
    refusal = photos_refusal(session)
    closed = session.status in CLOSED_SESSION
    photos = [] if refusal else list(session.photos.select_related("uploaded_by").order_by("uploaded_at", "id"))
    return {
        "session_photos": photos,
        "before_photos": [p for p in photos if p.kind == PhotoKind.BEFORE],
        "after_photos": [p for p in photos if p.kind == PhotoKind.AFTER],
        "photos_allowed": not refusal,
        "photos_refusal": refusal,
        "can_upload_photos": not refusal and not closed and getattr(user, "is_practitioner", False),
        "upload_refusal": CLOSED_SESSION.get(session.status, ""),
        "photo_form": PhotoUploadForm(),
    }


@dataclass
class SessionGroup:
    session: object
    photos: list = field(default_factory=list)


@dataclass
class PatientPhotos:
    """A patient's photos for the hub and the compare page."""

    groups: list  # SessionGroup, oldest session first, only photos consent allows
    hidden: int  # photos kept but not shown: their plan's photo consent is gone
    consent: bool  # at least one of the patient's plans has photo consent now
    zone: object

    @property
    def photos(self):
        return [photo for group in self.groups for photo in group.photos]

    @property
    def count(self):
        return len(self.photos)


def patient_photos(patient) -> PatientPhotos:
    """The patient's photos that may be shown, grouped by session, in two queries."""
    from mesoclinic.core.selectors import current_clinic

    allowed = photo_consent_plans(patient=patient)
    photos = (
        SessionPhoto.objects.filter(patient=patient)
        .select_related("session__plan__indication")
        .order_by("session__starts_at", "session_id", "uploaded_at", "id")
    )
    groups, hidden = {}, 0
    for photo in photos:
        if photo.session.plan_id not in allowed:
            hidden += 1
            continue
        groups.setdefault(photo.session_id, SessionGroup(photo.session)).photos.append(photo)
    # Before photos first, then after: the order a comparison reads.
    for group in groups.values():
        group.photos.sort(key=lambda p: p.kind != PhotoKind.BEFORE)
    return PatientPhotos(groups=list(groups.values()), hidden=hidden, consent=bool(allowed), zone=current_clinic().zone)
