"""The staff app in Turkish (issue 15, item 5): patients, the patient page, merging, clinic setup,
errors and messages, as a Turkish-speaking practitioner and clinic admin read them.

These read the project's Turkish catalogue: each asserts words it provides, and that the
English they replace is gone."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from mesoclinic.core.models import Clinic
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def turkish_alice(alice, alice_client):
    alice.language = "tr"
    alice.save()
    return alice_client


@pytest.fixture
def turkish_sam(sam, sam_client):
    sam.language = "tr"
    sam.save()
    return sam_client


@pytest.fixture
def ayse(db):
    return PatientFactory(
        given_name="Ayşe Gülşen", family_name="Öztürk", date_of_birth=datetime.date(1988, 3, 14), phone="+905321234567"
    )


def _page(response):
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "tr"
    return response.content.decode()


def test_the_patient_list_reads_turkish(turkish_alice, clinic, ayse):
    page = _page(turkish_alice.get(reverse("patients:list")))
    assert "Hastalar" in page and "Yeni hasta" in page
    assert 'placeholder="Ad, doğum tarihi veya telefon"' in page
    assert "Arşivlenmiş kayıtları da göster" in page
    # Dates in Turkish words and order; the clinic's data (the name) as typed.
    assert "14 Mart 1988" in page and "Ayşe Gülşen Öztürk" in page
    for english in ("New patient", "Include archived records", "Date of birth", "Mar 1988"):
        assert english not in page


def test_a_search_that_finds_nobody_says_so_in_turkish(turkish_alice, clinic):
    page = _page(turkish_alice.get(reverse("patients:list"), {"q": "Yılmaz"}))
    assert "“Yılmaz” ile eşleşen hasta yok." in page and "Yeni hasta ekle" in page


def test_the_patient_page_reads_turkish(turkish_alice, clinic, ayse):
    page = _page(turkish_alice.get(ayse.get_absolute_url()))
    for turkish in (
        "Taramalar",
        "Henüz tarama yok",
        "Etkin plan yok",
        "Randevu yok",
        "Açık takip yok",
        "Erişim geçmişi",
    ):
        assert turkish in page, turkish
    assert "14 Mart 1988" in page and "yaşında" in page
    for english in ("Screenings", "No screening yet", "No active plan", "Not booked", "years)"):
        assert english not in page, english


def test_the_access_history_names_what_was_viewed_in_turkish(turkish_alice, clinic, ayse):
    turkish_alice.get(ayse.get_absolute_url())
    page = _page(turkish_alice.get(reverse("patients:access_history", args=[ayse.pk])))
    assert "Görüntülendi: hasta kaydı" in page
    assert "Viewed patient record" not in page


def test_a_patient_form_error_is_in_turkish_and_keeps_what_was_typed(turkish_alice, clinic):
    response = turkish_alice.post(
        reverse("patients:create"), {"given_name": " ", "family_name": "Öztürk", "date_of_birth": "14.03.1988"}
    )
    page = _page(response)
    assert "Hastanın adını girin." in page and 'value="Öztürk"' in page
    assert "Yeni hasta" in page and "Kimlik" in page and "İletişim" in page


def test_the_merge_page_reads_turkish(turkish_alice, clinic, ayse):
    page = _page(turkish_alice.get(reverse("desk:merge_choose", args=[ayse.pk])))
    assert "Mükerrer kaydı birleştir" in page and "Diğer kaydı bulun" in page
    assert "Merge a duplicate" not in page


def test_clinic_setup_reads_turkish_with_turkish_weekdays(turkish_sam, clinic):
    page = _page(turkish_sam.get(reverse("core:setup")))
    assert "Klinik ayarları" in page and "Çalışma saatleri" in page and "Uygulayıcılar" in page
    # The clinic is open Monday to Saturday: Turkish day names, and Django's abbreviations
    # (cutting "Pazartesi" would make it "Paz", Sunday's).
    assert "Pazartesi" in page and "Cumartesi" in page
    assert "Pzt–Cmt 08:00–20:00" in page
    for english in ("Clinic setup", "Opening hours", "Monday", "Mon–Sat"):
        assert english not in page, english


def test_the_clinic_form_offers_the_staff_language_next_to_the_time_zone(turkish_sam, clinic):
    page = _page(turkish_sam.get(reverse("core:setup_clinic")))
    assert "Saat ve dil" in page and "Personel uygulamasının dili" in page
    assert page.index('name="timezone"') < page.index('name="staff_language"') < page.index("Onam")


def test_a_setup_error_and_the_saved_message_are_in_turkish(turkish_sam, clinic):
    url = reverse("core:setup_clinic")
    data = {"name": "", "phone": "0212 555 01 01", "email": "", "address": "", "timezone": "Europe/London"}
    page = _page(turkish_sam.post(url, {**data, "staff_language": "tr"}))
    assert "Kliniğin adını girin." in page
    response = turkish_sam.post(url, {**data, "name": "Şişli Klinik", "staff_language": "tr"}, follow=True)
    assert "Klinik bilgileri kaydedildi." in _page(response)


def test_a_page_not_for_the_role_says_so_in_turkish(turkish_sam, clinic, ayse):
    response = turkish_sam.get(reverse("patients:access_history", args=[ayse.pk]))
    assert response.status_code == 403
    assert "Bu sayfa sizin rolünüz için değil" in response.content.decode()


def test_the_clinic_default_saved_on_the_setup_form_reaches_staff_who_chose_none(sam_client, alice_client, clinic):
    """No catalogue needed: the language the clinic admin saves is the one staff get."""
    data = {"name": "Şişli Klinik", "phone": "0212 555 01 01", "timezone": "Europe/London", "staff_language": "tr"}
    assert sam_client.post(reverse("core:setup_clinic"), data).status_code == 302
    assert Clinic.current().staff_language == "tr"
    cache.clear()
    assert alice_client.get(reverse("patients:list")).headers["Content-Language"] == "tr"


def test_a_staff_language_the_app_does_not_speak_is_refused_beside_the_field(sam_client, clinic):
    data = {"name": "Şişli Klinik", "phone": "0212 555 01 01", "timezone": "Europe/London", "staff_language": "de"}
    response = sam_client.post(reverse("core:setup_clinic"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["staff_language"] == ["Choose English or Turkish."]
    assert Clinic.current().staff_language == "en"
