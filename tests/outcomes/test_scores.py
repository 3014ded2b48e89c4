"""The patient's scores after a session, through the aftercare link or their login
(outcomes.patient_views, forms, services.scores_give)."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.aftercare.models import SheetLink
from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.outcomes.progress import plan_progress
from mesoclinic.outcomes.services import SAME_ANSWER_WINDOW, scores_give
from mesoclinic.plans.models import OutcomeMeasure
from tests.builders import PatientFactory, measured_course

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(alice, room, pat):
    """Pat's pain course: two signed sessions, each with its aftercare sheet."""
    plan, sessions = measured_course(alice, room, pat, "pain", [{}, {}])
    sheets = [sheet_for(session) for session in sessions]
    return plan, sessions, sheets


def _scores_url(token):
    return reverse("outcomes:link_scores", args=[token])


def test_the_form_asks_the_protocols_patient_questions_in_the_patients_language(course):
    plan, _sessions, sheets = course
    plan.patient.preferred_language = "tr"
    plan.patient.save()
    response = Client().get(_scores_url(link_create(sheets[0])))
    assert response.status_code == 200
    page = response.content.decode()
    pain = OutcomeMeasure.objects.get(code="pain_score")
    satisfaction = OutcomeMeasure.objects.get(code="satisfaction")
    assert pain.patient_question_tr in page and satisfaction.patient_question_tr in page
    assert pain.patient_question not in page
    assert 'lang="tr"' in page
    # 0 to 10 as radio buttons, one group per question
    assert page.count('name="pain_score"') == 11 and page.count('name="satisfaction"') == 11


def test_a_score_through_the_link_is_saved_with_its_channel_and_the_thanks_show_it(course):
    plan, sessions, sheets = course
    url = _scores_url(link_create(sheets[1]))
    client = Client()
    response = client.post(url, {"pain_score": "3", "satisfaction": "8"})
    assert response.status_code == 302 and response["Location"] == f"{url}?done=1"
    rows = PatientScore.objects.filter(session=sessions[1]).order_by("measure_id")
    assert [(r.measure_id, r.value, r.channel) for r in rows] == [
        ("pain_score", Decimal("3"), ScoreChannel.LINK),
        ("satisfaction", Decimal("8"), ScoreChannel.LINK),
    ]
    thanks = client.get(response["Location"]).content.decode()
    assert "Thank you" in thanks and "Change my answers" in thanks
    assert "<strong>3</strong>" in thanks and "<strong>8</strong>" in thanks
    # The progress counts it for session 2, as the patient's own.
    pain = next(row for row in plan_progress(plan) if row.measure.code == "pain_score")
    assert [(p.number, p.value, p.by_patient) for p in pain.points] == [(2, Decimal("3"), True)]


@pytest.mark.parametrize("value", ["11", "-1", "7.5", "ten", "1" * 40])
def test_out_of_range_is_refused_beside_the_field_keeping_the_other_choice(course, value):
    _plan, _sessions, sheets = course
    url = _scores_url(link_create(sheets[0]))
    response = Client().post(url, {"pain_score": value, "satisfaction": "6"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose a whole number from 0 to 10." in page
    assert 'id="id_pain_score-error"' in page
    assert 'value="6" checked' in page  # what was chosen for the other question stays chosen
    assert not PatientScore.objects.exists()


def test_nothing_chosen_asks_for_one_answer(course):
    _plan, _sessions, sheets = course
    response = Client().post(_scores_url(link_create(sheets[0])), {})
    assert "Choose a score for at least one question." in response.content.decode()
    assert not PatientScore.objects.exists()


def test_a_double_submit_makes_one_row_and_a_later_change_adds_one(course):
    _plan, _sessions, sheets = course
    url = _scores_url(link_create(sheets[0]))
    client = Client()
    client.post(url, {"satisfaction": "7"})
    client.post(url, {"satisfaction": "7"})  # the second tap, or the browser sending it again
    assert PatientScore.objects.filter(measure="satisfaction").count() == 1
    client.post(url, {"satisfaction": "9"})  # a changed mind is a new row; the newest counts
    values = list(PatientScore.objects.filter(measure="satisfaction").values_list("value", flat=True))
    assert values == [Decimal("7"), Decimal("9")]
    thanks = client.get(f"{url}?done=1").content.decode()
    assert "<strong>9</strong>" in thanks


def test_the_same_answer_again_after_the_window_is_a_new_row(course, pat):
    _plan, sessions, _sheets = course
    measure = OutcomeMeasure.objects.get(code="satisfaction")
    earlier = timezone.now() - SAME_ANSWER_WINDOW - datetime.timedelta(seconds=1)
    scores_give(patient=pat, session=sessions[0], answers={measure: Decimal("7")}, channel="link", now=earlier)
    scores_give(patient=pat, session=sessions[0], answers={measure: Decimal("7")}, channel="login")
    assert PatientScore.objects.filter(measure=measure).count() == 2


def test_an_expired_or_revoked_link_takes_no_score(course, alice):
    _plan, _sessions, sheets = course
    token = link_create(sheets[0])
    link = SheetLink.objects.get(token_sha256=SheetLink.digest(token))
    link.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    link.save()
    response = Client().post(_scores_url(token), {"satisfaction": "7"})
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    other = link_create(sheets[0])
    SheetLink.objects.filter(token_sha256=SheetLink.digest(other)).update(revoked_at=timezone.now(), revoked_by=alice)
    assert Client().post(_scores_url(other), {"satisfaction": "7"}).status_code == 410
    assert Client().get(_scores_url("nope")).status_code == 404
    assert not PatientScore.objects.exists()


def test_signed_in_the_patient_scores_her_own_sheet_only(course, pat, alice, room):
    _plan, sessions, sheets = course
    client = Client()
    client.force_login(pat.user)
    url = reverse("outcomes:my_scores", args=[sheets[0].pk])
    assert client.get(url).status_code == 200
    client.post(url, {"pain_score": "4"})
    (score,) = PatientScore.objects.all()
    assert (score.channel, score.patient_id, score.session_id) == (ScoreChannel.LOGIN, pat.pk, sessions[0].pk)
    earlier = clinic_today() - datetime.timedelta(days=40)
    _other_plan, other_sessions = measured_course(alice, room, PatientFactory(), "pain", [{}], first_day=earlier)
    other_sheet = sheet_for(other_sessions[0])
    assert client.get(reverse("outcomes:my_scores", args=[other_sheet.pk])).status_code == 404
    assert client.post(reverse("outcomes:my_scores", args=[other_sheet.pk]), {"pain_score": "4"}).status_code == 404
    assert PatientScore.objects.count() == 1


def test_reading_the_score_page_is_recorded(course):
    plan, _sessions, sheets = course
    Client().get(_scores_url(link_create(sheets[0])))
    entry = AuditEntry.objects.filter(patient_id=plan.patient_id, action=AuditEntry.Action.ACCESS).latest("id")
    assert entry.additional_data["page"] == "patient scores" and entry.additional_data["via"] == "email link"


def test_the_sheet_links_to_the_scores_and_the_report(course, pat):
    plan, _sessions, sheets = course
    token = link_create(sheets[0])
    page = Client().get(reverse("aftercare:link", args=[token])).content.decode()
    assert _scores_url(token) in page and reverse("outcomes:link_report", args=[token]) in page
    client = Client()
    client.force_login(pat.user)
    page = client.get(sheets[0].get_absolute_url()).content.decode()
    assert reverse("outcomes:my_scores", args=[sheets[0].pk]) in page
    assert reverse("outcomes:my_report", args=[plan.pk]) in page
    mine = client.get(reverse("aftercare:mine")).content.decode()
    assert reverse("outcomes:mine") in mine and reverse("outcomes:my_scores", args=[sheets[1].pk]) in mine
