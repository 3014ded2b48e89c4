"""The questionnaire is generated from the knowledge base, not written by hand.

Its screens are the evaluation steps that ask the patient something (`patient_asks` in
fixtures/evaluation.yaml), in their order; its choices are the vocabulary's terms a patient is
asked about, in the patient's words and language, with the brand names a search needs. So a new
term or a step that starts asking reaches the patient with no template change. The expected
screens and choices here are worked out from the tables themselves, not copied from the module.
"""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Sex
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.definition import MANY, ONE, TEXT, YES_NO, questionnaire, questions_of
from mesoclinic.screening import engine
from mesoclinic.screening.models import PATIENT_ANSWERS, EvaluationItem, Term
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db

# Which vocabulary kinds each answer names, as the engine reads them (not the questionnaire's table).
TERM_KINDS = {**engine.LIST_FIELDS, **engine.SINGLE_TERM_FIELDS}


def asking_steps():
    return list(EvaluationItem.objects.exclude(patient_asks=[]).order_by("position", "code"))


def asked_codes(kinds):
    """The codes of the terms a patient may pick for an answer of these kinds, from the table."""
    rows = Term.objects.filter(kind__in=kinds, is_selectable=True, ask_patient=True)
    return sorted(rows.values_list("code", flat=True))


def question(name, **options):
    return questions_of(questionnaire(**options))[name]


def choice(name, code, **options):
    (found,) = [c for c in question(name, **options).choices if c.code == code]
    return found


def group_of(name, code):
    """The heading of the group `code` is offered under in the question `name`."""
    (heading,) = [h for h, choices in question(name).groups if code in {c.code for c in choices}]
    return heading


def named(name, text):
    """What a patient finds by typing `text` into the search of `name`: the codes of the
    choices that answer to that name (case and accents ignored, as the vocabulary matches)."""
    key = engine.normalise(text)
    return sorted(c.code for c in question(name).choices if key in {engine.normalise(n) for n in c.names})


# --- The screens ---------------------------------------------------------------------------


def test_the_screens_are_the_steps_that_ask_the_patient_in_their_order():
    steps = asking_steps()
    assert len(steps) >= 2  # the shipped fixtures ask on several steps

    screens = questionnaire()

    assert [s.code for s in screens] == [step.code for step in steps]
    assert [s.title for s in screens] == [step.patient_title for step in steps]
    assert [s.intro for s in screens] == [step.patient_intro for step in steps]
    assert [[q.name for q in s.questions] for s in screens] == [step.patient_asks for step in steps]
    assert [s.sources for s in screens] == [
        tuple((source["document"], source["citation"]) for source in step.sources) for step in steps
    ]


def test_the_screens_are_titled_in_turkish_for_a_turkish_reader():
    steps = asking_steps()
    assert all(step.patient_title_tr for step in steps)

    with translation.override("tr"):
        screens = questionnaire()

    assert [s.title for s in screens] == [step.patient_title_tr for step in steps]
    assert [s.intro for s in screens] == [step.patient_intro_tr or step.patient_intro for step in steps]


def test_every_answer_the_screening_needs_from_the_patient_is_asked_once():
    asked = [name for step in asking_steps() for name in step.patient_asks]
    assert sorted(asked) == sorted(PATIENT_ANSWERS)
    assert sorted(questions_of(questionnaire())) == sorted(PATIENT_ANSWERS)


@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_question_has_its_wording_and_every_choice_its_label(language):
    with translation.override(language):
        screens = questionnaire()
    for screen in screens:
        assert screen.title.strip(), screen.code
        for q in screen.questions:
            assert q.text.strip(), q.name
            assert q.control in (YES_NO, MANY, ONE, TEXT)
            if q.control in (YES_NO, TEXT):
                assert q.choices == (), q.name
            else:
                assert q.choices, q.name
                assert all(c.label.strip() for c in q.choices), q.name
                assert len({c.code for c in q.choices}) == len(q.choices), f"{q.name} offers a choice twice"


def test_a_step_given_a_patient_asks_entry_becomes_a_screen():
    step = EvaluationItem.objects.filter(patient_asks=[]).order_by("position").first()
    (was_asked_on,) = [item for item in asking_steps() if "previous_treatments" in item.patient_asks]
    was_asked_on.patient_asks = [name for name in was_asked_on.patient_asks if name != "previous_treatments"]
    was_asked_on.save()
    step.patient_asks = ["previous_treatments"]
    step.patient_title = "Before you came to us"
    step.patient_title_tr = "Bize gelmeden önce"
    step.full_clean()
    step.save()

    screens = questionnaire()

    assert [s.code for s in screens] == [item.code for item in asking_steps()]
    (screen,) = [s for s in screens if s.code == step.code]
    assert screen.title == "Before you came to us"
    assert [q.name for q in screen.questions] == ["previous_treatments"]
    assert "previous_treatments" not in {q.name for s in screens if s.code != step.code for q in s.questions}
    with translation.override("tr"):
        assert [s.title for s in questionnaire() if s.code == step.code] == ["Bize gelmeden önce"]


def test_a_step_that_stops_asking_is_no_longer_a_screen():
    step = asking_steps()[-1]
    step.patient_asks = []
    step.save()

    assert step.code not in {s.code for s in questionnaire()}


def test_a_step_may_ask_only_answers_the_screening_knows():
    step = asking_steps()[0]
    step.patient_asks = ["conditions", "shoe_size"]
    with pytest.raises(ValidationError) as refused:
        step.full_clean()
    assert "patient_asks" in refused.value.message_dict

    step.patient_asks = "conditions"  # not a list
    with pytest.raises(ValidationError):
        step.full_clean()

    untitled = EvaluationItem.objects.filter(patient_asks=[]).first()
    untitled.patient_asks = ["goals"]
    untitled.patient_title = ""
    with pytest.raises(ValidationError) as refused:
        untitled.full_clean()
    assert "patient_title" in refused.value.message_dict


# --- Who is asked what ---------------------------------------------------------------------


def test_a_patient_recorded_as_male_is_not_asked_about_pregnancy(clinic, alice):
    visit = clinic_today() + datetime.timedelta(days=10)
    asked = {}
    for sex in (Sex.MALE, Sex.FEMALE, Sex.OTHER, Sex.UNKNOWN):
        request = services.questionnaire_send(patient=PatientFactory(sex=sex), by=alice, visit_on=visit)
        asked[sex] = set(questions_of(services.screens_for(request)))

    assert not asked[Sex.MALE] & {"pregnant", "breastfeeding"}
    assert "allergies" in asked[Sex.MALE]  # the rest of the screen is still asked
    for sex in (Sex.FEMALE, Sex.OTHER, Sex.UNKNOWN):  # when in doubt, ask
        assert {"pregnant", "breastfeeding"} <= asked[sex], sex


def test_a_screen_left_with_nothing_to_ask_is_dropped():
    step = asking_steps()[0]
    step.patient_asks = ["pregnant", "breastfeeding"]
    step.save()

    assert step.code in {s.code for s in questionnaire()}
    assert step.code not in {s.code for s in questionnaire(asks_about_pregnancy=False)}


# --- The choices ---------------------------------------------------------------------------


def test_each_list_offers_exactly_the_vocabulary_terms_a_patient_is_asked_about():
    questions = questions_of(questionnaire())
    lists = [q for q in questions.values() if q.name in TERM_KINDS]
    assert {q.name for q in lists} >= {"conditions", "medications", "allergies", "areas", "indication"}
    for q in lists:
        assert sorted(c.code for c in q.choices) == asked_codes(TERM_KINDS[q.name]), q.name


def test_what_only_the_practitioner_judges_or_cannot_be_ticked_is_not_offered():
    not_asked = set(Term.objects.filter(kind="condition", ask_patient=False).values_list("code", flat=True))
    assert {"deep_wrinkles", "sagging_skin"} <= not_asked  # judged at the examination
    offered = {c.code for c in question("conditions").choices}
    assert not offered & not_asked
    assert "hair_loss_medication" not in {c.code for c in question("medications").choices}  # a class, not a box


def test_a_term_taken_off_the_questionnaire_disappears_and_its_members_stay():
    Term.objects.filter(kind="condition", code="eczema").update(ask_patient=False)
    assert "eczema" not in {c.code for c in question("conditions").choices}

    Term.objects.filter(kind="condition", code="chronic_skin_condition").update(ask_patient=False)
    offered = {c.code for c in question("conditions").choices}
    assert "chronic_skin_condition" not in offered
    assert {"psoriasis", "rosacea"} <= offered  # a contraindication is still asked
    assert group_of("conditions", "psoriasis") == ""  # without its class, no heading of its own


def test_a_new_term_appears_in_its_class_group_with_no_template_change():
    anticoagulant = Term.objects.get(kind="medication", code="anticoagulant")
    new = Term.objects.create(
        kind="medication",
        code="tinzaparin",
        label="tinzaparin",
        label_tr="tinzaparin",
        synonyms=["Innohep"],
        patient_hint="Innohep injections",
        patient_hint_tr="Innohep iğnesi",
    )
    new.parents.add(anticoagulant)

    assert group_of("medications", "tinzaparin") == group_of("medications", "warfarin")
    offered = choice("medications", "tinzaparin")
    assert (offered.label, offered.hint) == ("tinzaparin", "Innohep injections")
    assert named("medications", "innohep") == ["tinzaparin"]
    with translation.override("tr"):
        assert choice("medications", "tinzaparin").hint == "Innohep iğnesi"


def test_a_new_term_without_a_class_is_offered_on_its_own():
    Term.objects.create(kind="condition", code="epilepsy", label="Epilepsy", label_tr="Epilepsi")

    assert group_of("conditions", "epilepsy") == ""
    assert choice("conditions", "epilepsy").label == "Epilepsy"


def test_a_class_heads_its_members_in_the_patients_words():
    heading = group_of("conditions", "herpes_simplex_active")
    infection = Term.objects.get(kind="condition", code="active_skin_infection")
    assert heading == (infection.patient_label or infection.label)
    assert group_of("conditions", "impetigo") == heading
    assert "active_skin_infection" in {c.code for h, cs in question("conditions").groups if h == heading for c in cs}


# --- In the patient's words ----------------------------------------------------------------


def test_the_patient_label_wins_over_the_clinical_label():
    term = Term.objects.get(kind="condition", code="bleeding_diathesis")
    assert term.patient_label and term.patient_label != term.label

    assert choice("conditions", "bleeding_diathesis").label == term.patient_label
    with translation.override("tr"):
        assert choice("conditions", "bleeding_diathesis").label == term.patient_label_tr


def test_a_plain_label_is_shown_as_it_is():
    term = Term.objects.get(kind="condition", code="eczema")
    assert not term.patient_label

    assert choice("conditions", "eczema").label == term.label
    with translation.override("tr"):
        assert choice("conditions", "eczema").label == term.label_tr


@pytest.mark.parametrize("language", ["en", "tr"])
def test_every_choice_reads_in_the_patients_words_and_language(language):
    terms = {(t.kind, t.code): t for t in Term.objects.filter(is_selectable=True, ask_patient=True)}
    with translation.override(language):
        questions = questions_of(questionnaire())
    for name, kinds in TERM_KINDS.items():
        if name not in questions:
            continue
        for c in questions[name].choices:
            (term,) = [terms[(kind, c.code)] for kind in kinds if (kind, c.code) in terms]
            if language == "en":
                assert c.label == (term.patient_label or term.label)
                assert c.hint == term.patient_hint
            else:
                assert c.label == (term.patient_label_tr or term.patient_label or term.label_tr or term.label)
                assert c.hint == (term.patient_hint_tr or term.patient_hint)


def test_the_shipped_patient_wording_has_its_turkish_and_keeps_every_number():
    """A patient label or hint written in English only would show a Turkish reader English."""
    problems = []
    for term in Term.objects.filter(ask_patient=True, is_selectable=True):
        for field in ("patient_label", "patient_hint"):
            english, turkish = getattr(term, field), getattr(term, f"{field}_tr")
            if english and not turkish:
                problems.append(f"{term.kind} {term.code}: {field}_tr is missing")
            if sorted(re.findall(r"\d+", english)) != sorted(re.findall(r"\d+", turkish or english)):
                problems.append(f"{term.kind} {term.code}: {field} numbers differ")
    assert problems == []


def test_the_clinical_words_a_patient_would_not_know_are_reworded():
    reworded = {
        ("condition", "bleeding_diathesis"),
        ("condition", "thrombocytopenia"),
        ("condition", "immunosuppressed"),
        ("condition", "androgenetic_alopecia"),
        ("condition", "herpes_simplex_active"),
        ("medication", "nsaid"),
        ("medication", "anticoagulant"),
        ("ingredient", "phosphatidylcholine"),
        ("indication", "localized_fat"),
    }
    for kind, code in reworded:
        term = Term.objects.get(kind=kind, code=code)
        assert term.patient_label and term.patient_label_tr, code
    assert Term.objects.get(kind="condition", code="herpes_simplex_active").patient_label_tr == "Şu anda uçuk"


# --- The search: brand names ---------------------------------------------------------------


def test_a_brand_name_finds_its_medicine():
    assert named("medications", "Nurofen") == ["ibuprofen"]
    assert named("medications", "nurofen") == ["ibuprofen"]
    assert named("medications", "Coumadin") == ["warfarin"]
    assert named("medications", "Ecopirin") == ["aspirin_prescribed"]
    assert named("medications", "Zoretanin") == ["isotretinoin"]
    assert named("medications", "Apranax") == ["naproxen"]
    assert named("medications", "Parol") == ["paracetamol"]


def test_a_brand_name_finds_what_the_patient_is_allergic_to():
    assert named("allergies", "Nurofen") == ["ibuprofen"]
    assert named("allergies", "Xylocaine") == ["lidocaine"]
    assert named("allergies", "Augmentin") == ["penicillin"]


def test_every_name_the_vocabulary_knows_is_in_the_search():
    """The search knows at least what the screening's typed answers know: the code, the label,
    every synonym, and the Turkish and patient wording besides."""
    terms = {(t.kind, t.code): t for t in Term.objects.filter(is_selectable=True, ask_patient=True)}
    for name in ("conditions", "medications", "allergies", "areas"):
        for c in question(name).choices:
            (term,) = [terms[(kind, c.code)] for kind in TERM_KINDS[name] if (kind, c.code) in terms]
            expected = {term.label, term.label_tr, term.patient_label, term.patient_label_tr, *term.synonyms} - {""}
            assert expected <= set(c.names), c.code


def test_the_brand_names_in_a_medicines_hint_are_names_it_answers_to():
    """The hint shows a patient the boxes they may have at home; each brand it names must
    also find the medicine in the search and be read when typed."""
    for term in Term.objects.filter(kind="medication", ask_patient=True, is_selectable=True):
        if not term.patient_hint or term.children.exists():
            continue
        brands = [part.strip() for part in re.split(r"[,;:]", term.patient_hint.split(".")[0])]
        for brand in brands:
            if re.fullmatch(r"[A-Z][A-Za-z\-]+", brand):
                assert named("medications", brand) == [term.code], (term.code, brand)


# --- Cost -------------------------------------------------------------------------------


def test_the_questionnaire_costs_three_queries_however_large_the_vocabulary(django_assert_num_queries):
    with django_assert_num_queries(3):  # the steps, the terms, their classes
        questionnaire()
    blood_thinner = Term.objects.get(kind="medication", code="blood_thinner")
    for n in range(5):
        Term.objects.create(kind="medication", code=f"new_medicine_{n}", label=f"new medicine {n}").parents.add(
            blood_thinner
        )
    with django_assert_num_queries(3):
        questionnaire()
