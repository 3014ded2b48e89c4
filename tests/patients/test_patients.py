import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_search
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

VALID = {
    "given_name": "Leyla",
    "family_name": "Korkmaz",
    "date_of_birth": "1990-05-17",
    "sex": "female",
    "phone": "+90 532 123 45 67",
    "email": "leyla@example.com",
    "preferred_language": "tr",
}


def test_practitioner_adds_a_patient(alice_client):
    response = alice_client.post(reverse("patients:create"), VALID)
    patient = Patient.objects.get()
    assert response["Location"] == patient.get_absolute_url()
    assert str(patient) == "Leyla Korkmaz"
    assert patient.phone == "+905321234567"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # Two days ahead: tomorrow in UTC can already be today in the clinic's zone (İstanbul).
        ("date_of_birth", (timezone.localdate() + datetime.timedelta(days=2)).isoformat(), "cannot be in the future"),
        ("date_of_birth", "31.02.1990", "Enter a valid date, e.g. 1988-03-14."),
        ("date_of_birth", "1850-01-01", "more than 125 years ago"),
        ("given_name", "   ", "Enter the patient"),
        ("family_name", "", "Enter the patient's family name."),
        ("email", "leyla@", "Enter a valid email address"),
        ("phone", "call me", "digits, spaces"),
        ("phone", "123", "6 to 15 digits"),
    ],
)
def test_bad_input_is_refused_beside_the_field_and_the_rest_is_kept(alice_client, field, value, message):
    response = alice_client.post(reverse("patients:create"), {**VALID, field: value})
    assert response.status_code == 200
    assert not Patient.objects.exists()
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    page = response.content.decode()
    # crispy puts the message right under its input, tied by id
    assert f'id="error_1_id_{field}"' in page
    # what was typed in the other fields is still there
    for other in ("given_name", "family_name", "email"):
        if other != field:
            assert f'value="{VALID[other]}"' in page


def test_search_finds_by_part_of_a_name_any_case(db):
    PatientFactory(given_name="Ayşe", family_name="Yıldırım")
    PatientFactory(given_name="John", family_name="Smith")
    assert [str(p) for p in patient_search("yıldı")] == ["Ayşe Yıldırım"]
    assert [str(p) for p in patient_search("smi jo")] == ["John Smith"]


def test_search_finds_by_date_of_birth_in_either_format(db):
    PatientFactory(given_name="Ayla", date_of_birth=datetime.date(1988, 3, 14))
    PatientFactory(given_name="Berk", date_of_birth=datetime.date(1988, 3, 15))
    assert [p.given_name for p in patient_search("1988-03-14")] == ["Ayla"]
    assert [p.given_name for p in patient_search("14.03.1988")] == ["Ayla"]


def test_search_finds_by_phone_typed_with_spaces(db):
    PatientFactory(given_name="Ayla", phone="+905321234567")
    PatientFactory(given_name="Berk", phone="+905339999999")
    assert [p.given_name for p in patient_search("532 123 45")] == ["Ayla"]


def test_list_shows_recent_patients_first_and_pages(alice_client):
    PatientFactory.create_batch(30)
    newest = PatientFactory(given_name="Newest")
    response = alice_client.get(reverse("patients:list"))
    page = response.context["page"]
    assert page.paginator.count == 31
    assert len(page.object_list) == 25
    assert page.object_list[0] == newest


def test_live_search_returns_only_the_results_fragment(alice_client):
    PatientFactory(given_name="Leyla", family_name="Korkmaz")
    response = alice_client.get(
        reverse("patients:list"), {"q": "kork"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="patient-results"
    )
    page = response.content.decode()
    assert "Leyla Korkmaz" in page
    assert "<html" not in page


@pytest.mark.parametrize("patients", [1, 50])
def test_patient_list_query_count_does_not_grow_with_patients(alice_client, django_assert_num_queries, patients):
    PatientFactory.create_batch(patients)
    cache.clear()
    # 1 session, 2 user, 3 clinic (then cached), 4 count for the pager, 5 the page of patients
    with django_assert_num_queries(5):
        alice_client.get(reverse("patients:list"), {"q": ""})


@pytest.mark.parametrize("patients", [1, 50])
def test_patient_search_query_count_does_not_grow(alice_client, django_assert_num_queries, patients):
    PatientFactory.create_batch(patients, family_name="Smith")
    cache.clear()
    with django_assert_num_queries(5):
        alice_client.get(reverse("patients:list"), {"q": "smi"})


@pytest.mark.postgres
def test_name_search_can_use_the_trigram_index(db):
    PatientFactory.create_batch(20)
    query = str(patient_search("korkm").query)
    with connection.cursor() as cursor:
        # With a few rows the planner rightly prefers a scan; forbid it to prove the index fits.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + _explainable(patient_search("korkm").order_by()))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The folded name (migration 0004), not UPPER(given_name)/UPPER(family_name) any more.
    assert "patient_search_name_trgm" in plan, plan
    assert "search_name" in query


def _explainable(queryset):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()
