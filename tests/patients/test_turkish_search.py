"""Patient search as a Turkish front desk types it: without the Turkish letters, in capitals,
and phone numbers in any format. On PostgreSQL and SQLite alike; the index only on PostgreSQL."""

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils.module_loading import import_string

from mesoclinic.patients.demo import seed_bulk_patients
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_search
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def istanbul(clinic):
    """The demo clinic's zone (the shared `clinic` fixture is in London): numbers typed
    without a country code are Turkish."""
    clinic.timezone = "Europe/Istanbul"
    clinic.save()
    cache.clear()
    return clinic


def names(queryset):
    return sorted(str(patient) for patient in queryset)


@pytest.fixture
def turkish_patients(db):
    return [
        PatientFactory(given_name="Can", family_name="Şahin"),
        PatientFactory(given_name="Mehmet", family_name="Öztürk"),
        PatientFactory(given_name="Elif", family_name="Yılmaz"),
        PatientFactory(given_name="Ayşe Gülşen", family_name="Öztürk İnceoğlu"),
        PatientFactory(given_name="Işıl", family_name="Çağlar"),
        PatientFactory(given_name="John", family_name="Smith"),
    ]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("sahin", ["Can Şahin"]),
        ("SAHIN", ["Can Şahin"]),
        ("Şahin", ["Can Şahin"]),
        ("ozturk", ["Ayşe Gülşen Öztürk İnceoğlu", "Mehmet Öztürk"]),
        ("ÖZTÜRK", ["Ayşe Gülşen Öztürk İnceoğlu", "Mehmet Öztürk"]),
        ("yilmaz", ["Elif Yılmaz"]),
        ("YILMAZ", ["Elif Yılmaz"]),
        ("yılmaz", ["Elif Yılmaz"]),
        ("YİLMAZ", ["Elif Yılmaz"]),
        ("inceoglu", ["Ayşe Gülşen Öztürk İnceoğlu"]),
        ("INCEOĞLU", ["Ayşe Gülşen Öztürk İnceoğlu"]),
        ("ayse ozturk", ["Ayşe Gülşen Öztürk İnceoğlu"]),
        ("gulsen", ["Ayşe Gülşen Öztürk İnceoğlu"]),
        ("isil caglar", ["Işıl Çağlar"]),
        ("ISIL", ["Işıl Çağlar"]),
        ("çağ", ["Işıl Çağlar"]),
        ("smith", ["John Smith"]),
    ],
)
def test_names_are_found_without_turkish_letters_and_in_any_case(turkish_patients, typed, found):
    assert names(patient_search(typed)) == found


def test_a_name_stored_without_turkish_letters_is_found_with_them(db):
    PatientFactory(given_name="Ayse", family_name="Ozturk")
    assert names(patient_search("Ayşe Öztürk")) == ["Ayse Ozturk"]


def test_other_accents_fold_too_and_a_different_name_is_not_found(db):
    PatientFactory(given_name="Siobhán", family_name="O'Brien")
    PatientFactory(given_name="Søren", family_name="Müller")
    assert names(patient_search("siobhan obrien")) == ["Siobhán O'Brien"]
    assert names(patient_search("o'brien")) == ["Siobhán O'Brien"]
    assert names(patient_search("soren muller")) == ["Søren Müller"]
    assert names(patient_search("sahin")) == []


def test_punctuation_alone_searches_nothing_and_fails_nothing(alice_client, turkish_patients):
    assert patient_search("'").count() == len(turkish_patients)
    response = alice_client.get(reverse("patients:list"), {"q": "😀 '"})
    assert response.status_code == 200


def test_the_folded_name_follows_a_rename(db):
    patient = PatientFactory(given_name="Elif", family_name="Kaya")
    patient.family_name = "Yıldırım"
    patient.save(update_fields=["family_name"])
    assert Patient.objects.get(pk=patient.pk).search_name == "elif yildirim"
    assert list(patient_search("YILDIRIM")) == [patient]
    assert list(patient_search("kaya")) == []


def test_bulk_generated_patients_are_searchable(db):
    seed_bulk_patients(40)
    assert not Patient.objects.filter(search_name="").exists()
    some = Patient.objects.filter(family_name="Şahin").count()
    assert patient_search("sahin").count() == some


def test_the_search_page_finds_ozturk_from_ascii_and_shows_the_phone_formatted(alice_client):
    PatientFactory(given_name="Mehmet", family_name="Öztürk", phone="+905334445566")
    response = alice_client.get(reverse("patients:list"), {"q": "ozturk"})
    page = response.content.decode()
    assert "Mehmet Öztürk" in page
    assert "+90 533 444 55 66" in page


@pytest.mark.parametrize("patients", [1, 50])
def test_a_folded_search_costs_the_same_queries_whatever_the_patients(
    alice_client, django_assert_num_queries, patients
):
    PatientFactory.create_batch(patients, family_name="Öztürk")
    cache.clear()
    # 1 session, 2 user, 3 clinic (then cached), 4 count for the pager, 5 the page of patients
    with django_assert_num_queries(5):
        response = alice_client.get(reverse("patients:list"), {"q": "OZTURK"})
    assert response.context["page"].paginator.count == patients


# --- Phone numbers -----------------------------------------------------------------------------

PATIENT = {
    "given_name": "Leyla",
    "family_name": "Korkmaz",
    "date_of_birth": "1990-05-17",
    "sex": "female",
    "email": "leyla@example.com",
    "preferred_language": "tr",
}


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("0532 123 45 67", "+905321234567", "+90 532 123 45 67"),
        ("+90 532 1234567", "+905321234567", "+90 532 123 45 67"),
        ("5321234567", "+905321234567", "+90 532 123 45 67"),
        ("(0532) 123-45-67", "+905321234567", "+90 532 123 45 67"),
        ("0212 123 45 67", "+902121234567", "+90 212 123 45 67"),
        # A Turkish clinic's British patients (MESOCLINIC_PHONE_OTHER_REGIONS, GB by default).
        ("07700 900123", "+447700900123", "+44 7700 900123"),
        ("+44 7700 900123", "+447700900123", "+44 7700 900123"),
        ("0044 20 7946 0018", "+442079460018", "+44 20 7946 0018"),
    ],
)
def test_a_phone_is_stored_as_e164_and_shown_formatted(alice_client, istanbul, typed, stored, shown):
    response = alice_client.post(reverse("patients:create"), {**PATIENT, "phone": typed})
    patient = Patient.objects.get()
    assert response["Location"] == patient.get_absolute_url()
    assert patient.phone == stored
    assert shown in alice_client.get(patient.get_absolute_url()).content.decode()
    edit = alice_client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert f'value="{shown}"' in edit


def test_a_number_that_is_no_phone_anywhere_is_refused_beside_the_field(alice_client, istanbul):
    response = alice_client.post(reverse("patients:create"), {**PATIENT, "phone": "123456"})
    assert response.status_code == 200 and not Patient.objects.exists()
    assert "type it with its country code" in " ".join(response.context["form"].errors["phone"])
    page = response.content.decode()
    assert 'id="error_1_id_phone"' in page and 'value="123456"' in page and 'value="Korkmaz"' in page


def test_a_clinic_in_london_reads_national_numbers_as_british(alice_client, clinic):
    assert clinic.timezone == "Europe/London"
    alice_client.post(reverse("patients:create"), {**PATIENT, "phone": "020 7946 0018"})
    assert Patient.objects.get().phone == "+442079460018"


def test_the_region_can_be_set(alice_client, clinic, settings):
    settings.MESOCLINIC_PHONE_REGION = "DE"
    alice_client.post(reverse("patients:create"), {**PATIENT, "phone": "030 123456789"})
    assert Patient.objects.get().phone == "+4930123456789"


@pytest.mark.parametrize(
    "typed",
    ["0532 123 45 67", "+90 532 1234567", "5321234567", "05321234567", "+90 (532) 123-45-67", "532 123 45", "0532 123"],
)
def test_a_turkish_phone_in_any_format_finds_the_patient(db, typed):
    found = PatientFactory(given_name="Ayla", phone="+905321234567")
    PatientFactory(given_name="Berk", phone="+905339999999")
    assert list(patient_search(typed)) == [found]


@pytest.mark.parametrize("typed", ["07700 900123", "+44 7700 900123", "0044 7700 900123", "7700900123"])
def test_a_uk_phone_in_any_format_finds_the_patient(db, typed):
    found = PatientFactory(given_name="Emma", phone="+447700900123")
    PatientFactory(given_name="Berk", phone="+905339999999")
    assert list(patient_search(typed)) == [found]


def test_the_search_page_finds_the_patient_by_phone_typed_with_spaces(alice_client):
    PatientFactory(given_name="Ayla", family_name="Korkmaz", phone="+905321234567")
    response = alice_client.get(reverse("patients:list"), {"q": "0532 123 45 67"})
    assert [str(p) for p in response.context["page"].object_list] == ["Ayla Korkmaz"]


def test_existing_records_get_their_folded_name_and_e164_phone(istanbul):
    """Migration 0004's data step, on records saved before it (as they were then)."""
    patient = PatientFactory(given_name="Ayşe", family_name="Öztürk")
    Patient.objects.filter(pk=patient.pk).update(
        search_name="", phone="0532 123 45 67", emergency_contact_phone="07700 900123"
    )
    unreadable = PatientFactory(given_name="Kim", family_name="Lee")
    Patient.objects.filter(pk=unreadable.pk).update(phone="12")
    migration = import_string("mesoclinic.patients.migrations.0004_search_name_and_e164_phones.fill")
    migration(apps, None)
    patient.refresh_from_db()
    assert patient.search_name == "ayse ozturk"
    assert patient.phone == "+905321234567" and patient.emergency_contact_phone == "+447700900123"
    unreadable.refresh_from_db()
    assert unreadable.phone == "12" and unreadable.search_name == "kim lee"


# --- PostgreSQL: through the index -------------------------------------------------------------


def _plan(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # With a few rows the planner rightly prefers a scan; forbid it to prove the index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + cursor.mogrify(sql, params).decode())
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_a_folded_name_search_uses_the_trigram_index(turkish_patients):
    plan = _plan(patient_search("ozturk").order_by())
    assert "patient_search_name_trgm" in plan, plan


@pytest.mark.postgres
def test_a_phone_search_uses_the_trigram_index(turkish_patients):
    plan = _plan(patient_search("0532 123 45 67").order_by())
    assert "patient_phone_trgm" in plan, plan
