"""Reads of session photos: what consent allows to be shown, per session and per patient."""

from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image

from mesoclinic.core.selectors import current_clinic
from mesoclinic.plans.models import Consent
from mesoclinic.plans.selectors import current_consent
from mesoclinic.treatment_sessions.models import PhotoAlignment, PhotoKind, SessionPhoto, SessionStatus

# Pillow format names we accept. HEIF (iPhone HEIC) only when a plugin such as
# pillow-heif has registered it; otherwise Pillow cannot read it and it is refused.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
MAX_PIXELS = 40_000_000  # about 40 megapixels; more is refused as a decompression bomb
JPEG_QUALITY = 90
MAX_FILES = 12
THUMBNAIL_SIZE = (480, 480)
NO_PHOTO_CONSENT = gettext_lazy("The patient has not agreed to photos.")
CLOSED_SESSION = {
    SessionStatus.CANCELLED: gettext_lazy("This session was cancelled; photos belong to sessions that take place."),
    SessionStatus.NO_SHOW: gettext_lazy(
        "The patient did not come to this session; photos belong to sessions that take place."
    ),
}


def accepted_formats():
    """The accepted formats Pillow can actually open here."""
    Image.init()
    return [name for name in ACCEPTED_FORMATS if name in Image.OPEN]


def accepted_label():
    names = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
    labels = [names[name] for name in accepted_formats()]
    if len(labels) == 1:
        return labels[0]
    return _("%(formats)s or %(last)s") % {"formats": ", ".join(labels[:-1]), "last": labels[-1]}


def max_megabytes():
    size = settings.MESOCLINIC_PHOTO_MAX_BYTES / (1024 * 1024)
    return _("%(size)s MB") % {"size": f"{size:g}"}


def photos_refusal(session):
    """Why photos cannot be added to or shown for `session` (its plan's consent), or ''."""
    consent = current_consent(session.plan)
    if consent is None or not consent.photo_consent:
        return NO_PHOTO_CONSENT
    return ""


def photo_consent_plans(plan_ids=None, *, patient=None):
    """The plans (among `plan_ids`, or of `patient`) whose current consent includes photos.

    One query. A plan's current consent is its newest one not withdrawn (plans.selectors).
    """
    consents = Consent.objects.standing()
    consents = consents.filter(plan__patient=patient) if patient is not None else consents.filter(plan_id__in=plan_ids)
    current = {}
    for plan_id, photo_consent in consents.values_list("plan_id", "photo_consent"):
        current.setdefault(plan_id, photo_consent)
    return {plan_id for plan_id, allowed in current.items() if allowed}


def photo_viewable(photo):
    return not photos_refusal(photo.session)


def session_photos(session, user):
    """The session page's photo section: the photos, and whether consent allows them."""
    refusal = photos_refusal(session)
    closed = session.status in CLOSED_SESSION
    photos = [] if refusal else list(session.photos.select_related("uploaded_by", "area").order_by("uploaded_at", "id"))
    can_upload = not refusal and not closed and getattr(user, "is_practitioner", False)
    return {
        "photo_area_form": upload_area_form(session) if can_upload else None,
        "session_photos": photos,
        "before_photos": [p for p in photos if p.kind == PhotoKind.BEFORE],
        "after_photos": [p for p in photos if p.kind == PhotoKind.AFTER],
        "photos_allowed": not refusal,
        "photos_refusal": refusal,
        "can_upload_photos": can_upload,
        "upload_refusal": CLOSED_SESSION.get(session.status, ""),
    }


def previous_photos(patient_id, areas):
    """{area id: the thumbnail URL of the patient's newest photo of it that consent lets us show}.

    The camera shows it faintly over the live view so the next photo repeats its angle.
    Two queries.
    """
    allowed = photo_consent_plans(patient=patient_id)
    rows = (
        SessionPhoto.objects.filter(patient_id=patient_id, area__in=areas, session__plan_id__in=allowed)
        .order_by("-session__starts_at", "-uploaded_at", "-id")
        .values_list("area_id", "pk")
    )
    newest = {}
    for area_id, pk in rows:
        newest.setdefault(area_id, reverse("photos:thumbnail", args=[pk]))
    return newest


def upload_area_form(session, data=None):
    """The upload's area select: the plan's areas, the first chosen, each naming its previous photo."""
    from .forms import PhotoAreaForm  # forms import this module's limits

    areas = list(session.plan.areas.order_by("code"))
    return PhotoAreaForm(data, areas=areas, ghosts=previous_photos(session.patient_id, areas) if areas else {})


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
    allowed = photo_consent_plans(patient=patient)
    photos = (
        SessionPhoto.objects.filter(patient=patient)
        .select_related("session__plan__indication", "area")
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


# --- Alignments --------------------------------------------------------------------------------

ALIGNMENT_PHOTOS = ("baseline__session", "later__session", "baseline__area", "later__area")


def latest_alignment(baseline, later):
    """The alignment in use for this pair (the newest one), or None."""
    return (
        PhotoAlignment.objects.filter(baseline=baseline, later=later)
        .select_related(*ALIGNMENT_PHOTOS)
        .order_by("-created_at", "-id")
        .first()
    )


def report_pair(plan):
    """The before/after pair for `plan`'s progress report, or None.

    The newest PhotoAlignment whose baseline and later photos both belong to this plan's
    sessions, and only while the plan's current consent includes photos: None when photo
    consent was never given or has been withdrawn (the photos stay in the record, unshown).
    Two queries. Draw it with alignment.pair_jpegs(pair, max_width=800).
    """
    consent = current_consent(plan)
    if consent is None or not consent.photo_consent:
        return None
    return (
        PhotoAlignment.objects.filter(baseline__session__plan=plan, later__session__plan=plan)
        .select_related(*ALIGNMENT_PHOTOS)
        .order_by("-created_at", "-id")
        .first()
    )


NO_AREA = "none"  # the ?area= value for photos taken before the area was recorded


@dataclass
class AreaChoice:
    value: str  # the area's id, or NO_AREA
    area: object  # the Term, or None: "Area not recorded"
    photos: list


@dataclass
class Comparison:
    """What the compare page shows: the areas, the chosen area's photos, the pair, its alignment."""

    areas: list  # AreaChoice, in the order their first photo was taken
    area: AreaChoice | None
    baseline: object
    later: object
    alignment: object = None


def photo_areas(photos):
    """The areas the photos show, each with its photos (oldest first)."""
    areas = {}
    for photo in photos:
        value = str(photo.area_id) if photo.area_id else NO_AREA
        areas.setdefault(value, AreaChoice(value, photo.area, [])).photos.append(photo)
    return list(areas.values())


def _default_pair(photos):
    befores = [p for p in photos if p.kind == PhotoKind.BEFORE]
    afters = [p for p in photos if p.kind == PhotoKind.AFTER]
    baseline = befores[0] if befores else photos[0]
    later = afters[-1] if afters else photos[-1]
    if later == baseline and len(photos) > 1:
        later = photos[-1] if photos[-1] != baseline else photos[0]
    return baseline, later


def comparison(photos, *, area=None, baseline=None, later=None) -> Comparison:
    """The pair to compare among the shown `photos`. `area` (an id string or NO_AREA) picks the
    area; a chosen photo of another area gives way to that area's default. One query (the alignment)."""
    areas = photo_areas(photos)
    if not areas:
        return Comparison(areas=[], area=None, baseline=None, later=None)
    by_value = {choice.value: choice for choice in areas}
    chosen_photo = baseline or later
    if area not in by_value:
        area = (str(chosen_photo.area_id) if chosen_photo.area_id else NO_AREA) if chosen_photo else None
    # Without a choice: the area photographed most recently.
    choice = by_value.get(area) or by_value[str(photos[-1].area_id) if photos[-1].area_id else NO_AREA]
    default_baseline, default_later = _default_pair(choice.photos)
    baseline = baseline if baseline in choice.photos else default_baseline
    later = later if later in choice.photos else default_later
    if baseline == later and default_baseline != default_later:
        # The same photo twice: compare it with the area's other end instead.
        later = default_later if baseline != default_later else default_baseline
    if baseline is not None and later is not None and choice.photos.index(baseline) > choice.photos.index(later):
        # The baseline is the earlier photo, whichever way round they were chosen.
        baseline, later = later, baseline
    found = latest_alignment(baseline, later) if baseline != later else None
    return Comparison(areas=areas, area=choice, baseline=baseline, later=later, alignment=found)
