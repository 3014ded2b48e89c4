"""Two records of one person become one: every row follows, the audit trail stays as written
and reads by both ids, and the duplicate is archived, not deleted."""

import datetime
import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from mesoclinic.aftercare.services import sheet_for
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.desk.services import patient_links, patient_merge
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import patient_history, patient_search
from mesoclinic.treatment_sessions.models import SessionPhoto
from tests.builders import PatientFactory, PatientUserFactory, moment, signed_session

pytestmark = pytest.mark.django_db


def _photo(session):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buffer, format="JPEG")
    photo = SessionPhoto(
        session=session, patient=session.patient, kind="before", uploaded_by=session.practitioner, width=64, height=48
    )
    photo.image.save("x.jpg", ContentFile(buffer.getvalue()), save=False)
    photo.width, photo.height = 64, 48  # the image field resets them
    photo.save()
    return photo


def _counts(patient):
    return {model._meta.label: model._base_manager.filter(**{name: patient}).count() for model, name in patient_links()}


@pytest.fixture
def twins(clinic, alice, room):
    """The same woman twice: each record screened, planned, consented, with a signed chart, its
    sheet, a photo and a next session booked, at different times (she is one person)."""
    kept = PatientFactory(given_name="Ayşe", family_name="Yılmaz", date_of_birth=datetime.date(1990, 2, 3))
    duplicate = PatientFactory(
        given_name="AYSE", family_name="YILMAZ", date_of_birth=datetime.date(1990, 2, 3), notes="Allergic to nickel."
    )
    today = clinic_today()
    for patient, hour in ((kept, 9), (duplicate, 14)):
        session = signed_session(alice, room, patient, start=moment(today, hour))
        sheet_for(session)
        _photo(session)
    return kept, duplicate


def test_every_row_of_the_duplicate_follows_the_record_kept(twins, alice):
    kept, duplicate = twins
    before_kept, before_duplicate = _counts(kept), _counts(duplicate)
    # the builders made every kind of row the merge must move
    for label in (
        "screening.Screening",
        "plans.Plan",
        "plans.Consent",
        "treatment_sessions.SessionSeries",
        "treatment_sessions.TreatmentSession",
        "treatment_sessions.Chart",
        "treatment_sessions.SessionPhoto",
        "treatment_sessions.Reminder",
        "aftercare.AftercareSheet",
    ):
        assert before_duplicate[label] > 0, label
    result = patient_merge(duplicate=duplicate, kept=kept, by=alice)
    after_kept, after_duplicate = _counts(kept), _counts(duplicate)
    assert after_duplicate == dict.fromkeys(before_duplicate, 0)
    assert after_kept == {label: before_kept[label] + before_duplicate[label] for label in before_kept}
    assert sum(result.moved.values()) == sum(before_duplicate.values())
    duplicate.refresh_from_db()
    assert duplicate.is_archived and duplicate.merged_into == kept and duplicate.archived_by == alice
    kept.refresh_from_db()
    assert "Allergic to nickel." in kept.notes


def test_the_merged_record_shows_both_histories_and_the_merge_and_no_entry_is_rewritten(twins, alice, rf):
    kept, duplicate = twins
    request = rf.get("/")
    request.user = alice
    seen = record_view(request, duplicate, "patient record")
    before = dict(AuditEntry.objects.values_list("pk", "patient_id"))
    patient_merge(duplicate=duplicate, kept=kept, by=alice, remote_addr="192.0.2.10")
    # nothing written before the merge changed (the trail is append-only)
    assert dict(AuditEntry.objects.filter(pk__in=before).values_list("pk", "patient_id")) == before
    history = list(patient_history(kept))
    ids = {entry.patient_id for entry in history}
    assert ids == {kept.pk, duplicate.pk}
    assert seen in history
    merge = next(entry for entry in history if (entry.additional_data or {}).get("merged_from") == duplicate.pk)
    assert merge.actor == alice and merge.remote_addr == "192.0.2.10" and merge.patient_id == kept.pk
    assert merge.what.startswith(f"Merged record #{duplicate.pk} (AYSE YILMAZ")
    # the duplicate's own history is its own
    assert {entry.patient_id for entry in patient_history(duplicate)} == {duplicate.pk}


def test_the_access_history_page_lists_both_records_entries(twins, alice, alice_client):
    kept, duplicate = twins
    alice_client.get(duplicate.get_absolute_url())
    patient_merge(duplicate=duplicate, kept=kept, by=alice)
    response = alice_client.get(reverse("patients:access_history", args=[kept.pk]))
    page = response.content.decode()
    assert f"Includes the history of record #{duplicate.pk}" in page
    assert f"Merged record #{duplicate.pk}" in page
    assert any(entry.patient_id == duplicate.pk for entry in response.context["page"].entries)


def test_a_record_merged_into_the_duplicate_earlier_follows_too(twins, alice):
    kept, duplicate = twins
    older = PatientFactory(given_name="Ayse", family_name="Yilmaz")
    patient_merge(duplicate=older, kept=duplicate, by=alice)
    patient_merge(duplicate=duplicate, kept=kept, by=alice)
    older.refresh_from_db()
    assert older.merged_into == kept
    assert {entry.patient_id for entry in patient_history(kept)} >= {kept.pk, duplicate.pk, older.pk}


def test_the_merge_page_shows_both_records_and_merges_only_on_post(twins, alice_client):
    kept, duplicate = twins
    url = reverse("desk:merge", args=[kept.pk, duplicate.pk])
    page = alice_client.get(url).content.decode()
    assert f"Keep: record #{kept.pk}" in page and f"Duplicate: record #{duplicate.pk}" in page
    assert "Ayşe Yılmaz" in page and "AYSE YILMAZ" in page
    assert reverse("desk:merge", args=[duplicate.pk, kept.pk]) in page  # keep the other one instead
    assert not Patient.objects.get(pk=duplicate.pk).is_archived
    response = alice_client.post(url)
    assert response.status_code == 302 and response["Location"] == kept.get_absolute_url()
    duplicate.refresh_from_db()
    assert duplicate.merged_into == kept
    archived_page = alice_client.get(duplicate.get_absolute_url()).content.decode()
    assert "Archived record." in archived_page and kept.get_absolute_url() in archived_page


def test_the_choose_page_offers_the_likely_duplicate(twins, alice_client):
    kept, duplicate = twins
    page = alice_client.get(reverse("desk:merge_choose", args=[kept.pk])).content.decode()
    assert reverse("desk:merge", args=[kept.pk, duplicate.pk]) in page
    assert "same name and date of birth" in page
    found = alice_client.get(reverse("desk:merge_choose", args=[kept.pk]), {"q": "yilmaz"}).context["found"]
    assert found == [duplicate]


def test_only_a_practitioner_merges_and_only_with_a_csrf_token(twins, alice, sam_client):
    kept, duplicate = twins
    url = reverse("desk:merge", args=[kept.pk, duplicate.pk])
    assert sam_client.post(url).status_code == 403
    assert sam_client.get(reverse("desk:merge_choose", args=[kept.pk])).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(url).status_code == 403
    assert not Patient.objects.get(pk=duplicate.pk).is_archived


def test_a_record_is_not_merged_into_itself_nor_into_an_archived_one(twins, alice, alice_client):
    kept, duplicate = twins
    itself = alice_client.post(reverse("desk:merge", args=[kept.pk, kept.pk]))
    assert itself.status_code == 200 and "cannot be merged into itself" in itself.content.decode()
    other = PatientFactory()
    patient_merge(duplicate=other, kept=kept, by=alice)
    response = alice_client.post(reverse("desk:merge", args=[other.pk, duplicate.pk]))
    assert response.status_code == 200 and "The record to keep is archived" in response.content.decode()
    assert not Patient.objects.get(pk=duplicate.pk).is_archived
    assert Patient.objects.get(pk=kept.pk).merged_into is None


def test_sessions_at_the_same_time_are_refused(clinic, alice, room):
    from django.core.exceptions import ValidationError

    from mesoclinic.core.models import Room

    kept, duplicate = PatientFactory(), PatientFactory()
    start = moment(clinic_today(), 10)
    signed_session(alice, room, kept, start=start, next_in_days=0)
    # The same moment in another room with another practitioner: only the patient clashes.
    bob = type(alice).objects.create_user("bob", role="practitioner")
    from mesoclinic.core.models import WorkingHours

    for day in range(7):
        WorkingHours.objects.create(practitioner=bob, weekday=day, starts=datetime.time(7), ends=datetime.time(21))
    signed_session(bob, Room.objects.get(name="Room 2"), duplicate, start=start, next_in_days=0)
    with pytest.raises(ValidationError, match="same time"):
        patient_merge(duplicate=duplicate, kept=kept, by=alice)
    assert _counts(duplicate)["treatment_sessions.TreatmentSession"] == 1


def test_the_duplicates_patient_login_follows_when_the_kept_record_has_none(clinic, alice):
    kept = PatientFactory()
    user = PatientUserFactory(username="ayse")
    duplicate = PatientFactory(user=user)
    result = patient_merge(duplicate=duplicate, kept=kept, by=alice)
    kept.refresh_from_db()
    assert kept.user == user and "moved" in result.login
    assert duplicate not in patient_search("")
