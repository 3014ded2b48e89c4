"""Properties the engine must keep for any answers (hypothesis)."""

import datetime
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesoclinic.screening import engine
from tests.screening.conftest import ON_DATE

RANK = {"clear": 0, "caution": 1, "defer": 2}
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def codes(kb, *kinds):
    return sorted({code for (kind, code) in kb.terms if kind in kinds})


@st.composite
def answer_sets(draw, kb):
    def some(*kinds):
        return draw(st.lists(st.sampled_from(codes(kb, *kinds)), max_size=4, unique=True))

    born = draw(st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2020, 1, 1)))
    return {
        "date_of_birth": born.isoformat(),
        "on_date": ON_DATE,
        "pregnant": draw(st.booleans()),
        "breastfeeding": draw(st.booleans()),
        "alcohol_last_24h": draw(st.booleans()),
        "feeling_unwell": draw(st.booleans()),
        "conditions": some("condition"),
        "medications": some("medication"),
        "recent_medications": some("medication"),
        "allergies": some("ingredient"),
        "areas": some("area"),
        "ingredients": some("ingredient"),
        "indication": draw(st.none() | st.sampled_from(codes(kb, "indication"))),
        "fitzpatrick_skin_type": draw(st.none() | st.integers(1, 6)),
    }


def result_of(kb, data):
    return engine.evaluate(engine.parse_answers(data, kb), kb)


def more(data, extra):
    """`data` with every answer of `extra` added: lists joined, flags or-ed, blanks filled."""
    combined = dict(data)
    for key, value in extra.items():
        if isinstance(value, list):
            combined[key] = sorted(set(data[key]) | set(value))
        elif isinstance(value, bool):
            combined[key] = data[key] or value
        elif key in ("indication", "fitzpatrick_skin_type"):
            combined[key] = data[key] if data[key] is not None else value
    return combined


def test_adding_answers_never_lowers_the_verdict_nor_loses_a_finding(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), answer_sets(kb))
    def check(data, extra):
        before = result_of(kb, data)
        after = result_of(kb, more(data, extra))
        assert RANK[after.verdict] >= RANK[before.verdict]
        assert {f.rule for f in before.findings} <= {f.rule for f in after.findings}

    check()


def test_the_order_of_answers_does_not_change_the_result(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), st.randoms(use_true_random=False))
    def check(data, rng: random.Random):
        shuffled = {k: (rng.sample(v, len(v)) if isinstance(v, list) else v) for k, v in data.items()}
        reordered = dict(rng.sample(list(shuffled.items()), len(shuffled)))
        assert result_of(kb, reordered).as_json() == result_of(kb, data).as_json()

    check()


def test_every_finding_cites_a_source_that_exists(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb))
    def check(data):
        for finding in result_of(kb, data).findings:
            assert finding.sources
            for document, citation in finding.sources:
                assert document in kb.documents
                assert citation.strip()

    check()


def test_the_verdict_is_the_worst_severity(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb))
    def check(data):
        result = result_of(kb, data)
        severities = {f.severity for f in result.findings}
        expected = "defer" if "critical" in severities else "caution" if "warning" in severities else "clear"
        assert result.verdict == expected

    check()
