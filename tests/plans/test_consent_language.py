"""A patient signs consent in the language they read, with a drawn signature when the clinic
requires one.

Ayla Demir reads Turkish: her consent page shows the Turkish clauses, the US fact about the FDA
beside what the law says where the clinic practises, and the consent she signs records that it
was Turkish. A clause the fixture has no Turkish for keeps the whole document English, never half
and half.
"""

import re

import pytest
from django.urls import reverse

from mesoclinic.core.models import DEFAULT_REGULATORY_NOTICE, DEFAULT_REGULATORY_NOTICE_TR, Clinic
from mesoclinic.patients.models import Language
from mesoclinic.plans import services
from mesoclinic.plans.consent import consent_document
from mesoclinic.plans.demo import demo_signature
from mesoclinic.plans.models import Consent, ConsentClause

pytestmark = pytest.mark.django_db


@pytest.fixture
def turkish_plan(hair_plan):
    hair_plan.patient.preferred_language = Language.TURKISH
    hair_plan.patient.save()
    return hair_plan


def sign_page(client, plan, **query):
    url = reverse("plans:consent_sign", args=[plan.pk])
    return client.get(url, query), url


def signing(page, plan, **fields):
    return {
        "document_sha256": page.context["fingerprint"],
        "language": page.context["language"],
        "signed_name": plan.patient.display_name,
        "confirmed": "on",
        "photo_consent": "no",
        "signature": demo_signature(),
        **fields,
    }


def numbers(text):
    return sorted(re.findall(r"\d+", text))


# --- The clauses in Turkish -----------------------------------------------------------------


def test_every_clause_has_turkish_with_the_same_numbers_and_the_same_list():
    """A faithful translation keeps every figure (3 to 15 sessions, 24 to 48 hours) and every
    item of a list; the only number Türkiye adds is 112, its emergency number."""
    clauses = list(ConsentClause.objects.all())
    assert len(clauses) == 15
    for clause in clauses:
        assert clause.heading_tr and clause.text_tr, clause.code
        turkish = clause.text_tr.replace("112'yi", "")
        assert numbers(turkish) == numbers(clause.text), clause.code
        assert turkish.count("\n- ") + turkish.startswith("- ") == clause.text.count("\n- ") + clause.text.startswith(
            "- "
        ), clause.code
        assert clause.text_tr != clause.text


def test_the_fda_clause_is_a_fact_about_the_united_states_in_both_languages():
    clause = ConsentClause.objects.get(code="not-fda-approved")
    assert clause.text.startswith("In the United States, mesotherapy is not approved")
    assert clause.text_tr.startswith("Amerika Birleşik Devletleri'nde mezoterapi") and "FDA" in clause.text_tr
    assert "offered here" not in clause.text


def test_the_turkish_says_what_a_patient_understands():
    """The review's words: 112 rather than 'an ambulance', direct sunlight, the painkillers by
    name rather than NSAİİ, never 'iltihap giderici'."""
    turkish = " ".join(ConsentClause.objects.values_list("text_tr", flat=True))
    assert "112'yi arayın" in ConsentClause.objects.get(code="when-to-call").text_tr
    assert "doğrudan güneş ışığından" in ConsentClause.objects.get(code="aftercare").text_tr
    assert (
        "İbuprofen ve naproksen gibi ağrı ve şişliği azaltan"
        in ConsentClause.objects.get(code="before-each-session").text_tr
    )
    for wrong in ("NSAİİ", "NSAID", "iltihap giderici", "ambulans", "güçlü güneş"):
        assert wrong not in turkish
    assert not re.search(r"\([^)]*\(", turkish)  # no brackets inside brackets
    # formal "siz": "yapın", "arayın", never the familiar "yap", "ara" at a sentence's end
    assert not re.search(r"\b(ara|bırak|söyle)\.", turkish)


# --- The page and the stored consent ----------------------------------------------------------


def test_a_turkish_speaking_patient_reads_the_turkish_clauses_and_the_clinic_notice(alice_client, turkish_plan):
    page, _url = sign_page(alice_client, turkish_plan)
    document = page.context["document"]
    assert page.context["language"] == "tr"
    assert '<article class="consent" lang="tr">' in document
    for clause in ConsentClause.objects.filter(indications=None):
        assert clause.heading_tr in document
        assert clause.heading not in document
    assert "Amerika Birleşik Devletleri&#x27;nde mezoterapi" in document
    # The clinic's notice sits right under the FDA clause, in Turkish.
    fda = document.index("Amerika Birleşik Devletleri")
    notice = document.index("Geleneksel ve Tamamlayıcı Tıp Uygulamaları")
    assert fda < notice < document.index(ConsentClause.objects.get(code="sessions-and-results").heading_tr)
    assert DEFAULT_REGULATORY_NOTICE[:40] not in document
    # Plan words the catalogue already has are Turkish too.
    assert "Saçlı deri" in document and "Saç dökülmesi" in document
    body = page.content.decode()
    assert 'lang="tr"' in body and "English" in body  # "Show it in: English" for the practitioner


def test_signing_stores_the_turkish_document_and_its_language(alice_client, turkish_plan):
    page, url = sign_page(alice_client, turkish_plan)
    response = alice_client.post(url, signing(page, turkish_plan))
    assert response.status_code == 302
    consent = Consent.objects.get(plan=turkish_plan)
    assert consent.language == "tr"
    assert consent.document_html == page.context["document"]
    assert "Mezoterapi nedir" in consent.document_html
    assert consent.is_intact


def test_an_english_reader_signs_english_with_the_us_fact_beside_the_clinic_notice(alice_client, hair_plan):
    page, url = sign_page(alice_client, hair_plan)
    document = page.context["document"]
    assert page.context["language"] == "en"
    assert "In the United States, mesotherapy is not approved" in document
    assert document.index("In the United States") < document.index("In Türkiye, mesotherapy is regulated")
    assert "Mezoterapi nedir" not in document
    alice_client.post(url, signing(page, hair_plan))
    assert Consent.objects.get(plan=hair_plan).language == "en"


def test_a_turkish_patient_who_asks_for_english_reads_and_signs_the_english_version(alice_client, turkish_plan):
    page, url = sign_page(alice_client, turkish_plan, language="en")
    assert page.context["language"] == "en"
    assert "What mesotherapy is" in page.context["document"]
    response = alice_client.post(url, signing(page, turkish_plan))
    assert response.status_code == 302
    consent = Consent.objects.get(plan=turkish_plan)
    assert consent.language == "en" and "What mesotherapy is" in consent.document_html


def test_a_language_the_site_does_not_offer_falls_back_to_the_patients_own(alice_client, turkish_plan):
    page, _url = sign_page(alice_client, turkish_plan, language="xx")
    assert page.status_code == 200 and page.context["language"] == "tr"


def test_a_clause_without_turkish_keeps_the_whole_document_english(alice_client, turkish_plan):
    ConsentClause.objects.filter(code="photos").update(text_tr="")
    page, url = sign_page(alice_client, turkish_plan)
    assert page.context["language"] == "en"
    assert "Mezoterapi nedir" not in page.context["document"]
    assert page.context["other_languages"] == []
    alice_client.post(url, signing(page, turkish_plan))
    assert Consent.objects.get(plan=turkish_plan).language == "en"


def test_the_clinic_admin_writes_the_notice_and_the_next_consent_prints_it(sam_client, alice, turkish_plan):
    response = sam_client.post(
        reverse("core:setup_clinic"),
        {
            "name": "Nova Klinik",
            "phone": "+90 212 555 01 23",
            "timezone": "Europe/Istanbul",
            "consent_requires_signature": "on",
            "consent_regulatory_notice": "Our own notice for English readers.",
            "consent_regulatory_notice_tr": "Türkçe okuyan hastalarımız için kendi notumuz.",
        },
    )
    assert response.status_code == 302
    clinic = Clinic.current()
    assert clinic.consent_regulatory_notice_tr == "Türkçe okuyan hastalarımız için kendi notumuz."
    document = consent_document(turkish_plan, practitioner=alice, on_date=None)
    assert "Türkçe okuyan hastalarımız için kendi notumuz." in document
    assert DEFAULT_REGULATORY_NOTICE_TR not in document


def test_the_setup_page_shows_the_consent_settings_with_their_defaults(sam_client):
    page = sam_client.get(reverse("core:setup_clinic")).content.decode()
    [box] = re.findall(r'<input[^>]*name="consent_requires_signature"[^>]*>', page)
    assert "checked" in box
    assert "Geleneksel ve Tamamlayıcı Tıp" in page and "Regulation on Traditional and Complementary" in page


# --- The drawn signature ----------------------------------------------------------------------


def test_without_a_drawn_signature_the_form_refuses_beside_the_pad_and_keeps_what_was_typed(alice_client, hair_plan):
    page, url = sign_page(alice_client, hair_plan)
    response = alice_client.post(url, signing(page, hair_plan, signature="", signed_name="Ayla Demirr"))
    assert response.status_code == 200
    form = response.context["form"]
    # Every problem at once: the name and the missing signature.
    assert "Draw your signature in the box" in form.errors["signature"][0]
    assert "Type the full name exactly as recorded" in form.errors["signed_name"][0]
    body = response.content.decode()
    pad = body.index('id="signature-pad"')
    assert pad < body.index('id="signature-error"') < body.index("Sign consent</button>")
    assert 'value="Ayla Demirr"' in body
    assert 'id="id_photo_consent_2" checked' in body or re.search(r'value="no"[^>]*checked', body)
    assert not Consent.objects.exists()


def test_a_page_sent_back_for_the_name_keeps_the_drawn_signature_for_the_pad(alice_client, hair_plan):
    page, url = sign_page(alice_client, hair_plan)
    drawn = demo_signature()
    response = alice_client.post(url, signing(page, hair_plan, signed_name="Someone Else", signature=drawn))
    assert response.status_code == 200
    assert f'name="signature" id="id_signature" value="{drawn}"' in response.content.decode()


def test_the_turkish_patient_reads_the_signature_error_in_turkish_words_of_the_catalogue(alice_client, turkish_plan):
    """The form's words are looked up in the patient's language (the page around stays the
    practitioner's): with no Turkish in the catalogue yet they fall back to English, but they are
    asked for in Turkish, which the document's `lang` and the form's language field show."""
    page, url = sign_page(alice_client, turkish_plan)
    response = alice_client.post(url, signing(page, turkish_plan, signature=""))
    assert response.context["form"].errors["signature"]
    assert 'name="language" value="tr"' in response.content.decode()


def test_a_clinic_that_does_not_require_a_drawn_signature_accepts_the_typed_name(alice_client, hair_plan):
    Clinic.objects.update(consent_requires_signature=False)
    page, url = sign_page(alice_client, hair_plan)
    assert "Your signature (optional)" in page.content.decode()
    response = alice_client.post(url, signing(page, hair_plan, signature=""))
    assert response.status_code == 302
    assert Consent.objects.get(plan=hair_plan).signature_png is None


def test_the_service_refuses_a_missing_signature_when_the_clinic_requires_one(alice, hair_plan):
    assert Clinic.current().consent_requires_signature  # on by default
    with pytest.raises(services.ValidationError) as refused:
        services.consent_sign(
            plan=hair_plan,
            document_html="<p>doc</p>",
            signed_name=hair_plan.patient.display_name,
            confirmed=True,
            photo_consent=False,
            witnessed_by=alice,
        )
    assert "signature" in refused.value.message_dict
    assert not Consent.objects.exists()
