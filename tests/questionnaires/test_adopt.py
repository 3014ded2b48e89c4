"""The practitioner reads the patient's answers and starts the screening from them.

The answers come back through the questionnaire's own service (the engine runs on them as it
does when a patient sends them), and the screening is made through the pages, as the
practitioner makes it: filled in from the answers, each section the patient answered
confirmed with them before it is saved.
"""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import adoption, services
from mesoclinic.questionnaires.models import VALID_FOR, QuestionnaireRequest, QuestionnaireResponse
from mesoclinic.screening.forms import ScreeningForm
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.screening.submission import ScreeningSubmission
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
    "indication": "",
    "areas": [],
    "goals": "",
    "previous_treatments": "",
    "fitzpatrick_skin_type": "",
}
# What Ayla sent in Turkish: eczema ticked, "hamileyim" (I am pregnant) and migraine typed among
# the conditions, ibuprofen ticked, a brand name and a herbal tea typed among the medicines.
AYLA = {
    "conditions": ["eczema"],
    "conditions_other": "hamileyim, migraine",
    "medications": ["ibuprofen"],
    "medications_other": "Coumadin, bitkisel çay",
    "indication": "skin_rejuvenation",
    "areas": ["face"],
    "goals": "Yüzümde ince çizgiler var.",
    "previous_treatments": "Bir kez dolgu yaptırdım.",
    "fitzpatrick_skin_type": "3",
}
CONFIRMED = {f"confirm_{section}": "on" for section in ScreeningForm.REPORTABLE}


def returned(patient, *, visit_in=10, language="en", **given):
    """The questionnaire `patient` sent back with these answers (the rest answered "no" or empty)."""
    request = QuestionnaireRequest.objects.create(
        patient=patient,
        visit_on=clinic_today() + datetime.timedelta(days=visit_in),
        expires_at=timezone.now() + VALID_FOR,
    )
    return services.questionnaire_submit(request=request, given={**NOTHING, **given}, language=language)


def posted(initial, **extra):
    """The screening form as the browser posts it when filled in with `initial`."""
    data = {}
    for name, value in initial.items():
        if value is True:
            data[name] = "on"
        elif isinstance(value, datetime.date):
            data[name] = value.isoformat()
        elif value not in (False, None):
            data[name] = value
    return {**data, **extra}


def acknowledged(response):
    """Every warning the answers raise, acknowledged (the engine's keys, as recorded)."""
    return {f"ack_{f['key']}": "on" for f in response.findings if f["severity"] == "warning"}


def adopt_url(response):
    return reverse("questionnaires:adopt", args=[response.pk])


def review_url(response):
    return reverse("questionnaires:review", args=[response.pk])


def filled_in(response, **extra):
    """What the adopt page posts when the practitioner confirms every section as it stands."""
    initial = adoption.initial_from_response(response, knowledge_base())
    return posted(initial, **acknowledged(response), **CONFIRMED, **extra)


# --- Filled in from the answers ---------------------------------------------------------------


def test_the_screening_starts_from_the_answers_as_the_engine_read_them(patient):
    response = returned(patient, language="tr", **AYLA)
    initial = adoption.initial_from_response(response, knowledge_base())
    assert initial["pregnant"] is True  # "hamileyim", typed among the conditions
    assert initial["breastfeeding"] is False
    assert initial["conditions"] == ["eczema"]
    assert initial["conditions_other"] == "migraine"  # still an unlisted answer, for the practitioner
    assert initial["medications"] == ["ibuprofen", "warfarin"]  # Coumadin is warfarin
    assert initial["medications_other"] == "bitkisel çay"
    assert initial["fitzpatrick_skin_type"] == "3"
    assert (initial["indication"], initial["areas"]) == ("skin_rejuvenation", ["face"])
    assert initial["goals"] == "Yüzümde ince çizgiler var."
    assert initial["previous_treatments"] == "Bir kez dolgu yaptırdım."
    assert initial["on_date"] == response.request.visit_on


@pytest.mark.parametrize("visit_in", [-1, 45])
def test_a_visit_a_screening_cannot_be_planned_for_starts_the_form_on_today(patient, visit_in):
    response = returned(patient, visit_in=visit_in)
    assert adoption.initial_from_response(response, knowledge_base())["on_date"] == clinic_today()


def test_only_the_sections_the_patient_was_asked_need_confirming(patient):
    assert adoption.reported_sections(returned(patient)) == tuple(ScreeningForm.REPORTABLE)
    man = PatientFactory(sex="male")
    request = QuestionnaireRequest.objects.create(
        patient=man, visit_on=clinic_today(), expires_at=timezone.now() + VALID_FOR
    )
    given = {name: value for name, value in NOTHING.items() if name not in ("pregnant", "breastfeeding")}
    response = services.questionnaire_submit(request=request, given=given, language="en")
    assert "pregnancy" not in adoption.reported_sections(response)
    form = ScreeningSubmission(man, reported=adoption.reported_sections(response)).form
    assert "confirm_pregnancy" not in form.fields and "confirm_conditions" in form.fields


def test_the_adopt_page_marks_each_reported_section_and_posts_to_itself(alice_client, patient):
    response = returned(patient, **AYLA)
    page = alice_client.get(adopt_url(response)).content.decode()
    assert page.count("Patient-reported") >= 6  # the badges, and the sentence under the title
    assert f'action="{adopt_url(response)}"' in page
    assert reverse("screening:evaluate", args=[patient.pk]) in page  # the live findings still work
    for label in (
        "Pregnancy and breastfeeding confirmed with the patient",
        "Conditions confirmed with the patient",
        "Medications confirmed with the patient",
        "Allergies confirmed with the patient",
        "Skin type confirmed with the patient",
        "What to treat, areas and reasons confirmed with the patient",
        "Treatments tried before confirmed with the patient",
    ):
        assert label in page
    assert 'name="confirm_conditions" id="id_confirm_conditions">' in page  # not ticked for them
    assert 'value="migraine"' in page and 'value="bitkisel çay"' in page


def test_the_plain_screening_form_asks_for_no_confirmation(alice_client, patient):
    page = alice_client.get(reverse("screening:new", args=[patient.pk])).content.decode()
    assert "confirm_" not in page and "Patient-reported" not in page
    assert 'id="screening-form" novalidate' in page  # no action: it posts to itself, as before


def test_the_live_findings_ignore_the_confirm_ticks(alice_client, patient):
    response = returned(patient, **AYLA)
    url = reverse("screening:evaluate", args=[patient.pk])
    page = alice_client.post(url, posted(adoption.initial_from_response(response, knowledge_base()))).content
    assert b"Defer treatment" in page
    assert b"Confirm this with the patient" not in page


# --- Saving -----------------------------------------------------------------------------------


def test_adopting_a_pregnant_patients_answers_makes_a_screening_that_defers(alice_client, alice, patient):
    response = returned(patient, pregnant="yes", medications=["ibuprofen"])
    assert response.verdict == "defer"
    saved = alice_client.post(adopt_url(response), filled_in(response))
    screening = Screening.objects.get()
    assert saved.status_code == 302 and saved["Location"] == screening.get_absolute_url()
    assert (screening.verdict, screening.outcome) == ("defer", Outcome.DEFERRED)
    assert screening.answers["pregnant"] is True and screening.answers["medications"] == ["ibuprofen"]
    response.refresh_from_db()
    assert (response.adopted_screening, response.adopted_by) == (screening, alice)
    page = alice_client.get(saved["Location"]).content.decode()
    assert "Screening saved from the patient&#x27;s questionnaire: deferred." in page
    assert "Started from" in page and review_url(response) in page


def test_unconfirmed_sections_refuse_to_save_and_keep_everything_typed(alice_client, patient):
    response = returned(patient, **AYLA)
    data = filled_in(response, notes="Asked about the herbal tea", medications_other="bitkisel çay, Lyrica")
    del data["confirm_conditions"], data["confirm_medications"]
    page = alice_client.post(adopt_url(response), data)
    assert page.status_code == 200
    assert not Screening.objects.exists()
    html = page.content.decode()
    error = "Confirm this with the patient, or correct it, before saving."
    assert f'<div class="invalid-feedback d-block" id="id_confirm_conditions_error">{error}</div>' in html
    assert f'<div class="invalid-feedback d-block" id="id_confirm_medications_error">{error}</div>' in html
    assert "id_confirm_allergies_error" not in html
    assert 'name="confirm_allergies" id="id_confirm_allergies" checked' in html  # ticks kept
    assert "Asked about the herbal tea" in html and 'value="bitkisel çay, Lyrica"' in html
    # The findings are still worked out, the warnings' ticks kept: only the confirmations wait.
    assert 'class="verdict-bar verdict-defer"' in html
    ack = next(name for name in acknowledged(response) if "unlisted" in name)
    assert f'name="{ack}" id="id_{ack}" checked' in html
    response.refresh_from_db()
    assert not response.is_adopted


def test_saving_links_the_screening_and_both_are_in_the_audit_trail(alice_client, alice, patient):
    response = returned(patient, **AYLA)
    alice_client.get(adopt_url(response))
    alice_client.post(adopt_url(response), filled_in(response))
    screening = Screening.objects.get()
    entries = AuditEntry.objects.for_patient(patient.pk)
    # Ids repeat across tables (request 1, response 1): an entry is about a row of one model.
    kind = ContentType.objects.get_for_model(QuestionnaireResponse)
    viewed = entries.filter(action=AuditEntry.Action.ACCESS, content_type=kind, object_id=response.pk).get()
    assert viewed.actor == alice and viewed.additional_data["page"] == "screening form from the questionnaire"
    linked = entries.filter(action=AuditEntry.Action.UPDATE, content_type=kind, object_id=response.pk).get()
    assert linked.actor == alice and "adopted_screening" in linked.changes
    started = entries.filter(
        action=AuditEntry.Action.UPDATE,
        content_type=ContentType.objects.get_for_model(Screening),
        object_id=screening.pk,
        changes__has_key="started from",
    )
    assert started.get().actor == alice


def test_answers_adopted_already_lead_to_their_screening_and_make_no_second(alice_client, patient):
    response = returned(patient, **AYLA)
    alice_client.post(adopt_url(response), filled_in(response))
    screening = Screening.objects.get()
    for again in (alice_client.get(adopt_url(response)), alice_client.post(adopt_url(response), filled_in(response))):
        assert again.status_code == 302 and again["Location"] == screening.get_absolute_url()
    assert Screening.objects.count() == 1
    page = alice_client.get(screening.get_absolute_url()).content.decode()
    assert "These answers were already adopted into a screening, by Dr. Alice Hart" in page


def test_a_colleague_adopting_the_same_answers_meanwhile_is_refused_before_anything_is_saved(alice, patient):
    response = returned(patient, **AYLA)
    data = filled_in(response)
    first, second = (ScreeningSubmission(patient, data, reported=adoption.reported_sections(response)) for _ in "12")
    assert first.is_valid() and second.is_valid()
    services.questionnaire_adopt(response=response, submission=first, by=alice)
    with pytest.raises(services.QuestionnaireRefused):
        services.questionnaire_adopt(response=response, submission=second, by=alice)  # the stale copy
    assert Screening.objects.count() == 1


def test_what_the_patient_sent_cannot_be_changed(alice_client, patient):
    response = returned(patient, **AYLA)
    alice_client.post(adopt_url(response), filled_in(response))
    response.refresh_from_db()
    response.goals = "Something else"
    with pytest.raises(ValidationError):
        response.save()
    with pytest.raises(ValidationError):
        response.save(update_fields=["goals"])
    response.refresh_from_db()
    assert response.goals == "Yüzümde ince çizgiler var."


# --- The review ------------------------------------------------------------------------------


def test_the_review_shows_the_answers_in_words_the_findings_and_what_the_patient_was_told(alice_client, patient):
    response = returned(patient, language="tr", **AYLA)
    page = alice_client.get(review_url(response)).content.decode()
    assert "Do you have any of these now, or are you being treated for them?" in page
    assert "Eczema" in page
    assert "“hamileyim, migraine”" in page
    assert "Read as yes from what they wrote: “hamileyim”." in page
    assert "Kept as unlisted answers for you to assess: migraine" in page
    assert "Recognised as: warfarin" in page  # Coumadin
    assert "Light to medium; I sometimes burn and tan slowly (Fitzpatrick 3)" in page
    assert "answered in Turkish" in page
    # The findings as they were on submission, with their sources, and what the patient was told.
    assert 'class="verdict-bar verdict-defer"' in page and "Pregnancy" in page
    assert "(guide-2024)" in page or "(prep-2023)" in page
    assert "Please call the clinic before the appointment" in page
    assert "No alcohol in the 24 hours before each session" in page
    assert adopt_url(response) in page and "Start screening from these answers" in page
    assert reverse("questionnaires:fhir_response", args=[response.pk]) in page
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS).get()
    assert entry.object_id == response.pk


def test_a_turkish_speaking_practitioner_reads_the_terms_and_findings_in_turkish(alice, alice_client, patient):
    alice.language = "tr"
    alice.save()
    response = returned(patient, language="tr", **AYLA)
    page = alice_client.get(review_url(response))
    assert page.headers["Content-Language"] == "tr"
    html = page.content.decode()
    assert "Egzama" in html  # the vocabulary's Turkish
    assert '<h3 id="finding-pregnancy">Gebelik</h3>' in html  # the finding's Turkish, as recorded
    assert "“hamileyim, migraine”" in html  # what the patient typed, as they typed it


def test_once_adopted_the_review_leads_to_the_screening(alice_client, patient):
    response = returned(patient, **AYLA)
    alice_client.post(adopt_url(response), filled_in(response))
    page = alice_client.get(review_url(response)).content.decode()
    assert "Start screening from these answers" not in page
    assert Screening.objects.get().get_absolute_url() in page


def test_only_a_practitioner_reviews_or_adopts(sam_client, pat_client, pat, patient):
    response = returned(patient, **AYLA)
    own = returned(pat, **AYLA)
    for url in (review_url(response), adopt_url(response)):
        assert sam_client.get(url).status_code == 403
        assert pat_client.get(url).status_code == 404
    assert pat_client.get(review_url(own)).status_code == 404  # even their own: clinical findings
    assert sam_client.post(adopt_url(response), filled_in(response)).status_code == 403
    assert not Screening.objects.exists()


def test_unknown_answers_are_a_404(alice_client):
    assert alice_client.get(reverse("questionnaires:review", args=[999999])).status_code == 404
    assert alice_client.get(reverse("questionnaires:adopt", args=[999999])).status_code == 404


# --- Query counts ------------------------------------------------------------------------------


def test_the_review_query_count_does_not_grow_with_the_answers(alice_client, patient, django_assert_num_queries):
    few = returned(patient)
    many = returned(PatientFactory(), **AYLA, allergies=["lidocaine", "latex"])
    alice_client.get(review_url(few))  # warm the knowledge base
    # session, user, the response with its patient, request and screening, the knowledge-base
    # revision, the access entry
    for response in (few, many):
        with django_assert_num_queries(QUERIES_REVIEW):
            assert alice_client.get(review_url(response)).status_code == 200


def test_the_adopt_page_query_count_does_not_grow_with_the_answers(alice_client, patient, django_assert_num_queries):
    few = returned(patient)
    many = returned(PatientFactory(), **AYLA, allergies=["lidocaine", "latex"])
    alice_client.get(adopt_url(few))  # warm the knowledge base
    # session, user, the response with its patient, request and screening, the knowledge-base
    # revision, the evaluation steps, the access entry; the questionnaire's screens (the steps
    # that ask, the terms asked and their classes: every section it asked needs confirming, the
    # empty ones too); the previous screening (what the answers now leave out)
    for response in (few, many):
        with django_assert_num_queries(QUERIES_ADOPT):
            assert alice_client.get(adopt_url(response)).status_code == 200


QUERIES_REVIEW = 5
QUERIES_ADOPT = 11
