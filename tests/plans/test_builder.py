import pytest
from django.urls import reverse

from mesoclinic.plans.models import Plan

pytestmark = pytest.mark.django_db


def builder(client, patient, indication="hair_loss"):
    return client.get(reverse("plans:new", args=[patient.pk]), {"indication": indication})


def post(client, patient, indication="hair_loss", **fields):
    page = builder(client, patient, indication)
    data = dict(page.context["form"].initial.items())
    data.update(fields)
    url = reverse("plans:new", args=[patient.pk]) + f"?indication={indication}"
    return client.post(url, data)


def test_choosing_hair_loss_shows_its_defaults(alice_client, patient):
    form = builder(alice_client, patient).context["form"]
    assert form.initial["areas"] == ["scalp"]
    assert "biotin" in form.initial["ingredients"]


def test_a_plan_saves_as_a_draft(alice_client, alice, patient):
    response = post(alice_client, patient, combinations=["minoxidil"])
    plan = Plan.objects.get()
    assert response["Location"] == plan.get_absolute_url()
    assert plan.status == "draft" and plan.created_by == alice
    assert plan.combinations == ["minoxidil"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("depth_mm", "20", "less than or equal to 13"),
        ("depth_mm", "0", "greater than or equal to 0.1"),
        ("needle_gauge", "12", "greater than or equal to 18"),
        ("sessions_planned", "50", "less than or equal to 30"),
        ("intervals", "7, 7", "need"),
        ("intervals", "7, x, 7", "not a whole number"),
        ("areas", [], "This field is required"),
    ],
)
def test_physically_impossible_values_are_refused_beside_the_field(alice_client, patient, field, value, message):
    response = post(alice_client, patient, goals="fuller hair at the crown", **{field: value})
    assert response.status_code == 200
    assert not Plan.objects.exists()
    assert message in " ".join(response.context["form"].errors[field])
    assert "fuller hair at the crown" in response.content.decode()


def test_flags_come_back_beside_each_field(alice_client, patient):
    response = alice_client.post(
        reverse("plans:flags", args=["skin_rejuvenation"]),
        {
            "areas": ["face"],
            "depth_mm": "2.5",
            "needle_gauge": "27",
            "sessions_planned": "6",
            "intervals": "3, 7, 7, 14, 28",
        },
    )
    page = response.content.decode()
    assert 'id="flag-depth_mm"' in page and "1-1.5 mm deep" in page
    assert "27 G is outside" in page
    assert "shorter than the protocol" in page
    assert 'hx-swap-oob="true"' in page


def test_the_builder_is_for_practitioners(sam_client, pat_client, patient):
    assert builder(sam_client, patient).status_code == 403
    assert builder(pat_client, patient).status_code == 404
