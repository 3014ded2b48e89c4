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
    data = {
        "date_of_birth": born.isoformat(),
        "on_date": ON_DATE,
        "pregnant": draw(st.booleans()),
        "breastfeeding": draw(st.booleans()),
        "trying_to_conceive": draw(st.booleans()),
        "alcohol_last_24h": draw(st.booleans()),
        "feeling_unwell": draw(st.booleans()),
        "conditions": some("condition"),
        "medications": some("medication"),
        "recent_medications": some("medication"),
        "allergies": some("ingredient"),
        "areas": some("area"),
        "ingredients": some("ingredient"),
        "unlisted": {
            name: draw(st.lists(st.sampled_from(UNKNOWN[name]), max_size=2, unique=True))
            for name in ("conditions", "medications", "allergies")
        },
    }
    # Not answered is left out: the contract refuses an explicit null.
    indication = draw(st.none() | st.sampled_from(codes(kb, "indication")))
    skin = draw(st.none() | st.integers(1, 6))
    if indication is not None:
        data["indication"] = indication
    if skin is not None:
        data["fitzpatrick_skin_type"] = skin
    return data


# Things patients say that the vocabulary does not know: they become unlisted answers.
UNKNOWN = {
    "conditions": ["epilepsy", "asthma", "migraine", "Hashimoto tiroiditi"],
    "medications": ["fish oil", "St John's wort", "Omega 3", "ginkgo"],
    "allergies": ["bee venom", "peanuts", "sulfa drugs"],
}


def result_of(kb, data, hours=None):
    return engine.evaluate(engine.parse_answers(data, kb), kb, hours_to_prepare=hours)


def more(data, extra):
    """`data` with every answer of `extra` added: lists joined, flags or-ed, blanks filled."""
    combined = dict(data)
    for key, value in extra.items():
        if key == "unlisted":
            combined[key] = {name: sorted(set(data[key].get(name, [])) | set(texts)) for name, texts in value.items()}
        elif isinstance(value, list):
            combined[key] = sorted(set(data[key]) | set(value))
        elif isinstance(value, bool):
            combined[key] = data[key] or value
        elif key in ("indication", "fitzpatrick_skin_type"):
            combined.setdefault(key, value)
    return combined


def test_adding_answers_never_lowers_the_verdict_nor_loses_a_finding(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), answer_sets(kb), st.none() | st.floats(-48, 400))
    def check(data, extra, hours):
        before = result_of(kb, data, hours)
        after = result_of(kb, more(data, extra), hours)
        assert RANK[after.verdict] >= RANK[before.verdict]
        assert {f.key for f in before.findings} <= {f.key for f in after.findings}

    check()


def test_an_unlisted_answer_never_lowers_the_verdict_and_always_asks_for_a_decision(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), st.sampled_from(sorted(UNKNOWN)), st.data())
    def check(data, name, draw):
        text = draw.draw(st.sampled_from(UNKNOWN[name]))
        before = result_of(kb, data)
        after = result_of(kb, more(data, {"unlisted": {name: [text]}}))
        assert RANK[after.verdict] >= max(RANK[before.verdict], RANK["caution"])
        [finding] = [f for f in after.findings if f.rule == "unlisted-answer" and text in f.matched]
        assert finding.severity == "warning" and text in finding.title

    check()


def test_less_time_to_prepare_never_lowers_the_verdict(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), st.floats(0, 400), st.floats(0, 400))
    def check(data, one, other):
        sooner, later = sorted((one, other))
        assert RANK[result_of(kb, data, sooner).verdict] >= RANK[result_of(kb, data, later).verdict]

    check()


def test_no_finding_ever_holds_a_medicine_only_its_prescriber_may_pause(kb):
    @PROPERTY_SETTINGS
    @given(answer_sets(kb), st.none() | st.floats(0, 400))
    def check(data, hours):
        for finding in result_of(kb, data, hours).findings:
            held = finding.hold or (finding.unkeepable and finding)
            if not held:
                continue
            for kind, code, label in finding.terms:
                if kind == "medication" and kb.needs_prescriber(code):
                    hold = finding.hold.substance if finding.hold else finding.unkeepable["substance"]
                    assert label not in hold

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
