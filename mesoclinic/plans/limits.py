"""What is physically sensible (refused outside) and what the protocol expects (flagged outside).

Pure functions: the plan builder, the session chart and their tests share them.
"""

from dataclasses import dataclass
from decimal import Decimal

# Outside these a value is not a mesotherapy treatment at all, and is refused.
# Mesotherapy needles run from 4 mm to 13 mm long; 18 G to 34 G covers every needle in
# clinical use. Sessions and intervals bound what a plan can sensibly describe.
SANE_DEPTH_MM = (Decimal("0.1"), Decimal("13.0"))
SANE_GAUGE = (18, 34)
SANE_MINUTES = (5, 240)
SANE_SESSIONS = (1, 30)
SANE_INTERVAL_DAYS = (1, 180)

# The documents' outer bounds, whatever the indication (basaksehir-2025, guide-2024, face-2023).
FACE_AREAS = frozenset({"face", "neck", "submental"})
FACE_MAX_DEPTH_MM = Decimal("1.5")
LIPOLYTICS = frozenset({"lipolytic", "phosphatidylcholine", "deoxycholate"})


@dataclass(frozen=True)
class Flag:
    """A value outside what the protocol describes: allowed, but the practitioner must see it."""

    field: str
    message: str
    source: str = ""


def intervals_from_phases(phases, sessions):
    """[{"intervals": 3, "days": 7}, {"days": 28}] and 6 sessions -> [7, 7, 7, 28, 28]."""
    needed = max(0, sessions - 1)
    gaps = []
    for phase in phases:
        count = phase.get("intervals")
        take = needed - len(gaps) if count is None else min(count, needed - len(gaps))
        gaps += [phase["days"]] * take
        if len(gaps) == needed:
            return gaps
    last = phases[-1]["days"] if phases else 14
    return gaps + [last] * (needed - len(gaps))


def protocol_problems(protocol):
    """Inconsistencies in a protocol (used by the admin and the fixture loader)."""
    problems = []
    for name, low, default, high in (
        ("depth", protocol.depth_min_mm, protocol.default_depth_mm, protocol.depth_max_mm),
        ("gauge", protocol.gauge_min, protocol.default_gauge, protocol.gauge_max),
        (
            "session minutes",
            protocol.session_minutes_min,
            protocol.default_session_minutes,
            protocol.session_minutes_max,
        ),
        ("sessions", protocol.sessions_min, protocol.default_sessions, protocol.sessions_max),
    ):
        if not low <= default <= high:
            problems.append(f"{name}: the default {default} lies outside {low}-{high}")
    if protocol.default_technique not in protocol.techniques:
        problems.append("the default technique is not among the protocol's techniques")
    if not isinstance(protocol.spacing, list) or not protocol.spacing:
        problems.append("spacing needs at least one phase")
    else:
        for phase in protocol.spacing:
            if not isinstance(phase, dict) or not isinstance(phase.get("days"), int):
                problems.append(f"spacing phase {phase!r} needs whole-number days")
    return problems


def parse_intervals(text):
    """'7, 7, 14' -> [7, 7, 14]; raises ValueError naming what is wrong."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    gaps = []
    for part in parts:
        if not part.isdigit():
            raise ValueError(f"“{part}” is not a whole number of days.")
        gaps.append(int(part))
    return gaps


def interval_problems(intervals, sessions):
    """Refusals: intervals that do not fit the number of sessions, or are not sensible."""
    problems = []
    needed = max(0, sessions - 1)
    if len(intervals) != needed:
        problems.append(
            f"{sessions} sessions need {needed} gap{'s' if needed != 1 else ''} between them; you gave {len(intervals)}."
        )
    low, high = SANE_INTERVAL_DAYS
    for gap in intervals:
        if not low <= gap <= high:
            problems.append(f"A gap of {gap} days is not sensible; gaps run from {low} to {high} days.")
            break
    return problems


def plan_flags(
    *, protocol, areas, technique, depth_mm, needle_gauge, session_minutes, sessions, intervals, ingredients=()
):
    """Everything about a plan that lies outside its protocol, for the practitioner to see.

    `areas` and `ingredients` are codes. Nothing here refuses: refusals are the sane limits.
    """
    flags = []
    cite = protocol.title
    if depth_mm is not None:
        depth = Decimal(str(depth_mm))
        if depth > protocol.depth_max_mm or depth < protocol.depth_min_mm:
            flags.append(
                Flag(
                    "depth_mm",
                    f"{depth} mm is outside this protocol's {protocol.depth_min_mm}-{protocol.depth_max_mm} mm.",
                    cite,
                )
            )
        if depth > Decimal("4.0"):
            flags.append(
                Flag(
                    "depth_mm",
                    "Deeper than 4 mm: the documents describe 1-4 mm injections.",
                    "basaksehir-2025, guide-2024",
                )
            )
        facial = FACE_AREAS & set(areas)
        if LIPOLYTICS & set(ingredients):
            # Fat-dissolving injections under the chin go into the fat, not the skin: the
            # facial 1-1.5 mm cap is for mesolift (face-2023; prep-2023 and basaksehir-2025 on
            # lipolytics, fixtures/ingredients.yaml).
            facial -= {"submental"}
        facial = sorted(facial)
        if facial and depth > FACE_MAX_DEPTH_MM:
            flags.append(
                Flag(
                    "depth_mm",
                    f"Deeper than 1.5 mm on the {', '.join(facial)}: facial mesotherapy goes 1-1.5 mm deep.",
                    "face-2023",
                )
            )
    if needle_gauge is not None and not protocol.gauge_min <= needle_gauge <= protocol.gauge_max:
        flags.append(
            Flag(
                "needle_gauge",
                f"{needle_gauge} G is outside the {protocol.gauge_min}-{protocol.gauge_max} G the documents describe.",
                "basaksehir-2025",
            )
        )
    if (
        session_minutes is not None
        and not protocol.session_minutes_min <= session_minutes <= protocol.session_minutes_max
    ):
        flags.append(
            Flag(
                "session_minutes",
                f"{session_minutes} minutes is outside the usual {protocol.session_minutes_min}-{protocol.session_minutes_max}.",
                "guide-2024",
            )
        )
    if sessions is not None and not protocol.sessions_min <= sessions <= protocol.sessions_max:
        flags.append(
            Flag(
                "sessions_planned",
                f"{sessions} sessions is outside this protocol's {protocol.sessions_min}-{protocol.sessions_max}.",
                cite,
            )
        )
    short = [gap for gap in intervals or () if gap < protocol.min_interval_days]
    if short:
        flags.append(
            Flag(
                "intervals",
                f"{len(short)} gap(s) shorter than the protocol's minimum of {protocol.min_interval_days} days.",
                cite,
            )
        )
    long = [gap for gap in intervals or () if gap > protocol.max_interval_days]
    if long:
        flags.append(
            Flag("intervals", f"{len(long)} gap(s) longer than the protocol's {protocol.max_interval_days} days.", cite)
        )
    if technique and technique not in protocol.techniques:
        flags.append(Flag("technique", "This technique is not one the protocol describes.", cite))
    usual_areas = set(protocol.usual_area_codes)
    unusual = sorted(set(areas) - usual_areas)
    if unusual:
        flags.append(Flag("areas", f"Not a usual area for this indication: {', '.join(unusual)}.", cite))
    unusual = sorted(set(ingredients) - set(protocol.usual_ingredient_codes))
    if unusual:
        flags.append(Flag("ingredients", f"Not a usual ingredient for this indication: {', '.join(unusual)}.", cite))
    return flags
