"""The outbox as the front desk uses it: what goes next at the top, the history apart; a
message read exactly as the patient will receive it; and a message that was not sent sent
again, once, however often the button is clicked."""

import datetime
import re
import threading
from html import unescape

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.celery import app as celery_app
from mesoclinic.core.models import AuditEntry
from mesoclinic.plans.services import plan_activate
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.reminders import services as reminders
from mesoclinic.treatment_sessions.scheduling import services as scheduling
from tests.builders import PatientFactory, booked, consented, covering, next_monday, plan_for, screened

pytestmark = pytest.mark.django_db

OUTBOX = "/outbox/"


def booked_patient(alice, room, patient=None, medications=("ibuprofen",)):
    """A patient on a cellulite series whose reminders exist: returns their first session."""
    patient = patient or PatientFactory()
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=list(medications), **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    return booked(plan, alice, room, next_monday(3)).sessions.get(sequence=1)


def failed(reminder, error="SMTPRecipientsRefused: 550 mailbox unavailable"):
    Reminder.objects.filter(pk=reminder.pk).update(status=ReminderStatus.FAILED, last_error=error, attempts=9)
    reminder.refresh_from_db()
    return reminder


def message_url(reminder):
    return reverse("reminders:message", args=[reminder.pk])


def body_on_page(response):
    """The message body as the page shows it to a reader."""
    html = response.content.decode()
    match = re.search(r'data-testid="message-body">(.*?)</div>', html, re.S)
    assert match, html
    return unescape(match.group(1))


# --- The list ------------------------------------------------------------------------------


def _rows(patient, now, count, start=0):
    """`count` of each: due later (an hour apart), sent, not sent and cancelled."""
    rows = []
    for n in range(start, start + count):
        rows += [
            Reminder(
                key=f"appointment:due:{n}",
                patient=patient[n % len(patient)],
                kind=ReminderKind.APPOINTMENT,
                due_at=now + datetime.timedelta(hours=n + 1),
            ),
            Reminder(
                key=f"appointment:sent:{n}",
                patient=patient[n % len(patient)],
                kind=ReminderKind.APPOINTMENT,
                due_at=now - datetime.timedelta(days=2, hours=n),
                sent_at=now - datetime.timedelta(days=1, hours=n),
                status=ReminderStatus.SENT,
                subject=f"Reminder {n}",
            ),
            Reminder(
                key=f"follow_up:failed:{n}",
                patient=patient[n % len(patient)],
                kind=ReminderKind.FOLLOW_UP,
                due_at=now - datetime.timedelta(hours=n + 1),
                status=ReminderStatus.FAILED,
                last_error="The patient has no email address.",
            ),
            Reminder(
                key=f"appointment:cancelled:{n}",
                patient=patient[n % len(patient)],
                kind=ReminderKind.APPOINTMENT,
                due_at=now - datetime.timedelta(days=3, hours=n),
                status=ReminderStatus.CANCELLED,
            ),
        ]
    Reminder.objects.bulk_create(rows)


def test_the_outbox_lists_the_next_due_first_and_the_history_apart_newest_first(sam_client, clinic):
    now = timezone.now()
    _rows([PatientFactory(), PatientFactory()], now, 3)
    response = sam_client.get(OUTBOX)
    due = [r.key for r in response.context["due"]]
    assert due == ["appointment:due:0", "appointment:due:1", "appointment:due:2"]
    history = [r.key for r in response.context["page"]]
    # Newest first, by when it was sent or (not sent) when it was due.
    assert history == [
        "follow_up:failed:0",
        "follow_up:failed:1",
        "follow_up:failed:2",
        "appointment:sent:0",
        "appointment:sent:1",
        "appointment:sent:2",
        "appointment:cancelled:0",
        "appointment:cancelled:1",
        "appointment:cancelled:2",
    ]
    html = response.content.decode()
    assert html.index("Due next") < html.index('id="reminder-') < html.index("Sent, not sent and cancelled")
    # The filters say how many there are, the ones not sent among them.
    assert re.search(r"Not sent <span[^>]*>3</span>", html)


def test_the_due_filter_lists_every_due_reminder_soonest_first(sam_client, clinic):
    now = timezone.now()
    _rows([PatientFactory()], now, 25)
    first = sam_client.get(OUTBOX)
    assert len(first.context["due"]) == 20
    assert "5 more due later: see them all" in first.content.decode()
    listed = sam_client.get(OUTBOX, {"status": "pending"}).context["page"]
    assert [r.due_at for r in listed] == sorted(r.due_at for r in listed)
    assert listed.paginator.count == 25


@pytest.mark.parametrize("status", ["", "pending", "failed"])
def test_the_outbox_makes_the_same_queries_for_four_reminders_as_for_four_hundred(
    sam_client, clinic, django_assert_num_queries, status
):
    """Expect 5 queries, 6 unfiltered: the session, the user, the counts by status (which the
    paginator reuses), the next due (unfiltered only), the page of rows with their patients and
    sessions, and one insert of the access entries for every patient listed."""
    now = timezone.now()
    patients = [PatientFactory() for _ in range(30)]
    _rows(patients, now, 1)
    sam_client.get(OUTBOX, {"status": status})  # warm the clinic and content-type caches
    with django_assert_num_queries(5 if status else 6) as few:
        sam_client.get(OUTBOX, {"status": status})
    _rows(patients, now, 99, start=1)
    with django_assert_num_queries(len(few.captured_queries)):
        response = sam_client.get(OUTBOX, {"status": status})
    assert len(response.context["page"].object_list) == 50


# --- The preview ---------------------------------------------------------------------------


def test_a_preview_is_the_email_exactly_as_the_patient_receives_it(clinic, alice, room, sam_client):
    clinic.name = "Smith & O'Neil"
    clinic.save()
    from django.core.cache import cache

    cache.clear()
    patient = PatientFactory(given_name="Ayşe", family_name="O'Brien", preferred_language="tr")
    session = booked_patient(alice, room, patient)
    appointment = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    response = sam_client.get(message_url(appointment))
    assert response.status_code == 200
    sent = delivery.compose(appointment)
    assert body_on_page(response) == sent.body
    html = response.content.decode()
    assert sent.subject in unescape(html)
    # In her language, with the day written out, and names as typed (no &amp; in the email).
    assert "Sayın Ayşe" in sent.body or "Ayşe" in sent.body
    assert "Smith & O'Neil" in sent.body
    assert any(day in sent.body for day in ("Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"))
    assert appointment.patient.email in unescape(html)
    # Previewing sends nothing and changes nothing.
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.PENDING and not mail.outbox
    assert AuditEntry.objects.filter(
        patient_id=patient.pk, action=AuditEntry.Action.ACCESS, additional_data__page="outbox message"
    ).exists()


def test_a_preparation_reminder_is_read_by_the_practitioner_and_not_by_the_front_desk(
    clinic, alice, room, alice_client, sam_client
):
    session = booked_patient(alice, room)
    hold = Reminder.objects.get(session=session, kind=ReminderKind.HOLD, details__rule="nsaid-hold")
    assert "Please do not take ibuprofen in the 7 days before it." in body_on_page(alice_client.get(message_url(hold)))
    front_desk = sam_client.get(message_url(hold)).content.decode()
    assert "ibuprofen" not in front_desk
    assert "only a practitioner can read it" in front_desk


def test_a_preview_of_the_aftercare_email_makes_no_link(clinic, alice, room, alice_client):
    from mesoclinic.aftercare.models import SheetLink

    session = booked_patient(alice, room)
    reminder = Reminder.objects.create(
        key=f"aftercare:{session.pk}:x",
        patient=session.patient,
        session=session,
        kind=ReminderKind.AFTERCARE,
        due_at=timezone.now(),
        details={"sheet": 0},
    )
    body = body_on_page(alice_client.get(message_url(reminder)))
    assert "[a new link, made when the email is sent]" in body
    assert not SheetLink.objects.exists()


def test_a_patient_cannot_open_a_message(clinic, alice, room, pat_client):
    session = booked_patient(alice, room)
    appointment = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    assert pat_client.get(message_url(appointment)).status_code == 404
    assert pat_client.post(message_url(appointment), {"confirm": "resend"}).status_code == 404


# --- Sending again -------------------------------------------------------------------------


@pytest.fixture
def eager_celery():
    """The worker, in this process: the task runs where the view queued it."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_a_reminder_not_sent_is_sent_again_through_the_worker_and_the_row_says_sent(
    clinic, alice, room, sam, sam_client, eager_celery, django_capture_on_commit_callbacks
):
    session = booked_patient(alice, room)
    appointment = failed(Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT))
    page = sam_client.get(message_url(appointment)).content.decode()
    assert "Send this message again to" in page and 'value="resend"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = sam_client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(OUTBOX)
    assert "Sending again to" in response.content.decode()
    [email] = mail.outbox
    assert email.to == [session.patient.email] and email.subject.startswith("Reminder: your treatment")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.last_error, appointment.attempts) == (ReminderStatus.SENT, "", 10)
    listed = sam_client.get(OUTBOX).content.decode()
    row = re.search(rf'<tr id="reminder-{appointment.pk}">.*?</tr>', listed, re.S).group(0)
    assert "Sent" in row and "550" not in row
    [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_pk=str(appointment.pk))
    assert entry.actor == sam
    assert entry.changes["status"] == [ReminderStatus.FAILED, ReminderStatus.PENDING]
    assert entry.additional_data["patient_id"] == session.patient_id


def test_a_second_click_says_it_is_already_queued_and_queues_nothing(
    clinic, alice, room, sam_client, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    session = booked_patient(alice, room)
    appointment = failed(Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT))
    with django_capture_on_commit_callbacks(execute=True):
        first = sam_client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
        second = sam_client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
    assert "Sending again to" in first.content.decode()
    assert "Already queued to be sent again" in second.content.decode()
    assert queued == [appointment.pk]
    assert AuditEntry.objects.filter(action=AuditEntry.Action.UPDATE, object_pk=str(appointment.pk)).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_clicks_at_once_queue_the_message_once(clinic, alice, room, sam, monkeypatch):
    """Ten requests from ten connections at the same moment: the row lock lets one through."""
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    session = booked_patient(alice, room)
    appointment = failed(Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT))
    barrier, answers = threading.Barrier(10), []

    def click():
        client = Client()
        client.force_login(sam)
        barrier.wait()
        try:
            response = client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
            answers.append((response.status_code, response.content.decode()))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in answers] == [200] * 10
    assert sum("Sending again to" in page for _, page in answers) == 1
    assert sum("Already queued" in page for _, page in answers) == 9
    assert queued == [appointment.pk]


def test_sending_again_needs_the_confirming_button(clinic, alice, room, sam_client, monkeypatch):
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    session = booked_patient(alice, room)
    appointment = failed(Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT))
    response = sam_client.post(message_url(appointment), follow=True)
    assert "Nothing was sent" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.FAILED and not queued


def test_a_reminder_that_would_no_longer_be_true_is_not_sent_again(clinic, alice, room, alice_client, monkeypatch):
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    session = booked_patient(alice, room)
    appointment = failed(Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT))
    scheduling.session_cancel(session=session, reason="patient asked", by=alice)
    page = alice_client.get(message_url(appointment)).content.decode()
    assert "It cannot be sent again:" in page and "Its session is cancelled." in page
    assert 'value="resend"' not in page
    response = alice_client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
    assert "Its session is cancelled." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.FAILED and not queued


def test_a_reminder_to_a_patient_without_an_address_waits_for_one(
    clinic, alice, room, sam_client, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    patient = PatientFactory(email="")
    session = booked_patient(alice, room, patient)
    appointment = Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)
    assert delivery.deliver(appointment.pk) == "no address"
    page = sam_client.get(message_url(appointment)).content.decode()
    assert "The patient has no email address: add one to their record first." in page
    patient.email = "ayse@example.com"
    patient.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = sam_client.post(message_url(appointment), {"confirm": "resend"}, follow=True)
    assert "Sending again to ayse@example.com" in response.content.decode()
    assert queued == [appointment.pk]


def test_a_preparation_it_is_too_late_for_is_not_sent_again(clinic, alice, room, alice_client, monkeypatch):
    """The week without ibuprofen cannot be kept any more: the practitioner sees it at the re-check."""
    queued = []
    monkeypatch.setattr(reminders, "enqueue", queued.append)
    session = booked_patient(alice, room)
    hold = failed(Reminder.objects.get(session=session, details__rule="nsaid-hold"))
    later = session.starts_at - datetime.timedelta(days=3)
    assert reminders.resend_problem(hold, now=later).startswith("Its preparation no longer applies")
    assert reminders.resend_problem(hold, now=session.starts_at - datetime.timedelta(days=8)) == ""
    with pytest.raises(Exception, match="no longer applies"):
        reminders.reminder_resend(reminder=hold, by=None, now=later)
    assert not queued


# --- Plurals -------------------------------------------------------------------------------


def test_an_agreed_one_day_pause_and_a_week_read_right(clinic, alice, room):
    from mesoclinic.treatment_sessions.models import SessionStatus

    patient = PatientFactory()
    plan = plan_for(patient, alice, "hair_loss")
    screened(
        patient,
        alice,
        prescriber={"warfarin": ("pause", 1, "Dr. Kaya")},
        medications=["warfarin", "ibuprofen"],
        **covering(plan),
    )
    consented(plan, alice)
    session = booked(plan_activate(plan=plan, by=alice), alice, room, next_monday(3)).sessions.get(sequence=1)
    assert session.status == SessionStatus.SCHEDULED
    bodies = {
        r.details["medication"]: delivery.compose(r).body
        for r in Reminder.objects.filter(session=session, kind="hold")
        if r.details.get("medication")
    }
    assert "As agreed with Dr. Kaya, please do not take warfarin in the 24 hours before it." in bodies["warfarin"]
    assert "Please do not take ibuprofen in the 7 days before it." in bodies["ibuprofen"]
