"""Adding a patient the clinic already has: the match is shown and the desk decides."""

import datetime

import pytest
from django.urls import reverse

from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import fold_name, patient_search, phone_key, possible_duplicates
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

BORN = datetime.date(1986, 4, 23)
VALID = {
    "given_name": "Ayşe Gülşen",
    "family_name": "Öztürk İnceoğlu",
    "date_of_birth": "1986-04-23",
    "sex": "female",
    "phone": "0555 987 65 43",
    "email": "ayse@example.com",
    "address": "Şişli, İstanbul",
    "preferred_language": "tr",
    "notes": "Prefers mornings.",
}


def _matches(**typed):
    return [patient for patient, _ in possible_duplicates(**typed)]


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Ayşe Gülşen Öztürk İnceoğlu", "ayse gulsen ozturk inceoglu"),
        ("AYŞE GÜLŞEN ÖZTÜRK İNCEOĞLU", "ayse gulsen ozturk inceoglu"),
        ("IŞIK ılgaz", "isik ilgaz"),
        ("  O'Brien-Çelik ", "obrien celik"),
        ("Siobhán", "siobhan"),
    ],
)
def test_names_fold_without_case_accents_or_turkish_letters(typed, folded):
    assert fold_name(typed) == folded


@pytest.mark.parametrize(
    "typed",
    [
        ("AYSE GULSEN", "OZTURK INCEOGLU"),
        ("ayşe gülşen", "öztürk inceoğlu"),
        ("Ayse  Gulsen", "Ozturk Inceoglu"),
        ("Öztürk İnceoğlu", "Ayşe Gülşen"),  # given and family names the other way round
    ],
)
def test_the_same_name_typed_without_turkish_letters_and_the_same_birthday_is_found(typed):
    existing = PatientFactory(given_name="Ayşe Gülşen", family_name="Öztürk İnceoğlu", date_of_birth=BORN)
    PatientFactory(given_name="Ayşe Gülşen", family_name="Öztürk İnceoğlu", date_of_birth=BORN.replace(day=24))
    assert _matches(given_name=typed[0], family_name=typed[1], date_of_birth=BORN) == [existing]


def test_dotted_and_dotless_i_are_one_letter():
    existing = PatientFactory(given_name="Işıl", family_name="Yıldırım", date_of_birth=BORN)
    assert _matches(given_name="ISIL", family_name="YILDIRIM", date_of_birth=BORN) == [existing]
    assert _matches(given_name="isil", family_name="yildirim", date_of_birth=BORN) == [existing]


def test_the_same_name_on_another_birthday_is_someone_else():
    PatientFactory(given_name="Mehmet", family_name="Yılmaz", date_of_birth=BORN, phone="+905301112233")
    assert _matches(given_name="Mehmet", family_name="Yilmaz", date_of_birth=datetime.date(1990, 1, 1)) == []


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("+905321234567", "0532 123 45 67"),
        ("+905321234567", "+90 532 1234567"),
        ("+905321234567", "5321234567"),
        ("05321234567", "+90 (532) 123-45-67"),
        ("+447700900123", "07700 900123"),
    ],
)
def test_the_same_phone_in_any_format_is_found(stored, typed):
    existing = PatientFactory(phone=stored, date_of_birth=BORN)
    found = possible_duplicates(
        given_name="Someone", family_name="Else", date_of_birth=datetime.date(1970, 1, 1), phone=typed
    )
    assert [(patient, reasons) for patient, reasons in found] == [(existing, ["same phone number"])]


def test_a_phone_one_digit_away_is_not_a_match():
    PatientFactory(phone="+905321234567")
    assert _matches(given_name="A", family_name="B", phone="0532 123 45 68") == []
    assert phone_key("0532 123 45 67") == phone_key("+90 532 123 45 67") == "5321234567"


def test_archived_records_are_not_offered_as_matches_nor_found_by_search(alice):
    from mesoclinic.patients.services import patient_archive

    archived = PatientFactory(given_name="Deniz", family_name="Kaya", date_of_birth=BORN)
    patient_archive(patient=archived, by=alice, reason="Created by mistake")
    assert _matches(given_name="Deniz", family_name="Kaya", date_of_birth=BORN) == []
    assert list(patient_search("kaya")) == []
    assert list(patient_search("kaya", include_archived=True)) == [archived]


def test_adding_a_patient_we_already_have_shows_the_match_and_keeps_what_was_typed(alice_client):
    existing = PatientFactory(given_name="Ayse Gulsen", family_name="Ozturk Inceoglu", date_of_birth=BORN)
    response = alice_client.post(reverse("patients:create"), VALID)
    assert response.status_code == 200
    assert Patient.objects.count() == 1
    page = response.content.decode()
    assert "This may be the same person as" in page
    assert existing.get_absolute_url() in page and "same name and date of birth" in page
    assert "Create anyway" in page
    for field in ("given_name", "family_name", "email", "phone"):
        assert f'value="{VALID[field]}"' in page
    assert "Prefers mornings." in page and "Şişli, İstanbul" in page


def test_create_anyway_adds_the_new_record(alice_client):
    existing = PatientFactory(phone="+905559876543")
    response = alice_client.post(reverse("patients:create"), {**VALID, "seen": str(existing.pk)})
    created = Patient.objects.exclude(pk=existing.pk).get()
    assert response.status_code == 302 and response["Location"] == created.get_absolute_url()
    assert created.family_name == "Öztürk İnceoğlu" and created.notes == "Prefers mornings."


def test_a_match_not_yet_shown_asks_again(alice_client):
    first = PatientFactory(phone="+905559876543")
    second = PatientFactory(given_name="Ayşe Gülşen", family_name="Öztürk İnceoğlu", date_of_birth=BORN)
    response = alice_client.post(reverse("patients:create"), {**VALID, "seen": str(first.pk)})
    assert response.status_code == 200 and Patient.objects.count() == 2
    assert second.get_absolute_url() in response.content.decode()
    # hostile values in the button's field are ignored, never a 500
    response = alice_client.post(reverse("patients:create"), {**VALID, "seen": "9" * 5000 + ",x,\x00"})
    assert response.status_code == 200 and Patient.objects.count() == 2


def test_no_match_creates_at_once_for_the_clinic_admin_too(sam_client):
    PatientFactory(given_name="Someone", family_name="Else", phone="+905300000000")
    response = sam_client.post(reverse("patients:create"), {k: v for k, v in VALID.items() if k != "notes"})
    assert response.status_code == 302 and Patient.objects.count() == 2


def test_the_patient_list_hides_archived_records_unless_asked(alice_client, alice):
    from mesoclinic.patients.services import patient_archive

    kept = PatientFactory(given_name="Deniz", family_name="Kaya")
    archived = patient_archive(patient=PatientFactory(given_name="Deniz", family_name="Kaya"), by=alice, reason="Test")
    listed = alice_client.get(reverse("patients:list"), {"q": "kaya"}).context["page"].object_list
    assert list(listed) == [kept]
    response = alice_client.get(reverse("patients:list"), {"q": "kaya", "archived": "on"})
    assert set(response.context["page"].object_list) == {kept, archived}
    assert "Archived</span>" in response.content.decode()
