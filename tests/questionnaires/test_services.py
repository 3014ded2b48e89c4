"""The questionnaire's life as the services run it: sent, opened with the date of birth,
answered, read by the engine, and adopted. The pages have their own tests; these hold the rules
the pages rely on."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.models import (
    MAX_DATE_OF_BIRTH_TRIES,
    PatientMessage,
    QuestionnaireLink,
    QuestionnaireRequest,
    QuestionnaireResponse,
)
from mesoclinic.screening.forms import ScreeningForm
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.submission import ScreeningSubmission
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

NOTHING = {
    "pregnant": "no",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
    "conditions": [],
    "conditions_other": "",
    "medications": [],
    "medications_other": "",
    "allergies": [],
    "allergies_other": "",
}


@pytest.fixture
def sent(clinic, patient, alice):
    return services.questionnaire_send(patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10))


def submit(request, **given):
    return services.questionnaire_submit(request=request, given={**NOTHING, **given}, language="en")


# --- The link -------------------------------------------------------------------------------


def test_a_link_names_its_questionnaire_and_stores_only_a_hash(sent):
    token = services.link_create(sent)
    found, problem = services.link_lookup(token)
    assert (found, problem) == (sent, "")
    assert not QuestionnaireLink.objects.filter(token_sha256=token).exists()
    assert QuestionnaireLink.objects.filter(token_sha256=QuestionnaireLink.digest(token)).exists()


def test_an_unknown_or_absurd_token_is_unknown(sent):
    assert services.link_lookup("nope") == (None, "unknown")
    assert services.link_lookup("x" * 5000) == (None, "unknown")
    assert services.link_lookup("") == (None, "unknown")


def test_a_link_works_seven_days_or_until_the_visit_whichever_comes_first(clinic, patient, alice):
    soon = services.questionnaire_send(patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=2))
    assert soon.expires_at == services.end_of(soon.visit_on)  # answers after the visit are no use
    later = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=20)
    )
    assert later.expires_at - later.created_at == datetime.timedelta(days=7)
    token = services.link_create(later)
    QuestionnaireRequest.objects.filter(pk=later.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert services.link_lookup(token)[1] == "expired"


def test_the_chase_reopens_an_expired_link_until_the_visit(clinic, patient, alice):
    later = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=20)
    )
    QuestionnaireRequest.objects.filter(pk=later.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    chase = Reminder.objects.get(kind=ReminderKind.QUESTIONNAIRE_CHASE)
    assert services.chase_still_wanted(chase)
    context = services.message_context(chase)
    later.refresh_from_db()
    assert later.expires_at == services.end_of(later.visit_on)
    token = context["link"].rstrip("/").rsplit("/", 1)[-1]
    assert services.link_lookup(token) == (later, "")
    assert context["until"].tzinfo is None and context["until"].hour == 23  # the clinic's 23:59


def test_revoking_switches_every_link_off_and_cancels_the_chase(sent, alice):
    token = services.link_create(sent)
    assert Reminder.objects.filter(kind=ReminderKind.QUESTIONNAIRE_CHASE, status=ReminderStatus.PENDING).exists()
    assert services.questionnaire_revoke(request=sent, by=alice)
    assert services.link_lookup(token)[1] == "revoked"
    assert not Reminder.objects.filter(kind=ReminderKind.QUESTIONNAIRE_CHASE, status=ReminderStatus.PENDING).exists()
    assert services.questionnaire_revoke(request=sent, by=alice) is False  # already off: nothing more


def test_sending_again_replaces_the_open_questionnaire(sent, patient, alice):
    old_token = services.link_create(sent)
    newer = services.questionnaire_send(patient=patient, by=alice, visit_on=sent.visit_on)
    assert services.link_lookup(old_token)[1] == "revoked"
    assert list(QuestionnaireRequest.objects.open().filter(patient=patient)) == [newer]


def test_it_refuses_a_visit_in_the_past_and_a_patient_it_cannot_reach(clinic, alice):
    unreachable = PatientFactory(email="", phone="")
    with pytest.raises(services.QuestionnaireRefused, match="no email address or mobile"):
        services.questionnaire_send(patient=unreachable, by=alice)
    with pytest.raises(services.QuestionnaireRefused, match="in the past"):
        services.questionnaire_send(
            patient=PatientFactory(), by=alice, visit_on=clinic_today() - datetime.timedelta(days=1)
        )
    assert not QuestionnaireRequest.objects.exists()


# --- The date of birth ---------------------------------------------------------------------


def test_the_right_date_of_birth_opens_it_and_clears_earlier_mistakes(sent, patient):
    wrong = patient.date_of_birth - datetime.timedelta(days=1)
    assert services.date_of_birth_check(request=sent, date_of_birth=wrong) == "wrong"
    assert services.date_of_birth_check(request=sent, date_of_birth=patient.date_of_birth) == "ok"
    sent.refresh_from_db()
    assert sent.failed_checks == 0


def test_five_wrong_dates_of_birth_lock_it_even_against_the_right_one(sent, patient):
    wrong = patient.date_of_birth.replace(year=patient.date_of_birth.year - 1)
    outcomes = [services.date_of_birth_check(request=sent, date_of_birth=wrong) for _ in range(MAX_DATE_OF_BIRTH_TRIES)]
    assert outcomes == ["wrong"] * (MAX_DATE_OF_BIRTH_TRIES - 1) + ["locked"]
    assert services.date_of_birth_check(request=sent, date_of_birth=patient.date_of_birth) == "locked"
    token = services.link_create(sent)
    assert services.link_lookup(token)[1] == "locked"


# --- Answering and the engine ------------------------------------------------------------


def test_the_draft_keeps_what_was_given_screen_by_screen(sent):
    services.draft_save(request=sent, given={"conditions": ["eczema"], "conditions_other": "migraine"})
    services.draft_save(request=sent, given={"pregnant": "no"})
    sent.refresh_from_db()
    assert sent.draft == {"conditions": ["eczema"], "conditions_other": "migraine", "pregnant": "no"}
    assert sent.draft_saved_at is not None


def test_an_unanswered_yes_no_question_stops_the_submission(sent):
    with pytest.raises(ValidationError) as refused:
        services.questionnaire_submit(request=sent, given={"pregnant": "no"}, language="en")
    assert "breastfeeding" in refused.value.message_dict
    assert not QuestionnaireResponse.objects.exists()


def test_nothing_to_report_is_a_thank_you(sent):
    response = submit(sent)
    assert response.verdict == "clear"
    assert response.patient_message == PatientMessage.THANKS
    # The one preparation everyone is given: no alcohol the day before.
    assert [i["substance"] for i in response.instructions] == ["alcohol"]


@pytest.mark.parametrize(
    "given",
    [
        {"pregnant": "yes"},
        {"breastfeeding": "yes"},
        {"conditions_other": "hamileyim"},  # typed in a box, in Turkish: still the pregnancy answer
        {"conditions": ["herpes_simplex_active"]},
    ],
)
def test_a_finding_that_defers_asks_the_patient_to_call(sent, given):
    response = submit(sent, **given)
    assert response.verdict == "defer"
    assert response.patient_message == PatientMessage.CALL


def test_a_patient_under_18_on_the_day_of_the_visit_is_asked_to_call(clinic, alice):
    today = clinic_today()
    young = PatientFactory(date_of_birth=today.replace(year=today.year - 17))
    request = services.questionnaire_send(patient=young, by=alice, visit_on=today + datetime.timedelta(days=5))
    assert submit(request).patient_message == PatientMessage.CALL


def test_a_brand_name_typed_is_its_medicine_and_its_hold_is_an_instruction(sent):
    response = submit(sent, medications_other="Nurofen")
    assert "ibuprofen" in response.answers["medications"]
    assert response.patient_message == PatientMessage.THANKS
    [instruction] = [i for i in response.instructions if i["medication"]]
    assert instruction["kind"] == "stop"
    assert "ibuprofen" in instruction["substance"].lower()
    assert instruction["hours_before"] == 7 * 24


def test_a_blood_thinner_is_never_an_instruction_to_stop(sent):
    response = submit(sent, medications=["warfarin"], medications_other="Nurofen")
    assert "warfarin" in response.answers["medications"]
    assert [i["medication"] for i in response.instructions if i["medication"]] == ["ibuprofen"]
    assert any(f.get("prescriber") for f in response.findings)


def test_what_the_vocabulary_does_not_know_is_kept_for_the_practitioner(sent):
    response = submit(sent, medications_other="fish oil capsules", allergies_other="bee stings")
    assert response.answers["unlisted"] == {"medications": ["fish oil capsules"], "allergies": ["bee stings"]}
    assert [f["rule"] for f in response.findings].count("unlisted-answer") == 2
    assert response.given["medications_other"] == "fish oil capsules"


def test_a_term_typed_in_the_wrong_list_is_a_problem_not_a_lost_answer(sent):
    with pytest.raises(ValidationError) as refused:
        submit(sent, conditions_other="Advil")
    assert "conditions_other" in refused.value.message_dict


def test_a_hold_that_cannot_be_kept_before_the_visit_is_not_an_instruction(clinic, patient, alice):
    soon = services.questionnaire_send(patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=3))
    response = submit(soon, medications_other="ibuprofen")
    # A week's stop no longer fits: the practitioner weighs it; a day without alcohol still does.
    assert [i["substance"] for i in response.instructions] == ["alcohol"]
    assert response.verdict == "caution"


def test_a_questionnaire_is_answered_once(sent):
    submit(sent)
    with pytest.raises(services.QuestionnaireRefused, match="already been sent"):
        submit(sent, pregnant="yes")
    with pytest.raises(services.QuestionnaireRefused):
        services.draft_save(request=sent, given={"pregnant": "yes"})
    assert QuestionnaireResponse.objects.get().given["pregnant"] == "no"


def test_returning_it_cancels_the_chase(sent):
    submit(sent)
    chase = Reminder.objects.get(kind=ReminderKind.QUESTIONNAIRE_CHASE)
    assert chase.status == ReminderStatus.CANCELLED


def test_what_the_patient_sent_cannot_be_changed(sent):
    response = submit(sent)
    response.given = {"pregnant": "yes"}
    with pytest.raises(ValidationError):
        response.save()
    with pytest.raises(ValidationError):
        response.save(update_fields=["given"])


# --- Adoption --------------------------------------------------------------------------


def _submission_from(response, patient):
    kb = knowledge_base()
    answers = response.answers
    data = {"on_date": answers["on_date"], "pregnant": "on" if answers["pregnant"] else ""}
    for name in ("conditions", "medications"):
        data[name] = answers[name]
    data = {key: value for key, value in data.items() if value}
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    submission = ScreeningSubmission(patient, query, kb=kb)
    assert isinstance(submission.form, ScreeningForm)
    return submission


def test_adopting_links_the_screening_once(sent, patient, alice):
    response = submit(sent, pregnant="yes")
    submission = _submission_from(response, patient)
    assert submission.is_valid(), submission.form.errors
    screening = services.questionnaire_adopt(response=response, submission=submission, by=alice)
    response.refresh_from_db()
    assert response.adopted_screening == screening
    assert screening.verdict == "defer"
    again = _submission_from(response, patient)
    again.is_valid()
    with pytest.raises(services.QuestionnaireRefused, match="already adopted"):
        services.questionnaire_adopt(response=response, submission=again, by=alice)
    assert patient.screenings.count() == 1


# --- An empty list is not an answer (field test: a blank questionnaire became "no medicines") ---


@pytest.mark.parametrize("name", ["conditions", "medications", "allergies"])
def test_a_list_left_empty_without_none_is_unanswered(sent, name):
    given = {**NOTHING, f"{name}_none": ""}
    with pytest.raises(ValidationError) as refused:
        services.questionnaire_submit(request=sent, given=given, language="en")
    assert name in refused.value.message_dict
    assert not QuestionnaireResponse.objects.exists()


def test_a_blank_questionnaire_cannot_be_sent(sent):
    with pytest.raises(ValidationError) as refused:
        services.questionnaire_submit(request=sent, given={}, language="en")
    assert {"pregnant", "breastfeeding", "conditions", "medications", "allergies"} <= set(refused.value.message_dict)


def test_none_ticked_beside_an_answer_is_a_problem_on_the_page(sent):
    from mesoclinic.questionnaires import answers

    screens = services.screens_for(sent)
    _given, problems = answers.clean_given({"medications": ["ibuprofen"], "medications_none": "yes"}, screens)
    assert "medications_none" in problems
