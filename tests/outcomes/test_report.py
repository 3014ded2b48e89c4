"""The patient's progress report: its content (outcomes.reports.report_for), the pages (staff,
the patient's link and login), the PDF, and sending it through the aftercare channel."""

import datetime
import io
import re
import subprocess
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from mesoclinic.aftercare.models import SheetLink
from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.core import sms
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.outcomes.models import PatientScore
from mesoclinic.outcomes.reports import RESULTS_DIFFER, report_for
from mesoclinic.outcomes.services import ReportRefused, report_send
from mesoclinic.patients.models import ContactBy
from mesoclinic.plans.models import Consent, ReportedOutcome
from mesoclinic.plans.services import consent_withdraw
from mesoclinic.treatment_sessions.models import PhotoAlignment, Reminder, ReminderKind, ReminderStatus, SessionPhoto
from mesoclinic.treatment_sessions.reminders import delivery
from tests.builders import PatientFactory, measured_course, moment, session_at

pytestmark = pytest.mark.django_db

SERIES = [{"skin_elasticity": "0.40", "wrinkle_depth": "300"}, {"skin_elasticity": "0.46", "wrinkle_depth": "270"}]


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_SENDER = "MESOCLINIC"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def course(alice, room, pat):
    """Pat's skin course, two signed sessions of six, a third booked, a sheet for each."""
    plan, sessions = measured_course(alice, room, pat, "skin_rejuvenation", SERIES)
    nxt = session_at(plan, alice, room, moment(clinic_today() + datetime.timedelta(days=5), 11), sequence=3)
    return plan, sessions, [sheet_for(session) for session in sessions], nxt


def _text(response):
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_report_says_sessions_done_and_left_and_the_next_date(course):
    plan, _sessions, _sheets, _nxt = course
    report = report_for(plan, "en")
    assert report["patient_name"] == plan.patient.display_name
    assert report["sessions"]["planned"] == plan.sessions_planned
    assert report["sessions"]["done"] == 2
    assert report["sessions"]["left"] == plan.sessions_planned - 2
    assert report["sessions"]["next"].date() == clinic_today() + datetime.timedelta(days=5)


def test_the_figures_come_with_their_caveats_in_the_patients_words(course):
    plan, *_ = course
    report = report_for(plan, "tr")
    wrinkles = next(item for item in report["measures"] if item.row.measure.code == "wrinkle_depth")
    figure = ReportedOutcome.objects.get(code="wrinkle_depth_basaksehir")
    caveat = ReportedOutcome.objects.get(code="wrinkle_depth_guide_no_benefit")
    assert wrinkles.findings == [figure.patient_text_tr]
    assert wrinkles.caveats == [caveat.patient_text_tr]
    assert wrinkles.chart is not None and wrinkles.chart.data_uri.startswith("data:image/svg+xml;base64,")
    assert report["indication"] and report["protocol"] == plan.protocol.title_tr
    assert report["results_differ_source"] == {"document": "guide-2024", "citation": "Conclusion"}


def test_the_patient_reads_it_through_the_aftercare_link_in_her_language(course):
    plan, _sessions, sheets, _nxt = course
    plan.patient.preferred_language = "tr"
    plan.patient.save()
    token = link_create(sheets[-1])
    response = Client().get(reverse("outcomes:link_report", args=[token]))
    assert response.status_code == 200
    page = _text(response)
    assert 'lang="tr"' in page and plan.patient.display_name in page
    caveat = ReportedOutcome.objects.get(code="wrinkle_depth_guide_no_benefit")
    assert caveat.patient_text_tr in page  # beside the figure, always
    assert ReportedOutcome.objects.get(code="wrinkle_depth_basaksehir").patient_text_tr in page
    assert page.count('src="data:image/svg+xml;base64,') == 2  # elasticity and wrinkles
    assert reverse("outcomes:link_report_pdf", args=[token]) in page
    entry = AuditEntry.objects.filter(patient_id=plan.patient_id).latest("id")
    assert entry.additional_data["page"] == "progress report" and entry.additional_data["via"] == "email link"


def test_a_link_that_no_longer_opens_shows_no_report(course, alice):
    plan, _sessions, sheets, _nxt = course
    token = link_create(sheets[-1])
    SheetLink.objects.filter(token_sha256=SheetLink.digest(token)).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = Client().get(reverse("outcomes:link_report", args=[token]))
    assert response.status_code == 410 and plan.patient.display_name not in response.content.decode()
    assert Client().get(reverse("outcomes:link_report_pdf", args=[token])).status_code == 410


def test_signed_in_the_patient_lists_her_plans_and_opens_only_her_own(course, pat, alice, room):
    plan, *_ = course
    client = Client()
    client.force_login(pat.user)
    mine = client.get(reverse("outcomes:mine")).content.decode()
    assert reverse("outcomes:my_report", args=[plan.pk]) in mine
    assert client.get(reverse("outcomes:my_report", args=[plan.pk])).status_code == 200
    other, _ = measured_course(
        alice, room, PatientFactory(), "cellulite", [{}], first_day=clinic_today() - datetime.timedelta(days=50)
    )
    assert reverse("outcomes:my_report", args=[other.pk]) not in mine
    assert client.get(reverse("outcomes:my_report", args=[other.pk])).status_code == 404
    assert client.get(reverse("outcomes:my_report_pdf", args=[other.pk])).status_code == 404


def test_staff_open_either_language_and_the_plan_page_has_the_card(course, alice):
    plan, *_ = course
    client = Client()
    client.force_login(alice)
    english = _text(client.get(reverse("outcomes:report", args=[plan.pk]) + "?lang=en"))
    turkish = _text(client.get(reverse("outcomes:report", args=[plan.pk]) + "?lang=tr"))
    caveat = ReportedOutcome.objects.get(code="wrinkle_depth_guide_no_benefit")
    assert caveat.patient_text in english and caveat.patient_text_tr not in english
    assert caveat.patient_text_tr in turkish and 'lang="tr"' in turkish
    assert str(RESULTS_DIFFER) in english
    assert client.get(reverse("outcomes:report", args=[plan.pk]) + "?lang=xx").status_code == 400
    detail = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert reverse("outcomes:report", args=[plan.pk]) in detail
    assert reverse("outcomes:report_send", args=[plan.pk]) in detail


def _pdf_text(content):
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return re.sub(r"\s+", " ", done.stdout.decode())


@pytest.mark.parametrize("language", ["en", "tr"])
def test_the_pdf_carries_the_words_in_the_language(course, alice, language):
    plan, *_ = course
    client = Client()
    client.force_login(alice)
    response = client.get(reverse("outcomes:report_pdf", args=[plan.pk]) + f"?lang={language}")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    caveat = ReportedOutcome.objects.get(code="wrinkle_depth_guide_no_benefit")
    expected = caveat.patient_text_tr if language == "tr" else caveat.patient_text
    assert expected.split(":")[0] in text  # the caveat is printed (Turkish letters drawn, not boxes)
    assert plan.patient.display_name in text


def _jpeg(shade):
    buffer = io.BytesIO()
    image = Image.new("RGB", (120, 90), (shade, 120, 90))
    for x in range(30, 60):
        for y in range(20, 50):
            image.putpixel((x, y), (20, 20, 20))
    image.save(buffer, format="JPEG")
    return buffer.getvalue()


def _photo(session, alice, shade):
    photo = SessionPhoto(session=session, patient=session.patient, kind="before", uploaded_by=alice)
    photo.image.save("p.jpg", ContentFile(_jpeg(shade)), save=False)
    photo.width, photo.height = 120, 90
    photo.save()
    return photo


def test_the_aligned_photo_pair_only_while_photo_consent_stands(course, alice):
    plan, sessions, _sheets, _nxt = course
    first, later = _photo(sessions[0], alice, 200), _photo(sessions[1], alice, 180)
    PhotoAlignment.objects.create(
        baseline=first,
        later=later,
        patient=plan.patient,
        baseline_points=[[30, 20], [60, 20], [45, 50]],
        later_points=[[30, 20], [60, 20], [45, 50]],
        scale=1.0,
        rotation_degrees=0.0,
        shift_x=0.0,
        shift_y=0.0,
        residual_px=0.0,
        created_by=alice,
    )
    photos = report_for(plan, "en")["photos"]
    assert photos["baseline"].startswith("data:image/jpeg;base64,") and photos["later"].startswith("data:image/jpeg")
    assert photos["baseline_day"] < photos["later_day"]
    # The consent withdrawn: the photos stay in the record, and the report no longer shows them.
    consent_withdraw(consent=Consent.objects.get(plan=plan), reason="Changed her mind", by=alice)
    assert report_for(plan, "en")["photos"] is None
    page = Client()
    page.force_login(alice)
    assert "data:image/jpeg" not in page.get(reverse("outcomes:report", args=[plan.pk])).content.decode()


# The staff report page, whatever the number of sessions, measurements and scores: the session
# and user, the plan, the access entry, the progress (4), the sessions done, the next booking,
# the photo consent, the patient's channels and the messages.
REPORT_QUERIES = 12


@pytest.mark.parametrize("sessions", [1, 6])
def test_the_report_page_is_a_constant_number_of_queries(alice, room, django_assert_num_queries, sessions):
    patient = PatientFactory()
    series = [{"skin_elasticity": f"0.{40 + n}", "wrinkle_depth": str(300 - n)} for n in range(sessions)]
    plan, done = measured_course(alice, room, patient, "skin_rejuvenation", series)
    for session in done:
        sheet_for(session)
        PatientScore.objects.create(
            patient=patient, session=session, measure_id="satisfaction", value=Decimal("7"), channel="link"
        )
    client = Client()
    client.force_login(alice)
    url = reverse("outcomes:report", args=[plan.pk])
    client.get(url)  # the clinic and the knowledge warm their caches, as in use
    with django_assert_num_queries(REPORT_QUERIES):
        response = client.get(url)
    assert response.content.decode().count('src="data:image/svg+xml;base64,') == 3  # 2 measures + satisfaction


# --- Sending ----------------------------------------------------------------------------------


def _deliver_all():
    for reminder in Reminder.objects.filter(kind=ReminderKind.PROGRESS_REPORT, status=ReminderStatus.PENDING):
        delivery.deliver(reminder.pk)
    for reminder in Reminder.objects.filter(kind=ReminderKind.PROGRESS_REPORT, status=ReminderStatus.PENDING):
        delivery.deliver(reminder.pk)  # the text message's copy, made when the lead went


def test_send_to_the_patient_emails_a_link_to_the_report_in_her_language(course, alice):
    plan, sessions, sheets, _nxt = course
    patient = plan.patient
    patient.preferred_language = "tr"
    patient.save()
    client = Client()
    client.force_login(alice)
    response = client.post(reverse("outcomes:report_send", args=[plan.pk]), follow=True)
    assert "on its way" in response.content.decode()
    (reminder,) = Reminder.objects.filter(kind=ReminderKind.PROGRESS_REPORT)
    assert reminder.details["plan"] == plan.pk and reminder.session == sessions[-1]
    preview = delivery.compose(reminder, preview=True)
    # The outbox's preview makes no link (a link is a secret, made when the message goes).
    assert "/progress/link/" not in preview.body and not SheetLink.objects.filter(sheet=sheets[-1]).exists()
    _deliver_all()
    (message,) = mail.outbox
    assert message.to == [patient.email]
    token = re.search(r"/progress/link/([\w-]+)/", message.body)[1]
    # It says only that the report is ready, and how to open it: no treatment, no figures.
    for clinical in ("skin", "cilt", "wrinkle", "kırışık", plan.protocol.title, plan.protocol.title_tr, "%"):
        assert clinical.casefold() not in message.body.casefold(), clinical
    opened = Client().get(reverse("outcomes:link_report", args=[token]))
    assert opened.status_code == 200 and patient.display_name in opened.content.decode()
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.SENT


def test_a_patient_who_takes_texts_gets_one_with_the_link_and_nothing_clinical(course, alice):
    plan, *_ = course
    patient = plan.patient
    patient.contact_by = ContactBy.BOTH
    patient.phone = "+905321234567"
    patient.save()
    report_send(plan=plan, by=alice)
    _deliver_all()
    assert len(mail.outbox) == 1
    (text,) = sms.outbox
    assert "/progress/link/" in text.body
    for clinical in ("skin", "treatment", "health", "progress report"):
        assert clinical not in text.body.casefold().replace("/progress/", "/"), clinical


def test_a_double_click_sends_once(course, alice):
    plan, *_ = course
    report_send(plan=plan, by=alice)
    with pytest.raises(ReportRefused, match="already on its way"):
        report_send(plan=plan, by=alice)
    client = Client()
    client.force_login(alice)
    page = client.post(reverse("outcomes:report_send", args=[plan.pk]), follow=True).content.decode()
    assert "already on its way" in page
    assert Reminder.objects.filter(kind=ReminderKind.PROGRESS_REPORT).count() == 1


def test_no_address_is_refused_with_words(course, alice):
    plan, *_ = course
    patient = plan.patient
    patient.email, patient.phone, patient.contact_by = "", "", ContactBy.EMAIL
    patient.save()
    with pytest.raises(ReportRefused, match="no email address or mobile number"):
        report_send(plan=plan, by=alice)
    assert not Reminder.objects.filter(kind=ReminderKind.PROGRESS_REPORT).exists()


def test_a_plan_without_any_sheet_cannot_be_sent(alice, room, pat):
    plan, _sessions = measured_course(alice, room, pat, "skin_rejuvenation", SERIES)
    with pytest.raises(ReportRefused, match="no aftercare sheet"):
        report_send(plan=plan, by=alice)
