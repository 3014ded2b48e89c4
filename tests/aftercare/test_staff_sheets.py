"""Staff reach the aftercare sheets: the practitioner's patient page lists them, the session
page shows its own, each with Print, PDF, Resend (a fresh emailed link) and Revoke.

Dr. Alice looks after Ayla, who has had three sessions; Sam at the front desk sees her
appointments but not her sheets; Pat is another patient with a login of her own."""

import datetime
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.aftercare import services
from mesoclinic.aftercare.models import AftercareSheet, SheetLink
from mesoclinic.aftercare.selectors import patient_sheets
from mesoclinic.core.models import AuditEntry
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    """What the app queues on commit runs at once, as a worker would a moment later."""
    from mesoclinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def emailed_sheet(make_sheet, django_capture_on_commit_callbacks, eager_tasks):
    """A sheet made and emailed the way a signed chart makes and emails it (the worker's task)."""

    def make(patient):
        sheet = make_sheet(patient)
        with django_capture_on_commit_callbacks(execute=True):
            services.session_completed(session_id=sheet.session_id)
        return sheet

    return make


def _token_in(email):
    [url] = [line for line in email.body.splitlines() if "/aftercare/link/" in line]
    return url[url.index("/aftercare/link/") :].split("/")[3]


def _row(page, sheet):
    """The patient page's row of one sheet (up to the next row)."""
    start = page.index(f'id="sheet-{sheet.pk}"')
    following = page.find('class="staff-sheet"', start + 1)
    return page[start : following if following != -1 else len(page)]


def _record(client, patient):
    return client.get(reverse("desk:patient", args=[patient.pk])).content.decode()


def test_the_patient_page_lists_each_sheet_with_its_session_date_language_and_how_it_was_sent(
    alice_client, patient, make_sheet, emailed_sheet
):
    first = make_sheet(patient)  # made before emails went out (as the demo's history)
    second = emailed_sheet(patient)
    third = emailed_sheet(patient)
    SheetLink.objects.filter(sheet=third).update(revoked_at=timezone.now())

    page = _record(alice_client, patient)

    assert "No aftercare sheets yet" not in page and "3 sheets" in page
    rows = [_row(page, sheet) for sheet in (first, second, third)]
    for sheet, row in zip((first, second, third), rows, strict=True):
        session = sheet.session
        assert f"Skin rejuvenation, session {session.sequence} of {session.plan.sessions_planned}" in row
        assert timezone.localtime(session.starts_at).strftime("%-d %b %Y") in row
        assert "In English" in row
        assert sheet.get_absolute_url() + "?print=1" in row  # Print
        assert reverse("aftercare:sheet_pdf", args=[sheet.pk]) in row
        assert reverse("aftercare:resend", args=[sheet.pk]) in row
        assert session.get_absolute_url() in row
    assert "Never emailed" in rows[0] and 'data-link="' not in rows[0]
    assert "Emailed " in rows[1] and 'data-link="live"' in rows[1] and "Link works" in rows[1]
    assert reverse("aftercare:revoke", args=[second.pk]) in rows[1]
    assert 'data-link="revoked"' in rows[2] and "Link switched off" in rows[2]
    assert reverse("aftercare:revoke", args=[third.pk]) not in rows[2]  # nothing left to switch off


def test_the_newest_session_comes_first(alice_client, patient, make_sheet):
    older, newer = make_sheet(patient), make_sheet(patient)
    page = _record(alice_client, patient)
    assert page.index(f'id="sheet-{newer.pk}"') < page.index(f'id="sheet-{older.pk}"')


def test_a_patient_without_sheets_is_told_when_one_is_made(alice_client, patient):
    assert "No aftercare sheets yet" in _record(alice_client, patient)


def test_the_sheets_are_one_query_however_many(patient, make_sheet, emailed_sheet, django_assert_num_queries):
    for _ in range(3):
        emailed_sheet(patient)
    make_sheet(patient)
    # Expect 1 query: the sheets with their session, plan, indication and patient, and the
    # email and link facts as subqueries of each row.
    with django_assert_num_queries(1):
        sheets = patient_sheets(patient)
        states = [(sheet.delivery.email, sheet.delivery.link, sheet.session.plan.indication.label) for sheet in sheets]
    assert len(states) == 4 and states.count(("sent", "live", "Skin rejuvenation")) == 3


def test_the_patient_page_does_the_same_number_of_queries_for_one_sheet_and_for_five(
    alice_client, patient, make_sheet, emailed_sheet, django_assert_num_queries
):
    emailed_sheet(patient)
    url = reverse("desk:patient", args=[patient.pk])
    alice_client.get(url)  # what a process reads once (the clinic, the knowledge) is not the page's cost
    with CaptureQueriesContext(connection) as one:
        assert alice_client.get(url).status_code == 200
    for _ in range(3):
        emailed_sheet(patient)
    make_sheet(patient)
    with django_assert_num_queries(len(one.captured_queries)):
        page = alice_client.get(url).content.decode()
    assert page.count('class="staff-sheet"') == 5


def test_resend_emails_the_patient_a_fresh_link_that_opens_the_sheet_and_is_recorded(
    alice_client, alice, patient, emailed_sheet, django_capture_on_commit_callbacks
):
    sheet = emailed_sheet(patient)
    [first_email] = mail.outbox
    back = reverse("desk:patient", args=[patient.pk]) + "#aftercare"

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("aftercare:resend", args=[sheet.pk]), {"next": back}, follow=True)

    assert response.redirect_chain[0] == (back, 302)
    assert f"A fresh link to the sheet is on its way to {patient.email}" in response.content.decode()
    [_, resent] = mail.outbox
    assert resent.to == [patient.email] and resent.subject == first_email.subject
    token = _token_in(resent)
    assert token != _token_in(first_email)
    opened = Client().get(f"/aftercare/link/{token}/")
    assert opened.status_code == 200 and "Your aftercare" in opened.content.decode()
    # The first link still opens: a resend adds a link, revoking is a separate decision.
    assert Client().get(f"/aftercare/link/{_token_in(first_email)}/").status_code == 200
    emails = Reminder.objects.filter(session=sheet.session, kind=ReminderKind.AFTERCARE)
    assert sorted(emails.values_list("status", flat=True)) == [ReminderStatus.SENT, ReminderStatus.SENT]
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.UPDATE).latest("id")
    assert entry.actor == alice and entry.object_id == sheet.pk
    assert entry.what.startswith(f"Resent the aftercare sheet of session {sheet.session.sequence}")
    assert patient.email in entry.what and entry.remote_addr == "127.0.0.1"
    assert "Emailed" in _row(_record(alice_client, patient), sheet)


def test_a_sheet_never_emailed_can_be_emailed_from_the_page(
    alice_client, patient, make_sheet, django_capture_on_commit_callbacks, eager_tasks
):
    sheet = make_sheet(patient)
    assert "Email a link" in _row(_record(alice_client, patient), sheet)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("aftercare:resend", args=[sheet.pk]))
    [email] = mail.outbox
    assert Client().get(f"/aftercare/link/{_token_in(email)}/").status_code == 200
    row = _row(_record(alice_client, patient), sheet)
    assert 'data-email="sent"' in row and 'data-link="live"' in row


def test_a_second_click_while_the_email_is_on_its_way_sends_nothing_more(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    url = reverse("aftercare:resend", args=[sheet.pk])
    alice_client.post(url)  # no worker runs: the email waits in the outbox
    response = alice_client.post(url, follow=True)
    assert "already on its way" in response.content.decode()
    assert Reminder.objects.filter(session=sheet.session, kind=ReminderKind.AFTERCARE).count() == 1
    row = _row(_record(alice_client, patient), sheet)
    assert "Email on its way" in row and re.search(r"<button[^>]*disabled[^>]*>\s*<i[^>]*></i>\s*Resend", row)


def test_resend_without_an_email_address_says_what_to_do(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    patient.email = ""
    patient.save()
    assert "No email address on the record" in _row(_record(alice_client, patient), sheet)
    response = alice_client.post(reverse("aftercare:resend", args=[sheet.pk]), follow=True)
    assert "The patient has no email address" in response.content.decode()
    assert not Reminder.objects.filter(session=sheet.session).filter(kind=ReminderKind.AFTERCARE).exists()


def test_a_failed_email_is_shown_with_its_reason(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    Reminder.objects.create(
        key=f"aftercare:{sheet.session_id}",
        patient=patient,
        session=sheet.session,
        kind=ReminderKind.AFTERCARE,
        due_at=timezone.now(),
        status=ReminderStatus.FAILED,
        last_error="The patient has no email address.",
        details={"sheet": sheet.pk},
    )
    row = _row(_record(alice_client, patient), sheet)
    assert "Last email not sent: The patient has no email address." in row


def test_revoke_switches_the_emailed_link_off_is_recorded_and_comes_back_to_the_page(
    alice_client, alice, patient, emailed_sheet
):
    sheet = emailed_sheet(patient)
    token = _token_in(mail.outbox[0])
    back = reverse("desk:patient", args=[patient.pk]) + "#aftercare"

    response = alice_client.post(reverse("aftercare:revoke", args=[sheet.pk]), {"next": back}, follow=True)

    assert response.redirect_chain[0] == (back, 302)
    assert "1 emailed link switched off" in response.content.decode()
    gone = Client().get(f"/aftercare/link/{token}/")
    assert gone.status_code == 410 and "This link was switched off" in gone.content.decode()
    assert Client().get(f"/aftercare/link/{token}/pdf/").status_code == 410
    link = SheetLink.objects.get(sheet=sheet)
    assert link.revoked_by == alice
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.UPDATE).latest("id")
    assert entry.actor == alice and entry.what.startswith("Revoked 1 emailed link to the aftercare sheet")
    assert 'data-link="revoked"' in _row(response.content.decode(), sheet)
    # The patient can still sign in to read it; the page says so before it is done.
    assert "The patient can still sign in to read the sheet" in response.content.decode()


def test_revoke_with_nothing_live_says_so_and_records_nothing(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    before = AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).count()
    response = alice_client.post(reverse("aftercare:revoke", args=[sheet.pk]), follow=True)
    assert "nothing to switch off" in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE).count() == before


@pytest.mark.parametrize(
    "back", ["https://elsewhere.example/phish", "//elsewhere.example/", "javascript:alert(1)", "\x00", "x" * 5000]
)
def test_resend_and_revoke_go_back_only_to_a_page_of_this_site(alice_client, patient, make_sheet, back):
    sheet = make_sheet(patient)
    for name in ("aftercare:revoke", "aftercare:resend"):
        response = alice_client.post(reverse(name, args=[sheet.pk]), {"next": back})
        assert response.status_code == 302 and response["Location"] == sheet.get_absolute_url()


def test_the_session_page_shows_its_sheet_with_print_pdf_resend_and_revoke(alice_client, patient, emailed_sheet):
    sheet = emailed_sheet(patient)
    page = alice_client.get(sheet.session.get_absolute_url()).content.decode()
    card = page[page.index('id="session-aftercare-title"') :]
    assert sheet.get_absolute_url() + "?print=1" in card
    assert reverse("aftercare:sheet_pdf", args=[sheet.pk]) in card
    assert reverse("aftercare:resend", args=[sheet.pk]) in card
    assert reverse("aftercare:revoke", args=[sheet.pk]) in card
    assert f'name="next" value="{sheet.session.get_absolute_url()}#aftercare"' in card


def test_a_session_not_yet_charted_shows_no_sheet(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    upcoming = sheet.session.plan.sessions.get(sequence=2)  # booked, not done
    page = alice_client.get(upcoming.get_absolute_url()).content.decode()
    assert "session-aftercare-title" not in page


def test_the_sheet_page_shows_staff_how_it_was_sent_in_their_language(alice_client, patient, emailed_sheet):
    patient.preferred_language = "tr"
    patient.save()
    sheet = emailed_sheet(patient)
    page = alice_client.get(sheet.get_absolute_url()).content.decode()
    assert "Tedavi sonrası bakımınız" in page  # the sheet itself is in Turkish
    assert "Resend link" in page and "Revoke link" in page and "In Türkçe" in page
    assert "aftercare_print" not in page


def test_print_opens_the_sheet_with_the_print_dialog(alice_client, pat_client, pat, patient, make_sheet):
    sheet = make_sheet(patient)
    page = alice_client.get(sheet.get_absolute_url() + "?print=1").content.decode()
    assert "data-print-on-open" in page and "js/aftercare_print.js" in page
    own = make_sheet(pat)
    assert pat_client.get(own.get_absolute_url() + "?print=%00").status_code == 200


def test_the_clinic_admin_sees_no_sheet_and_cannot_resend_or_revoke(sam_client, patient, emailed_sheet):
    sheet = emailed_sheet(patient)
    record = _record(sam_client, patient)
    session_page = sam_client.get(sheet.session.get_absolute_url()).content.decode()
    for page in (record, session_page):
        assert sheet.get_absolute_url() not in page and "aftercare/sheets" not in page
    for name in ("aftercare:resend", "aftercare:revoke"):
        assert sam_client.post(reverse(name, args=[sheet.pk])).status_code == 403
    assert SheetLink.objects.get(sheet=sheet).is_valid()
    assert Reminder.objects.filter(session=sheet.session, kind=ReminderKind.AFTERCARE).count() == 1


def test_a_patient_cannot_resend_or_revoke_even_her_own_sheet(pat_client, pat, make_sheet):
    sheet = make_sheet(pat)
    link = services.link_create(sheet)
    for name in ("aftercare:resend", "aftercare:revoke"):
        assert pat_client.post(reverse(name, args=[sheet.pk])).status_code == 404
    assert Client().get(f"/aftercare/link/{link}/").status_code == 200
    assert not Reminder.objects.filter(patient=pat, kind=ReminderKind.AFTERCARE).exists()


def test_an_expired_link_shows_as_expired_and_offers_no_revoke(alice_client, patient, make_sheet):
    sheet = make_sheet(patient)
    services.link_create(sheet, now=timezone.now() - datetime.timedelta(hours=80))
    row = _row(_record(alice_client, patient), sheet)
    assert 'data-link="expired"' in row and reverse("aftercare:revoke", args=[sheet.pk]) not in row
    assert AftercareSheet.objects.count() == 1


def test_the_turkish_pdf_draws_its_turkish_letters_from_the_latin_extended_font(alice_client, patient, make_sheet):
    """ş, ğ and İ come from Noto Sans's Latin Extended file. When both files shared one family
    name, WeasyPrint drew the wrong glyphs ("Şişli" as "Ŷiþli") while the text layer stayed right,
    so only the rendered page showed it: the Extended faces now have their own family."""
    import io

    from pypdf import PdfReader

    sheet = make_sheet(patient)
    response = alice_client.get(reverse("aftercare:sheet_pdf", args=[sheet.pk]) + "?lang=tr")
    reader = PdfReader(io.BytesIO(response.content))
    fonts = {
        str(font["/BaseFont"]).split("+")[-1] for page in reader.pages for font in page["/Resources"]["/Font"].values()
    }
    assert "Tedavi sonrası bakımınız" in reader.pages[0].extract_text()
    assert {"Noto-Sans", "Noto-Sans-Ext"} <= fonts, fonts
