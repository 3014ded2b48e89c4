"""What the patient page shows of the questionnaire.

Dr. Alice reads the "Pre-visit questionnaire" panel: the one waiting for the patient (sent
when, for which visit, until when, opened or locked), answers to review with the engine's
verdict, and those adopted into a screening. Sam at the front desk sees one line per
appointment, never clinical: not returned, returned, or that the clinic must call the patient
first. Both pages cost the same number of queries however many questionnaires there are."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.models import QuestionnaireResponse
from mesoclinic.questionnaires.selectors import patient_questionnaires
from tests.builders import active_plan, booked, next_monday, screened

pytestmark = pytest.mark.django_db

FINE = {
    "pregnant": "no",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
}
PREGNANT = {
    "pregnant": "yes",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
}


@pytest.fixture
def sessions(clinic, alice, room, patient):
    """Ayla's first three cellulite sessions, weekly from a Monday three weeks on."""
    plan = active_plan(alice, "cellulite", patient=patient)
    return list(booked(plan, alice, room, next_monday(3)).sessions.order_by("starts_at"))


def _page(client, patient):
    response = client.get(reverse("desk:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _panel(page):
    start = page.index('id="questionnaire"')
    return page[start : page.index("</section>", start)]


def _block(panel, questionnaire):
    start = panel.index(f'data-questionnaire="{questionnaire.pk}"')
    following = panel.find("data-questionnaire=", start + 1)
    return panel[start : following if following != -1 else len(panel)]


def _returned(patient, given, visit_on=None, session=None):
    request = services.questionnaire_send(
        patient=patient, session=session, visit_on=visit_on or clinic_today() + datetime.timedelta(days=5)
    )
    return request, services.questionnaire_submit(request=request, given=given, language="en")


# --- The practitioner's panel --------------------------------------------------------------


def test_an_open_one_says_when_it_went_for_which_visit_until_when_and_whether_it_was_opened(
    alice_client, alice, patient, sessions
):
    request = services.questionnaire_send(patient=patient, by=alice, session=sessions[0])
    block = _block(_panel(_page(alice_client, patient)), request)
    start = timezone.localtime(sessions[0].starts_at)
    assert 'data-state="open"' in block
    assert f"Sent for the visit on {start:%A} {start.day} {start:%B %Y}" in block
    assert sessions[0].get_absolute_url() in block
    assert f"Sent {timezone.localtime(request.created_at):%-d %b %Y, %H:%M} by Dr. Alice Hart" in block
    assert "message on its way" in block
    until = timezone.localtime(request.expires_at)  # 7 days: the visit is further away
    assert f"Can be answered until {until.day} {until:%b %Y}, {until:%H:%M}" in block
    assert "No answers saved yet" in block
    chase = start.replace(hour=10, minute=0) - datetime.timedelta(days=3)
    assert f"A reminder goes on {chase.day} {chase:%b} if it is still not returned" in block
    assert reverse("questionnaires:revoke", args=[request.pk]) in block

    services.draft_save(request=request, given={"pregnant": "no"})
    services.date_of_birth_check(request=request, date_of_birth=datetime.date(1900, 1, 1))
    services.date_of_birth_check(request=request, date_of_birth=datetime.date(1900, 1, 2))
    block = _block(_panel(_page(alice_client, patient)), request)
    request.refresh_from_db()
    assert f"Opened: answers last saved {timezone.localtime(request.draft_saved_at):%-d %b %H:%M}" in block
    assert "2 wrong dates of birth (3 tries left)" in block


def test_a_locked_one_says_so_and_what_to_do(alice_client, patient):
    request = services.questionnaire_send(patient=patient, visit_on=clinic_today() + datetime.timedelta(days=9))
    for day in range(1, 6):
        services.date_of_birth_check(request=request, date_of_birth=datetime.date(1900, 1, day))
    panel = _panel(_page(alice_client, patient))
    block = _block(panel, request)
    assert 'data-state="locked"' in block and "After 5 wrong dates of birth" in block
    assert "check the date of birth on the record" in block
    assert reverse("questionnaires:revoke", args=[request.pk]) not in panel
    assert "Send questionnaire" in panel  # nothing open: a new one, not "again"


def test_answers_to_review_show_the_engines_verdict_and_lead_to_the_review(alice_client, patient):
    fine, fine_response = _returned(patient, FINE)
    pregnant, pregnant_response = _returned(patient, PREGNANT)
    panel = _panel(_page(alice_client, patient))

    block = _block(panel, pregnant)
    assert 'data-state="to review"' in block and "Answers to review" in block
    assert 'class="verdict verdict-defer' in block and "Engine: Defer treatment" in block
    assert "The patient was asked to call the clinic before the appointment" in block
    assert reverse("questionnaires:review", args=[pregnant_response.pk]) in block
    block = _block(panel, fine)
    assert 'class="verdict verdict-clear' in block and "Engine: Clear" in block
    assert "asked to call" not in block
    assert reverse("questionnaires:review", args=[fine_response.pk]) in block
    assert panel.index(f'data-questionnaire="{pregnant.pk}"') < panel.index(f'data-questionnaire="{fine.pk}"')


def test_adopted_answers_link_their_screening(alice_client, alice, patient):
    request, response = _returned(patient, FINE)
    screening = screened(patient, alice)
    QuestionnaireResponse.objects.filter(pk=response.pk).update(
        adopted_screening=screening, adopted_at=timezone.now(), adopted_by=alice
    )
    block = _block(_panel(_page(alice_client, patient)), request)
    assert 'data-state="adopted"' in block and "adopted into" in block
    assert reverse("screening:detail", args=[screening.pk]) in block
    assert reverse("questionnaires:review", args=[response.pk]) not in block


def test_a_patient_never_sent_one_is_told_how_it_goes(alice_client, patient, clinic):
    panel = _panel(_page(alice_client, patient))
    assert "No questionnaire sent yet. It goes by itself when a plan's first session is booked" in panel
    assert "Send questionnaire" in panel


def test_the_panel_is_one_query_however_many(patient, django_assert_num_queries, sessions):
    _returned(patient, FINE)
    _returned(patient, PREGNANT)
    for _ in range(3):
        services.questionnaire_send(patient=patient, session=sessions[0])
    # One query: the requests with their response, session and sender, and how each message
    # went (first sent, failed, waiting, the chase still to go) as subqueries of each row.
    with django_assert_num_queries(1):
        requests = patient_questionnaires(patient)
        facts = [
            (r.session_id and r.session.starts_at, getattr(r, "response", None), r.created_by, r.chase_due_at)
            for r in requests
        ]
    assert len(facts) == 5


def _five_kinds(patient, sessions, alice):
    """A returned one of each verdict, a locked one, a revoked one and one open."""
    _returned(patient, FINE, session=sessions[1])
    _returned(patient, PREGNANT, session=sessions[2])
    locked = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=4)
    )
    for day in range(1, 6):
        services.date_of_birth_check(request=locked, date_of_birth=datetime.date(1900, 1, day))
    services.questionnaire_send(patient=patient, by=alice, session=sessions[0])
    services.questionnaire_send(patient=patient, by=alice, session=sessions[0])  # the first of these revoked


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_each_patient_page_costs_the_same_for_no_questionnaire_and_for_five(
    request, who, patient, sessions, alice, django_assert_num_queries
):
    client = request.getfixturevalue(f"{who}_client")
    url = reverse("desk:patient", args=[patient.pk])
    client.get(url)  # the session's first touch is not the page's cost
    with CaptureQueriesContext(connection) as none:
        assert client.get(url).status_code == 200
    _five_kinds(patient, sessions, alice)
    # The practitioner's page and the clinic admin's are pinned: 1 query for the questionnaires
    # (and, on the practitioner's, 1 for the injection map: none charted here, and 2 for the
    # plans' progress: the knowledge revision its measures and findings are kept by, and the
    # sessions done).
    pinned = {"alice": 20, "sam": 11}[who]
    assert len(none.captured_queries) == pinned, [q["sql"][:90] for q in none.captured_queries]
    with django_assert_num_queries(pinned):
        page = client.get(url).content.decode()
    # The practitioner: two to review and the open one; the clinic admin: the open one.
    assert page.count("data-questionnaire=") == (3 if who == "alice" else 1)


# --- The clinic admin: what matters for the diary, nothing clinical -------------------------------


def test_the_clinic_admin_sees_one_line_per_appointment_and_nothing_clinical(sam_client, patient, sessions, alice):
    _returned(patient, FINE, session=sessions[1])
    _returned(patient, PREGNANT, session=sessions[2])
    open_one = services.questionnaire_send(patient=patient, by=alice, session=sessions[0])
    panel = _panel(_page(sam_client, patient))

    lines = {
        session.pk: panel[panel.index(f'data-session="{session.pk}"') :].split("</li>")[0] for session in sessions[:3]
    }
    assert (
        'data-status="not returned"' in lines[sessions[0].pk] and "Questionnaire not returned" in lines[sessions[0].pk]
    )
    assert 'data-status="returned"' in lines[sessions[1].pk] and "Questionnaire returned" in lines[sessions[1].pk]
    assert "The clinic must call the patient before this appointment" in lines[sessions[2].pk]
    for clinical in ("verdict", "Engine:", "finding", "Answers to review", "Defer", "pregnan", "Review the answers"):
        assert clinical not in panel, clinical
    assert "/questionnaires/answers/" not in panel
    # What the desk can act on: the open one, Send again and Revoke.
    assert f'data-questionnaire="{open_one.pk}" data-state="open"' in panel and "Send again" in panel
    assert reverse("questionnaires:revoke", args=[open_one.pk]) in panel


def test_a_call_is_not_hidden_by_a_questionnaire_sent_since(sam_client, patient, sessions):
    _returned(patient, PREGNANT, session=sessions[0])
    services.questionnaire_send(patient=patient, session=sessions[0])  # sent again, not yet returned
    panel = _panel(_page(sam_client, patient))
    assert f'data-session="{sessions[0].pk}" data-status="call"' in panel


def test_the_next_appointment_without_one_says_so_and_later_sessions_are_not_listed(sam_client, patient, sessions):
    panel = _panel(_page(sam_client, patient))
    assert f'data-session="{sessions[0].pk}" data-status="none"' in panel and "No questionnaire sent" in panel
    assert f'data-session="{sessions[1].pk}"' not in panel  # the plan's later sessions are not asked again


def test_answers_returned_in_the_month_before_count_for_the_appointment(sam_client, patient, sessions):
    """No new questionnaire goes while answers are fresh (30 days): the desk sees them as returned."""
    _returned(patient, PREGNANT, visit_on=clinic_today() + datetime.timedelta(days=2))
    panel = _panel(_page(sam_client, patient))
    assert f'data-session="{sessions[0].pk}" data-status="call"' in panel


def test_the_patient_page_records_who_read_it(sam_client, patient, sessions):
    _page(sam_client, patient)
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS, patient_id=patient.pk).latest("timestamp")
    assert entry.actor.username == "sam" and entry.additional_data["page"] == "contact details and appointments"
