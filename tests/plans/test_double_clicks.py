"""A second identical POST on consent, activation or withdrawal is a calm no-op: one consent,
one activation, one withdrawal, and a message saying it is done already."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from mesoclinic.plans import services
from mesoclinic.plans.demo import demo_signature
from mesoclinic.plans.models import Consent, PlanStatus
from tests.builders import consented, covering, screened

pytestmark = pytest.mark.django_db


def said(response):
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def consent_post(client, plan, fingerprint):
    return client.post(
        reverse("plans:consent_sign", args=[plan.pk]),
        {
            "signed_name": plan.patient.display_name,
            "confirmed": "on",
            "photo_consent": "no",
            "document_sha256": fingerprint,
            "signature": demo_signature(),
        },
    )


def test_a_second_consent_post_from_the_same_page_stores_no_second_consent(alice_client, hair_plan):
    fingerprint = alice_client.get(reverse("plans:consent_sign", args=[hair_plan.pk])).context["fingerprint"]
    assert consent_post(alice_client, hair_plan, fingerprint).status_code == 302
    second = consent_post(alice_client, hair_plan, fingerprint)
    assert second.status_code == 302 and second.url == hair_plan.get_absolute_url()
    assert said(second)[-1:] == [("info", "This plan already has signed consent.")]
    assert Consent.objects.filter(plan=hair_plan).count() == 1


def test_consent_signed_meanwhile_is_answered_calmly_by_the_service(alice, hair_plan):
    consented(hair_plan, alice)
    with pytest.raises(services.AlreadyDone, match="already has signed consent"):
        services.consent_sign(
            plan=hair_plan,
            document_html="<p>doc</p>",
            signed_name=hair_plan.patient.display_name,
            confirmed=True,
            photo_consent=False,
            witnessed_by=alice,
        )
    assert Consent.objects.filter(plan=hair_plan).count() == 1


def test_a_second_activation_says_the_plan_is_already_active(alice_client, alice, hair_plan):
    screened(hair_plan.patient, alice, **covering(hair_plan))
    consented(hair_plan, alice)
    url = reverse("plans:activate", args=[hair_plan.pk])
    assert alice_client.post(url).status_code == 302
    hair_plan.refresh_from_db()
    activated_at = hair_plan.activated_at
    second = alice_client.post(url)
    assert second.status_code == 302
    assert said(second)[-1:] == [("info", "The plan is already active.")]
    hair_plan.refresh_from_db()
    assert hair_plan.status == PlanStatus.ACTIVE and hair_plan.activated_at == activated_at


def test_withdrawing_asks_for_confirmation_and_a_second_withdrawal_is_a_calm_no_op(alice_client, alice, hair_plan):
    screened(hair_plan.patient, alice, **covering(hair_plan))
    consent = consented(hair_plan, alice)
    services.plan_activate(plan=hair_plan, by=alice)
    url = reverse("plans:consent_withdraw", args=[consent.pk])
    page = alice_client.get(reverse("plans:consent_detail", args=[consent.pk])).content.decode()
    assert 'name="confirm"' in page

    unconfirmed = alice_client.post(url, {"reason": "Changed her mind."})
    assert said(unconfirmed)[-1:] == [("error", "Tick the box to confirm the withdrawal.")]
    consent.refresh_from_db()
    assert not consent.is_withdrawn

    assert alice_client.post(url, {"reason": "Changed her mind.", "confirm": "on"}).status_code == 302
    consent.refresh_from_db()
    withdrawn_at = consent.withdrawn_at
    second = alice_client.post(url, {"reason": "Changed her mind.", "confirm": "on"})
    assert second.status_code == 302
    assert said(second)[-1:] == [("info", "This consent was already withdrawn.")]
    consent.refresh_from_db()
    assert consent.withdrawn_at == withdrawn_at
