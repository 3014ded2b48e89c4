"""Each person reads the app in their own language: staff as their profile says, else the
clinic's default; patients as their record says; signed-out pages in the clinic's default."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from mesoclinic.core.models import Clinic

pytestmark = pytest.mark.django_db


def clinic_speaks(language):
    Clinic.objects.update(staff_language=language)
    cache.clear()  # the clinic is cached for five minutes (core.selectors.current_clinic)


def test_a_practitioner_who_chose_turkish_reads_turkish(alice_client, alice, clinic):
    alice.language = "tr"
    alice.save()
    page = alice_client.get(reverse("profile"))
    assert page.headers["Content-Language"] == "tr"
    assert '<html lang="tr">' in page.content.decode()
    assert "Çıkış yap" in page.content.decode()


def test_staff_without_a_choice_follow_the_clinic(sam_client, clinic):
    clinic_speaks("tr")
    assert sam_client.get(reverse("profile")).headers["Content-Language"] == "tr"
    clinic_speaks("en")
    page = sam_client.get(reverse("profile"))
    assert page.headers["Content-Language"] == "en" and "Sign out" in page.content.decode()


def test_the_sign_in_page_speaks_the_clinics_language(client, clinic):
    clinic_speaks("tr")
    assert client.get(reverse("login")).headers["Content-Language"] == "tr"


def test_the_profile_saves_the_language_and_says_so_in_it(alice_client, alice, clinic):
    response = alice_client.post(reverse("profile"), {"language": "tr"}, follow=True)
    alice.refresh_from_db()
    assert alice.language == "tr"
    assert response.headers["Content-Language"] == "tr"


def test_a_language_the_app_does_not_speak_is_refused_next_to_the_field(alice_client, alice, clinic):
    response = alice_client.post(reverse("profile"), {"language": "de"})
    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.language == ""


def test_a_patient_reads_in_their_records_language_whatever_the_clinic_says(clinic):
    from django.test import Client

    from tests.builders import PatientFactory, PatientUserFactory

    clinic_speaks("en")
    user = PatientUserFactory()
    PatientFactory(user=user, preferred_language="tr")
    client = Client()
    client.force_login(user)
    assert client.get(reverse("aftercare:mine")).headers["Content-Language"] == "tr"
