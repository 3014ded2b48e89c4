"""The gate: a plan becomes active only on a current, covering, not-deferred screening with consent."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mesoclinic.plans import services
from mesoclinic.plans.models import PlanStatus
from mesoclinic.screening.models import Screening, Term
from tests.builders import consented, covering, plan_for, screened

pytestmark = pytest.mark.django_db


def reasons(plan):
    return " ".join(services.plan_gate(plan).reasons)


def test_a_covered_screened_consented_plan_activates(hair_plan, alice):
    screening = screened(hair_plan.patient, alice, **covering(hair_plan))
    consented(hair_plan, alice)
    plan = services.plan_activate(plan=hair_plan, by=alice)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.screening == screening
    assert plan.activated_by == alice


def test_no_screening_closes_the_gate(hair_plan, alice):
    consented(hair_plan, alice)
    assert "no screening" in reasons(hair_plan)
    with pytest.raises(services.GateClosed):
        services.plan_activate(plan=hair_plan, by=alice)


def test_an_expired_screening_closes_the_gate(hair_plan, alice):
    screening = screened(hair_plan.patient, alice, **covering(hair_plan))
    Screening.objects.filter(pk=screening.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    consented(hair_plan, alice)
    assert "lapsed" in reasons(hair_plan)


def test_a_deferred_screening_closes_the_gate(hair_plan, alice):
    screened(hair_plan.patient, alice, **covering(hair_plan, pregnant=True))
    consented(hair_plan, alice)
    assert "deferred treatment" in reasons(hair_plan)


def test_an_override_with_an_allowed_reason_opens_it(hair_plan, alice):
    decisions = [
        {
            "rule": "keloid-tendency",
            "key": "keloid-tendency",
            "decision": "overridden",
            "reason": "specialist_clearance",
            "cleared_by": "Dr. Ada Yıldız, dermatology",
            "cleared_on": datetime.date.today().isoformat(),
            "comment": "Letter on file: superficial scalp treatment acceptable.",
        }
    ]
    screened(hair_plan.patient, alice, decisions=decisions, **covering(hair_plan, conditions=["keloid_tendency"]))
    consented(hair_plan, alice)
    assert services.plan_gate(hair_plan).is_open


def test_pregnancy_cannot_be_overridden_even_by_a_crafted_decision(hair_plan, alice):
    decisions = [{"rule": "pregnancy", "decision": "overridden", "reason": "specialist_clearance", "comment": "x"}]
    with pytest.raises(ValidationError, match="cannot be overridden"):
        screened(hair_plan.patient, alice, decisions=decisions, **covering(hair_plan, pregnant=True))


def test_a_site_override_stops_counting_when_the_plan_treats_that_site(patient, alice):
    """Eczema on the hands does not stop a scalp plan (the site is named and excluded); an
    override naming the scalp itself, which the plan treats, is refused."""
    plan = plan_for(patient, alice, "hair_loss")
    override = {
        "rule": "chronic-skin-condition",
        "key": "chronic-skin-condition",
        "decision": "overridden",
        "reason": "site_excluded",
        "site": "hands",
        "comment": "Eczema on the hands only.",
    }
    screened(patient, alice, decisions=[override], **covering(plan, conditions=["eczema"]))
    consented(plan, alice)
    assert services.plan_gate(plan).is_open
    # The same override naming the scalp is refused when it is recorded.
    with pytest.raises(ValidationError, match="must exclude the affected site"):
        screened(patient, alice, decisions=[{**override, "site": "scalp"}], **covering(plan, conditions=["eczema"]))


def test_a_screening_that_did_not_cover_the_plan_closes_the_gate(hair_plan, alice):
    screened(hair_plan.patient, alice, areas=["face"], ingredients=["hyaluronic_acid"])
    consented(hair_plan, alice)
    assert "did not cover area Scalp" in reasons(hair_plan)


def test_an_allergy_to_an_ingredient_in_the_cocktail_closes_the_gate(patient, alice):
    plan = plan_for(patient, alice, "skin_rejuvenation", ingredients=["hyaluronic_acid", "lidocaine"])
    screened(patient, alice, allergies=["lidocaine"], **covering(plan))
    consented(plan, alice)
    assert "deferred treatment" in reasons(plan)


def test_an_allergy_the_screening_never_saw_against_the_cocktail_is_caught_by_the_re_run(patient, alice):
    """Screened for hyaluronic acid only, then lidocaine added to the plan: the engine, re-run
    with the plan's own cocktail, finds the allergy even before coverage is fixed."""
    plan = plan_for(patient, alice, "skin_rejuvenation", ingredients=["hyaluronic_acid", "lidocaine"])
    screened(patient, alice, allergies=["lidocaine"], areas=["face"], ingredients=["hyaluronic_acid"])
    consented(plan, alice)
    found = reasons(plan)
    assert "Critical for this plan" in found and "ingredient Lidocaine" in found


def test_a_facial_plan_for_a_diabetic_is_critical_for_that_plan(patient, alice):
    """Screened for the scalp, diabetes was only a note; the facial plan makes it critical
    (face-2023), and only a specialist's clearance on the screening opens the gate."""
    plan = plan_for(patient, alice, "skin_rejuvenation")
    screened(
        patient,
        alice,
        conditions=["diabetes"],
        areas=["scalp"],
        indication="hair_loss",
        ingredients=[t.code for t in plan.ingredients.all()],
    )
    consented(plan, alice)
    assert "Critical for this plan: Facial treatment with diabetes" in reasons(plan)
    cleared = {
        "rule": "facial-diabetes",
        "key": "facial-diabetes",
        "decision": "overridden",
        "reason": "specialist_clearance",
        "cleared_by": "Dr. Can Er, endocrinology",
        "cleared_on": datetime.date.today().isoformat(),
        "comment": "HbA1c 6.4%, well controlled; agrees to facial treatment.",
    }
    screened(patient, alice, decisions=[cleared], conditions=["diabetes"], **covering(plan))
    assert services.plan_gate(plan).is_open


def test_a_products_ingredients_are_checked_against_allergies_at_the_gate(patient, alice):
    from mesoclinic.plans.models import Product

    product = Product.objects.create(name="Numb Meso", manufacturer="Test")
    product.ingredients.set(Term.objects.filter(kind="ingredient", code__in=["hyaluronic_acid", "lidocaine"]))
    plan = plan_for(patient, alice, "skin_rejuvenation", ingredients=["hyaluronic_acid"])
    plan.products.set([product])
    screened(patient, alice, allergies=["local_anaesthetic"], **covering(plan))
    consented(plan, alice)
    found = reasons(plan)
    assert "ingredient Lidocaine" in found  # the screening never saw the product's lidocaine
    assert "Allergy to a planned ingredient" in found


def test_consent_is_required(hair_plan, alice):
    screened(hair_plan.patient, alice, **covering(hair_plan))
    assert "not signed consent" in reasons(hair_plan)


def test_a_crafted_post_cannot_skip_the_gate(alice_client, hair_plan):
    response = alice_client.post(reverse("plans:activate", args=[hair_plan.pk]), {"status": "active"})
    assert response.status_code == 302
    hair_plan.refresh_from_db()
    assert hair_plan.status == PlanStatus.DRAFT
    # nor by editing: the plan form has no status, and extra fields are ignored
    alice_client.post(reverse("plans:edit", args=[hair_plan.pk]), {"status": "active", "screening": "1"})
    hair_plan.refresh_from_db()
    assert hair_plan.status == PlanStatus.DRAFT


def test_only_practitioners_may_activate(sam_client, pat_client, hair_plan):
    assert sam_client.post(reverse("plans:activate", args=[hair_plan.pk])).status_code == 403
    assert pat_client.post(reverse("plans:activate", args=[hair_plan.pk])).status_code == 404


def test_the_plan_page_tells_what_the_newest_screening_tells_the_patient(alice_client, hair_plan, alice):
    """Activated on one screening, re-screened later with warfarin: the plan page shows the
    instructions the reminders now send (the newest screening's), and says why."""
    screened(hair_plan.patient, alice, **covering(hair_plan))
    consented(hair_plan, alice)
    services.plan_activate(plan=hair_plan, by=alice)
    screened(
        hair_plan.patient,
        alice,
        prescriber={"warfarin": ("pause", 4, "Dr. Kaya")},
        **covering(hair_plan, medications=["warfarin"]),
    )
    page = alice_client.get(hair_plan.get_absolute_url()).content.decode()
    assert "Pause warfarin 4 days before each session, as agreed with Dr. Kaya" in page
    assert "now gives the patient&#x27;s instructions" in page or "now gives the patient's instructions" in page
