"""The compare page's areas and pair, the align step (landmarks saved, the aligned photo served),
under the photo consent, with constant queries, and hostile input never a 500."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans import services as plan_services
from mesoclinic.plans.selectors import current_consent
from mesoclinic.treatment_sessions.models import PhotoAlignment
from mesoclinic.treatment_sessions.photos import alignment
from mesoclinic.treatment_sessions.photos import selectors as photo_selectors
from mesoclinic.treatment_sessions.photos import services as photo_services
from tests.builders import active_plan, booked, next_monday
from tests.treatment_sessions.photos.test_photos import jpeg, upload

pytestmark = pytest.mark.django_db

BASE_POINTS = [[20, 20], [100, 20], [60, 80]]
LATER_POINTS = [[25, 22], [105, 22], [65, 82]]  # the same landmarks, 5 px right and 2 px lower


@pytest.fixture
def plan(clinic, alice, room):
    plan = active_plan(alice, "cellulite")  # signed with photo consent
    booked(plan, alice, room, next_monday())
    return plan


def photo(plan, by, number=1, kind="before", area="plan", size=(160, 120)):
    session = plan.sessions.order_by("sequence")[number - 1]
    chosen = plan.areas.order_by("code").first() if area == "plan" else area
    return photo_services.photos_upload(
        session=session, files=[upload(jpeg(size=size))], kind=kind, area=chosen, by=by
    )[0]


def fields(baseline, later, base_points=BASE_POINTS, later_points=LATER_POINTS):
    data = {"baseline": baseline.pk, "later": later.pk}
    for which, points in (("baseline", base_points), ("later", later_points)):
        for number, (x, y) in enumerate(points, start=1):
            data[f"{which}_x_{number}"], data[f"{which}_y_{number}"] = x, y
    return data


def withdraw(plan, by):
    plan_services.consent_withdraw(consent=current_consent(plan), by=by, reason="changed her mind")


# --- Upload records the area ----------------------------------------------------------------


def test_the_upload_offers_the_plans_areas_the_first_chosen(alice_client, plan):
    session = plan.sessions.order_by("sequence").first()
    response = alice_client.get(reverse("photos:upload", args=[session.pk]))
    form = response.context["photo_area_form"]
    areas = list(plan.areas.order_by("code"))
    assert list(form.fields["area"].queryset) == areas
    assert form.initial["area"] == areas[0].pk
    assert "data-capture-area" in response.content.decode() and "Take photo" in response.content.decode()


def test_the_upload_stores_the_area_and_refuses_another(alice_client, plan, alice):
    session = plan.sessions.order_by("sequence").first()
    area = plan.areas.order_by("code").first()
    url = reverse("photos:upload", args=[session.pk])
    response = alice_client.post(url, {"kind": "before", "area": area.pk, "images": [upload(jpeg())]})
    assert response.status_code == 302
    assert session.photos.get().area == area
    from mesoclinic.screening.models import Term

    other = Term.objects.filter(kind="area").exclude(pk__in=plan.areas.all()).first()
    response = alice_client.post(url, {"kind": "before", "area": other.pk, "images": [upload(jpeg())]})
    assert response.status_code == 400 and response.context["photo_area_form"].errors["area"]
    assert session.photos.count() == 1


def test_the_upload_page_names_the_previous_photo_of_the_area_for_the_camera(alice_client, plan, alice):
    first = photo(plan, alice, 1)
    session = plan.sessions.order_by("sequence")[1]
    page = alice_client.get(reverse("photos:upload", args=[session.pk])).content.decode()
    assert f'data-ghost="{reverse("photos:thumbnail", args=[first.pk])}"' in page
    withdraw(plan, alice)
    page = alice_client.get(reverse("photos:upload", args=[session.pk])).content.decode()
    assert "data-ghost" not in page


# --- The service ----------------------------------------------------------------------------


def test_alignment_record_keeps_the_fit(plan, alice):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    saved = photo_services.alignment_record(
        baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
    )
    assert (saved.scale, saved.rotation_degrees) == pytest.approx((1.0, 0.0), abs=1e-6)
    assert (saved.shift_x, saved.shift_y) == pytest.approx((-5.0, -2.0), abs=1e-6)
    assert saved.patient_id == plan.patient_id and saved.created_by == alice
    assert photo_selectors.latest_alignment(baseline, later) == saved


@pytest.mark.parametrize("problem", ["same photo", "other area", "other patient", "no consent"])
def test_alignment_record_refuses(plan, alice, room, problem):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    if problem == "same photo":
        later = baseline
    elif problem == "other area":
        later = photo(plan, alice, 2, area=None)
    elif problem == "other patient":
        other = active_plan(alice, "cellulite")
        booked(other, alice, room, next_monday(), hour=15)
        later = photo(other, alice, 1)
    else:
        withdraw(plan, alice)
    with pytest.raises(ValidationError) as error:
        photo_services.alignment_record(
            baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
        )
    expected = {
        "same photo": "two different photos",
        "other area": "same area",
        "other patient": "same patient",
        "no consent": "not agreed to photos",
    }[problem]
    assert expected in " ".join(error.value.messages)
    assert not PhotoAlignment.objects.exists()


# --- The views ------------------------------------------------------------------------------


def test_align_post_saves_and_the_compare_shows_the_aligned_photo(alice_client, plan, alice):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    response = alice_client.post(reverse("photos:align", args=[plan.patient_id]), fields(baseline, later))
    assert response.status_code == 302 and "mode=slider" in response.url
    saved = PhotoAlignment.objects.get()
    assert saved.baseline_points == BASE_POINTS and saved.later_points == LATER_POINTS
    page = alice_client.get(response.url).content.decode()
    aligned_url = reverse("photos:aligned", args=[saved.pk])
    assert aligned_url in page and "img-comparison-slider" in page and 'style="' not in page

    image = alice_client.get(aligned_url)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, no-store"
    assert Image.open(io.BytesIO(b"".join(image))).size == (baseline.width, baseline.height)
    entry = AuditEntry.objects.filter(patient_id=plan.patient_id).latest("id")
    assert "aligned photo" in entry.additional_data["page"]


def test_a_newer_alignment_of_the_pair_wins(alice_client, plan, alice):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    url = reverse("photos:align", args=[plan.patient_id])
    alice_client.post(url, fields(baseline, later))
    alice_client.post(url, fields(baseline, later, later_points=[[30, 20], [110, 20], [70, 80]]))
    newest = PhotoAlignment.objects.order_by("-id").first()
    response = alice_client.get(
        reverse("photos:compare", args=[plan.patient_id]), {"baseline": baseline.pk, "later": later.pk}
    )
    assert response.context["pair"].alignment == newest and newest.shift_x == pytest.approx(-10)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"baseline_x_2": "", "baseline_y_2": "", "baseline_x_3": "", "baseline_y_3": ""}, "1 on the baseline"),
        ({"later_x_1": "abc"}, "Enter a number"),
        ({"later_x_1": "1e400"}, "Enter a number"),
        ({"later_x_1": "-5"}, "greater than or equal to 0"),
        ({"later_x_1": "9" * 5000}, ""),
        ({"later_x_1": "900"}, "outside the photo"),
        ({"later_y_2": ""}, "both x and y"),
        ({"later_x_2": "25", "later_y_2": "22"}, "same spot"),
    ],
)
def test_bad_landmarks_are_shown_beside_the_form_and_kept(alice_client, plan, alice, change, message):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    data = {**fields(baseline, later), **change}
    response = alice_client.post(reverse("photos:align", args=[plan.patient_id]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["pair"].baseline == baseline and response.context["pair"].later == later
    assert not PhotoAlignment.objects.exists()


@pytest.mark.parametrize("pk", ["", "abc", "-1", "9" * 5000, "99999999"])
def test_unknown_photo_ids_are_refused_without_a_500(alice_client, plan, alice, pk):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    data = {**fields(baseline, later), "later": pk}
    response = alice_client.post(reverse("photos:align", args=[plan.patient_id]), data)
    assert response.status_code in (400, 404)
    assert not PhotoAlignment.objects.exists()


def test_another_patients_photo_is_a_404(alice_client, plan, alice, room):
    baseline = photo(plan, alice, 1)
    other = active_plan(alice, "cellulite")
    booked(other, alice, room, next_monday(), hour=15)
    stranger = photo(other, alice, 1)
    response = alice_client.post(reverse("photos:align", args=[plan.patient_id]), fields(baseline, stranger))
    assert response.status_code == 404
    response = alice_client.get(reverse("photos:compare", args=[plan.patient_id]), {"later": stranger.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("how", ["withdrawn", "never given"])
def test_no_photo_consent_refuses_the_aligned_photo_and_the_align_post(alice_client, plan, alice, how):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    saved = photo_services.alignment_record(
        baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
    )
    if how == "withdrawn":
        withdraw(plan, alice)
    else:
        consent = current_consent(plan)
        type(consent).objects.filter(pk=consent.pk).update(photo_consent=False)
    response = alice_client.get(reverse("photos:aligned", args=[saved.pk]))
    assert response.status_code == 403 and response["Content-Type"].startswith("text/html")
    response = alice_client.post(reverse("photos:align", args=[plan.patient_id]), fields(baseline, later))
    assert response.status_code == 403
    assert PhotoAlignment.objects.count() == 1
    assert photo_selectors.report_pair(plan) is None


@pytest.mark.parametrize("client_name", ["client", "sam_client", "pat_client"])
def test_only_practitioners_align_and_see_the_aligned_photo(request, plan, alice, client_name):
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    saved = photo_services.alignment_record(
        baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
    )
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("photos:aligned", args=[saved.pk])).status_code in (302, 403, 404)
    response = client.post(reverse("photos:align", args=[plan.patient_id]), fields(baseline, later))
    assert response.status_code in (302, 403, 404)
    if response.status_code == 302:
        assert "login" in response.url
    assert PhotoAlignment.objects.count() == 1


@pytest.mark.parametrize(
    "query",
    [
        {"area": "x" * 5000},
        {"area": "💉'\"<script>"},
        {"area": "none"},
        {"baseline": "-1"},
        {"later": "9" * 5000},
        {"mode": "sideways"},
        {"baseline": "abc", "later": "²"},
    ],
)
def test_hostile_compare_parameters_never_500(alice_client, plan, alice, query):
    photo(plan, alice, 1)
    response = alice_client.get(reverse("photos:compare", args=[plan.patient_id]), query)
    assert response.status_code in (200, 400, 404)


def test_the_area_picks_the_photos(alice_client, plan, alice):
    old = photo(plan, alice, 1, area=None)
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    url = reverse("photos:compare", args=[plan.patient_id])
    pair = alice_client.get(url).context["pair"]
    assert [c.value for c in pair.areas] == ["none", str(baseline.area_id)]
    assert (pair.baseline, pair.later) == (baseline, later)  # the area photographed last
    pair = alice_client.get(url, {"area": "none", "later": later.pk}).context["pair"]
    assert (pair.baseline, pair.later) == (old, old)
    page = alice_client.get(url, {"area": "none"}).content.decode()
    assert "Only one photo of this area" in page and "Area not recorded (1)" in page


def test_the_earlier_photo_is_the_baseline_whichever_way_they_are_chosen(alice_client, plan, alice):
    first, second = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    url = reverse("photos:compare", args=[plan.patient_id])
    pair = alice_client.get(url, {"baseline": second.pk, "later": first.pk}).context["pair"]
    assert (pair.baseline, pair.later) == (first, second)
    # The same photo chosen twice, in an area with two: compared with the other one.
    pair = alice_client.get(url, {"baseline": second.pk, "later": second.pk}).context["pair"]
    assert (pair.baseline, pair.later) == (first, second)
    assert (
        "Only one photo of this area"
        not in alice_client.get(url, {"baseline": first.pk, "later": first.pk}).content.decode()
    )


@pytest.mark.parametrize("count", [2, 12])
def test_the_compare_page_has_constant_queries(alice_client, plan, alice, django_assert_num_queries, count):
    photos = [photo(plan, alice, 1 + n % 2, kind="before" if n == 0 else "after") for n in range(count)]
    photo_services.alignment_record(
        baseline=photos[0], later=photos[-1], baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
    )
    url = reverse("photos:compare", args=[plan.patient_id])
    alice_client.get(url)  # warm the clinic cache and the session
    with django_assert_num_queries(QUERIES):
        response = alice_client.get(url)
    assert response.context["pair"].alignment is not None


QUERIES = 9  # session, user, patient, consents, photos, hidden ids, alignment, audit x2


# --- For the progress report ----------------------------------------------------------------


def test_report_pair_is_the_newest_alignment_of_the_plans_photos(plan, alice, room, django_assert_num_queries):
    assert photo_selectors.report_pair(plan) is None
    baseline, later = photo(plan, alice, 1), photo(plan, alice, 2, kind="after")
    first = photo_services.alignment_record(
        baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=LATER_POINTS, by=alice
    )
    second = photo_services.alignment_record(
        baseline=baseline, later=later, baseline_points=BASE_POINTS, later_points=BASE_POINTS, by=alice
    )
    other = active_plan(alice, "cellulite")
    booked(other, alice, room, next_monday(), hour=15)
    photo_services.alignment_record(
        baseline=photo(other, alice, 1),
        later=photo(other, alice, 2),
        baseline_points=BASE_POINTS,
        later_points=LATER_POINTS,
        by=alice,
    )
    with django_assert_num_queries(2):
        found = photo_selectors.report_pair(plan)
    assert found == second != first
    base_jpeg, later_jpeg = alignment.pair_jpegs(found, max_width=80)
    assert Image.open(io.BytesIO(base_jpeg)).size == Image.open(io.BytesIO(later_jpeg)).size == (80, 60)
