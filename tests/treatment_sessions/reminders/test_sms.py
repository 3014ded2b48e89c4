"""Text messages beside email: the patient chooses email, SMS or both; each channel is sent
exactly once, retried on its own, and says nothing clinical, in two parts at most.

The HTTP gateway backend is tested against a stand-in gateway on 127.0.0.1 (http.server in a
thread): what it receives, a 500, a 400 and a gateway that does not answer in time."""

import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import sms
from mesoclinic.patients.models import ContactBy, Language, Patient
from mesoclinic.treatment_sessions import tasks
from mesoclinic.treatment_sessions.models import Reminder, ReminderChannel, ReminderKind, ReminderStatus
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.reminders import services as reminders
from mesoclinic.treatment_sessions.scheduling import services as scheduling
from tests.builders import (
    PatientFactory,
    active_plan,
    booked,
    consented,
    covering,
    next_monday,
    plan_for,
    screened,
    signed_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _texts_in_memory(settings):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_SENDER = "MESOCLINIC"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


class Gateway:
    """A stand-in SMS gateway: records each request, answers from `answers` in turn (status,
    seconds to wait first), then 200 with an id."""

    def __init__(self):
        self.requests, self.answers = [], []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"headers": dict(self.headers), "body": json.loads(body), "path": self.path})
                status, wait = gateway.answers.pop(0) if gateway.answers else (200, 0)
                time.sleep(wait)
                answer = json.dumps({"id": f"gw-{len(gateway.requests)}"} if status == 200 else {"error": "busy"})
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(answer.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is the test

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    running = Gateway()
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = running.url
    settings.SMS_GATEWAY_TOKEN = "s3cret-token"
    settings.SMS_TIMEOUT = 1
    yield running
    running.close()


def _plan(alice, patient, medications=()):
    from mesoclinic.plans.services import plan_activate

    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=list(medications), **covering(plan))
    consented(plan, alice)
    return plan_activate(plan=plan, by=alice)


@pytest.fixture
def ayse(clinic):
    clinic.name, clinic.phone = "Şişli Klinik", "+90 212 555 00 00"
    clinic.save()
    cache.clear()
    return PatientFactory(
        given_name="Ayşe",
        family_name="Öztürk",
        phone="+905321234567",
        email="ayse@example.com",
        preferred_language=Language.TURKISH,
        contact_by=ContactBy.SMS,
    )


def _appointment(alice, room, patient, medications=()):
    session = booked(_plan(alice, patient, medications), alice, room, next_monday(3)).sessions.get(sequence=1)
    return session, Reminder.objects.get(session=session, kind=ReminderKind.APPOINTMENT)


# --- Length ---------------------------------------------------------------------------------


def test_gsm7_takes_160_characters_in_one_part_and_153_in_each_of_several():
    assert (sms.parts("a" * 160), sms.parts("a" * 161), sms.parts("a" * 306), sms.parts("a" * 307)) == (1, 2, 2, 3)
    assert sms.encoding("Randevunuz 3 Aralık'ta") == "UCS-2"  # ı
    assert sms.encoding("Öztürk, Ümraniye") == "GSM-7"  # ö ü Ö Ü are in the GSM alphabet


@pytest.mark.parametrize("letter", ["ş", "ğ", "ı", "İ", "Ş", "Ğ", "ç"])
def test_one_turkish_letter_makes_the_whole_message_ucs2_70_then_67_a_part(letter):
    text = letter + "a" * 69
    assert sms.encoding(text) == "UCS-2"
    assert sms.parts(text) == 1
    assert sms.parts(text + "a") == 2
    assert sms.parts(letter + "a" * 133) == 2
    assert sms.parts(letter + "a" * 134) == 3


def test_euro_and_brackets_cost_two_gsm7_characters():
    assert sms.parts("€" * 80) == 1
    assert sms.parts("€" * 81) == 2
    assert sms.encoding("[{€}]") == "GSM-7"


# --- The patient's choice ---------------------------------------------------------------------


def _form(**changes):
    data = {
        "given_name": "Elif",
        "family_name": "Yıldız",
        "date_of_birth": "1987-09-23",
        "sex": "female",
        "phone": "0532 765 43 21",
        "email": "",
        "address": "",
        "preferred_language": "tr",
    }
    return {**data, **changes}


def test_the_patient_form_refuses_text_messages_without_a_phone_beside_the_choice(sam_client, clinic):
    response = sam_client.post(reverse("patients:create"), _form(phone="", email="elif@example.com", contact_by="sms"))
    assert response.status_code == 200
    assert not Patient.objects.exists()
    page = response.content.decode()
    assert "Add a phone number to send text messages, or choose email." in page
    assert 'value="elif@example.com"' in page  # what was typed is kept
    error = page.split('id="error_1_id_contact_by"')[1].split("</span>")[0]
    assert "Add a phone number to send text messages" in error  # beside the choice, not at the top
    assert '<option value="sms" selected>' in page


def test_the_patient_form_saves_both(sam_client, clinic):
    response = sam_client.post(
        reverse("patients:create"), _form(email="elif@example.com", contact_by="both"), follow=True
    )
    assert response.status_code == 200
    assert Patient.objects.get().contact_by == ContactBy.BOTH


def test_email_without_an_address_is_refused_when_there_is_a_phone(sam_client, clinic):
    response = sam_client.post(reverse("patients:create"), _form(contact_by="email"))
    assert "There is no email address: add one, or choose text message." in response.content.decode()


def test_left_out_it_is_email_where_there_is_an_address_else_text_messages(sam_client, clinic):
    sam_client.post(reverse("patients:create"), _form())
    sam_client.post(
        reverse("patients:create"), _form(given_name="Can", phone="0532 111 22 33", email="can@example.com")
    )
    chosen = dict(Patient.objects.values_list("given_name", "contact_by"))
    assert chosen == {"Elif": ContactBy.SMS, "Can": ContactBy.EMAIL}


def test_the_form_offers_the_three_choices_and_says_what_not_choosing_means(sam_client, clinic):
    page = sam_client.get(reverse("patients:create")).content.decode()
    assert "Send reminders by" in page
    select = page.split('name="contact_by"')[1].split("</select>")[0]
    assert '<option value="" selected>Email where there is an address, else text message</option>' in select
    for label in ("Email", "Text message (SMS)", "Email and text message"):
        assert f">{label}</option>" in select
    assert "---------" not in select


# --- Sending --------------------------------------------------------------------------------


def test_a_patient_who_takes_texts_gets_the_appointment_by_sms_in_turkish_and_no_email(ayse, alice, room):
    session, appointment = _appointment(alice, room, ayse)
    assert appointment.channel == ReminderChannel.SMS
    assert delivery.deliver(appointment.pk) == "sent"
    assert mail.outbox == []
    (text,) = sms.outbox
    assert text.to == "+905321234567"
    assert text.sender == "MESOCLINIC"
    assert text.reference == appointment.key
    local = timezone.localtime(session.starts_at, ayse_zone())
    months_tr = ["Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım"]
    assert f"{local.day} {([*months_tr, 'Aralık'])[local.month - 1]}" in text.body
    assert f"{local:%H:%M}" in text.body
    assert "Şişli Klinik" in text.body
    assert sms.parts(text.body) <= 2
    appointment.refresh_from_db()
    assert (appointment.status, appointment.recipient) == (ReminderStatus.SENT, "+905321234567")


def ayse_zone():
    from mesoclinic.core.selectors import clinic_zone

    return clinic_zone()


def test_both_sends_one_email_and_one_text_and_neither_twice(ayse, alice, room):
    ayse.contact_by = ContactBy.BOTH
    ayse.save()
    _, appointment = _appointment(alice, room, ayse)
    assert delivery.deliver(appointment.pk) == "sent"
    (copy,) = Reminder.objects.filter(key=f"{appointment.key}+sms")
    assert (copy.channel, copy.status, copy.details["copy_of"]) == (
        ReminderChannel.SMS,
        ReminderStatus.PENDING,
        appointment.pk,
    )
    assert delivery.deliver(copy.pk) == "sent"
    # A redelivery of either (a broker's second copy, a sweep) sends nothing more.
    assert delivery.deliver(appointment.pk) == "skipped"
    assert delivery.deliver(copy.pk) == "skipped"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ayse@example.com"]
    assert len(sms.outbox) == 1
    assert Reminder.objects.filter(key__startswith=appointment.key).count() == 2


def test_a_text_waiting_to_go_is_not_cancelled_when_the_session_is_synced(ayse, alice, room):
    ayse.contact_by = ContactBy.BOTH
    ayse.save()
    session, appointment = _appointment(alice, room, ayse)
    delivery.deliver(appointment.pk)
    reminders.sync_reminders(session)
    assert Reminder.objects.get(key=f"{appointment.key}+sms").status == ReminderStatus.PENDING


def test_a_moved_session_cancels_the_text_of_its_old_time(ayse, alice, room):
    ayse.contact_by = ContactBy.BOTH
    ayse.save()
    session, appointment = _appointment(alice, room, ayse)
    delivery._share_out(appointment.pk)  # the copy is made, the email not yet sent
    copy = Reminder.objects.get(key=f"{appointment.key}+sms")
    from mesoclinic.core.selectors import wall_clock

    scheduling.session_move(
        session=session, new_local=wall_clock(session.starts_at, ayse_zone()) + datetime.timedelta(hours=2), by=alice
    )
    copy.refresh_from_db()
    assert copy.status == ReminderStatus.CANCELLED


def test_a_choice_changed_after_the_reminder_was_made_is_the_one_that_counts(ayse, alice, room):
    ayse.contact_by = ContactBy.EMAIL
    ayse.save()
    _, appointment = _appointment(alice, room, ayse)
    assert appointment.channel == ReminderChannel.EMAIL
    Patient.objects.filter(pk=ayse.pk).update(contact_by=ContactBy.SMS)
    assert delivery.deliver(appointment.pk) == "sent"
    appointment.refresh_from_db()
    assert appointment.channel == ReminderChannel.SMS
    assert mail.outbox == [] and len(sms.outbox) == 1
    assert Reminder.objects.filter(key__startswith=appointment.key).count() == 1


def test_a_preparation_text_names_no_medicine_and_links_the_patients_own_page(pat, alice, room):
    pat.contact_by, pat.preferred_language = ContactBy.SMS, Language.ENGLISH
    pat.save()
    session = booked(_plan(alice, pat, ["ibuprofen"]), alice, room, next_monday(3)).sessions.get(sequence=1)
    holds = Reminder.objects.filter(session=session, kind=ReminderKind.HOLD)
    assert holds.exists()
    for hold in holds:
        assert delivery.deliver(hold.pk) == "sent"
    assert len(sms.outbox) == holds.count()
    for text in sms.outbox:
        lowered = text.body.lower()
        for clinical in ("ibuprofen", "advil", "nsaid", "alcohol", "cellulite", "stop", "medicine"):
            assert clinical not in lowered, text.body
        assert "http://127.0.0.1:8000/aftercare/" in text.body
        assert "Preparation instructions" in text.body


def test_a_preparation_text_to_a_patient_without_a_login_says_to_call(clinic, alice, room):
    clinic.phone = "+44 20 7946 0000"
    clinic.save()
    cache.clear()
    patient = PatientFactory(email="", phone="+447700900123", contact_by=ContactBy.SMS)
    session = booked(_plan(alice, patient, ["ibuprofen"]), alice, room, next_monday(3)).sessions.get(sequence=1)
    hold = Reminder.objects.filter(session=session, kind=ReminderKind.HOLD).first()
    delivery.deliver(hold.pk)
    (text,) = sms.outbox
    assert "call us on +44 20 7946 0000" in text.body
    assert "ibuprofen" not in text.body.lower() and "http" not in text.body


def test_the_aftercare_text_carries_a_link_that_opens_the_sheet(alice, room, client, clinic):
    patient = PatientFactory(given_name="Ayşe", contact_by=ContactBy.SMS, preferred_language=Language.TURKISH)
    session = signed_session(alice, room, patient)
    from mesoclinic.aftercare.services import session_completed

    session_completed(session_id=session.pk)
    reminder = Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE)
    assert delivery.deliver(reminder.pk) == "sent"
    (text,) = sms.outbox
    assert mail.outbox == []
    link = text.body[text.body.index("http://") :].split()[0]
    assert sms.parts(text.body) <= 2
    assert text.body.startswith(clinic.name)
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200


def test_a_long_clinic_name_falls_back_to_the_short_wording_and_still_fits(alice, room, clinic):
    clinic.name = "Şişli Estetik ve Mezoterapi Kliniği Nişantaşı Şubesi"
    clinic.save()
    cache.clear()
    patient = PatientFactory(contact_by=ContactBy.SMS, preferred_language=Language.TURKISH)
    session = signed_session(alice, room, patient)
    from mesoclinic.aftercare.services import session_completed

    session_completed(session_id=session.pk)
    delivery.deliver(Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE).pk)
    (text,) = sms.outbox
    assert sms.parts(text.body) <= 2
    assert "Nişantaşı" not in text.body and "/aftercare/link/" in text.body


def test_a_change_of_many_sessions_lists_what_fits_and_counts_the_rest(ayse, alice, room):
    plan = active_plan(alice, "cellulite", patient=ayse, sessions_planned=6, intervals=[7] * 5)
    booked(plan, alice, room, next_monday())
    first = plan.sessions.get(sequence=1)
    scheduling.session_cancel_remaining(session=first, reason="Moving away", by=alice)
    (notice,) = Reminder.objects.filter(patient=ayse, kind=ReminderKind.CHANGE)
    assert delivery.deliver(notice.pk) == "sent"
    (text,) = sms.outbox
    assert sms.parts(text.body) <= 2
    assert "cancelled" in text.body or "iptal" in text.body
    assert "more change" in text.body or "değişiklik" in text.body
    assert "Moving away" not in text.body


def test_a_message_that_cannot_fit_is_not_sent_and_says_why(ayse, alice, room, settings):
    settings.MESOCLINIC_BASE_URL = "https://" + "klinik-" * 30 + ".example.com"
    patient = PatientFactory(contact_by=ContactBy.SMS, preferred_language=Language.TURKISH)
    session = signed_session(alice, room, patient)
    from mesoclinic.aftercare.services import session_completed

    session_completed(session_id=session.pk)
    reminder = Reminder.objects.get(session=session, kind=ReminderKind.AFTERCARE)
    assert delivery.deliver(reminder.pk) == "refused"
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.FAILED
    assert "at most 2 are sent" in reminder.last_error
    assert sms.outbox == []


def test_no_phone_is_not_sent_with_the_reason_and_cannot_be_resent_until_there_is_one(ayse, alice, room):
    _, appointment = _appointment(alice, room, ayse)
    Patient.objects.filter(pk=ayse.pk).update(phone="")
    assert delivery.deliver(appointment.pk) == "no address"
    appointment.refresh_from_db()
    assert (appointment.status, appointment.last_error) == (
        ReminderStatus.FAILED,
        "The patient has no phone number for text messages.",
    )
    assert "no phone number for text messages" in reminders.resend_problem(appointment)


# --- The HTTP gateway -----------------------------------------------------------------------


def test_the_gateway_receives_the_number_sender_text_reference_and_token(ayse, alice, room, gateway):
    _, appointment = _appointment(alice, room, ayse)
    assert delivery.deliver(appointment.pk) == "sent"
    (request,) = gateway.requests
    assert request["path"] == "/v1/messages"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    body = request["body"]
    assert set(body) == {"to", "from", "text", "reference"}
    assert (body["to"], body["from"], body["reference"]) == ("+905321234567", "MESOCLINIC", appointment.key)
    assert "Şişli Klinik" in body["text"]  # sent as UTF-8 JSON, Turkish letters intact


def test_a_gateway_500_is_retried_and_the_email_is_not_sent_again(ayse, alice, room, gateway):
    ayse.contact_by = ContactBy.BOTH
    ayse.save()
    _, appointment = _appointment(alice, room, ayse)
    delivery.deliver(appointment.pk)
    assert len(mail.outbox) == 1
    copy = Reminder.objects.get(key=f"{appointment.key}+sms")
    gateway.answers = [(500, 0)]
    with pytest.raises(sms.SMSGatewayError, match="answered 500"):
        delivery.deliver(copy.pk)
    copy.refresh_from_db()
    assert copy.status == ReminderStatus.PENDING  # the task retries it (an OSError, like SMTP's)
    assert isinstance(sms.SMSGatewayError("x"), OSError)
    assert delivery.deliver(copy.pk) == "sent"  # the gateway is back
    assert delivery.deliver(appointment.pk) == "skipped"
    assert len(mail.outbox) == 1 and len(gateway.requests) == 2


def test_a_gateway_that_keeps_failing_ends_not_sent_with_the_reason(ayse, alice, room, gateway, settings):
    _, appointment = _appointment(alice, room, ayse)
    gateway.answers = [(500, 0)] * 20
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from mesoclinic.celery import app

    app.conf.task_always_eager = True
    try:
        result = tasks.send_reminder.apply(args=(appointment.pk,))
    finally:
        app.conf.task_always_eager = False
    assert result.failed()
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.FAILED
    assert appointment.last_error.startswith("SMSGatewayError: the SMS gateway answered 500")
    assert len(gateway.requests) == tasks.send_reminder.max_retries + 1


def test_a_gateway_that_does_not_answer_in_time_is_a_retryable_timeout(ayse, alice, room, gateway):
    _, appointment = _appointment(alice, room, ayse)
    gateway.answers = [(200, 2.5)]
    started = time.monotonic()
    with pytest.raises(sms.SMSGatewayError, match="did not answer within 1 s"):
        delivery.deliver(appointment.pk)
    assert time.monotonic() - started < 2.4
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.PENDING


def test_a_gateway_that_refuses_the_number_is_not_sent_at_once(ayse, alice, room, gateway):
    _, appointment = _appointment(alice, room, ayse)
    gateway.answers = [(400, 0)]
    assert delivery.deliver(appointment.pk) == "refused"
    appointment.refresh_from_db()
    assert appointment.status == ReminderStatus.FAILED
    assert appointment.last_error.startswith("the SMS gateway answered 400")
    assert len(gateway.requests) == 1


def test_a_gateway_that_cannot_be_reached_is_retryable(ayse, alice, room, settings):
    settings.SMS_BACKEND, settings.SMS_GATEWAY_URL = "http", "http://127.0.0.1:9/v1/messages"
    _, appointment = _appointment(alice, room, ayse)
    with pytest.raises(sms.SMSGatewayError, match="could not be reached"):
        delivery.deliver(appointment.pk)


def test_production_without_a_gateway_marks_texts_not_sent_saying_so(ayse, alice, room, settings):
    settings.SMS_BACKEND = "disabled"
    _, appointment = _appointment(alice, room, ayse)
    assert delivery.deliver(appointment.pk) == "refused"
    appointment.refresh_from_db()
    assert appointment.last_error == "No SMS gateway is configured (MESOCLINIC_SMS_URL)."


def test_the_file_backend_writes_each_text_to_a_file(ayse, alice, room, settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "file", str(tmp_path / "sms")
    _, appointment = _appointment(alice, room, ayse)
    delivery.deliver(appointment.pk)
    (written,) = (tmp_path / "sms").iterdir()
    content = written.read_text(encoding="utf-8")
    assert "To: +905321234567" in content and "Şişli Klinik" in content and "UCS-2" in content


# --- The outbox -----------------------------------------------------------------------------


def test_the_outbox_shows_a_text_with_its_number_and_its_length(ayse, alice, room, sam_client):
    _, appointment = _appointment(alice, room, ayse)
    page = sam_client.get(reverse("reminders:outbox")).content.decode()
    assert "+90 532 123 45 67" in page
    message = sam_client.get(reverse("reminders:message", args=[appointment.pk])).content.decode()
    preview = delivery.compose_sms(appointment, preview=True)
    assert preview in message
    assert "+905321234567" in message
    assert f"{len(preview)} characters, {sms.parts(preview)} part" in message
    assert "(UCS-2)" in message
    assert sms.outbox == []  # a preview sends nothing
