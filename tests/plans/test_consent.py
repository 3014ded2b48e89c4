import base64
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from mesoclinic.plans import services
from mesoclinic.plans.models import Consent, PlanStatus
from tests.builders import consented, covering, screened

pytestmark = pytest.mark.django_db


def png_data_url(size=(60, 20)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_patient_signs_on_screen_and_the_document_is_stored(alice_client, alice, hair_plan):
    url = reverse("plans:consent_sign", args=[hair_plan.pk])
    page = alice_client.get(url)
    document = page.context["document"]
    assert "not approved by the US Food and Drug Administration" in document or "FDA" in document
    response = alice_client.post(
        url,
        {
            "document_sha256": page.context["fingerprint"],
            "signed_name": f"  {hair_plan.patient.display_name.upper()} ",
            "confirmed": "on",
            "photo_consent": "no",
            "signature": png_data_url(),
        },
    )
    assert response.status_code == 302
    consent = Consent.objects.get()
    assert consent.document_html == document
    assert consent.is_intact
    assert consent.photo_consent is False
    assert consent.witnessed_by == alice
    assert bytes(consent.signature_png).startswith(b"\x89PNG")


def test_a_wrong_name_or_missing_tick_is_refused_beside_the_field(alice_client, hair_plan):
    url = reverse("plans:consent_sign", args=[hair_plan.pk])
    fingerprint = alice_client.get(url).context["fingerprint"]
    response = alice_client.post(
        url, {"document_sha256": fingerprint, "signed_name": "Someone Else", "photo_consent": "yes"}
    )
    form = response.context["form"]
    assert "Type the full name exactly as recorded" in form.errors["signed_name"][0]
    assert "must confirm" in form.errors["confirmed"][0]
    assert 'value="Someone Else"' in response.content.decode()
    assert not Consent.objects.exists()


def test_a_document_that_changed_while_open_is_not_signed(alice_client, hair_plan):
    url = reverse("plans:consent_sign", args=[hair_plan.pk])
    response = alice_client.post(
        url,
        {
            "document_sha256": "0" * 64,
            "signed_name": hair_plan.patient.display_name,
            "confirmed": "on",
            "photo_consent": "yes",
        },
    )
    assert response.status_code == 200
    assert not Consent.objects.exists()


def test_a_fake_signature_is_refused():
    with pytest.raises(ValidationError):
        services.decode_signature("data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode())
    with pytest.raises(ValidationError):
        services.decode_signature("javascript:alert(1)")


def test_a_signed_consent_cannot_be_changed(hair_plan, alice):
    consent = consented(hair_plan, alice)
    consent.document_html = "<p>something else</p>"
    with pytest.raises(ValidationError):
        consent.save()
    consent.refresh_from_db()
    consent.photo_consent = not consent.photo_consent
    with pytest.raises(ValidationError):
        consent.save()


def test_withdrawing_consent_stops_the_plan_and_can_happen_once(alice_client, hair_plan, alice):
    screened(hair_plan.patient, alice, **covering(hair_plan))
    consent = consented(hair_plan, alice)
    services.plan_activate(plan=hair_plan, by=alice)
    alice_client.post(
        reverse("plans:consent_withdraw", args=[consent.pk]), {"reason": "Changed her mind.", "confirm": "on"}
    )
    consent.refresh_from_db()
    hair_plan.refresh_from_db()
    assert consent.is_withdrawn and consent.withdrawn_recorded_by == alice
    assert hair_plan.status == PlanStatus.STOPPED
    assert "Consent withdrawn: Changed her mind." in hair_plan.stop_reason
    with pytest.raises(ValidationError):
        services.consent_withdraw(consent=consent, reason="again", by=alice)


def test_the_signed_consent_prints_as_a_pdf(alice_client, alice, hair_plan):
    url = reverse("plans:consent_sign", args=[hair_plan.pk])
    fingerprint = alice_client.get(url).context["fingerprint"]
    alice_client.post(
        url,
        {
            "document_sha256": fingerprint,
            "signed_name": hair_plan.patient.display_name,
            "confirmed": "on",
            "photo_consent": "yes",
            "signature": png_data_url(),
        },
    )
    consent = Consent.objects.get()
    response = alice_client.get(reverse("plans:consent_pdf", args=[consent.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert hair_plan.patient.display_name in text
    assert "FDA" in text
    assert consent.document_sha256 in text.replace("\n", "")


def test_the_consent_service_refuses_a_document_other_than_the_one_shown(hair_plan, alice):
    """The check lives in the service, so no caller can store a consent to a document the
    patient did not read; the fingerprint the page sent must be the stored document's."""
    shown = "<p>the document as the patient read it</p>"
    common = {
        "plan": hair_plan,
        "signed_name": hair_plan.patient.display_name,
        "confirmed": True,
        "photo_consent": False,
        "witnessed_by": alice,
        "signature": png_data_url(),
    }
    with pytest.raises(ValidationError, match="The plan changed while the document was open"):
        services.consent_sign(
            document_html=shown + "<p>a clause added since</p>", shown_fingerprint=services.fingerprint(shown), **common
        )
    assert not Consent.objects.exists()
    consent = services.consent_sign(document_html=shown, shown_fingerprint=services.fingerprint(shown), **common)
    assert consent.document_sha256 == services.fingerprint(shown)
