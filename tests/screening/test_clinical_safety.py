"""What patients are told, what can be overridden, and answers the rules do not know.

The rules here are the ones a pharmacist would check first: no patient is told to stop a
prescribed blood thinner or immunosuppressant unless the prescriber agreed to a pause, no
instruction is sent that can no longer be followed, no override exists where no reason can
make treatment safe, and no answer is dropped because the vocabulary does not know it.
"""

import pytest

from mesoclinic.screening import engine
from tests.screening.conftest import answers, rules_of, screen

# --- The vocabulary a clinic needs: (typed, kind, code it names, a class it belongs to) -----
TERMS = [
    # Turkish brands and their generics
    ("Majezik", "medication", "flurbiprofen", "nsaid"),
    ("Arveles", "medication", "dexketoprofen", "nsaid"),
    ("Apranax", "medication", "naproxen", "nsaid"),
    ("Ecopirin", "medication", "aspirin_prescribed", "antiplatelet"),
    ("Coraspin", "medication", "aspirin_prescribed", "antiplatelet"),
    ("Karum", "medication", "clopidogrel", "antiplatelet"),
    ("Plavix", "medication", "clopidogrel", "antiplatelet"),
    ("Coumadin", "medication", "warfarin", "anticoagulant"),
    ("Prednol", "medication", "methylprednisolone", "immunosuppressant"),
    ("Deltacortril", "medication", "prednisolone", "immunosuppressant"),
    ("Roaccutane", "medication", "isotretinoin", "isotretinoin"),
    ("Zoretanin", "medication", "isotretinoin", "isotretinoin"),
    # systemic immunosuppression in its newer forms
    ("prednisone", "medication", "prednisone", "systemic_corticosteroid"),
    ("dexamethasone", "medication", "dexamethasone", "immunosuppressant"),
    ("Humira", "medication", "adalimumab", "biologic"),
    ("infliximab", "medication", "infliximab", "immunosuppressant"),
    ("Enbrel", "medication", "etanercept", "immunosuppressant"),
    ("Xeljanz", "medication", "tofacitinib", "jak_inhibitor"),
    ("baricitinib", "medication", "baricitinib", "immunosuppressant"),
    # on the skin, not systemic
    ("Protopic", "medication", "tacrolimus_ointment", "topical_calcineurin_inhibitor"),
    ("Elidel", "medication", "pimecrolimus", "topical_calcineurin_inhibitor"),
    # harmless, recorded
    ("Parol", "medication", "paracetamol", "paracetamol"),
    ("Glucophage", "medication", "metformin", "antidiabetic"),
    ("Levotiron", "medication", "levothyroxine", "levothyroxine"),
    ("the pill", "medication", "oral_contraceptive", "oral_contraceptive"),
    ("Concor", "medication", "bisoprolol", "antihypertensive"),
    ("amlodipine", "medication", "amlodipine", "antihypertensive"),
    # aspirin: the purpose decides
    ("aspirin for headache", "medication", "aspirin_for_pain", "nsaid"),
    ("low-dose aspirin", "medication", "aspirin_prescribed", "blood_thinner"),
    # Turkish capitals, with and without their letters
    ("İBUPROFEN", "medication", "ibuprofen", "nsaid"),
    ("OTOİMMÜN HASTALIK", "condition", "autoimmune_disease", "autoimmune_disease"),
    ("otoimmun hastalik", "condition", "autoimmune_disease", "autoimmune_disease"),
    ("SEDEF HASTALIĞI", "condition", "psoriasis", "chronic_skin_condition"),
    ("KAN SULANDIRICI", "medication", "blood_thinner", "blood_thinner"),
    # conditions
    ("shingles", "condition", "herpes_zoster_active", "active_skin_infection"),
    ("zona", "condition", "herpes_zoster_active", "active_skin_infection"),
    ("folliculitis", "condition", "folliculitis", "active_skin_infection"),
    ("ringworm", "condition", "fungal_skin_infection", "active_skin_infection"),
    ("sivilce", "condition", "active_acne", "chronic_skin_condition"),
    ("rosacea", "condition", "rosacea", "chronic_skin_condition"),
    ("saçkıran", "condition", "alopecia_areata", "autoimmune_disease"),
    ("vitiligo", "condition", "vitiligo", "autoimmune_disease"),
    # local anaesthetics and medication allergies
    ("EMLA", "ingredient", "emla", "local_anaesthetic"),
    ("prilocaine", "ingredient", "prilocaine", "local_anaesthetic"),
    ("benzocaine", "ingredient", "benzocaine", "local_anaesthetic"),
    ("Ametop", "ingredient", "tetracaine", "local_anaesthetic"),
    ("Novocain", "ingredient", "procaine", "local_anaesthetic"),
    ("NSAİİ", "ingredient", "nsaid", "anti_inflammatory"),
    ("Majezik", "ingredient", "flurbiprofen", "nsaid"),
    ("penicillin", "allergen", "penicillin", "penicillin"),
]


@pytest.mark.parametrize(("typed", "kind", "code", "class_code"), TERMS)
def test_the_vocabulary_knows_what_patients_say(kb, typed, kind, code, class_code):
    assert kb.lookup((kind,), typed) == (kind, code)
    assert class_code in kb.term(kind, code).ancestors


def test_the_prescriber_classes_are_the_blood_thinners_and_immunosuppressants(kb):
    assert kb.prescriber_classes == {"blood_thinner", "immunosuppressant"}
    for code in ("warfarin", "aspirin", "aspirin_prescribed", "clopidogrel", "methotrexate", "adalimumab"):
        assert kb.needs_prescriber(code), code
    for code in ("ibuprofen", "aspirin_for_pain", "tacrolimus_ointment", "paracetamol", "isotretinoin"):
        assert not kb.needs_prescriber(code), code


# --- Holds only the prescriber may decide ---------------------------------------------------


def prescriber_medicines(kb):
    return sorted(code for (kind, code) in kb.terms if kind == "medication" and kb.needs_prescriber(code))


def test_no_prescriber_medicine_is_ever_held_automatically(kb):
    """Every member of every class only a prescriber may pause, alone and beside an NSAID, for
    every area: its findings carry no hold naming it, and it is a question for the prescriber."""
    for code in prescriber_medicines(kb):
        for areas in (["face"], ["scalp"], []):
            result = screen(kb, medications=[code, "ibuprofen"], areas=areas)
            label = kb.term("medication", code).label
            for finding in result.findings:
                if finding.hold:
                    assert label not in finding.hold.substance, (code, finding.rule)
            assert code in dict(result.prescriber_medications), code


def test_a_hold_never_joins_a_prescribed_medicine_to_another(kb):
    """Ibuprofen and prescribed aspirin together: the NSAID hold names ibuprofen only."""
    result = screen(kb, medications=["ibuprofen", "Ecopirin"])
    [nsaid] = [f for f in result.findings if f.rule == "nsaid-hold"]
    assert nsaid.hold.substance == "ibuprofen (NSAID)"


# --- A hold that cannot be kept ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_left", "late"),
    [
        (24 * 10, set()),
        (24 * 3, {"nsaid-hold"}),  # a week without NSAIDs for a session in three days
        (0.6, {"nsaid-hold", "alcohol-hold"}),  # booked today: not even the day without alcohol
    ],
)
def test_a_hold_longer_than_the_time_left_is_a_warning(kb, hours_left, late):
    parsed = engine.parse_answers(answers(medications=["ibuprofen"]), kb)
    result = engine.evaluate(parsed, kb, hours_to_prepare=hours_left)
    cannot = {f.unkeepable["rule"] for f in result.findings if f.rule == "hold-cannot-be-kept"}
    assert cannot == late
    still = {f.rule for f in result.findings if f.hold}
    assert not still & late
    for finding in result.findings:
        if finding.rule == "hold-cannot-be-kept":
            assert finding.severity == "warning"
            assert "Move the session" in finding.action


# --- Override policy ----------------------------------------------------------------------

# rule -> the reasons it may be overridden with (empty: never). clinical-knowledge.md.
OVERRIDE_MATRIX = {
    "pregnancy": [],
    "breastfeeding": [],
    "under-18": [],
    "ingredient-allergy": [],
    "pause-not-kept-face": [],
    "clotting-disorder": ["specialist_clearance"],
    "autoimmune-disease": ["specialist_clearance"],
    "immunosuppression": ["specialist_clearance"],
    "poorly-controlled-diabetes": ["specialist_clearance"],
    "cancer-treatment": ["specialist_clearance"],
    "keloid-tendency": ["specialist_clearance"],
    "facial-diabetes": ["specialist_clearance"],
    "facial-cardiac": ["specialist_clearance"],
    "facial-blood-thinner": ["specialist_clearance"],
    "active-skin-infection": ["site_excluded"],
    "chronic-skin-condition": ["site_excluded", "specialist_clearance"],
    "nsaid-cross-allergy": ["specialist_clearance"],
}


def test_every_critical_rule_states_its_override_policy(kb):
    critical = {rule.code: list(rule.override_reasons) for rule in kb.rules if rule.severity == "critical"}
    assert critical == OVERRIDE_MATRIX


def test_a_reason_the_rule_does_not_allow_is_refused_by_the_service(kb, patient, alice):
    from django.core.exceptions import ValidationError

    from mesoclinic.screening.services import screening_record

    parsed = engine.parse_answers(
        {
            **answers(conditions=["active_skin_infection"], areas=["face"]),
            "date_of_birth": patient.date_of_birth.isoformat(),
        },
        kb,
    )
    result = engine.evaluate(parsed, kb)
    base = {"rule": "active-skin-infection", "key": "active-skin-infection", "decision": "overridden"}
    crafted = [
        {**base, "reason": "specialist_clearance", "cleared_by": "Dr. X", "cleared_on": "2026-01-01", "comment": "x"},
        {**base, "reason": "site_excluded", "site": "face", "comment": "cold sore on the lip"},  # the face is planned
        {**base, "reason": "entered_in_error", "comment": "no longer offered"},
    ]
    for decision in crafted:
        with pytest.raises(ValidationError):
            screening_record(patient=patient, recorded_by=alice, answers=parsed, result=result, decisions=[decision])


@pytest.mark.parametrize(
    ("site", "planned", "allowed"),
    [
        ("face", ["scalp"], True),
        ("face", ["submental"], False),  # the chin is part of the face
        ("submental", ["face"], False),  # and the face includes the chin
        ("hands", ["decollete", "neck"], True),
        ("face", [], False),  # nothing planned yet: nothing shows the site is excluded
    ],
)
def test_a_site_override_needs_planned_areas_that_exclude_the_site(kb, site, planned, allowed):
    from mesoclinic.screening.services import site_problem

    assert (site_problem(site, set(planned), kb) == "") == allowed


# --- Answers the vocabulary does not know ----------------------------------------------------


def test_an_unlisted_answer_is_recorded_and_asks_for_a_decision(kb):
    result = screen(kb, unlisted={"conditions": ["Epilepsy"], "medications": ["fish oil"]})
    unlisted = [f for f in result.findings if f.rule == "unlisted-answer"]
    assert {f.title for f in unlisted} == {"Epilepsy: not covered by the rules", "fish oil: not covered by the rules"}
    assert {f.key for f in unlisted} == {"unlisted-answer:conditions:epilepsy", "unlisted-answer:medications:fish_oil"}
    assert result.verdict == "caution"
    assert engine.parse_answers(answers(unlisted={"conditions": ["Epilepsy"]}), kb).as_json()["unlisted"] == {
        "conditions": ["Epilepsy"]
    }


@pytest.mark.parametrize(
    ("unlisted", "message"),
    [
        ({"conditions": ["Lupus"]}, "is a known term (Lupus): put it in conditions"),
        ({"conditions": ["Advil"]}, "is a known term (ibuprofen): put it in medications"),
        ({"medications": ["  "]}, "is blank"),
        ({"allergies": ["x" * 201]}, "longer than 200 characters"),
        ({"allergies": [3]}, "must be text"),
        ({"habits": ["smoking"]}, "unknown list"),
        (["epilepsy"], "must be an object of lists"),
    ],
)
def test_bad_unlisted_entries_are_refused(kb, unlisted, message):
    with pytest.raises(engine.InvalidAnswers) as caught:
        engine.parse_answers(answers(unlisted=unlisted), kb)
    assert message in str(caught.value)


@pytest.mark.parametrize("field", ["pregnant", "conditions", "indication", "fitzpatrick_skin_type", "on_date"])
def test_an_explicit_null_is_not_an_answer(kb, field):
    with pytest.raises(engine.InvalidAnswers, match="null is not an answer"):
        engine.parse_answers(answers(**{field: None}), kb)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("ibuprofin", "ibuprofen"), ("warfarine", "warfarin"), ("isotretinoim", "isotretinoin"), ("ecezma", "eczema")],
)
def test_suggestions_fix_spellings(kb, typed, suggested):
    kinds = ("medication",) if suggested != "eczema" else ("condition",)
    assert kb.suggestions(kinds, typed) == [suggested]


def test_a_suggestion_never_proposes_a_different_drug():
    """A vocabulary that knows only tretinoin: "isotretinoin" is another drug, not a typo."""
    info = engine.TermInfo("medication", "tretinoin", "tretinoin", frozenset({"tretinoin"}))
    small = engine.KnowledgeBase(
        terms={("medication", "tretinoin"): info},
        names={("medication", "tretinoin"): "tretinoin"},
        rules=(),
        documents={},
        version="test",
    )
    assert small.suggestions(("medication",), "isotretinoin") == []
    assert small.suggestions(("medication",), "tretinion") == ["tretinoin"]


def test_the_full_vocabulary_never_offers_a_name_inside_a_longer_one(kb):
    """esomeprazole is not omeprazole, dexketoprofen is not ketoprofen: for every medicine
    name, the same name with a prefix typed (and not itself known) suggests nothing of it."""
    from rapidfuzz.distance import OSA

    names = {name: code for (kind, name), code in kb.names.items() if kind == "medication"}
    for name, code in names.items():
        for prefix in ("iso", "es", "dex", "levo", "des"):
            typed = prefix + name
            if typed in names or code not in kb.suggestions(("medication",), typed):
                continue
            # Only a misspelling of another name of the same medicine may lead back to it.
            others = [other for other, same in names.items() if same == code and other != name]
            assert any(OSA.distance(typed, other) <= 2 for other in others), typed


# --- Smaller corrections -------------------------------------------------------------------------


def test_a_past_cold_sore_is_not_asked_as_an_active_one(kb):
    assert kb.term("condition", "herpes_simplex_active").label == "Cold sore now (herpes simplex)"
    assert "now" in kb.term("condition", "active_skin_infection").label


def test_trying_to_conceive_asks_to_rule_pregnancy_out(kb):
    result = screen(kb, trying_to_conceive=True)
    [finding] = [f for f in result.findings if f.rule == "trying-to-conceive"]
    assert finding.severity == "warning" and "pregnancy" in finding.action.lower()


def test_an_nsaid_allergy_meets_an_anti_inflammatory_in_the_cocktail(kb):
    assert "ingredient-allergy" in rules_of(screen(kb, allergies=["NSAİİ"], ingredients=["anti_inflammatory"]))
    assert "ingredient-allergy" in rules_of(screen(kb, allergies=["NSAID"], ingredients=["piroxicam"]))
    assert "ingredient-allergy" in rules_of(screen(kb, allergies=["Majezik"], ingredients=["anti_inflammatory"]))
    assert "ingredient-allergy" not in rules_of(screen(kb, allergies=["ibuprofen"], ingredients=["lidocaine"]))


def test_a_local_anaesthetic_allergy_meets_emla_and_its_parts(kb):
    for allergy, planned in (("lidocaine", "emla"), ("emla", "prilocaine"), ("local_anaesthetic", "benzocaine")):
        assert "ingredient-allergy" in rules_of(screen(kb, allergies=[allergy], ingredients=[planned])), allergy


# --- What the field test found -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Coumadin 5 mg", "warfarin"),
        ("Plavix 75", "clopidogrel"),
        ("Ecopirin 100", "aspirin_prescribed"),
        ("Coraspin 100 mg", "aspirin_prescribed"),
        ("aspirin 100 mg", "aspirin_prescribed"),  # itself a name: low-dose, prescribed
        ("ibuprofen 400 mg", "ibuprofen"),
        ("Majezik 100mg", "flurbiprofen"),
        ("Arveles 25 mg", "dexketoprofen"),
        ("Glifor 1000 2x1", "metformin"),
        ("metotreksat", "methotrexate"),
        ("varfarin sodyum", "warfarin"),
        ("DİKLOFENAK", "diclofenac"),
        ("naproksen", "naproxen"),
    ],
)
def test_a_dose_or_a_turkish_generic_name_does_not_hide_a_medicine(kb, typed, code):
    assert kb.lookup(("medication",), typed) == ("medication", code)


@pytest.mark.parametrize(
    ("typed", "kind", "code"),
    [
        ("hemofili", "condition", "hemophilia"),
        ("kalp yetmezliği", "condition", "heart_failure"),
        ("tip 2 diyabet", "condition", "diabetes"),
        ("lateks", "allergen", "latex"),
        ("NİKEL", "allergen", "nickel"),
    ],
)
def test_turkish_conditions_and_allergens_are_known(kb, typed, kind, code):
    assert kb.lookup((kind,), typed) == (kind, code)


def test_a_yes_or_no_answer_typed_as_free_text_is_refused_as_unlisted(kb):
    with pytest.raises(engine.InvalidAnswers, match="is the answer 'pregnant'"):
        engine.parse_answers(answers(unlisted={"conditions": ["hamileyim"]}), kb)


def test_a_medicine_named_like_an_allergen_stays_an_unlisted_medication(kb):
    """Piroxicam is an ingredient a patient can be allergic to, not a medication the vocabulary
    knows: typed as a medication it is kept (and warned about), not sent to the allergies."""
    result = screen(kb, unlisted={"medications": ["piroxicam"]})
    assert [f.title for f in result.findings if f.rule == "unlisted-answer"] == ["piroxicam: not covered by the rules"]


def test_skin_rejuvenation_of_the_abdomen_is_not_facial_treatment(kb):
    result = screen(kb, medications=["warfarin"], indication="skin_rejuvenation", areas=["abdomen"])
    assert "facial-blood-thinner" not in rules_of(result)
    assert "facial-blood-thinner" in rules_of(screen(kb, medications=["warfarin"], areas=["hands"]))


def test_an_old_or_anonymous_clearance_is_not_a_clearance(kb):
    import datetime

    from mesoclinic.screening.services import override_problem

    today = datetime.date(2026, 12, 1)
    finding = {"rule": "keloid-tendency", "title": "Keloid tendency"}
    base = {"reason": "specialist_clearance", "cleared_by": "Dr. Ada Yıldız", "comment": "Letter on file, 2 pages."}
    assert override_problem(finding, {**base, "cleared_on": "2026-11-20"}, set(), kb, today) == ""
    assert "more than a year old" in override_problem(finding, {**base, "cleared_on": "2015-01-01"}, set(), kb, today)
    assert "name who" in override_problem(
        finding, {**base, "cleared_by": "x", "cleared_on": "2026-11-20"}, set(), kb, today
    )
    assert "a note of a few words" in override_problem(
        finding, {**base, "comment": "ok", "cleared_on": "2026-11-20"}, set(), kb, today
    )
