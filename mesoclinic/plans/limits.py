"""What is physically sensible (refused outside) and what the protocol expects (flagged outside).

Pure functions: the plan builder, the session chart and their tests share them.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import localize
from django.utils.translation import gettext, ngettext

from mesoclinic.screening import bilingual
from mesoclinic.screening.knowledge import knowledge_base

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
            raise ValueError(gettext("“%(part)s” is not a whole number of days.") % {"part": part})
        gaps.append(int(part))
    return gaps


def interval_problems(intervals, sessions):
    """Refusals: intervals that do not fit the number of sessions, or are not sensible."""
    problems = []
    needed = max(0, sessions - 1)
    if len(intervals) != needed:
        problems.append(
            ngettext(
                "{sessions} sessions need {needed} gap between them; you gave {given}.",
                "{sessions} sessions need {needed} gaps between them; you gave {given}.",
                needed,
            ).format(sessions=sessions, needed=needed, given=len(intervals))
        )
    low, high = SANE_INTERVAL_DAYS
    for gap in intervals:
        if not low <= gap <= high:
            problems.append(
                gettext("A gap of %(gap)s days is not sensible; gaps run from %(low)s to %(high)s days.")
                % {"gap": gap, "low": low, "high": high}
            )
            break
    return problems


def plan_flags(
    *, protocol, areas, technique, depth_mm, needle_gauge, session_minutes, sessions, intervals, ingredients=()
):
    """Everything about a plan that lies outside its protocol, for the practitioner to see.

    `areas` and `ingredients` are codes. Nothing here refuses: refusals are the sane limits.
    """
    flags = []
    cite = bilingual.text(protocol, "title")
    if depth_mm is not None:
        depth = Decimal(str(depth_mm))
        if depth > protocol.depth_max_mm or depth < protocol.depth_min_mm:
            flags.append(
                Flag(
                    "depth_mm",
                    gettext("%(depth)s mm is outside this protocol's %(low)s-%(high)s mm.")
                    % {
                        "depth": localize(depth),
                        "low": localize(protocol.depth_min_mm),
                        "high": localize(protocol.depth_max_mm),
                    },
                    cite,
                )
            )
        if depth > Decimal("4.0"):
            flags.append(
                Flag(
                    "depth_mm",
                    gettext("Deeper than 4 mm: the documents describe 1-4 mm injections."),
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
                    gettext("Deeper than 1.5 mm on the %(areas)s: facial mesotherapy goes 1-1.5 mm deep.")
                    % {"areas": _area_words(facial)},
                    "face-2023",
                )
            )
    if needle_gauge is not None and not protocol.gauge_min <= needle_gauge <= protocol.gauge_max:
        flags.append(
            Flag(
                "needle_gauge",
                gettext("%(gauge)s G is outside the %(low)s-%(high)s G the documents describe.")
                % {"gauge": needle_gauge, "low": protocol.gauge_min, "high": protocol.gauge_max},
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
                gettext("%(minutes)s minutes is outside the usual %(low)s-%(high)s.")
                % {
                    "minutes": session_minutes,
                    "low": protocol.session_minutes_min,
                    "high": protocol.session_minutes_max,
                },
                "guide-2024",
            )
        )
    if sessions is not None and not protocol.sessions_min <= sessions <= protocol.sessions_max:
        flags.append(
            Flag(
                "sessions_planned",
                gettext("%(sessions)s sessions is outside this protocol's %(low)s-%(high)s.")
                % {"sessions": sessions, "low": protocol.sessions_min, "high": protocol.sessions_max},
                cite,
            )
        )
    short = [gap for gap in intervals or () if gap < protocol.min_interval_days]
    if short:
        flags.append(
            Flag(
                "intervals",
                ngettext(
                    "{count} gap shorter than the protocol's minimum of {days} days.",
                    "{count} gaps shorter than the protocol's minimum of {days} days.",
                    len(short),
                ).format(count=len(short), days=protocol.min_interval_days),
                cite,
            )
        )
    long = [gap for gap in intervals or () if gap > protocol.max_interval_days]
    if long:
        flags.append(
            Flag(
                "intervals",
                ngettext(
                    "{count} gap longer than the protocol's {days} days.",
                    "{count} gaps longer than the protocol's {days} days.",
                    len(long),
                ).format(count=len(long), days=protocol.max_interval_days),
                cite,
            )
        )
    if technique and technique not in protocol.techniques:
        flags.append(Flag("technique", gettext("This technique is not one the protocol describes."), cite))
    unusual = sorted(set(areas) - set(protocol.usual_area_codes))
    if unusual:
        flags.append(
            Flag(
                "areas",
                ngettext(
                    "Not a usual area for this indication: {names}.",
                    "Not usual areas for this indication: {names}.",
                    len(unusual),
                ).format(names=_term_names("area", unusual)),
                cite,
            )
        )
    unusual = sorted(set(ingredients) - set(protocol.usual_ingredient_codes))
    if unusual:
        flags.append(
            Flag(
                "ingredients",
                ngettext(
                    "Not a usual ingredient for this indication: {names}.",
                    "Not usual ingredients for this indication: {names}.",
                    len(unusual),
                ).format(names=_term_names("ingredient", unusual)),
                cite,
            )
        )
    return flags


def _area_words(codes):
    """Areas as a sentence names them: the English codes are the words themselves ("face"), read
    without the knowledge base; another language reads the terms' labels."""
    if bilingual.active_language() == bilingual.ENGLISH:
        return ", ".join(code.replace("_", " ") for code in codes)
    return _term_names("area", codes)


def _term_names(kind, codes):
    """The practitioner reads "amino acids", never the code `amino_acids` (the knowledge base
    is cached: no query)."""
    terms = knowledge_base().terms
    return ", ".join(
        bilingual.text(info, "label") if (info := terms.get((kind, code))) else code.replace("_", " ") for code in codes
    )
