"""Bad answers are refused, every one of them, naming the field and the value."""

import pytest

from mesoclinic.screening import engine
from tests.screening.conftest import answers


def problems(kb, **fields):
    with pytest.raises(engine.InvalidAnswers) as caught:
        engine.parse_answers(answers(**fields), kb)
    return [str(p) for p in caught.value.problems]


def test_an_unknown_term_is_an_error_with_a_suggestion(kb):
    [problem] = problems(kb, conditions=["eczema", "ecezma"])
    assert problem.startswith("conditions[1]:")
    assert "'ecezma'" in problem
    assert "did you mean 'eczema'" in problem


def test_every_problem_is_reported_not_just_the_first(kb):
    found = problems(
        kb, medications=["asprin"], areas=["elbow"], fitzpatrick_skin_type=7, pregnant="yes", on_date="2026-13-01"
    )
    fields = [p.split(":")[0] for p in found]
    assert fields == ["on_date", "pregnant", "medications[0]", "areas[0]", "fitzpatrick_skin_type"]


def test_a_missing_or_late_date_of_birth_is_refused(kb):
    with pytest.raises(engine.InvalidAnswers, match="date_of_birth: is required"):
        engine.parse_answers({"on_date": "2026-12-01"}, kb)
    assert problems(kb, date_of_birth="2027-01-01")[0].startswith("date_of_birth: is after on_date")


def test_unknown_fields_are_refused_not_ignored(kb):
    [problem] = problems(kb, pregnancy=True)
    assert problem.startswith("pregnancy: unknown field; did you mean 'pregnant'")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conditions", "eczema"),
        ("conditions", [3]),
        ("fitzpatrick_skin_type", "4"),
        ("fitzpatrick_skin_type", True),
        ("fitzpatrick_skin_type", 0),
        ("breastfeeding", 1),
        ("indication", ["hair_loss"]),
        ("date_of_birth", 19880314),
    ],
)
def test_a_field_of_the_wrong_type_is_refused(kb, field, value):
    assert problems(kb, **{field: value})


def test_an_allergy_may_be_an_ingredient_or_another_allergen_but_not_a_condition(kb):
    parsed = engine.parse_answers(answers(allergies=["lidocaine", "latex"]), kb)
    assert parsed.allergies == {("ingredient", "lidocaine"), ("allergen", "latex")}
    assert problems(kb, allergies=["eczema"])


def test_the_treatment_date_defaults_to_today(kb):
    import datetime

    data = {"date_of_birth": "1990-01-01"}
    assert engine.parse_answers(data, kb, today=datetime.date(2030, 5, 1)).on_date == datetime.date(2030, 5, 1)
