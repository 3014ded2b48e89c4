"""The clinic sends the pre-visit questionnaire: from the patient page (the practitioner and the
clinic admin alike), and by itself when a plan's first session is booked; the message, read
as it is sent, in the patient's language; and the one reminder, 3 days before the visit, only
while it is still not returned.

Dr. Alice looks after Ayla, who has a plan of cellulite sessions; Sam at the front desk books
them. Messages go the real way: the reminder rows, the sweep, the task (run at once here, as a
worker would a moment later) and delivery."""

import datetime
import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import sms
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import ContactBy, Language
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.models import QuestionnaireRequest, QuestionnaireResponse
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from mesoclinic.treatment_sessions.reminders import delivery
from mesoclinic.treatment_sessions.reminders import services as reminders
from mesoclinic.treatment_sessions.scheduling import services as scheduling
from tests.builders import PatientFactory, active_plan, booked, local, next_monday

pytestmark = pytest.mark.django_db

NO_ANSWERS_WORRY = {
    "pregnant": "no",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
}
# Words a text message must never carry: a lock screen shows it.
CLINICAL = ("health", "medical", "treatment", "questionnaire", "sağlık", "tıbbi", "tedavi", "anket", "hamile")


@pytest.fixture(autouse=True)
def _messages(settings, clinic):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_SENDER = "MESOCLINIC"
    sms.outbox.clear()
    clinic.name, clinic.phone = "Şişli Klinik", "+90 212 555 00 00"
    clinic.save()
    cache.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def eager_tasks():
    """What the app queues on commit runs at once, as a worker would a moment later."""
    from mesoclinic.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def sent_now(django_capture_on_commit_callbacks, eager_tasks):
    """Run `action` as a request would: its transaction commits, then what it queued goes."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


@pytest.fixture
def plan(alice, patient):
    return active_plan(alice, "cellulite", patient=patient)


@pytest.fixture
def first_session(plan, alice, room):
    """The plan booked in the test's transaction: the on-commit questionnaire never runs."""
    return booked(plan, alice, room, next_monday(3)).sessions.get(sequence=1)


def _day(session):
    return timezone.localtime(session.starts_at).date()


def _page(client, patient):
    return client.get(reverse("desk:patient", args=[patient.pk])).content.decode()


def _token(text):
    return re.search(r"/q/([A-Za-z0-9_-]{43})/", text).group(1)


def _send(client, patient, day):
    return client.post(reverse("questionnaires:send", args=[patient.pk]), {"visit_on": day}, follow=True)


def _panel(page):
    start = page.index('id="questionnaire"')
    return page[start : page.index("</section>", start)]


# --- From the patient page -------------------------------------------------------------------


def test_the_practitioner_sends_it_for_the_next_session_and_is_told_where_it_went(
    alice_client, patient, first_session, sent_now
):
    form = _panel(_page(alice_client, patient))
    assert f'value="{_day(first_session):%Y-%m-%d}"' in form  # the next session's day, offered
    assert "Send questionnaire" in form and "By email to a•••@example.com" in form

    response = sent_now(_send, alice_client, patient, _day(first_session).isoformat())

    page = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/patients/{patient.pk}/#questionnaire")
    assert "Questionnaire sent by email to a•••@example.com, for the visit on " in page
    assert "ayla.demir@example.com" not in _panel(page)
    request = QuestionnaireRequest.objects.get(patient=patient)
    assert (request.session, request.visit_on, request.created_by.username) == (
        first_session,
        _day(first_session),
        "alice",
    )
    (email,) = mail.outbox
    assert email.to == ["ayla.demir@example.com"]
    found, problem = services.link_lookup(_token(email.body))
    assert (found, problem) == (request, "")


def test_without_a_session_that_day_it_is_for_the_day_and_a_week_ahead_is_offered(alice_client, sam_client, patient):
    week = clinic_today() + datetime.timedelta(days=7)
    assert f'value="{week:%Y-%m-%d}"' in _panel(_page(alice_client, patient))
    _send(sam_client, patient, (week + datetime.timedelta(days=2)).isoformat())
    request = QuestionnaireRequest.objects.get(patient=patient)
    assert (request.session, request.visit_on, request.created_by.username) == (
        None,
        week + datetime.timedelta(days=2),
        "sam",
    )


def test_the_clinic_admin_sends_it_to_a_patient_who_takes_texts(sam_client, patient, first_session, sent_now):
    patient.contact_by = ContactBy.SMS
    patient.save()
    page = sent_now(_send, sam_client, patient, _day(first_session).isoformat()).content.decode()
    ending = patient.phone[-2:]
    assert f"Questionnaire sent by text message to +90 ••• {ending}, for the visit on " in page
    assert mail.outbox == []
    (text,) = sms.outbox
    assert text.to == patient.phone and _token(text.body)


def _send_from_page(client, patient, day):
    """Send as the page's form does: with the open questionnaire it showed."""
    form = _panel(_page(client, patient))
    value = re.search(r'name="replaces"(?: value="(\d*)")?', form).group(1) or ""
    url = reverse("questionnaires:send", args=[patient.pk])
    return client.post(url, {"visit_on": day, "replaces": value}, follow=True)


def test_sending_again_switches_the_open_one_off_and_its_reminder_with_it(alice_client, patient, first_session):
    _send_from_page(alice_client, patient, _day(first_session).isoformat())
    first = QuestionnaireRequest.objects.get()
    first_token = services.link_create(first)
    page = _send_from_page(alice_client, patient, _day(first_session).isoformat()).content.decode()

    first.refresh_from_db()
    second = QuestionnaireRequest.objects.exclude(pk=first.pk).get()
    assert first.revoked_at is not None and first.revoked_by.username == "alice"
    assert services.link_lookup(first_token) == (first, "revoked")
    assert list(QuestionnaireRequest.objects.open()) == [second]
    chases = Reminder.objects.filter(kind=ReminderKind.QUESTIONNAIRE_CHASE)
    assert {(r.details["questionnaire"], r.status) for r in chases} == {
        (first.pk, ReminderStatus.CANCELLED),
        (second.pk, ReminderStatus.PENDING),
    }
    assert f'data-questionnaire="{second.pk}" data-state="open"' in page
    assert "Send again" in _panel(page)


def test_a_double_click_or_a_colleague_sending_meanwhile_sends_nothing_more(
    alice_client, sam_client, patient, first_session, sent_now
):
    stale = {"visit_on": _day(first_session).isoformat(), "replaces": ""}  # the page showed none open
    url = reverse("questionnaires:send", args=[patient.pk])
    sent_now(alice_client.post, url, stale)
    page = sent_now(sam_client.post, url, stale, follow=True).content.decode()
    assert "A questionnaire was sent a moment ago: nothing more was sent." in page
    assert QuestionnaireRequest.objects.count() == 1 and len(mail.outbox) == 1


def test_a_patient_the_clinic_cannot_message_is_refused_next_to_the_form_with_the_day_kept(alice_client, clinic):
    patient = PatientFactory(email="", phone="")
    day = (clinic_today() + datetime.timedelta(days=10)).isoformat()
    page = _send(alice_client, patient, day).content.decode()
    form = _panel(page)
    assert 'class="invalid-feedback d-block" id="questionnaire-visit_on_error"' in form
    assert "no email address or mobile number for messages" in form
    assert f'value="{day}"' in form and 'aria-invalid="true"' in form
    assert not QuestionnaireRequest.objects.exists() and not Reminder.objects.exists()
    # Shown once: the next visit to the page is a fresh form.
    assert "invalid-feedback" not in _panel(_page(alice_client, patient))


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("2020-01-01", "The visit is in the past"),
        ("2026-02-31", "Give a date"),
        ("15.12.2025", "Give a date"),
        ("9999-12-31", "Give a day within the next year"),
        ("", "Give the day of the visit"),
        ("1" * 5000, "Give a date"),
    ],
)
def test_a_day_that_is_past_nonsense_or_far_off_is_refused_beside_the_field(alice_client, patient, typed, said):
    response = _send(alice_client, patient, typed)
    assert response.status_code == 200
    form = _panel(response.content.decode())
    assert said in form[form.index("invalid-feedback") :]
    assert typed[:40] in form  # kept as typed (a long paste is cut, never a 500)
    assert not QuestionnaireRequest.objects.exists()


def test_an_archived_record_sends_nothing(alice_client, patient):
    patient.archived_at = timezone.now()
    patient.archive_reason = "Moved away"
    patient.save()
    day = (clinic_today() + datetime.timedelta(days=3)).isoformat()
    assert "questionnaire-visit_on" not in _page(alice_client, patient)  # no form offered
    assert "The record is archived: nothing is sent from it." in _send(alice_client, patient, day).content.decode()
    assert not QuestionnaireRequest.objects.exists()
    with pytest.raises(services.QuestionnaireRefused):
        services.questionnaire_send(patient=patient, visit_on=clinic_today())


def test_revoke_asks_first_then_switches_it_off(sam_client, patient):
    request = services.questionnaire_send(patient=patient, visit_on=clinic_today() + datetime.timedelta(days=10))
    token = services.link_create(request)
    url = reverse("questionnaires:revoke", args=[request.pk])

    assert sam_client.get(url).status_code == 405
    page = sam_client.post(url, follow=True).content.decode()
    assert "Nothing was switched off" in page and services.link_lookup(token)[1] == ""

    page = sam_client.post(url, {"confirm": "revoke"}, follow=True).content.decode()
    assert "Questionnaire switched off" in page
    assert services.link_lookup(token) == (request, "revoked")
    assert not Reminder.objects.filter(status=ReminderStatus.PENDING).exists()  # the chase too
    page = sam_client.post(url, {"confirm": "revoke"}, follow=True).content.decode()
    assert "already answered or switched off" in page


def test_a_patient_can_neither_send_nor_revoke(pat_client, pat):
    request = services.questionnaire_send(patient=pat, visit_on=clinic_today() + datetime.timedelta(days=10))
    assert pat_client.post(reverse("questionnaires:send", args=[pat.pk]), {"visit_on": "2030-01-01"}).status_code == 404
    assert (
        pat_client.post(reverse("questionnaires:revoke", args=[request.pk]), {"confirm": "revoke"}).status_code == 404
    )
    request.refresh_from_db()
    assert request.revoked_at is None and QuestionnaireRequest.objects.count() == 1


# --- The messages, as sent ----------------------------------------------------------------------


def _rows(kind):
    return Reminder.objects.filter(kind=kind).order_by("id")


def test_the_email_says_what_it_is_for_for_how_long_what_it_asks_and_whom_to_call(patient, first_session):
    request = services.questionnaire_send(patient=patient, session=first_session)
    (row,) = _rows(ReminderKind.QUESTIONNAIRE)
    email = delivery.compose(row)
    start = timezone.localtime(first_session.starts_at)
    assert email.subject == "Before your visit to Şişli Klinik: a short questionnaire"
    body = email.body
    assert body.startswith("Dear Ayla,\n\n")
    assert f"Before your appointment on {start:%A} {start.day} {start:%B} at 10:00" in body
    assert "Your practitioner reads your answers before you come" in body
    assert "It takes about 5 minutes" in body and "asked for your date of birth" in body
    assert "come back through the same link" in body
    until = timezone.localtime(request.expires_at)  # 7 days: the visit is further away
    assert request.expires_at - request.created_at == datetime.timedelta(days=7)
    assert f"the link works until {until:%A} {until.day} {until:%B}, {until:%H:%M}" in body
    assert "Call us on +90 212 555 00 00." in body and body.rstrip().endswith("Şişli Klinik")
    assert services.link_lookup(_token(body)) == (request, "")


def test_a_link_sent_for_a_visit_days_away_works_until_the_end_of_that_day(patient):
    visit = clinic_today() + datetime.timedelta(days=2)
    request = services.questionnaire_send(patient=patient, visit_on=visit)
    body = delivery.compose(_rows(ReminderKind.QUESTIONNAIRE).get()).body
    assert request.expires_at == services.end_of(visit)  # answers after the visit are no use
    assert f"the link works until {visit:%A} {visit.day} {visit:%B}, 23:59" in body
    assert f"Before your visit on {visit:%A} {visit.day} {visit:%B}, please answer" in body


def test_the_text_message_is_the_clinic_and_the_link_in_two_parts_at_most(patient, first_session):
    patient.contact_by = ContactBy.SMS
    patient.save()
    services.questionnaire_send(patient=patient, session=first_session)
    text = delivery.compose_sms(_rows(ReminderKind.QUESTIONNAIRE).get())
    start = timezone.localtime(first_session.starts_at)
    assert text.startswith("Şişli Klinik: please fill in our form before ")
    assert f"{start.day} {start:%B}" in text and _token(text)
    assert sms.parts(text) <= 2
    assert not [word for word in CLINICAL if word in text.lower()]


MONTHS_TR = [
    "Ocak",
    "Şubat",
    "Mart",
    "Nisan",
    "Mayıs",
    "Haziran",
    "Temmuz",
    "Ağustos",
    "Eylül",
    "Ekim",
    "Kasım",
    "Aralık",
]
DAYS_TR = ["Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi", "Pazar"]


def test_the_turkish_messages_are_in_turkish_and_the_text_still_fits(patient, first_session, settings):
    patient.preferred_language = Language.TURKISH
    patient.given_name, patient.family_name = "Ayşe", "Öztürk"
    patient.save()
    services.questionnaire_send(patient=patient, session=first_session)
    start = timezone.localtime(first_session.starts_at)
    day = f"{DAYS_TR[start.weekday()]} {start.day} {MONTHS_TR[start.month - 1]}"

    email = delivery.compose(_rows(ReminderKind.QUESTIONNAIRE).get())
    assert email.subject == "Şişli Klinik ziyaretinizden önce: kısa bir form"
    assert email.body.startswith("Sayın Ayşe Öztürk,\n\n")
    assert f"Randevunuz {day}, saat 10:00. Bu randevudan önce lütfen" in email.body
    assert "yaklaşık 5 dakika" in email.body and "doğum tarihiniz sorulur" in email.body
    until = timezone.localtime(QuestionnaireRequest.objects.get().expires_at)
    until_day = f"{DAYS_TR[until.weekday()]} {until.day} {MONTHS_TR[until.month - 1]}"
    assert f"bağlantı yalnızca şu zamana kadar çalışır: {until_day}, saat {until:%H:%M}" in email.body
    assert "Sorunuz mu var? Bizi şu numaradan arayın: +90 212 555 00 00." in email.body
    chase = delivery.compose(_rows(ReminderKind.QUESTIONNAIRE_CHASE).get())
    assert chase.subject == "Hatırlatma: Şişli Klinik için formunuz henüz doldurulmadı"
    assert f"{day}, saat 10:00 randevunuz için gönderdiğimiz formu henüz doldurmadınız." in chase.body

    patient.contact_by = ContactBy.SMS
    patient.save()
    for kind in (ReminderKind.QUESTIONNAIRE, ReminderKind.QUESTIONNAIRE_CHASE):
        text = delivery.compose_sms(_rows(kind).get())
        assert text.startswith("Şişli Klinik: ") and f"{start.day} {MONTHS_TR[start.month - 1]}" in text, text
        assert sms.parts(text) <= 2 and not [word for word in CLINICAL if word in text.lower()]
    # A long address for the clinic's site: the short wording (no clinic name, no day) still fits.
    settings.MESOCLINIC_BASE_URL = "https://randevu.sislimezoterapiklinigi.com.tr"
    text = delivery.compose_sms(_rows(ReminderKind.QUESTIONNAIRE).get())
    assert text.startswith("Ziyaret öncesi formunuz: https://randevu.sislimezoterapiklinigi.com.tr/q/")
    assert sms.parts(text) <= 2


def test_the_chase_says_it_is_not_yet_returned_and_links_the_same_questionnaire_afresh(patient, first_session):
    request = services.questionnaire_send(patient=patient, session=first_session)
    services.draft_save(request=request, given={"pregnant": "no"})
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    email = delivery.compose(chase)
    start = timezone.localtime(first_session.starts_at)
    assert email.subject == "Reminder: your questionnaire for Şişli Klinik is not yet returned"
    assert (
        f"You have not yet returned the questionnaire for your appointment on {start:%A} {start.day} {start:%B} "
        "at 10:00." in email.body
    )
    assert "anything you have already answered is kept" in email.body
    first_link = _token(delivery.compose(_rows(ReminderKind.QUESTIONNAIRE).get()).body)
    assert _token(email.body) != first_link  # a new key...
    assert services.link_lookup(_token(email.body)) == (request, "")  # ...to the same questionnaire
    request.refresh_from_db()
    assert request.draft == {"pregnant": "no"}
    patient.contact_by = ContactBy.SMS
    patient.save()
    text = delivery.compose_sms(chase)
    assert text.startswith("Şişli Klinik: we have not yet had your form for ")
    assert sms.parts(text) <= 2 and not [word for word in CLINICAL if word in text.lower()]


def test_the_outbox_preview_shows_the_visit_day_and_makes_no_link(alice_client, patient, first_session):
    services.questionnaire_send(patient=patient, session=first_session)
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    page = alice_client.get(reverse("reminders:message", args=[chase.pk])).content.decode()
    start = timezone.localtime(first_session.starts_at)
    # The preview reads the same facts as the message (its session's time, until when), all but the link.
    assert f"for your appointment on {start:%A} {start.day} {start:%B} at {start:%H:%M}." in page
    assert "[a new link, made when the message is sent]" in page
    request = QuestionnaireRequest.objects.get()
    assert not request.links.exists()
    outbox = alice_client.get(reverse("reminders:outbox")).content.decode()
    assert "Questionnaire not yet returned" in outbox and f"{start.day} {start:%b}" in outbox


# --- The chase, once, 3 days before -------------------------------------------------------------


def test_the_chase_goes_once_three_days_before_the_visit_while_not_returned(patient, first_session, sent_now):
    sent_now(services.questionnaire_send, patient=patient, session=first_session)
    assert len(mail.outbox) == 1  # the questionnaire, at once
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    start = timezone.localtime(first_session.starts_at)
    three_days_before = start.replace(hour=10, minute=0) - datetime.timedelta(days=3)
    assert chase.due_at == three_days_before

    assert sent_now(reminders.sweep, now=three_days_before - datetime.timedelta(minutes=1)) == 0
    sent_now(reminders.sweep, now=three_days_before)
    chased = "Reminder: your questionnaire for Şişli Klinik is not yet returned"
    assert [m.subject for m in mail.outbox].count(chased) == 1
    for later in (1, 2, 3):  # the sweeps of the days after (the appointment's own reminders go)
        sent_now(reminders.sweep, now=three_days_before + datetime.timedelta(hours=later * 10))
    assert [m.subject for m in mail.outbox].count(chased) == 1
    chase.refresh_from_db()
    assert chase.status == ReminderStatus.SENT


def test_no_chase_once_it_is_returned(patient, first_session, sent_now):
    request = sent_now(services.questionnaire_send, patient=patient, session=first_session)
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    services.questionnaire_submit(request=request, given=NO_ANSWERS_WORRY, language="en")
    sent_now(reminders.sweep, now=chase.due_at)
    chase.refresh_from_db()
    assert chase.status == ReminderStatus.CANCELLED and len(mail.outbox) == 1


def test_delivery_itself_drops_a_chase_whose_questionnaire_came_back_or_was_switched_off(patient, first_session):
    """Even a chase row still pending when it falls due (answered in a race with the sweep)."""
    request = services.questionnaire_send(patient=patient, session=first_session)
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    QuestionnaireRequest.objects.filter(pk=request.pk).update(revoked_at=timezone.now())
    assert delivery.deliver(chase.pk) == "cancelled"
    chase.refresh_from_db()
    assert chase.status == ReminderStatus.CANCELLED and mail.outbox == []


def test_a_cancelled_appointment_is_not_chased(patient, first_session, alice):
    services.questionnaire_send(patient=patient, session=first_session)
    scheduling.session_cancel(session=first_session, by=alice, reason="Patient asked")
    chase = _rows(ReminderKind.QUESTIONNAIRE_CHASE).get()
    assert delivery.deliver(chase.pk) == "cancelled" and mail.outbox == []


def test_a_visit_three_days_away_or_less_gets_no_chase(patient):
    services.questionnaire_send(patient=patient, visit_on=clinic_today() + datetime.timedelta(days=3))
    assert not _rows(ReminderKind.QUESTIONNAIRE_CHASE).exists()
    assert _rows(ReminderKind.QUESTIONNAIRE).count() == 1


def test_the_sessions_own_reminders_being_kept_in_step_leave_the_questionnaires_alone(patient, first_session, alice):
    """Booking, moving or re-screening re-syncs a session's reminders, cancelling every pending
    row of the session it did not make: the questionnaire's rows name no session."""
    services.questionnaire_send(patient=patient, session=first_session)
    reminders.sync_reminders(first_session)
    scheduling.session_move(
        session=first_session,
        new_local=local(_day(first_session) - datetime.timedelta(days=2)),  # the Saturday before
        by=alice,
        following=False,
    )
    kinds = Reminder.objects.filter(kind__startswith="questionnaire").values_list("kind", "status")
    assert sorted(kinds) == [
        (ReminderKind.QUESTIONNAIRE, ReminderStatus.PENDING),
        (ReminderKind.QUESTIONNAIRE_CHASE, ReminderStatus.PENDING),
    ]
    # And the chase tells the appointment's new day.
    first_session.refresh_from_db()
    moved = timezone.localtime(first_session.starts_at)
    body = delivery.compose(_rows(ReminderKind.QUESTIONNAIRE_CHASE).get()).body
    assert f"appointment on {moved:%A} {moved.day} {moved:%B} at 10:00" in body


# --- By itself, with a plan's first booking ---------------------------------------------------


def _book(plan, alice, room, proposals, sent_now):
    return sent_now(
        scheduling.series_book,
        plan=plan,
        practitioner=alice,
        room=room,
        local_starts=[p.wanted for p in proposals],
        by=alice,
        too_soon_confirmed=True,
    )


def _proposals(plan, alice, room, weeks=3):
    return scheduling.series_proposal(plan=plan, practitioner=alice, room=room, first_local=local(next_monday(weeks)))


def test_booking_a_plans_first_sessions_sends_it_for_the_first_and_a_second_series_does_not(
    plan, alice, room, patient, sent_now
):
    proposals = _proposals(plan, alice, room)
    series = _book(plan, alice, room, proposals[:2], sent_now)

    first = series.sessions.get(sequence=1)
    request = QuestionnaireRequest.objects.get(patient=patient)
    assert (request.session, request.visit_on, request.created_by) == (first, _day(first), None)
    (email,) = mail.outbox
    assert email.subject == "Before your visit to Şişli Klinik: a short questionnaire"

    _book(plan, alice, room, proposals[2:4], sent_now)
    assert QuestionnaireRequest.objects.count() == 1 and len(mail.outbox) == 1


def test_a_patient_with_one_open_is_not_sent_another(plan, alice, room, patient, sent_now):
    services.questionnaire_send(patient=patient, visit_on=clinic_today() + datetime.timedelta(days=20))
    _book(plan, alice, room, _proposals(plan, alice, room)[:1], sent_now)
    assert QuestionnaireRequest.objects.count() == 1


@pytest.mark.parametrize(("days_ago", "sent"), [(29, False), (31, True)])
def test_answers_returned_in_the_last_30_days_are_fresh_enough(plan, alice, room, patient, sent_now, days_ago, sent):
    earlier = services.questionnaire_send(patient=patient, visit_on=clinic_today() + datetime.timedelta(days=1))
    response = services.questionnaire_submit(request=earlier, given=NO_ANSWERS_WORRY, language="en")
    QuestionnaireResponse.objects.filter(pk=response.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    _book(plan, alice, room, _proposals(plan, alice, room)[:1], sent_now)
    assert QuestionnaireRequest.objects.count() == (2 if sent else 1)


def test_a_patient_without_email_or_phone_is_booked_and_sent_nothing(alice, room, sent_now, clinic):
    patient = PatientFactory(email="", phone="")
    plan = active_plan(alice, "cellulite", patient=patient)
    series = _book(plan, alice, room, _proposals(plan, alice, room)[:1], sent_now)
    assert series.sessions.count() == 1
    assert not QuestionnaireRequest.objects.exists() and not Reminder.objects.filter(kind__startswith="q").exists()
