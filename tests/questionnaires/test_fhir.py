"""The questionnaire and a patient's answers as FHIR R4 resources (R4B models): they validate,
they are the questionnaire the patient saw (its screens, questions and vocabulary, in both
languages), a response's answers fit its Questionnaire item for item, and only a practitioner
downloads a patient's answers."""

import datetime
import json

import pytest
from django.urls import reverse
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirResponse

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import fhir, services
from mesoclinic.questionnaires.definition import (
    HOW_ASKED,
    MANY,
    ONE,
    TEXT,
    TEXT_MAX_CHARS,
    YES_NO,
    Choice,
    Question,
    Screen,
    questionnaire,
    questions_of,
)
from mesoclinic.questionnaires.models import QuestionnaireResponse
from mesoclinic.screening import bilingual
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import EvaluationItem, Term
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

GIVEN = {
    "pregnant": "no",
    "breastfeeding": "no",
    "conditions_none": "yes",
    "medications_none": "yes",
    "allergies_none": "yes",
    "conditions": ["eczema"],
    "conditions_other": "",
    "medications": ["ibuprofen"],
    "medications_other": "Coumadin",
    "allergies": ["latex", "aspirin"],  # an allergen and an ingredient: two code systems
    "allergies_other": "",
    "indication": "hair_loss",
    "areas": ["scalp"],
    "goals": "Thicker hair before my wedding.",
    "previous_treatments": "",
    "fitzpatrick_skin_type": "3",
}
TYPE_OF_ANSWER = {"boolean": "valueBoolean", "choice": "valueCoding", "string": "valueString", "text": "valueString"}


@pytest.fixture
def sent(clinic, patient, alice):
    return services.questionnaire_send(patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10))


@pytest.fixture
def answered(sent):
    """Ayla's answers, given in Turkish."""
    return services.questionnaire_submit(request=sent, given=GIVEN, language="tr")


def exported_questionnaire():
    """The Questionnaire as another system reads it: the JSON, parsed again by the R4B model."""
    return json.loads(
        Questionnaire.model_validate_json(fhir.current_questionnaire().model_dump_json()).model_dump_json()
    )


def exported_response(response):
    return json.loads(
        FhirResponse.model_validate_json(fhir.response_resource(response).model_dump_json()).model_dump_json()
    )


def walk(items, parent=None):
    """(item, its parent's linkId) for every item, however deep."""
    for item in items:
        yield item, parent
        yield from walk(item.get("item", []), item["linkId"])
        for answer in item.get("answer", []):
            yield from walk(answer.get("item", []), item["linkId"])


def turkish(element):
    """The Turkish of a primitive's translation extension, or None."""
    for extension in (element or {}).get("extension", []):
        if extension["url"] == fhir.TRANSLATION:
            parts = {part["url"]: part for part in extension["extension"]}
            if parts["lang"]["valueCode"] == "tr":
                return parts["content"]["valueString"]
    return None


def kind_of(system):
    prefix = "http://127.0.0.1:8000/fhir/CodeSystem/mesoclinic-"
    assert system.startswith(prefix), system
    return system.removeprefix(prefix).replace("-", "_")


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.MESOCLINIC_BASE_URL = "http://127.0.0.1:8000/"


# --- The Questionnaire ---------------------------------------------------------------------


def test_the_questionnaire_is_the_definitions_screens_and_questions(clinic):
    resource = exported_questionnaire()
    assert resource["resourceType"] == "Questionnaire"
    assert resource["status"] == "active"
    assert resource["language"] == "en"
    assert resource["url"] == "http://127.0.0.1:8000/questionnaires/fhir/Questionnaire.json"
    assert resource["version"] == knowledge_base().version
    assert resource["publisher"] == clinic.name
    screens = questionnaire(language="en")
    assert [group["linkId"] for group in resource["item"]] == [f"step-{screen.code}" for screen in screens]
    assert {group["type"] for group in resource["item"]} == {"group"}
    for group, screen in zip(resource["item"], screens, strict=True):
        assert group["text"] == screen.title
        asked = [item["linkId"] for item in group["item"] if item["type"] != "display"]
        expected = []
        for question in screen.questions:
            expected += [question.name, question.other_name] if question.has_other else [question.name]
        assert asked == expected


def test_every_question_has_the_type_its_control_asks_for_and_linkids_are_unique(clinic):
    resource = exported_questionnaire()
    items = [item for item, _parent in walk(resource["item"])]
    link_ids = [item["linkId"] for item in items]
    assert len(link_ids) == len(set(link_ids))
    by_link = {item["linkId"]: item for item in items}
    questions = questions_of(questionnaire(language="en"))
    assert set(questions) == set(HOW_ASKED)  # every answer a patient may give is asked somewhere
    for name, question in questions.items():
        item = by_link[name]
        assert item["type"] == {YES_NO: "boolean", MANY: "choice", ONE: "choice", TEXT: "text"}[question.control]
        if question.control == MANY:
            assert item["repeats"] is True
        if question.control == ONE:
            assert item["repeats"] is False
        if question.control == TEXT:
            assert item["maxLength"] == TEXT_MAX_CHARS
        if question.has_other:
            assert by_link[question.other_name]["type"] == "text"  # a box for several names, as on the page
            assert by_link[question.other_name]["maxLength"] == TEXT_MAX_CHARS
        assert ("answerOption" in item) == (question.control in (MANY, ONE))
        if question.help:
            (help_item,) = item["item"]
            assert help_item["type"] == "display" and help_item["text"] == question.help
    # Only questions carry answers; a display item is never required nor repeated (que-6).
    for item in items:
        if item["type"] in ("group", "display"):
            assert "answerOption" not in item and "required" not in item and not item.get("repeats")


def test_every_answer_option_is_a_term_of_its_kind_and_every_asked_term_is_an_option(clinic):
    resource = exported_questionnaire()
    by_link = {item["linkId"]: item for item, _parent in walk(resource["item"])}
    asked = set(Term.objects.filter(ask_patient=True, is_selectable=True).values_list("kind", "code"))
    offered = set()
    for name, (_control, kinds, _text, _help) in HOW_ASKED.items():
        for option in by_link[name].get("answerOption", []):
            coding = option["valueCoding"]
            kind = kind_of(coding["system"])
            if not kinds:
                assert kind == "fitzpatrick_skin_type"
                continue
            assert kind in kinds
            assert Term.objects.filter(kind=kind, code=coding["code"]).exists()
            offered.add((kind, coding["code"]))
    assert offered == {
        (kind, code)
        for kind, code in asked
        if kind in {"condition", "medication", "ingredient", "allergen", "indication", "area"}
    }
    skin = [option["valueCoding"]["code"] for option in by_link["fitzpatrick_skin_type"]["answerOption"]]
    assert skin == ["1", "2", "3", "4", "5", "6"]
    allergy_systems = {kind_of(o["valueCoding"]["system"]) for o in by_link["allergies"]["answerOption"]}
    assert allergy_systems == {"ingredient", "allergen"}


def test_the_turkish_of_the_knowledge_base_is_beside_every_screen_and_term(clinic):
    resource = exported_questionnaire()
    by_link = {item["linkId"]: item for item, _parent in walk(resource["item"])}
    for step in EvaluationItem.objects.exclude(patient_asks=[]):
        group = by_link[f"step-{step.code}"]
        assert turkish(group["_text"]) == step.patient_title_tr != step.patient_title
        intro = by_link[f"step-{step.code}-intro"]
        assert turkish(intro["_text"]) == step.patient_intro_tr
    eczema = next(
        o["valueCoding"] for o in by_link["conditions"]["answerOption"] if o["valueCoding"]["code"] == "eczema"
    )
    term = Term.objects.get(kind="condition", code="eczema")
    assert eczema["display"] == (term.patient_label or term.label)
    assert turkish(eczema["_display"]) == (term.patient_label_tr or term.label_tr)
    assert turkish(eczema["_display"]) != eczema["display"]
    # A Turkish is given only where it says something the English does not: never English twice.
    for item in by_link.values():
        for field in ("_text",):
            if field in item:
                assert turkish(item[field]) != item["text"]


def test_the_turkish_is_paired_by_code_not_by_its_place_in_the_list(clinic):
    """Each language sorts its choices alphabetically: the Turkish of a choice is the Turkish
    choice with its code, wherever that one is in its list."""
    question = Question(
        "areas", MANY, "Where on your body?", "", (("", (Choice("face", "Face"), Choice("scalp", "Scalp"))),)
    )
    soru = Question(
        "areas", MANY, "Vücudunuzun neresi?", "", (("", (Choice("scalp", "Saçlı deri"), Choice("face", "Yüz"))),)
    )
    resource = fhir.questionnaire_resource(
        (Screen("treatment_goals", "Your goals", "", (question,)),),
        (Screen("treatment_goals", "Hedefleriniz", "", (soru,)),),
        kb=knowledge_base(),
        title=("Pre-visit questionnaire", "Ziyaret öncesi soru formu"),
    )
    data = json.loads(resource.model_dump_json())
    (group,) = data["item"]
    (areas,) = group["item"]
    assert [(o["valueCoding"]["code"], turkish(o["valueCoding"]["_display"])) for o in areas["answerOption"]] == [
        ("face", "Yüz"),
        ("scalp", "Saçlı deri"),
    ]
    assert turkish(areas["_text"]) == "Vücudunuzun neresi?"
    assert turkish(data["_title"]) == "Ziyaret öncesi soru formu"
    assert "_text" not in group["item"][0]["answerOption"][0]  # nothing invented


def test_a_term_added_to_the_vocabulary_is_a_new_answer_option_and_a_new_version(clinic):
    before = exported_questionnaire()
    Term.objects.create(kind="medication", code="zz_newmed", label="Newmed", label_tr="Yenimed", synonyms=["Novamed"])
    after = exported_questionnaire()
    assert after["version"] != before["version"]
    by_link = {item["linkId"]: item for item, _parent in walk(after["item"])}
    (added,) = [
        o["valueCoding"] for o in by_link["medications"]["answerOption"] if o["valueCoding"]["code"] == "zz_newmed"
    ]
    assert kind_of(added["system"]) == "medication"
    assert (added["display"], turkish(added["_display"])) == ("Newmed", "Yenimed")


# --- A patient's answers ---------------------------------------------------------------------


def test_a_response_validates_and_names_the_questionnaire_version_it_answered(answered, patient):
    resource = exported_response(answered)
    questionnaire_json = exported_questionnaire()
    assert resource["resourceType"] == "QuestionnaireResponse"
    assert resource["status"] == "completed"
    assert resource["questionnaire"] == f"{questionnaire_json['url']}|{questionnaire_json['version']}"
    assert resource["language"] == "tr"
    authored = datetime.datetime.fromisoformat(resource["authored"])
    assert authored.tzinfo is not None and authored == answered.submitted_at
    # The patient by name only: no reference, date of birth, phone or email in the file.
    assert resource["subject"] == {"display": "Ayla Demir"}
    text = json.dumps(resource)
    for personal in (patient.email, patient.phone, patient.date_of_birth.isoformat()):
        assert personal not in text
    assert "verdict" not in text and "finding" not in text


def test_every_answer_is_a_question_of_the_questionnaire_in_the_same_group_and_of_its_type(answered):
    questionnaire_items = {item["linkId"]: (item, parent) for item, parent in walk(exported_questionnaire()["item"])}
    resource = exported_response(answered)
    answered_items = list(walk(resource["item"]))
    assert answered_items
    for item, parent in answered_items:
        asked, asked_parent = questionnaire_items[item["linkId"]]
        assert parent == asked_parent
        if asked["type"] == "group":
            assert "answer" not in item
            continue
        assert asked["type"] not in ("display",)
        for answer in item["answer"]:
            (value,) = [key for key in answer if key.startswith("value")]
            assert value == TYPE_OF_ANSWER[asked["type"]]
            if value == "valueCoding":
                options = [o["valueCoding"] for o in asked["answerOption"]]
                assert (answer[value]["system"], answer[value]["code"]) in [(o["system"], o["code"]) for o in options]
        if not asked.get("repeats"):
            assert len(item["answer"]) == 1


def test_the_answers_are_what_the_patient_gave_worded_as_they_read_them(answered):
    resource = exported_response(answered)
    answers = {item["linkId"]: item.get("answer") for item, _parent in walk(resource["item"])}
    assert answers["pregnant"] == [{"valueBoolean": False}]
    assert answers["breastfeeding"] == [{"valueBoolean": False}]
    ibuprofen = Term.objects.get(kind="medication", code="ibuprofen")
    (medicine,) = answers["medications"]
    assert medicine["valueCoding"]["code"] == "ibuprofen"
    assert medicine["valueCoding"]["display"] == (
        bilingual.text(ibuprofen, "patient_label", "tr") or bilingual.text(ibuprofen, "label", "tr")
    )
    # What they typed stays what they typed: the engine's reading (Coumadin is warfarin) is not theirs.
    assert answers["medications_other"] == [{"valueString": "Coumadin"}]
    assert {kind_of(a["valueCoding"]["system"]) for a in answers["allergies"]} == {"allergen", "ingredient"}
    eczema = Term.objects.get(kind="condition", code="eczema")
    assert answers["conditions"][0]["valueCoding"]["display"] == (eczema.patient_label_tr or eczema.label_tr)
    assert answers["fitzpatrick_skin_type"][0]["valueCoding"]["code"] == "3"
    assert answers["goals"] == [{"valueString": "Thicker hair before my wedding."}]
    # Left blank: not answered, rather than answered with nothing.
    assert (
        "previous_treatments" not in answers and "conditions_other" not in answers and "allergies_other" not in answers
    )
    assert "step-previous_treatments" not in answers


def test_a_man_is_not_asked_about_pregnancy_and_his_answers_still_fit(clinic, alice):
    man = PatientFactory(sex="male")
    request = services.questionnaire_send(patient=man, by=alice, visit_on=clinic_today() + datetime.timedelta(days=5))
    given = {k: v for k, v in GIVEN.items() if k not in ("pregnant", "breastfeeding")}
    response = services.questionnaire_submit(request=request, given=given, language="en")
    resource = exported_response(response)
    link_ids = {item["linkId"] for item, _parent in walk(resource["item"])}
    assert "pregnant" not in link_ids and "medications" in link_ids
    assert resource["language"] == "en"


def test_answers_the_vocabulary_no_longer_knows_or_no_step_asks_any_more_still_export(answered):
    """The response never changes; the knowledge base does. An option since withdrawn keeps its
    code (and its label if the vocabulary still has it); a question no step asks any more keeps
    its answer under its own name; odd characters do not break the file."""
    QuestionnaireResponse.objects.filter(pk=answered.pk).update(
        given={
            **GIVEN,
            "conditions": ["eczema", "withdrawn_term", "", 7],
            "medications_other": "Coumadin\x07 ",
            "indication": ["not", "a", "code"],
        }
    )
    EvaluationItem.objects.filter(code="treatment_goals").update(patient_asks=["indication", "areas"])
    answered.refresh_from_db()
    resource = exported_response(answered)
    items = {item["linkId"]: (item, parent) for item, parent in walk(resource["item"])}
    assert [a["valueCoding"]["code"] for a in items["conditions"][0]["answer"]] == ["eczema", "withdrawn_term"]
    assert "display" not in items["conditions"][0]["answer"][1]["valueCoding"]
    assert items["medications_other"][0]["answer"] == [{"valueString": "Coumadin"}]
    assert "indication" not in items  # a list where one code belongs: nothing a system could read
    goals, parent = items["goals"]
    assert parent is None and goals["answer"] == [{"valueString": "Thicker hair before my wedding."}]


# --- Downloads -----------------------------------------------------------------------------


def test_the_questionnaire_downloads_as_fhir_json_for_the_practitioner_and_the_front_desk(
    clinic, alice_client, sam_client
):
    for client in (alice_client, sam_client):
        page = client.get(reverse("questionnaires:fhir_questionnaire"))
        assert page.status_code == 200
        assert page["Content-Type"] == "application/fhir+json"
        assert page["Content-Disposition"] == 'attachment; filename="mesoclinic-questionnaire.json"'
        assert Questionnaire.model_validate_json(page.content).url == fhir.canonical_url()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).exists()  # no patient's data


def test_a_response_downloads_for_the_practitioner_and_is_recorded(answered, alice, alice_client, patient):
    page = alice_client.get(reverse("questionnaires:fhir_response", args=[answered.pk]))
    assert page.status_code == 200
    assert page["Content-Type"] == "application/fhir+json"
    assert page["Content-Disposition"] == f'attachment; filename="mesoclinic-questionnaire-response-{answered.pk}.json"'
    assert page["Cache-Control"] == "private, no-store"
    assert FhirResponse.model_validate_json(page.content).subject.display == "Ayla Demir"
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS).get()
    assert (entry.actor, entry.additional_data["page"], entry.object_id) == (alice, "questionnaire (FHIR)", answered.pk)


def test_who_may_download_what(answered, client, sam_client, pat_client, pat, alice, alice_client):
    response_url = reverse("questionnaires:fhir_response", args=[answered.pk])
    questionnaire_url = reverse("questionnaires:fhir_questionnaire")
    assert sam_client.get(response_url).status_code == 403  # the front desk never reads answers
    assert pat_client.get(response_url).status_code == 404
    assert pat_client.get(questionnaire_url).status_code == 403
    for url in (response_url, questionnaire_url):
        page = client.get(url)
        assert page.status_code == 302 and page["Location"].startswith(reverse("login"))
    # A patient's own answers are downloaded from the clinic, not by the patient.
    own = services.questionnaire_send(patient=pat, by=alice, visit_on=clinic_today() + datetime.timedelta(days=3))
    own_response = services.questionnaire_submit(request=own, given=GIVEN, language="en")
    assert pat_client.get(reverse("questionnaires:fhir_response", args=[own_response.pk])).status_code == 404
    assert alice_client.get(reverse("questionnaires:fhir_response", args=[own_response.pk + 1000])).status_code == 404
    assert alice_client.post(response_url).status_code == 405
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).exclude(actor=alice).exists()


def test_the_downloads_make_a_fixed_number_of_queries(answered, alice_client, django_assert_num_queries):
    knowledge_base()  # compiled once per process, not per download
    alice_client.get(reverse("questionnaires:fhir_questionnaire"))  # the clinic and content type cached
    # session, user, knowledge revision; screens and terms with their classes, in each language
    with django_assert_num_queries(9):
        alice_client.get(reverse("questionnaires:fhir_questionnaire"))
    # session, user, the response and patient, knowledge revision, screens, terms, classes, audit
    with django_assert_num_queries(8):
        alice_client.get(reverse("questionnaires:fhir_response", args=[answered.pk]))
