"""Patients as a practitioner would meet them, screened end to end by the engine."""

from tests.screening.conftest import rules_of, screen


def test_aspirin_and_eczema_for_a_facial_treatment_defers_and_never_says_stop_aspirin(kb):
    result = screen(
        kb,
        conditions=["eczema"],
        medications=["aspirin"],
        areas=["face"],
        indication="skin_rejuvenation",
        ingredients=["hyaluronic_acid", "vitamin_c"],
    )
    # Eczema (guide-2024's reading) and a possible blood thinner on the face (face-2023) defer.
    assert result.verdict == "defer"
    critical = {f.rule for f in result.findings if f.severity == "critical"}
    assert critical == {"chronic-skin-condition", "facial-blood-thinner"}
    assert {"aspirin-purpose-unknown", "blood-thinners"} <= rules_of(result)
    holds = {f.hold.substance: f.hold.hours_before for f in result.findings if f.hold}
    assert holds == {"alcohol": 24}  # aspirin of unknown purpose: the prescriber decides


def test_aspirin_for_headaches_on_the_scalp_is_a_seven_day_stop(kb):
    result = screen(kb, medications=["aspirin for headache"], areas=["scalp"], indication="hair_loss")
    holds = {f.hold.substance: f.hold.hours_before for f in result.findings if f.hold}
    assert holds["aspirin for pain or fever (NSAID)"] == 168
    assert "blood-thinners" not in rules_of(result)


def test_a_pregnant_patient_is_deferred_whatever_else(kb):
    result = screen(kb, pregnant=True, areas=["scalp"], indication="hair_loss")
    assert result.verdict == "defer"
    assert result.findings[0].rule == "pregnancy"
    assert result.findings[0].severity == "critical"


def test_lupus_treated_with_methotrexate_is_two_reasons_to_defer(kb):
    result = screen(kb, conditions=["lupus"], medications=["methotrexate"])
    critical = {f.rule for f in result.findings if f.severity == "critical"}
    assert critical == {"autoimmune-disease", "immunosuppression"}


def test_diabetic_allergic_to_lidocaine_in_a_facial_cocktail(kb):
    result = screen(
        kb,
        conditions=["diabetes"],
        allergies=["lidocaine"],
        areas=["face", "neck"],
        ingredients=["hyaluronic_acid", "lidocaine"],
    )
    assert result.verdict == "defer"
    assert {"ingredient-allergy", "facial-diabetes", "allergy-history"} <= rules_of(result)
    [allergy] = [f for f in result.findings if f.rule == "ingredient-allergy"]
    assert any("lidocaine" in label.lower() for label in allergy.matched)


def test_hair_loss_on_darker_skin_while_on_minoxidil(kb):
    result = screen(kb, fitzpatrick_skin_type=5, medications=["minoxidil"], areas=["scalp"], indication="hair_loss")
    assert result.verdict == "caution"
    assert {"darker-skin", "hair-loss-combination"} <= rules_of(result)


def test_a_healthy_adult_is_clear_with_only_the_alcohol_hold(kb):
    result = screen(kb, areas=["thighs"], indication="cellulite", ingredients=["phosphatidylcholine"])
    assert result.verdict == "clear"
    assert rules_of(result) == {"alcohol-hold"}


def test_findings_come_most_severe_first(kb):
    result = screen(kb, pregnant=True, conditions=["eczema"], medications=["ibuprofen"])
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)


def test_terms_match_by_synonym_and_case_and_spacing(kb):
    result = screen(kb, medications=["  Advil "], conditions=["SLE"], ingredients=["Hyaluronic Acid"])
    assert {"nsaid-hold", "autoimmune-disease"} <= rules_of(result)
