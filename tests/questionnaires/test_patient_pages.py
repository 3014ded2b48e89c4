"""The pages the patient fills the pre-visit questionnaire in: through the link (date of birth
first) and signed in, the screens saved as they go, the review, and what they are told after
sending. Real database, real knowledge base (loaded by the migrations), no mocks."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.definition import TEXT_MAX_CHARS
from mesoclinic.questionnaires.models import QuestionnaireRequest, QuestionnaireResponse
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

BORN = datetime.date(1962, 5, 17)
PHONE = "+90 212 555 01 23"


@pytest.fixture
def clinic_phone(clinic):
    clinic.phone = PHONE
    clinic.save()
    cache.clear()  # the clinic is cached for pages
    return clinic


@pytest.fixture
def ayla(clinic_phone):
    return PatientFactory(given_name="Ayla", family_name="Demir", date_of_birth=BORN, preferred_language="en")


@pytest.fixture
def asked(ayla, alice):
    return services.questionnaire_send(patient=ayla, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10))


@pytest.fixture
def token(asked):
    return services.link_create(asked)


def url(name, *args):
    return reverse(f"questionnaires:{name}", args=args)


def dob(day=BORN.day, month=BORN.month, year=BORN.year):
    return {"day": str(day), "month": str(month), "year": str(year)}


def opened(token, client=None):
    """A browser that gave the right date of birth."""
    client = client or Client()
    response = client.post(url("link", token), dob())
    assert response.status_code == 302 and response["Location"] == url("link_screen", token, 1)
    return client


# Answers that complete every screen: nothing that defers treatment, ibuprofen to stop.
SCREEN_ANSWERS = {
    1: {
        "conditions": [],
        "conditions_none": "yes",
        "medications": ["ibuprofen"],
        "conditions_other": "",
        "medications_other": "",
    },
    2: {"indication": "hair_loss", "areas": ["scalp"], "goals": "Thicker hair before the summer."},
    3: {"pregnant": "no", "breastfeeding": "no", "allergies": [], "allergies_other": "", "allergies_none": "yes"},
    4: {"previous_treatments": "Minoxidil for a year."},
    5: {"fitzpatrick_skin_type": "3"},
}


def answer_all(client, token, **changes):
    for step, answers in SCREEN_ANSWERS.items():
        data = {**answers, **{k: v for k, v in changes.items() if k in answers}}
        response = client.post(url("link_screen", token, step), data)
        assert response.status_code == 302, response.content.decode()[:2000]
    return client


def page(response):
    return response.content.decode()


# --- The date of birth ---------------------------------------------------------------------


def test_the_link_asks_for_the_date_of_birth_first_and_shows_nothing_personal(token, ayla):
    response = Client().get(url("link", token))
    html = page(response)
    assert response.status_code == 200
    assert "Your date of birth" in html
    assert html.count('inputmode="numeric"') == 2 and 'type="date"' not in html
    assert 'autocomplete="bday-month"' in html and "<select" in html
    assert ayla.given_name not in html and ayla.family_name not in html
    assert token not in html.replace(url("link", token), "")  # the token only in the form's own address
    # Every other page waits for the date of birth.
    for target in (url("link_screen", token, 1), url("link_review", token), url("link_done", token)):
        assert Client().get(target)["Location"] == url("link", token)


def test_a_wrong_date_keeps_what_was_typed_and_says_how_many_tries_are_left(token, asked):
    response = Client().post(url("link", token), dob(day=18, month=6, year=1963))
    html = page(response)
    assert response.status_code == 200
    assert "This is not the date of birth the clinic has for you. You can try 4 more times." in html
    assert 'value="18"' in html and 'value="1963"' in html and '<option value="6" selected>' in html
    assert 'aria-invalid="true"' in html
    asked.refresh_from_db()
    assert asked.failed_checks == 1


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        (dob(day=31, month=2), "This date does not exist"),
        (dob(year=1850), "Enter the year you were born"),
        (dob(day="x"), "Enter the day as a number"),
        ({"day": "", "month": "", "year": ""}, "Enter the day."),
        (dob(month=13), "Choose the month."),
        (dob(day=99999999999999999999), "The day is a number from 1 to 31."),
    ],
)
def test_a_date_that_cannot_be_a_birthday_is_refused_without_using_a_try(token, asked, typed, words):
    response = Client().post(url("link", token), typed)
    assert response.status_code == 200 and words in page(response)
    asked.refresh_from_db()
    assert asked.failed_checks == 0


def test_five_wrong_dates_lock_the_questionnaire(token, asked):
    client = Client()
    for left in (4, 3, 2, 1):
        assert f"You can try {left} more time" in page(client.post(url("link", token), dob(year=1970)))
    response = client.post(url("link", token), dob(year=1970))
    html = page(response)
    assert response.status_code == 410
    assert "After 5 wrong dates of birth the questionnaire is locked" in html
    assert f"Please call the clinic on {PHONE} for a new link." in html and 'href="tel:+902125550123"' in html
    # The right date no longer opens it, in this browser or another.
    assert Client().post(url("link", token), dob()).status_code == 410
    assert Client().get(url("link", token)).status_code == 410
    asked.refresh_from_db()
    assert asked.locked_at is not None


def test_the_right_date_opens_the_screens_in_a_new_session(token):
    client = Client()
    client.get(url("link", token) + "?lang=en")  # a session before the date of birth
    before = client.cookies["sessionid"].value
    opened(token, client)
    assert client.cookies["sessionid"].value != before  # a new key once verified
    response = client.get(url("link_screen", token, 1))
    assert response.status_code == 200 and "Step 1 of 5" in page(response)
    # Back to the link later: straight to the questions.
    assert client.get(url("link", token))["Location"] == url("link_screen", token, 1)


# --- Links that do not open ----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["x", "A" * 43, "A" * 300, "%00"])
def test_an_unknown_link_is_a_404_that_says_what_to_do(db, clinic_phone, bad):
    response = Client().get(f"/q/{bad}/")
    assert response.status_code == 404
    assert "This link does not work" in page(response)


def test_an_expired_link_asks_for_a_new_one(token, asked, ayla):
    QuestionnaireRequest.objects.filter(pk=asked.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = Client().get(url("link", token))
    html = page(response)
    assert response.status_code == 410
    assert "This questionnaire link has expired" in html and "ask the clinic to send you a new one" in html
    assert ayla.given_name not in html


def test_a_revoked_link_asks_for_the_newest_one(token, asked, alice):
    services.questionnaire_revoke(request=asked, by=alice)
    response = Client().get(url("link", token))
    assert response.status_code == 410
    assert "switched this questionnaire off" in page(response) and "ask the clinic for a new one" in page(response)


def test_an_answered_link_says_the_answers_arrived(token):
    client = answer_all(opened(token), token)
    client.post(url("link_review", token))
    # A new browser gives the date of birth again, then reads what it was told.
    fresh = Client()
    assert fresh.get(url("link", token)).status_code == 200
    response = fresh.post(url("link", token), dob())
    assert response.status_code == 302 and response["Location"] == url("link_done", token)
    assert "Before your appointment" in page(fresh.get(url("link_done", token)))
    # The browser that sent them is offered what to do before the visit.
    again = client.get(url("link_screen", token, 1))
    assert again.status_code == 410 and url("link_done", token) in page(again)


def test_a_problem_page_is_in_the_patients_language(clinic_phone, alice):
    patient = PatientFactory(date_of_birth=BORN, preferred_language="tr")
    token = services.link_create(services.questionnaire_send(patient=patient, by=alice))
    services.questionnaire_revoke(request=QuestionnaireRequest.objects.get(patient=patient), by=alice)
    assert '<html lang="tr">' in page(Client().get(url("link", token)))


# --- The screens ---------------------------------------------------------------------------


def test_answers_are_saved_and_come_back_through_the_same_link_in_a_new_browser(token, asked):
    client = opened(token)
    response = client.post(
        url("link_screen", token, 1),
        {"medications": ["ibuprofen", "warfarin"], "medications_other": "a green tablet for my stomach"},
    )
    assert response["Location"] == url("link_screen", token, 2)
    asked.refresh_from_db()
    assert asked.draft["medications"] == ["ibuprofen", "warfarin"]
    # Another day, another browser: the date of birth again, and the answers are there.
    html = page(opened(token).get(url("link_screen", token, 1)))
    assert re.search(r'value="ibuprofen" id="medications-ibuprofen"[^>]* checked', html)
    assert re.search(r'value="warfarin" id="medications-warfarin"[^>]* checked', html)
    assert "a green tablet for my stomach</textarea>" in html
    # The folded groups holding what was ticked are open (their medicines' classes), no others.
    opened_groups = re.findall(r"<details class=\"q-group\" data-q-group open>.*?</details>", html, re.S)
    assert len(opened_groups) == 2 and all("1 ticked" in group for group in opened_groups)
    assert any('value="warfarin"' in group for group in opened_groups)


def test_each_screen_draws_its_questions_by_kind(token):
    client = opened(token)
    first = page(client.get(url("link_screen", token, 1)))
    assert "Step 1 of 5" in first and 'type="search"' in first
    assert 'data-names="ibuprofen|' in first and "Nurofen" in first  # the search knows brand names
    assert "Not in the list? Write it here" in first and f'maxlength="{TEXT_MAX_CHARS}"' in first
    assert first.count("<details") > 10  # long lists fold into groups
    pregnancy = page(client.get(url("link_screen", token, 3)))
    assert 'type="radio" name="pregnant" id="pregnant-yes" value="yes"' in pregnancy
    assert 'id="pregnant-no" value="no"' in pregnancy
    skin = page(client.get(url("link_screen", token, 5)))
    assert skin.count('class="q-swatch q-swatch-') == 6 and "Often red or blond hair" in skin
    assert client.get(url("link_screen", token, 6)).status_code == 404
    assert client.get(url("link_screen", token, 0)).status_code == 404


def test_a_man_is_not_asked_about_pregnancy(clinic_phone, alice):
    patient = PatientFactory(date_of_birth=BORN, sex="male")
    token = services.link_create(services.questionnaire_send(patient=patient, by=alice))
    html = page(opened(token).get(url("link_screen", token, 3)))
    assert 'name="pregnant"' not in html and 'name="allergies"' in html


def test_over_long_text_is_kept_and_named_beside_the_box(token, asked):
    client = opened(token)
    long = "I would like thicker hair. " * 80
    response = client.post(url("link_screen", token, 2), {"goals": long, "indication": "hair_loss"})
    html = page(response)
    assert response.status_code == 200
    assert f"At most {TEXT_MAX_CHARS} characters, please; this has {len(long)}." in html
    assert long.strip() in html  # what was typed is on the page
    assert 'id="goals-error"' in html and 'aria-invalid="true"' in html
    assert 'id="hair_loss" ' not in html and re.search(r'value="hair_loss"[^>]* checked', html)
    asked.refresh_from_db()
    assert asked.draft["goals"] == long  # and saved: nothing typed is lost


def test_forged_answers_are_named_and_the_real_ones_kept(token, asked):
    client = opened(token)
    response = client.post(
        url("link_screen", token, 3), {"pregnant": "perhaps", "allergies": ["latex", "no_such_allergen"]}
    )
    html = page(response)
    assert response.status_code == 200
    assert "Answer yes or no." in html
    assert "This list has changed since the page was opened: tick your answers again." in html
    asked.refresh_from_db()
    assert asked.draft["allergies"] == ["latex"] and asked.draft["pregnant"] == ""


def test_a_medicine_typed_among_the_conditions_is_named_on_the_screen(token, asked):
    client = opened(token)
    response = client.post(url("link_screen", token, 1), {"conditions_other": "Nurofen"})
    assert response.status_code == 200
    assert 'id="conditions_other-error"' in page(response)
    asked.refresh_from_db()
    assert asked.draft["conditions_other"] == "Nurofen"


def test_back_saves_and_goes_back(token, asked):
    client = opened(token)
    response = client.post(url("link_screen", token, 2), {"goals": "Less hair loss", "go": "back"})
    assert response["Location"] == url("link_screen", token, 1)
    asked.refresh_from_db()
    assert asked.draft["goals"] == "Less hair loss"


def test_the_autosave_answers_204_and_saves(token, asked):
    client = opened(token)
    response = client.post(
        url("link_screen", token, 4), {"previous_treatments": "Minox"}, headers={"X-Questionnaire-Autosave": "1"}
    )
    assert response.status_code == 204
    asked.refresh_from_db()
    assert asked.draft["previous_treatments"] == "Minox"


def test_a_screen_is_recorded_as_read_through_the_link_and_the_date_of_birth_form_is_not(token, ayla):
    client = Client()
    client.get(url("link", token))
    accesses = AuditEntry.objects.for_patient(ayla.pk).filter(action=AuditEntry.Action.ACCESS)
    assert not accesses.exists()
    opened(token, client).get(url("link_screen", token, 2))
    entry = accesses.get()
    assert entry.actor is None and entry.additional_data["via"] == "questionnaire link"
    assert entry.additional_data["page"] == "pre-visit questionnaire"


def test_a_screen_costs_the_same_queries_whatever_was_answered(token, django_assert_num_queries):
    client = opened(token)
    client.get(url("link_screen", token, 1))
    # 1 session, 1 the link with its questionnaire, patient and response, 3 the questions
    # (the steps, the terms, their classes), 1 the audit entry.
    with django_assert_num_queries(6):
        assert client.get(url("link_screen", token, 1)).status_code == 200
    answer_all(client, token)
    with django_assert_num_queries(6):
        assert client.get(url("link_screen", token, 1)).status_code == 200


def test_the_language_switch_is_remembered(token):
    client = opened(token)
    assert '<html lang="tr">' in page(client.get(url("link_screen", token, 1) + "?lang=tr"))
    assert '<html lang="tr">' in page(client.get(url("link_screen", token, 2)))
    assert '<html lang="en">' in page(client.get(url("link_screen", token, 2) + "?lang=en"))
    assert client.get(url("link_screen", token, 2) + "?lang=xx").status_code == 400


# --- The review and sending ----------------------------------------------------------------


def test_the_review_lists_what_is_missing_and_offers_no_send_until_it_is_answered(token):
    client = opened(token)
    client.post(url("link_screen", token, 1), {"medications": ["ibuprofen"]})
    html = page(client.get(url("link_review", token)))
    assert "Not answered yet: Are you pregnant, or could you be?" in html
    assert f"{url('link_screen', token, 3)}?then=review#q-pregnant" in html
    assert "Send to the clinic" not in html
    assert "ibuprofen" in html and html.count(">Change<") == 5
    # Sending anyway brings the review back, and sends nothing.
    response = client.post(url("link_review", token))
    assert response.status_code == 200 and "Not answered yet" in page(response)
    assert not QuestionnaireResponse.objects.exists()


def test_over_long_text_in_the_draft_stops_sending(token, asked):
    client = answer_all(opened(token), token)
    QuestionnaireRequest.objects.filter(pk=asked.pk).update(
        draft={**QuestionnaireRequest.objects.get(pk=asked.pk).draft, "goals": "x" * (TEXT_MAX_CHARS + 1)}
    )
    response = client.post(url("link_review", token))
    assert response.status_code == 200 and "At most 2000 characters" in page(response)
    assert not QuestionnaireResponse.objects.exists()


def test_sending_thanks_the_patient_and_gives_the_preparation(token, asked):
    client = answer_all(opened(token), token)
    review = page(client.get(url("link_review", token)))
    assert "Send to the clinic" in review and "Thicker hair before the summer." in review and "ibuprofen" in review
    response = client.post(url("link_review", token))
    assert response["Location"] == url("link_done", token)
    done = page(client.get(url("link_done", token)))
    assert "Thank you" in done and "The clinic will review your answers before your appointment." in done
    assert "Before your appointment" in done
    assert "Do not take ibuprofen for 7 days before your appointment." in done
    assert "Keep taking the medicines your doctor prescribed unless your doctor tells you otherwise." in done
    assert "NSAID" not in done and "warning" not in done.lower()  # never the findings
    assert QuestionnaireResponse.objects.get().language == "en"


def test_a_finding_that_defers_asks_the_patient_to_call_without_saying_why(token):
    client = answer_all(opened(token), token, pregnant="yes")
    client.post(url("link_review", token))
    done = page(client.get(url("link_done", token)))
    assert "Please call the clinic before your appointment" in done
    assert 'href="tel:+902125550123"' in done and PHONE in done
    assert "pregnan" not in done.lower() and "defer" not in done.lower()
    assert QuestionnaireResponse.objects.get().patient_message == "call"


def test_a_blood_thinner_is_never_told_to_stop(token):
    client = answer_all(opened(token), token, medications=["ibuprofen", "warfarin"])
    client.post(url("link_review", token))
    done = page(client.get(url("link_done", token)))
    assert "Do not take ibuprofen" in done
    assert "warfarin" not in done.lower()
    assert "Keep taking the medicines your doctor prescribed" in done


def test_a_second_send_is_harmless(token):
    client = answer_all(opened(token), token)
    assert client.post(url("link_review", token)).status_code == 302
    again = client.post(url("link_review", token))
    html = page(again)
    assert again.status_code == 409
    assert "Your answers already reached the clinic" in html and "tell your practitioner at your visit" in html
    assert "Thicker hair before the summer." in html  # what they gave, shown back
    assert QuestionnaireResponse.objects.count() == 1


def test_answers_posted_after_the_clinic_switched_it_off_are_shown_back(token, asked, alice):
    client = opened(token)
    services.questionnaire_revoke(request=asked, by=alice)
    response = client.post(url("link_screen", token, 2), {"goals": "Fuller hair at the crown"})
    html = page(response)
    assert response.status_code == 409
    assert "The clinic has switched this questionnaire off." in html and "Fuller hair at the crown" in html
    autosave = client.post(url("link_screen", token, 2), {"goals": "x"}, headers={"X-Questionnaire-Autosave": "1"})
    assert autosave.status_code == 409


def test_a_screen_posted_after_sending_is_refused_with_words(token, asked):
    client = answer_all(opened(token), token)
    client.post(url("link_review", token))
    response = client.post(url("link_screen", token, 4), {"previous_treatments": "Also PRP"})
    assert response.status_code == 409 and "Also PRP" in page(response)


# --- Signed in -----------------------------------------------------------------------------


@pytest.fixture
def pats(pat, alice, clinic_phone):
    return services.questionnaire_send(patient=pat, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10))


def test_a_signed_in_patient_answers_without_the_date_of_birth(pat_client, pats, pat):
    listing = page(pat_client.get(url("mine")))
    assert url("mine_screen", pats.pk, 1) in listing and "Start" in listing
    for step, answers in SCREEN_ANSWERS.items():
        response = pat_client.post(url("mine_screen", pats.pk, step), answers)
        assert response.status_code == 302
    assert pat_client.get(url("mine_review", pats.pk)).status_code == 200
    assert pat_client.post(url("mine_review", pats.pk))["Location"] == url("mine_done", pats.pk)
    done = page(pat_client.get(url("mine_done", pats.pk)))
    assert "Thank you" in done and "Do not take ibuprofen" in done
    entry = AuditEntry.objects.for_patient(pat.pk).filter(action=AuditEntry.Action.ACCESS).order_by("-id").first()
    assert entry.actor == pat.user and "via" not in entry.additional_data
    listing = page(pat_client.get(url("mine")))
    assert url("mine_done", pats.pk) in listing and url("mine_screen", pats.pk, 1) not in listing


def test_another_patients_questionnaire_is_a_404(pat_client, asked, pats):
    for target in (url("mine_screen", asked.pk, 1), url("mine_review", asked.pk), url("mine_done", asked.pk)):
        assert pat_client.get(target).status_code == 404
        assert pat_client.post(target, {"goals": "x"}).status_code == 404
    asked.refresh_from_db()
    assert asked.draft == {}


def test_staff_do_not_fill_in_the_patients_pages(alice_client, sam_client, pats):
    assert alice_client.get(url("mine_screen", pats.pk, 1)).status_code == 403
    assert sam_client.get(url("mine")).status_code == 403
    assert Client().get(url("mine"))["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("hostile", ["ab\x00cd", "\x1b[2J\x07", "💉'\"<script>%zz[]{}\\", "x" * 10_000, "9" * 5000])
def test_hostile_input_in_a_screen_is_never_an_error(token, asked, hostile):
    client = opened(token)
    data = {"goals": hostile, "indication": hostile, "areas": [hostile, "scalp"], "medications_other": hostile}
    for step in (1, 2):
        response = client.post(url("link_screen", token, step), data)
        assert response.status_code in (200, 302)
    response = client.post(url("link", token), {"day": hostile, "month": hostile, "year": hostile})
    assert response.status_code in (200, 302)
    assert client.get(url("link_review", token)).status_code == 200


def test_out_of_range_numbers_in_the_address_are_a_404(pat_client, pats, token):
    client = opened(token)
    assert client.get(f"/q/{token}/99999999999999999999/").status_code == 404
    assert pat_client.get("/questionnaire/99999999999999999999/1/").status_code == 404
    assert pat_client.get(f"/questionnaire/{pats.pk}/99999999999999999999/").status_code == 404


def test_change_on_the_review_comes_back_to_the_review(token):
    client = answer_all(opened(token), token)
    review = page(client.get(url("link_review", token)))
    change = url("link_screen", token, 2) + "?then=review"
    assert f'href="{change}"' in review
    screen = page(client.get(change))
    assert 'name="then" value="review"' in screen and "Check my answers" in screen
    response = client.post(
        url("link_screen", token, 2), {**SCREEN_ANSWERS[2], "goals": "Fuller hair", "then": "review"}
    )
    assert response["Location"] == url("link_review", token)
    assert "Fuller hair" in page(client.get(url("link_review", token)))


def test_every_page_as_every_role_is_never_an_error(alice_client, sam_client, pat_client, token, asked, pats):
    """A small access matrix of these pages (tests/test_access_matrix.py holds the app's)."""
    link_pages = [url("link", token), url("link_screen", token, 1), url("link_review", token), url("link_done", token)]
    own = [url("mine_screen", pats.pk, 1), url("mine_review", pats.pk), url("mine_done", pats.pk)]
    theirs = [url("mine_screen", asked.pk, 1), url("mine_review", asked.pk), url("mine_done", asked.pk)]
    for client in (Client(), alice_client, sam_client, pat_client):
        for target in link_pages:
            for method in ("get", "post"):
                code = getattr(client, method)(target).status_code
                assert code in (200, 302), f"{method} {target}: {code}"
        assert client.get(link_pages[1])["Location"] == link_pages[0]  # the date of birth first
    for target in [url("mine"), *own, *theirs]:
        assert Client().get(target)["Location"].startswith("/accounts/login/")
        assert alice_client.get(target).status_code == 403 and sam_client.get(target).status_code == 403
    assert pat_client.get(url("mine")).status_code == 200
    assert [pat_client.get(target).status_code for target in own] == [200, 200, 302]  # done: not sent yet
    assert [pat_client.get(target).status_code for target in theirs] == [404, 404, 404]
