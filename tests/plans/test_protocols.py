import pytest

from mesoclinic.plans.forms import PlanForm
from mesoclinic.plans.limits import protocol_problems
from mesoclinic.plans.models import ConsentClause, IngredientInfo, Protocol

pytestmark = pytest.mark.django_db

INDICATIONS = [
    "skin_rejuvenation",
    "hair_loss",
    "cellulite",
    "localized_fat",
    "pigmentation",
    "acne_scars",
    "stretch_marks",
    "pain",
]


def test_there_is_one_consistent_cited_protocol_per_indication():
    protocols = {p.code: p for p in Protocol.objects.all()}
    assert sorted(protocols) == sorted(INDICATIONS)
    for protocol in protocols.values():
        assert protocol_problems(protocol) == [], protocol.code
        assert protocol.sources
        assert set(protocol.default_areas.all()) <= set(protocol.areas.all())
        assert set(protocol.default_ingredients.all()) <= set(protocol.ingredients.all())
        assert protocol.gauge_min >= 30 and protocol.gauge_max <= 32
        assert protocol.depth_max_mm <= 4
        gaps = protocol.default_intervals(protocol.default_sessions)
        assert all(protocol.min_interval_days <= gap <= protocol.max_interval_days for gap in gaps), protocol.code


@pytest.mark.parametrize(
    ("code", "sessions", "low", "high", "min_gap", "max_gap"),
    [
        ("skin_rejuvenation", 6, 3, 15, 7, None),  # 6 facial sessions in the cited study
        ("cellulite", 8, 4, 10, 7, 14),  # 4-10 sessions 1-2 weeks apart; 8 in the study
        ("pigmentation", 5, 3, 15, 7, None),  # 5 melasma sessions in the study
    ],
)
def test_protocol_defaults_follow_the_documents(code, sessions, low, high, min_gap, max_gap):
    protocol = Protocol.objects.get(code=code)
    assert protocol.default_sessions == sessions
    assert (protocol.sessions_min, protocol.sessions_max) == (low, high)
    assert protocol.min_interval_days == min_gap
    if max_gap:
        assert protocol.max_interval_days == max_gap


@pytest.mark.parametrize("code", INDICATIONS)
def test_choosing_an_indication_fills_in_its_protocols_defaults(code):
    protocol = Protocol.objects.get(code=code)
    initial = PlanForm.initial_for(protocol)
    assert initial["sessions_planned"] == protocol.default_sessions
    assert initial["depth_mm"] == protocol.default_depth_mm
    assert initial["needle_gauge"] == protocol.default_gauge
    assert initial["technique"] == protocol.default_technique
    assert initial["ingredients"]
    # Pain has no default area: the practitioner must choose the painful site.
    assert bool(initial["areas"]) == (code != "pain")
    assert len(initial["intervals"].split(",")) == protocol.default_sessions - 1


def test_facial_protocols_stay_within_one_and_a_half_millimetres():
    for code in ("skin_rejuvenation", "pigmentation", "acne_scars"):
        assert Protocol.objects.get(code=code).depth_max_mm <= 1.5


def test_hair_loss_lists_minoxidil_and_dutasteride_as_combinations():
    assert {"minoxidil", "dutasteride"} <= set(Protocol.objects.get(code="hair_loss").combinations)


def test_the_ingredient_catalogue_and_consent_clauses_are_cited():
    assert IngredientInfo.objects.count() >= 20
    for info in IngredientInfo.objects.all():
        assert info.sources and info.plain_name
    texts = " ".join(ConsentClause.objects.values_list("text", flat=True))
    assert "FDA" in texts
    for clause in ConsentClause.objects.all():
        assert clause.sources
