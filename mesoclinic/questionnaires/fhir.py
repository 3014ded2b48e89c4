"""The questionnaire and each patient's answers as FHIR R4 resources, for other systems.

Both are built from the same definition the patient's pages show (definition.questionnaire),
so the export cannot drift from the form: a new term in the vocabulary is a new answer option
here too. They go through the `fhir.resources` R4B models (R4B is R4 with the same Questionnaire
and QuestionnaireResponse shapes), so what leaves the clinic has been validated.

- The `Questionnaire` is English, the knowledge base's source, with the Turkish beside every
  text that has one, through the standard translation extension. Its `version` is the knowledge base's rules
  version, which each response records, so a response names the version it answered.
- The linkIds are the clinic's stable names: a question is the answer it fills ("conditions",
  "pregnant"), its free text is `<answer>_other`; a screen is `step-<its evaluation step>`
  (prefixed because a step and its one question may share a name: previous_treatments).
- Answer options are codings of the clinic's vocabulary, one code system per kind of term
  (`<base>/fhir/CodeSystem/mesoclinic-medication`...). The URIs name our vocabulary; they are
  not served as CodeSystem resources.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirResponse

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.core.selectors import current_clinic
from mesoclinic.screening.bilingual import ENGLISH, TRANSLATED
from mesoclinic.screening.knowledge import knowledge_base

from .definition import HOW_ASKED, MANY, ONE, TEXT, TEXT_MAX_CHARS, YES_NO, Question, questionnaire
from .models import QuestionnaireResponse

FHIR_JSON = "application/fhir+json"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL_CODES = "http://hl7.org/fhir/questionnaire-item-control"
SKIN_TYPE = "fitzpatrick-skin-type"  # the one list that is not a kind of term: definition.SKIN_TYPES
ITEM_TYPES = {YES_NO: "boolean", MANY: "choice", ONE: "choice", TEXT: "text"}

TITLE = _("Pre-visit questionnaire")
# The box under a list, in the words the patient's page gives it (templates/questionnaires/patient/_field.html).
OTHER = _("Not in the list? Write it here")
OTHER_HELP = _("Separate several with commas. Brand names are fine.")
# Characters FHIR strings should not hold (below 32, except tab, line feed and carriage return).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def base_url():
    return settings.MESOCLINIC_BASE_URL.rstrip("/")


def canonical_url():
    """The Questionnaire's canonical URL: where it is downloaded."""
    return base_url() + reverse("questionnaires:fhir_questionnaire")


def code_system(kind):
    return f"{base_url()}/fhir/CodeSystem/mesoclinic-{kind.replace('_', '-')}"


def group_link(screen_code):
    return f"step-{screen_code}"


# --- The Questionnaire -------------------------------------------------------------------


def current_questionnaire():
    """The Questionnaire as the knowledge base asks it now: the definition in both languages."""
    kb = knowledge_base()
    with translation.override(ENGLISH):
        screens_en = questionnaire(language=ENGLISH)
    with translation.override("tr"):
        screens_tr = questionnaire(language="tr")
    return questionnaire_resource(
        screens_en, screens_tr, kb=kb, title=_both_languages(TITLE), publisher=current_clinic().name
    )


def questionnaire_resource(screens_en, screens_tr, *, kb, title, publisher="") -> Questionnaire:
    """A validated R4B Questionnaire of `screens_en`, with the Turkish of `screens_tr` beside each
    text. The two are the same definition built in each language: they are paired by code, not
    by position (choices are in each language's alphabetical order)."""
    turkish = {screen.code: screen for screen in screens_tr}
    items = [_group(screen, turkish.get(screen.code), kb) for screen in screens_en]
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "id": "mesoclinic-pre-visit",
            "language": ENGLISH,
            "url": canonical_url(),
            "version": kb.version,
            "name": "MesoClinicPreVisitQuestionnaire",
            **_texts("title", *title),
            "status": "active",
            "subjectType": ["Patient"],
            **({"publisher": publisher} if publisher else {}),
            "item": items,
        }
    )


def _group(screen, screen_tr, kb):
    questions_tr = {q.name: q for q in screen_tr.questions} if screen_tr else {}
    children = []
    if screen.intro:
        children.append(
            {
                "linkId": f"{group_link(screen.code)}-intro",
                "type": "display",
                **_texts("text", screen.intro, screen_tr.intro if screen_tr else ""),
            }
        )
    for question in screen.questions:
        children += _question_items(question, questions_tr.get(question.name), kb)
    return {
        "linkId": group_link(screen.code),
        "type": "group",
        **_texts("text", screen.title, screen_tr.title if screen_tr else ""),
        "item": children,
    }


def _question_items(question, question_tr, kb):
    """The item asking `question`, and after it the free text for what is not in its list."""
    item = {
        "linkId": question.name,
        "type": ITEM_TYPES[question.control],
        **_texts("text", question.text, question_tr.text if question_tr else ""),
    }
    # Pregnancy and breastfeeding must be answered, but only women are asked: with no question
    # in the Questionnaire that says who is asked, nothing is marked `required`.
    if question.control in (MANY, ONE):
        item["repeats"] = question.control == MANY
        control = "autocomplete" if question.searchable else "check-box" if question.control == MANY else "radio-button"
        item["extension"] = [_item_control(control)]
        labels_tr = {choice.code: choice.label for choice in question_tr.choices} if question_tr else {}
        item["answerOption"] = [
            {"valueCoding": _coding(question.name, choice.code, choice.label, kb, labels_tr.get(choice.code, ""))}
            for choice in question.choices
        ]
    if question.control == TEXT:
        item["maxLength"] = TEXT_MAX_CHARS
    if question.help:
        item["item"] = [_help(question.name, question.help, question_tr.help if question_tr else "")]
    items = [item]
    if question.has_other:
        # A box of its own rather than an open-choice: the patient types several names in one
        # box (commas, lines), which the clinic reads into terms; its answer is that text.
        items.append(
            {
                "linkId": question.other_name,
                "type": "text",
                **_texts("text", *_both_languages(OTHER)),
                "maxLength": TEXT_MAX_CHARS,
                "item": [_help(question.other_name, *_both_languages(OTHER_HELP))],
            }
        )
    return items


def _help(link_id, english, turkish):
    """The help under a question, as a display item marked as help (itemControl "help")."""
    return {
        "linkId": f"{link_id}-help",
        "type": "display",
        "extension": [_item_control("help")],
        **_texts("text", english, turkish),
    }


def _item_control(code):
    return {"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_CODES, "code": code}]}}


def _texts(field, english, turkish):
    """`field` in English, with its Turkish in the translation extension when there is one. A
    Turkish that is the English ("Aspirin", or a text not translated yet) adds nothing: a reader
    in Turkish falls back to the English, which is what they would see on the page."""
    texts = {field: english}
    if turkish and turkish != english:
        texts[f"_{field}"] = {
            "extension": [
                {
                    "url": TRANSLATION,
                    "extension": [{"url": "lang", "valueCode": "tr"}, {"url": "content", "valueString": turkish}],
                }
            ]
        }
    return texts


def _both_languages(text):
    words = {}
    for language in (ENGLISH, "tr"):
        with translation.override(language):
            words[language] = str(text)
    return words[ENGLISH], words["tr"]


def _coding(name, code, display, kb, display_tr=""):
    coding = {"system": code_system(_kind_of(name, code, kb)), "code": code}
    if display:
        coding.update(_texts("display", display, display_tr))
    return coding


def _kind_of(name, code, kb):
    """The vocabulary kind `code` belongs to among those `name` asks ("allergies": an ingredient
    or another allergen). Codes are unique within a kind only, so the kind is part of the code."""
    kinds = HOW_ASKED[name][1]
    if not kinds:
        return SKIN_TYPE
    return next((kind for kind in kinds if (kind, code) in kb.terms), kinds[0])


# --- A patient's answers -----------------------------------------------------------------


def response_resource(response, *, kb=None) -> FhirResponse:
    """A validated R4B QuestionnaireResponse of what the patient gave (`response.given`), in the
    language they answered in, item for item as the Questionnaire asks it.

    The engine's findings and verdict are left out: a QuestionnaireResponse is what the patient
    said, and the findings are the clinic's reading of it under one rules version, which the
    practitioner confirms or overrides in the screening. Carried as an extension, a receiving
    system would either ignore them or take an unconfirmed reading for a clinical decision."""
    kb = kb or knowledge_base()
    language = response.language if response.language in TRANSLATED else ENGLISH
    with translation.override(language):
        screens = questionnaire(language=language)
        given = response.given if isinstance(response.given, dict) else {}
        asked, items = set(), []
        for screen in screens:
            children = []
            for question in screen.questions:
                asked.update((question.name, question.other_name))
                children += _answered(question, given, kb, language)
            if children:
                items.append({"linkId": group_link(screen.code), "text": screen.title, "item": children})
        # An answer whose question no step asks any more (the knowledge base changed after the
        # patient answered) is still what the patient said: kept, under its own name.
        for name, (control, _kinds, text, help_text) in HOW_ASKED.items():
            if name not in asked:
                items += _answered(Question(name, control, str(text), str(help_text)), given, kb, language)
    return FhirResponse.model_validate(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(response.pk),
            "language": language,
            "identifier": {"system": f"{base_url()}/fhir/questionnaire-response", "value": str(response.pk)},
            "questionnaire": f"{canonical_url()}|{response.rules_version}",
            "status": "completed",
            # A name and nothing else: the practitioner who downloads it must see whose answers
            # they are, but the file may be forwarded or imported elsewhere, so no date of birth,
            # contact or identifier goes with it (a reference would need a Patient we do not export).
            "subject": {"display": response.patient.display_name},
            "authored": timezone.localtime(response.submitted_at, current_clinic().zone).isoformat(),
            "item": items,
        }
    )


def _answered(question, given, kb, language):
    """The response items for `question`: its answer, and the free text typed beside its list;
    nothing for what the patient left blank."""
    name = question.name
    value = given.get(name)
    answers = []
    if question.control == YES_NO and value in ("yes", "no"):
        answers = [{"valueBoolean": value == "yes"}]
    elif question.control in (MANY, ONE):
        codes = _codes(value if question.control == MANY and isinstance(value, list) else [value])
        labels = {choice.code: choice.label for choice in question.choices}
        answers = [{"valueCoding": _given_coding(name, code, labels, kb, language)} for code in codes]
    elif question.control == TEXT and _clean(value):
        answers = [{"valueString": _clean(value)}]
    items = [{"linkId": name, "text": question.text, "answer": answers}] if answers else []
    other = _clean(given.get(question.other_name)) if question.has_other else ""
    if other:
        items.append({"linkId": question.other_name, "text": str(OTHER), "answer": [{"valueString": other}]})
    return items


def _given_coding(name, code, labels, kb, language):
    """The coding of a code the patient ticked, worded as they read it. A term no longer asked
    of patients is worded with its vocabulary label; one the vocabulary lost keeps its code."""
    display = labels.get(code)
    if display is None:
        info = kb.terms.get((_kind_of(name, code, kb), code))
        display = info.label_in(language) if info else ""
    return _coding(name, code, display, kb)


def _codes(values):
    """The codes among `values`, as FHIR takes them (no blanks, single spaces)."""
    return [" ".join(value.split()) for value in values if isinstance(value, str) and value.strip()]


def _clean(text):
    return _CONTROL.sub("", text).strip() if isinstance(text, str) else ""


# --- Downloads ---------------------------------------------------------------------------


@allow(Role.PRACTITIONER, Role.SCHEDULER)
@require_safe
def questionnaire_view(request):
    """The questionnaire itself: no patient's data, so the front desk may hand it on too."""
    return _download(current_questionnaire(), "mesoclinic-questionnaire.json")


@allow(Role.PRACTITIONER, record=True)
@require_safe
def response_view(request, pk):
    response = load_or_404(request, QuestionnaireResponse.objects.select_related("patient"), pk=pk)
    record_view(request, response.patient, "questionnaire (FHIR)", obj=response)
    download = _download(response_resource(response), f"mesoclinic-questionnaire-response-{response.pk}.json")
    download["Cache-Control"] = "private, no-store"
    return download


def _download(resource, filename):
    download = HttpResponse(resource.model_dump_json(indent=2).encode(), content_type=FHIR_JSON)
    download["Content-Disposition"] = f'attachment; filename="{filename}"'
    return download
