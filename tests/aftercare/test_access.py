import datetime

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from mesoclinic.aftercare.models import SheetLink
from mesoclinic.aftercare.services import link_create
from mesoclinic.core.models import AuditEntry
from tests.builders import PatientFactory, PatientUserFactory

pytestmark = pytest.mark.django_db


def test_a_patient_reads_her_own_sheets_and_no_one_elses(pat_client, pat, make_sheet):
    mine = make_sheet(pat)
    theirs = make_sheet(PatientFactory())
    assert pat_client.get(mine.get_absolute_url()).status_code == 200
    assert pat_client.get(f"/aftercare/sheets/{mine.pk}/pdf/").status_code == 200
    assert pat_client.get(theirs.get_absolute_url()).status_code == 404
    assert pat_client.get(f"/aftercare/sheets/{theirs.pk}/pdf/").status_code == 404
    listing = pat_client.get("/aftercare/").content.decode()
    assert mine.get_absolute_url() in listing and theirs.get_absolute_url() not in listing


def test_staff_access_by_role(alice_client, sam_client, client, make_sheet, patient):
    sheet = make_sheet(patient)
    assert alice_client.get(sheet.get_absolute_url()).status_code == 200
    assert sam_client.get(sheet.get_absolute_url()).status_code == 403
    assert client.get(sheet.get_absolute_url()).status_code == 302


def test_signing_the_chart_emails_the_patient_a_link_that_opens_the_sheet(
    clinic, alice, room, patient, django_capture_on_commit_callbacks, settings
):
    from mesoclinic.celery import app
    from tests.builders import signed_session

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            session = signed_session(alice, room, patient)
    finally:
        app.conf.task_always_eager = False
    [email] = [m for m in mail.outbox if "aftercare" in m.subject.lower()]
    assert email.to == [patient.email]
    [url] = [line for line in email.body.splitlines() if "/aftercare/link/" in line]
    path = url[url.index("/aftercare/link/") :]
    token = path.split("/")[3]
    assert path == f"/aftercare/link/{token}/" and len(token) >= 40  # a random token and nothing else
    response = Client().get(path)
    assert response.status_code == 200
    assert "Your aftercare" in response.content.decode()
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS).order_by("-id").first()
    assert entry.actor is None and entry.additional_data["via"] == "email link"
    assert session.aftercare_sheet.links.count() == 1


def test_an_expired_link_explains_what_to_do(make_sheet, patient):
    sheet = make_sheet(patient)
    token = link_create(sheet, now=timezone.now() - datetime.timedelta(hours=73))
    response = Client().get(f"/aftercare/link/{token}/")
    assert response.status_code == 410
    page = response.content.decode()
    assert "This link has expired" in page and "sign in with your patient account" in page
    assert patient.display_name not in page


def test_a_revoked_link_explains_what_to_do(alice_client, make_sheet, patient):
    sheet = make_sheet(patient)
    token = link_create(sheet)
    alice_client.post(f"/aftercare/sheets/{sheet.pk}/revoke/")
    assert SheetLink.objects.get().revoked_at is not None
    response = Client().get(f"/aftercare/link/{token}/")
    assert response.status_code == 410 and "switched off" in response.content.decode()


@pytest.mark.parametrize("token", ["x", "A" * 43, "%00", "A" * 300])
def test_a_tampered_link_is_a_clear_page_never_someone_elses_sheet(make_sheet, patient, token):
    make_sheet(patient)
    response = Client().get(f"/aftercare/link/{token}/")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_a_session_not_completed_has_no_sheet(pat_client, pat):
    assert "no aftercare sheets yet" in pat_client.get("/aftercare/").content.decode()
    assert pat_client.get("/aftercare/sheets/999/").status_code == 404


def test_every_view_is_in_the_audit_trail(pat_client, pat, make_sheet):
    sheet = make_sheet(pat)
    pat_client.get(sheet.get_absolute_url())
    pat_client.get(f"/aftercare/sheets/{sheet.pk}/pdf/")
    pages = list(
        AuditEntry.objects.for_patient(pat.pk)
        .filter(action=AuditEntry.Action.ACCESS, actor=pat.user)
        .values_list("additional_data__page", flat=True)
    )
    assert "aftercare sheet" in pages and "aftercare sheet (PDF)" in pages


def test_a_patient_without_a_record_sees_a_clear_message():
    user = PatientUserFactory(username="orphan")
    client = Client()
    client.force_login(user)
    assert "not linked to a patient record" in client.get("/aftercare/").content.decode()
