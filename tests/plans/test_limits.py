from decimal import Decimal

import pytest

from mesoclinic.plans import limits


class P:
    """A protocol as plan_flags sees it."""

    title = "Test protocol"
    depth_min_mm, depth_max_mm = Decimal("1.0"), Decimal("4.0")
    gauge_min, gauge_max = 30, 32
    session_minutes_min, session_minutes_max = 30, 60
    sessions_min, sessions_max = 4, 10
    min_interval_days, max_interval_days = 7, 14
    techniques = ["nappage", "point_by_point"]
    usual_area_codes = ["thighs", "buttocks", "face"]
    usual_ingredient_codes = ["phosphatidylcholine"]


def flags(**values):
    base = {
        "areas": ["thighs"],
        "technique": "nappage",
        "depth_mm": Decimal("2.0"),
        "needle_gauge": 32,
        "session_minutes": 45,
        "sessions": 8,
        "intervals": [7] * 7,
        "ingredients": ["phosphatidylcholine"],
    }
    base.update(values)
    return {flag.field: flag.message for flag in limits.plan_flags(protocol=P, **base)}


def test_values_inside_the_protocol_raise_no_flag():
    assert flags() == {}


def test_depth_over_4_mm_is_flagged():
    assert "Deeper than 4 mm" in flags(depth_mm=Decimal("4.5"))["depth_mm"]


def test_facial_depth_over_1_5_mm_is_flagged():
    assert "1-1.5 mm deep" in flags(areas=["face"], depth_mm=Decimal("2.0"))["depth_mm"]
    assert "depth_mm" not in flags(areas=["face"], depth_mm=Decimal("1.5"))


@pytest.mark.django_db  # names the areas it flags (the knowledge base)
def test_fat_dissolving_injections_under_the_chin_are_exempt_from_the_facial_depth_cap():
    chin = flags(areas=["submental"], depth_mm=Decimal("3.0"), ingredients=["deoxycholate"])
    assert "depth_mm" not in chin  # they go into the fat (prep-2023, basaksehir-2025)
    # Not for a mesolift cocktail under the chin, and not for the rest of the face.
    assert (
        "1-1.5 mm" in flags(areas=["submental"], depth_mm=Decimal("3.0"), ingredients=["hyaluronic_acid"])["depth_mm"]
    )
    both = flags(areas=["submental", "face"], depth_mm=Decimal("3.0"), ingredients=["phosphatidylcholine"])
    assert "on the face" in both["depth_mm"] and "submental" not in both["depth_mm"]


@pytest.mark.parametrize("gauge", [27, 29, 33])
def test_a_gauge_outside_30_to_32_is_flagged(gauge):
    assert "30-32 G" in flags(needle_gauge=gauge)["needle_gauge"]


def test_spacing_shorter_than_the_minimum_is_flagged():
    assert "shorter than the protocol's minimum of 7 days" in flags(intervals=[7, 7, 5, 7, 7, 7, 7])["intervals"]


def test_sessions_and_minutes_outside_the_protocol_are_flagged():
    assert "outside this protocol's 4-10" in flags(sessions=12, intervals=[7] * 11)["sessions_planned"]
    assert "usual 30-60" in flags(session_minutes=90)["session_minutes"]


@pytest.mark.django_db
def test_an_unusual_technique_area_or_ingredient_is_flagged_in_words_not_codes():
    found = flags(technique="mesogun", areas=["scalp"], ingredients=["biotin", "amino_acids"])
    assert set(found) == {"technique", "areas", "ingredients"}
    assert found["ingredients"].startswith("Not usual ingredients for this indication: ")
    assert "amino acids" in found["ingredients"].lower() and "amino_acids" not in found["ingredients"]


def test_intervals_follow_the_phases_and_repeat_the_last():
    phases = [{"intervals": 3, "days": 7}, {"intervals": 2, "days": 14}, {"days": 28}]
    assert limits.intervals_from_phases(phases, 8) == [7, 7, 7, 14, 14, 28, 28]
    assert limits.intervals_from_phases(phases, 3) == [7, 7]
    assert limits.intervals_from_phases(phases, 1) == []


def test_intervals_must_fit_the_number_of_sessions_and_be_sensible():
    assert limits.interval_problems([7, 7], 4) == ["4 sessions need 3 gaps between them; you gave 2."]
    assert "not sensible" in limits.interval_problems([7, 0, 7], 4)[0]
    assert limits.interval_problems([7, 7, 7], 4) == []
    with pytest.raises(ValueError, match="not a whole number"):
        limits.parse_intervals("7, seven, 14")
