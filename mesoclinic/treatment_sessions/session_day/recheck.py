"""The re-check on the day of a session: a few questions, run through the same engine.

The answers of the patient's screening, with today's changes and the plan's own areas and
ingredients, go through the engine again. Decisions already made on that screening carry
over; anything new must be acknowledged (warnings) or overridden with a reason (critical),
or the session stops. The result is recorded as a screening of kind "recheck".
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mesoclinic.core.selectors import clinic_today, clinic_zone, wall_clock
from mesoclinic.screening import engine
from mesoclinic.screening.instructions import CONTINUE, STOP
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import ScreeningKind
from mesoclinic.screening.selectors import patient_instructions, screening_standing
from mesoclinic.screening.services import screening_record
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

INFECTION_AT_SITE = "active_skin_infection"


@dataclass(frozen=True)
class HoldItem:
    """An instruction the patient was given before this session, and what breaking it means
    for the engine: the medicine counts as taken within its hold (or alcohol as drunk)."""

    key: str
    kind: str  # "stop" or "pause" (instructions.py); "continue" needs no question
    substance: str
    hours_before: int
    medication: str  # the medicine's code, "" for alcohol
    prescriber: str

    @property
    def is_alcohol(self):
        return not self.medication

    @property
    def question(self):
        duration = engine.duration_words(self.hours_before, (get_language() or "en")[:2])
        if self.kind == "pause":
            return _("Paused %(substance)s for the %(duration)s before today, as agreed with %(prescriber)s?") % {
                "substance": self.substance,
                "duration": duration,
                "prescriber": self.prescriber,
            }
        return _("Kept the hold: no %(substance)s in the %(duration)s before today?") % {
            "substance": self.substance,
            "duration": duration,
        }


def hold_items(screening, kb=None):
    """The instructions the patient was asked to keep before this session (instructions.py)."""
    return [
        HoldItem(item.key, item.kind, item.substance, item.hours_before, item.medication, item.prescriber)
        for item in patient_instructions(screening.patient, screening=screening, kb=kb)
        if item.kind != CONTINUE and (item.kind != STOP or item.hours_before)
    ]


@dataclass
class RecheckAnswers:
    """What the practitioner asked today."""

    pregnant: bool
    breastfeeding: bool
    new_medications: list
    holds_broken: list  # keys of the instructions not kept
    infection_at_site: bool
    feeling_well: bool
    new_unlisted: list = field(default_factory=list)  # new medicines the vocabulary does not know


def base_screening(session):
    """The screening the re-check builds on: the patient's newest, which must still be current."""
    standing = screening_standing(session.patient)
    if standing.screening is None:
        raise ValidationError(_("The patient has no screening. Screen the patient before the session."))
    if not standing.is_current:
        raise ValidationError(
            _("The screening has lapsed (%(why)s). Screen the patient again first.") % {"why": standing.lapsed_because}
        )
    return standing.screening


def engine_answers(session, screening, today_answers: RecheckAnswers, kb=None):
    """The engine's answers for today: the screening's, the plan's context, today's changes."""
    kb = kb or knowledge_base()
    holds = {item.key: item for item in hold_items(screening, kb)}
    answers = {name: value for name, value in screening.answers.items() if value is not None}
    plan = session.plan
    broken = [holds[key] for key in today_answers.holds_broken if key in holds]
    unlisted = {name: list(texts) for name, texts in answers.get("unlisted", {}).items()}
    new_unlisted = [text for text in today_answers.new_unlisted if text not in unlisted.get("medications", [])]
    if new_unlisted:
        unlisted["medications"] = [*unlisted.get("medications", []), *new_unlisted]
    if unlisted:
        answers["unlisted"] = unlisted
    answers.update(
        {
            "on_date": clinic_today().isoformat(),
            "pregnant": today_answers.pregnant,
            "breastfeeding": today_answers.breastfeeding,
            "medications": sorted(set(answers.get("medications", [])) | set(today_answers.new_medications)),
            "recent_medications": sorted({item.medication for item in broken if item.medication}),
            "alcohol_last_24h": any(item.is_alcohol for item in broken),
            "feeling_unwell": not today_answers.feeling_well,
            "areas": sorted(t.code for t in plan.areas.all()),
            "ingredients": sorted(t.code for t in plan.ingredients.all()),
            "indication": plan.indication.code,
        }
    )
    conditions = set(answers.get("conditions", []))
    if today_answers.infection_at_site:
        conditions.add(INFECTION_AT_SITE)
    answers["conditions"] = sorted(conditions)
    return engine.parse_answers(answers, kb)


def carried_decisions(screening, findings):
    """Decisions on the screening that still apply to today's findings (the same keys)."""
    by_key = {d.get("key", d["rule"]): d for d in screening.decisions}
    return [{"key": f.key, **by_key[f.key]} for f in findings if f.key in by_key]


def new_findings(screening, findings):
    """Findings that need a decision today: the ones the screening had not decided on."""
    decided = {d.get("key", d["rule"]) for d in screening.decisions}
    return [f for f in findings if f.severity in ("warning", "critical") and f.key not in decided]


def hours_to_prepare(session, screening):
    """How long the patient had to prepare for this session: from when it got its time (booked
    or moved), or from the screening that gave the instructions, whichever came later. A hold
    that needs longer could not be kept: the engine makes it a warning for today."""
    since = max(session.timed_at, screening.consultation.recorded_at)
    return (session.starts_at - since).total_seconds() / 3600


@dataclass(frozen=True)
class RecheckEvaluation:
    """Today's answers through the engine: what it found, and what needs a decision today."""

    answers: engine.Answers
    result: engine.Result
    pending: list  # findings the screening had not decided on


def evaluate(session, screening, today_answers: RecheckAnswers, kb=None) -> RecheckEvaluation:
    """The engine on today's answers, with the time the patient had to prepare. Raises
    engine.InvalidAnswers if an answer cannot be understood."""
    kb = kb or knowledge_base()
    answers = engine_answers(session, screening, today_answers, kb)
    result = engine.evaluate(answers, kb, hours_to_prepare=hours_to_prepare(session, screening))
    return RecheckEvaluation(answers, result, new_findings(screening, result.findings))


# --- The day of the session -----------------------------------------------------------------
# A re-check says how the patient is on the day they are treated: made the evening before, it
# cannot know about the cold sore of the morning or the ibuprofen taken at breakfast. "The day"
# is the clinic's calendar day (its own zone), not a number of hours around the session.


def clinic_date(moment, zone=None):
    """The clinic's calendar day of an aware moment."""
    return wall_clock(moment, zone or clinic_zone()).date()


def session_date(session, zone=None):
    """The clinic's calendar day of the session: the day it starts."""
    return clinic_date(session.starts_at, zone)


def day_words(day):
    return formats.date_format(day, "l j F Y")


def is_for_the_day(session, check=None, zone=None):
    """Whether the re-check (the session's own unless given) was made on the session's day."""
    check = check if check is not None else session.recheck
    return check is not None and clinic_date(check.recorded_at, zone) == session_date(session, zone)


def recheck_refusal(session, now=None, zone=None):
    """Why a re-check cannot be made at `now` (default: now), or "" when it can."""
    zone = zone or clinic_zone()
    today, day = clinic_date(now or timezone.now(), zone), session_date(session, zone)
    if today < day:
        return _("The re-check is made on the day of the session, %(day)s: it cannot be done earlier.") % {
            "day": day_words(day)
        }
    if today > day:
        return _("The day of this session (%(day)s) has passed: a re-check counts only on that day.") % {
            "day": day_words(day)
        }
    return ""


@transaction.atomic
def recheck_record(*, session, by, evaluation, screening, decisions, notes=""):
    """Record the re-check and tie it to the session. A deferral stops the session."""
    session = TreatmentSession.objects.select_for_update().get(pk=session.pk)
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(
            _("The session is %(status)s; there is nothing to re-check.")
            % {"status": session.get_status_display().lower()}
        )
    if hasattr(session, "chart") and session.chart.is_signed:
        raise ValidationError(_("The chart is signed; the re-check can no longer change."))
    refusal = recheck_refusal(session)  # under the lock: a move meanwhile changes the day
    if refusal:
        raise ValidationError(refusal)
    recorded = screening_record(
        patient=session.patient,
        recorded_by=by,
        answers=evaluation.answers,
        result=evaluation.result,
        decisions=[*carried_decisions(screening, evaluation.result.findings), *decisions],
        kb=knowledge_base(),
        kind=ScreeningKind.RECHECK,
        based_on=screening.consultation,
        notes=notes,
    )
    session.recheck = recorded
    session.save(update_fields=["recheck", "updated_at"])
    return recorded


def may_chart(session, now=None, zone=None):
    """Charting needs the session's day to have come, and a re-check made on that day that did
    not defer: a stopped session stays stopped until resolved or overridden. A re-check of an
    earlier day (the session was moved since) does not count."""
    zone = zone or clinic_zone()
    day = session_date(session, zone)
    if clinic_date(now or timezone.now(), zone) < day:
        return False, _("This session is on %(day)s: it can be charted from that day, after the re-check.") % {
            "day": day_words(day)
        }
    check = session.recheck
    if check is None:
        return False, _("Do the re-check on the day before charting.")
    if not is_for_the_day(session, check, zone):
        return False, _(
            "The re-check of %(when)s was not made on the day of this session: do a fresh one on the day."
        ) % {"when": day_words(clinic_date(check.recorded_at, zone))}
    if check.is_deferred:
        return False, _(
            "The re-check found a reason to defer: the session is stopped until it is resolved or overridden."
        )
    return True, ""
