"""Session photos: checked and stripped on upload, shown only to practitioners, only with consent."""

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans import services as plan_services
from mesoclinic.plans.selectors import current_consent
from mesoclinic.treatment_sessions.models import SessionPhoto, SessionStatus
from mesoclinic.treatment_sessions.photos import selectors as photo_selectors
from mesoclinic.treatment_sessions.photos import services as photo_services
from mesoclinic.treatment_sessions.photos.forms import PhotoUploadForm
from tests.builders import PatientFactory, active_plan, booked, consented, covering, next_monday, plan_for, screened

pytestmark = pytest.mark.django_db


# --- Images made in the test ----------------------------------------------------------------


def jpeg(size=(64, 48), color=(200, 120, 90), gps=False, orientation=None, quality=90):
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 15"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = (41.0, 2.0, 30.0)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (28.0, 58.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=quality)
    return out.getvalue()


def png(size=(40, 30), mode="RGBA", color=(10, 200, 30, 0)):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def upload(data, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_image(photo):
    with photo.image.open("rb") as handle:
        data = handle.read()
    return data, Image.open(io.BytesIO(data))


# --- Fixtures ---------------------------------------------------------------------------------


def plan_with_photo_consent(by, photo, patient=None):
    patient = patient or PatientFactory()
    plan = plan_for(patient, by, "cellulite")
    screened(patient, by, **covering(plan))
    consented(plan, by, photo=photo)
    return plan_services.plan_activate(plan=plan, by=by)


@pytest.fixture
def session(clinic, alice, room):
    plan = active_plan(alice, "cellulite")  # signed with photo consent
    return booked(plan, alice, room, next_monday()).sessions.order_by("sequence").first()


@pytest.fixture
def no_photo_session(clinic, alice, room):
    plan = plan_with_photo_consent(alice, photo=False)
    return booked(plan, alice, room, next_monday(), hour=14).sessions.order_by("sequence").first()


def add_photo(session, by, kind="before", data=None, caption=""):
    return photo_services.photos_upload(
        session=session, files=[upload(data or jpeg())], kind=kind, caption=caption, by=by
    )[0]


def post_upload(client, session, *files, kind="before", caption=""):
    return client.post(
        reverse("photos:upload", args=[session.pk]), {"kind": kind, "caption": caption, "images": list(files)}
    )


def media_files(settings):
    root = settings.STORAGES["default"]["OPTIONS"]["location"]
    return [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]


# --- Upload -----------------------------------------------------------------------------------


def test_an_upload_is_stored_without_exif_or_gps(alice_client, session, alice):
    original = jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test image has GPS

    response = post_upload(alice_client, session, upload(original, "IMG_0001.jpg"), caption="left thigh, side")

    assert response.status_code == 302
    assert response["Location"] == reverse("treatment_sessions:session", args=[session.pk]) + "#photos"
    photo = SessionPhoto.objects.get()
    assert (photo.session, photo.patient, photo.kind, photo.caption) == (
        session,
        session.patient,
        "before",
        "left thigh, side",
    )
    assert photo.uploaded_by == alice
    assert (photo.width, photo.height) == (64, 48)
    assert "IMG_0001" not in photo.image.name and photo.image.name.endswith(".jpg")
    data, image = stored_image(photo)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"Exif" not in data and b"PhoneMaker" not in data


def test_the_exif_orientation_is_applied_before_it_is_dropped(session, alice):
    photo = add_photo(session, alice, data=jpeg(size=(60, 20), orientation=6))  # "rotate 90° to view"
    _, image = stored_image(photo)
    assert image.size == (20, 60) and (photo.width, photo.height) == (20, 60)
    assert not image.getexif()


def test_png_and_webp_are_re_encoded_as_jpeg_on_white(session, alice):
    transparent = add_photo(session, alice, data=png(), kind="after")
    _, image = stored_image(transparent)
    assert image.format == "JPEG" and image.mode == "RGB"
    red, green, blue = image.getpixel((5, 5))
    assert min(red, green, blue) > 240  # transparent pixels became white, not black

    webp = io.BytesIO()
    Image.new("RGB", (30, 30), (20, 40, 200)).save(webp, "WEBP")
    _, image = stored_image(add_photo(session, alice, data=webp.getvalue()))
    assert image.format == "JPEG"


def test_several_photos_at_once(alice_client, session):
    response = post_upload(
        alice_client, session, upload(jpeg(), "a.jpg"), upload(png(mode="RGB", color=(1, 2, 3)), "b.png"), kind="after"
    )
    assert response.status_code == 302
    assert list(SessionPhoto.objects.values_list("kind", flat=True)) == ["after", "after"]


def test_too_large_a_file_is_refused_naming_the_limit(alice_client, session, settings):
    settings.MESOCLINIC_PHOTO_MAX_BYTES = 1024 * 1024
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    big = io.BytesIO()
    noise.save(big, "PNG")
    assert big.tell() > 1024 * 1024

    response = post_upload(alice_client, session, upload(big.getvalue(), "big.png"), caption="keep me")

    assert response.status_code == 400
    assert "big.png is larger than the 1 MB limit for a photo." in response.context["photo_form"].errors["images"]
    assert not SessionPhoto.objects.exists()
    assert not media_files(settings)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.jpg", b"this is not an image at all"),
        ("truncated.jpg", jpeg(size=(400, 300), color=(1, 100, 200))[:600]),
    ],
)
def test_files_pillow_cannot_read_are_refused(alice_client, session, name, data):
    response = post_upload(alice_client, session, upload(data, name))
    assert response.status_code == 400
    assert f"{name} could not be read as a JPEG, PNG or WebP image." in response.context["photo_form"].errors["images"]
    assert not SessionPhoto.objects.exists()


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused(session, alice, fmt):
    data = io.BytesIO()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(data, fmt)
    with pytest.raises(ValidationError) as error:
        add_photo(session, alice, data=data.getvalue())
    assert "could not be read as a JPEG, PNG or WebP image" in str(error.value)


def test_a_decompression_bomb_is_refused(alice_client, session):
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, "PNG")  # 48 megapixels in a few kilobytes
    assert bomb.tell() < 100_000

    response = post_upload(alice_client, session, upload(bomb.getvalue(), "bomb.png", "image/png"))

    assert response.status_code == 400
    errors = response.context["photo_form"].errors["images"]
    assert errors == ["bomb.png has too many pixels (more than 40 megapixels); export it smaller."]


def test_one_bad_file_refuses_the_whole_batch(alice_client, session):
    response = post_upload(alice_client, session, upload(jpeg(), "good.jpg"), upload(b"nope", "bad.jpg"))
    assert response.status_code == 400
    assert not SessionPhoto.objects.exists()


def test_an_error_keeps_the_caption_and_shows_it_beside_the_field(alice_client, session):
    response = post_upload(alice_client, session, upload(b"nope", "bad.jpg"), caption="right cheek, front")
    page = response.content.decode()
    assert 'value="right cheek, front"' in page
    assert "bad.jpg could not be read" in page
    assert "invalid-feedback" in page or "is-invalid" in page


def test_kind_and_a_file_are_required(alice_client, session):
    response = alice_client.post(reverse("photos:upload", args=[session.pk]), {"caption": "x"})
    assert response.status_code == 400
    form = response.context["photo_form"]
    assert "kind" in form.errors and form.errors["images"] == ["Choose at least one photo."]


def test_no_upload_without_photo_consent(alice_client, no_photo_session, settings):
    response = post_upload(alice_client, no_photo_session, upload(jpeg()))
    assert response.status_code == 400
    assert "The patient has not agreed to photos." in response.context["photo_form"].non_field_errors()
    assert not SessionPhoto.objects.exists() and not media_files(settings)
    with pytest.raises(ValidationError, match="has not agreed to photos"):
        add_photo(no_photo_session, no_photo_session.practitioner)


def test_no_upload_once_consent_is_withdrawn(session, alice):
    consent = current_consent(session.plan)
    plan_services.consent_withdraw(consent=consent, reason="Changed her mind.", by=alice)
    with pytest.raises(ValidationError, match="has not agreed to photos"):
        add_photo(session, alice)


def test_no_upload_on_a_cancelled_session(session, alice):
    session.status = SessionStatus.CANCELLED
    session.save()
    with pytest.raises(ValidationError, match="was cancelled"):
        add_photo(session, alice)


def test_no_upload_after_a_no_show_and_the_section_says_why(session, alice):
    add_photo(session, alice)
    session.status = SessionStatus.NO_SHOW
    session.save()
    with pytest.raises(ValidationError, match="did not come"):
        add_photo(session, alice)
    context = photo_selectors.session_photos(session, alice)
    assert len(context["session_photos"]) == 1 and not context["can_upload_photos"]
    assert context["upload_refusal"].startswith("The patient did not come")


def test_only_practitioners_upload(client, sam_client, pat_client, session):
    url = reverse("photos:upload", args=[session.pk])
    assert sam_client.post(url, {"kind": "before", "images": [upload(jpeg())]}).status_code == 403
    assert pat_client.post(url, {"kind": "before", "images": [upload(jpeg())]}).status_code == 404
    response = client.post(url, {"kind": "before", "images": [upload(jpeg())]})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not SessionPhoto.objects.exists()


def test_the_upload_page_shows_the_section(alice_client, session, alice):
    add_photo(session, alice, caption="front view")
    response = alice_client.get(reverse("photos:upload", args=[session.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in page and "front view" in page
    assert reverse("photos:thumbnail", args=[SessionPhoto.objects.get().pk]) in page


# --- Serving ----------------------------------------------------------------------------------


def test_a_practitioner_gets_the_file_privately_and_it_is_audited(alice_client, session, alice):
    photo = add_photo(session, alice)
    response = alice_client.get(reverse("photos:file", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    body = b"".join(response.streaming_content)
    assert body == stored_image(photo)[0]
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS, patient_id=session.patient_id).latest("id")
    assert entry.actor == alice and entry.additional_data["page"].startswith(f"photo {photo.pk}")


def test_the_thumbnail_is_small_and_private(alice_client, session, alice):
    photo = add_photo(session, alice, data=jpeg(size=(1600, 1200)))
    response = alice_client.get(reverse("photos:thumbnail", args=[photo.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) <= 480 and not image.getexif()


@pytest.mark.parametrize("name", ["photos:file", "photos:thumbnail"])
def test_the_file_is_for_practitioners_only(client, sam_client, pat_client, session, alice, name):
    url = reverse(name, args=[add_photo(session, alice).pk])
    assert sam_client.get(url).status_code == 403
    assert pat_client.get(url).status_code == 404
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_patients_own_photo_is_not_served_to_them(pat, alice, room, clinic):
    plan = active_plan(alice, "cellulite", patient=pat)
    session = booked(plan, alice, room, next_monday()).sessions.first()
    from django.test import Client

    client = Client()
    client.force_login(pat.user)
    assert client.get(reverse("photos:file", args=[add_photo(session, alice).pk])).status_code == 404


@pytest.mark.parametrize("name", ["photos:file", "photos:thumbnail"])
def test_withdrawn_photo_consent_hides_the_file(alice_client, session, alice, name):
    photo = add_photo(session, alice)
    consent = current_consent(session.plan)
    plan_services.consent_withdraw(consent=consent, reason="No more photos.", by=alice)
    before = AuditEntry.objects.count()
    response = alice_client.get(reverse(name, args=[photo.pk]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "These photos cannot be shown" in page and "The patient has not agreed to photos." in page
    assert AuditEntry.objects.count() == before  # nothing was shown


def test_missing_photo_is_a_404(alice_client, clinic):
    assert alice_client.get(reverse("photos:file", args=[999999])).status_code == 404


# --- The session section ------------------------------------------------------------------


def test_session_photos_context(session, alice, sam):
    before = add_photo(session, alice, kind="before")
    after = add_photo(session, alice, kind="after")
    context = photo_selectors.session_photos(session, alice)
    assert context["session_photos"] == [before, after]
    assert context["before_photos"] == [before] and context["after_photos"] == [after]
    assert context["photos_allowed"] and context["can_upload_photos"] and context["photos_refusal"] == ""
    assert not photo_selectors.session_photos(session, sam)["can_upload_photos"]


def test_the_session_page_offers_an_empty_upload_form_to_the_practitioner(session, alice_client, sam_client):
    page = alice_client.get(session.get_absolute_url())
    assert isinstance(page.context["photo_form"], PhotoUploadForm) and not page.context["photo_form"].is_bound
    assert 'name="images"' in page.content.decode()
    assert "photo_form" not in sam_client.get(session.get_absolute_url()).context


def test_session_photos_context_without_consent(no_photo_session, alice):
    context = photo_selectors.session_photos(no_photo_session, alice)
    assert context["session_photos"] == [] and not context["photos_allowed"]
    assert context["photos_refusal"] == "The patient has not agreed to photos."
    assert not context["can_upload_photos"]


# --- Compare -------------------------------------------------------------------------------


@pytest.fixture
def two_photos(session, alice):
    later = session.plan.sessions.order_by("sequence")[1]
    return add_photo(session, alice, kind="before", caption="start"), add_photo(later, alice, kind="after")


def test_compare_defaults_to_first_before_and_last_after(alice_client, two_photos, session):
    first, last = two_photos
    response = alice_client.get(reverse("photos:compare", args=[session.patient_id]))
    assert response.status_code == 200
    pair = response.context["pair"]
    assert (pair.baseline, pair.later, pair.alignment) == (first, last, None)
    page = response.content.decode()
    assert reverse("photos:file", args=[first.pk]) in page and reverse("photos:file", args=[last.pk]) in page
    # The area (one: not recorded), then the two photos in the baseline and the later select.
    assert page.count("<option") == 5 and "session 2" in page and "Before" in page
    assert "Area not recorded (2)" in page
    assert "col-12 col-md-6" in page  # side by side, stacked on narrow screens


def test_compare_chosen_photos(alice_client, two_photos, session):
    first, last = two_photos
    url = reverse("photos:compare", args=[session.patient_id])
    # Chosen the wrong way round: the earlier photo is still the baseline, and the trail says so.
    response = alice_client.get(url, {"baseline": last.pk, "later": first.pk})
    assert (response.context["pair"].baseline, response.context["pair"].later) == (first, last)
    entry = AuditEntry.objects.filter(patient_id=session.patient_id).latest("id")
    assert entry.additional_data["page"] == "photo comparison"
    assert (entry.additional_data["baseline"], entry.additional_data["later"]) == (first.pk, last.pk)
    # The addresses of the page before (?left= & ?right=) still open the same pair.
    response = alice_client.get(url, {"left": first.pk, "right": last.pk})
    assert (response.context["pair"].baseline, response.context["pair"].later) == (first, last)


def test_compare_refuses_another_patients_photo(alice_client, two_photos, session, alice, room):
    other_plan = active_plan(alice, "cellulite")
    other_session = booked(other_plan, alice, room, next_monday(), hour=15).sessions.first()
    stranger = add_photo(other_session, alice)
    url = reverse("photos:compare", args=[session.patient_id])
    assert alice_client.get(url, {"left": two_photos[0].pk, "right": stranger.pk}).status_code == 404
    assert alice_client.get(url, {"left": "abc"}).status_code == 400  # not an id at all
    assert alice_client.get(url, {"right": 999999}).status_code == 404


def test_compare_is_for_practitioners(client, sam_client, pat_client, two_photos, session):
    url = reverse("photos:compare", args=[session.patient_id])
    assert sam_client.get(url).status_code == 403
    assert pat_client.get(url).status_code == 404
    assert client.get(url).status_code == 302


def test_compare_without_photos_or_consent(alice_client, no_photo_session, session):
    page = alice_client.get(reverse("photos:compare", args=[no_photo_session.patient_id])).content.decode()
    assert "The patient has not agreed to photos." in page
    page = alice_client.get(reverse("photos:compare", args=[session.patient_id])).content.decode()
    assert "No photos yet." in page


def test_compare_hides_photos_whose_consent_was_withdrawn(alice_client, two_photos, session, alice):
    consent = current_consent(session.plan)
    plan_services.consent_withdraw(consent=consent, reason="No more photos.", by=alice)
    url = reverse("photos:compare", args=[session.patient_id])
    assert alice_client.get(url, {"left": two_photos[0].pk}).status_code == 403
    assert alice_client.get(url).context["photos"] == []


# --- The patient hub -------------------------------------------------------------------------


def test_the_hub_lists_photos_by_session_with_a_compare_link(alice_client, two_photos, session):
    response = alice_client.get(reverse("desk:patient", args=[session.patient_id]))
    summary = response.context["photos"]
    assert [len(group.photos) for group in summary.groups] == [1, 1]
    page = response.content.decode()
    assert reverse("photos:compare", args=[session.patient_id]) in page
    for photo in two_photos:
        assert reverse("photos:thumbnail", args=[photo.pk]) in page


def test_the_hub_says_when_there_is_no_photo_consent(alice_client, no_photo_session):
    page = alice_client.get(reverse("desk:patient", args=[no_photo_session.patient_id])).content.decode()
    assert "No photos: the patient has not agreed to photos." in page


def test_the_hub_empty_state(alice_client, session):
    page = alice_client.get(reverse("desk:patient", args=[session.patient_id])).content.decode()
    assert "No photos yet." in page


def test_the_hub_counts_hidden_photos(alice_client, two_photos, session, alice):
    consent = current_consent(session.plan)
    plan_services.consent_withdraw(consent=consent, reason="No more photos.", by=alice)
    response = alice_client.get(reverse("desk:patient", args=[session.patient_id]))
    assert response.context["photos"].hidden == 2 and not response.context["photos"].groups
    assert "2 photos hidden" in response.content.decode()
