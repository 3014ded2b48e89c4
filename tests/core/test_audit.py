import pytest
from django.db import connection, transaction
from django.urls import reverse

from mesoclinic.core.models import AuditEntry, AuditImmutableError
from mesoclinic.patients.models import Patient

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "given_name": "Leyla",
    "family_name": "Korkmaz",
    "date_of_birth": "1990-05-17",
    "sex": "female",
    "phone": "0532 123 45 67",
    "email": "leyla@example.com",
    "preferred_language": "tr",
}


def test_creating_a_patient_records_who_what_when_and_where(alice_client, alice):
    alice_client.post(reverse("patients:create"), NEW_PATIENT, REMOTE_ADDR="10.1.2.3")
    patient = Patient.objects.get(family_name="Korkmaz")
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.CREATE)
    assert entry.actor == alice
    assert entry.remote_addr == "10.1.2.3"
    assert entry.timestamp is not None
    assert entry.changes["family_name"] == [None, "Korkmaz"]


def test_changing_a_patient_records_the_old_and_new_values(sam_client, sam, patient):
    data = {**NEW_PATIENT, "given_name": patient.given_name, "family_name": patient.family_name}
    sam_client.post(reverse("patients:edit", args=[patient.pk]), data)
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.UPDATE)
    assert entry.actor == sam
    assert entry.changes["phone"][1] == "05321234567"
    assert "phone" in entry.what


def test_opening_the_patient_record_is_recorded_as_a_view(alice_client, alice, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]), REMOTE_ADDR="10.9.8.7")
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS)
    assert entry.actor == alice
    assert entry.remote_addr == "10.9.8.7"
    assert entry.what == "Viewed patient record"


def test_deleting_a_patient_leaves_the_history(patient):
    patient_id = patient.pk
    patient.delete()
    assert AuditEntry.objects.for_patient(patient_id).filter(action=AuditEntry.Action.DELETE).exists()


def test_the_access_history_page_lists_views_and_changes(alice_client, sam_client, patient):
    sam_client.get(reverse("desk:patient", args=[patient.pk]))
    page = alice_client.get(reverse("patients:access_history", args=[patient.pk])).content.decode()
    assert "Sam Reed" in page
    assert "Viewed contact details and appointments" in page


def test_audit_entries_cannot_be_changed_or_deleted_through_the_app(alice_client, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]))
    entry = AuditEntry.objects.for_patient(patient.pk).first()
    entry.object_repr = "tampered"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="tampered")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.postgres
def test_postgresql_refuses_raw_updates_and_deletes_of_the_audit_trail(alice_client, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]))
    from django.db.utils import DatabaseError

    for statement in ("UPDATE core_auditentry SET object_repr = 'x'", "DELETE FROM core_auditentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.for_patient(patient.pk).exists()
