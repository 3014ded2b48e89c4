"""What a patient is told to do before a session: the one place every email, sheet, consent
and page takes its preparation instructions from.

An instruction comes from two sources only:

- an automatic preparation hold of the screening (stop ibuprofen 7 days before, no alcohol
  for 24 hours), one instruction per medicine so that no sentence ever joins two of them;
- a prescriber's recorded decision about a medicine only they may pause (an anticoagulant,
  an antiplatelet, prescribed aspirin, an immunosuppressant): an agreed pause, worded "as
  agreed with Dr X", or "continue as prescribed". "Not yet asked" tells the patient nothing.

A medicine only the prescriber may pause is never turned into a "stop" instruction, whatever
a screening recorded: screenings made before that rule existed carried a 7-day hold for blood
thinners, and this module is where such a hold would reach a patient.

"One per medicine" means one per tablet the patient holds, not per vocabulary term: aspirin
taken both for pain and for the heart is listed under two terms, and gets one instruction.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.utils.translation import gettext

from . import engine

STOP, PAUSE, CONTINUE = "stop", "pause", "continue"

# The vocabulary tells aspirin's uses apart because the rules must: taken for pain or fever it
# is an NSAID (a week's stop), prescribed for the heart only its prescriber may pause it, and of
# unknown purpose ("aspirin") it is treated as prescribed. But it is one tablet in one packet:
# a week's stop for the pain would stop the heart tablet too. A patient listed under several of
# these terms gets one instruction, named by the medicine itself, and the prescriber's word
# decides it. term code -> the medicine it is a use of.
USE_OF = {"aspirin_for_pain": "aspirin", "aspirin_prescribed": "aspirin"}


def medicine_of(code):
    """The medicine a vocabulary term is a use of: 'aspirin_for_pain' -> 'aspirin'."""
    return USE_OF.get(code, code)


@dataclass(frozen=True)
class Instruction:
    key: str  # stable for a patient: "nsaid-hold:ibuprofen", "alcohol-hold", "prescriber:warfarin"
    kind: str  # STOP, PAUSE or CONTINUE
    substance: str  # what it is about, as a patient reads it: "ibuprofen", "alcohol"
    hours_before: int | None  # how long before the session; None for CONTINUE
    rule: str = ""  # the rule that made it (automatic holds)
    medication: str = ""  # the medicine's code, if it is one
    prescriber: str = ""  # who agreed (PAUSE and CONTINUE)
    given_at: datetime.datetime | None = None  # when it was recorded: the patient cannot know before

    @property
    def is_medicine(self):
        return bool(self.medication)

    @property
    def duration(self):
        return engine.duration_words(self.hours_before) if self.hours_before else ""

    def begins(self, starts_at):
        """When the patient must start keeping it, for a session at `starts_at`."""
        return starts_at - datetime.timedelta(hours=self.hours_before or 0)

    def can_be_kept(self, starts_at, now):
        """Is there still time to keep it before a session at `starts_at`?"""
        return self.hours_before is None or self.begins(starts_at) >= now

    def as_json(self):
        return {
            "key": self.key,
            "kind": self.kind,
            "substance": self.substance,
            "hours_before": self.hours_before,
            "rule": self.rule,
            "medication": self.medication,
            "prescriber": self.prescriber,
        }


def sentence_name(label):
    """How a patient reads a medicine's name mid-sentence: 'Ibuprofen' -> 'ibuprofen', 'NSAID'
    stays, and a note for staff in brackets goes ('aspirin (ask what for)' -> 'aspirin')."""
    label = re.sub(r"\s*\([^)]*\)", "", label).strip()
    if label[:1].isupper() and label[1:2].islower():
        return label[:1].lower() + label[1:]
    return label


def _medicines_of(finding, kb):
    """The medicines a recorded finding is about, as (code, label). Findings recorded before
    `matched_terms` existed name them only by label: those are looked up by name."""
    terms = finding.get("matched_terms")
    if terms is not None:
        return [(t["code"], t["label"]) for t in terms if t["kind"] == "medication"]
    found = []
    for label in finding.get("matched", []):
        match = kb.lookup(("medication",), label)
        if match is not None:
            found.append((match[1], label))
    return found


def instructions_from(screening, decisions, kb) -> list[Instruction]:
    """The instructions of `screening` (its recorded findings) and the prescriber's
    `decisions` (the newest per medicine), in a stable order: automatic holds first.
    One instruction per medicine the patient takes, however many terms list it."""
    if screening is None:
        return []
    given = screening.recorded_at
    uses = _uses_listed(screening, decisions, kb)
    # A medicine with any use only its prescriber may pause is never stopped automatically.
    prescribed = {medicine for medicine, codes in uses.items() if any(kb.needs_prescriber(c) for c in codes)}
    stops = {}
    for finding in screening.findings:
        hold = finding.get("hold") or finding.get("unkeepable_hold")
        if not hold:
            continue
        rule = finding.get("unkeepable_hold", {}).get("rule") or finding["rule"]
        medicines = _medicines_of(finding, kb)
        if not medicines:
            stops[rule] = Instruction(rule, STOP, hold["substance"], hold["hours_before"], rule=rule, given_at=given)
            continue
        for code, label in medicines:
            medicine = medicine_of(code)
            if medicine in prescribed:
                continue  # never "stop" what only its prescriber may pause
            key = f"{rule}:{code}"
            earlier = next((i for i in stops.values() if medicine_of(i.medication) == medicine), None)
            if earlier is not None and earlier.hours_before >= hold["hours_before"]:
                continue  # one instruction per medicine: the longest hold of the classes it belongs to
            if earlier is not None:
                del stops[earlier.key]
            stops[key] = Instruction(
                key,
                STOP,
                _name(medicine, label, uses, kb),
                hold["hours_before"],
                rule=rule,
                medication=code,
                given_at=given,
            )
    agreed = {}
    for decision in decisions:
        if decision.answer == "pause":
            kind, hours = PAUSE, decision.pause_days * 24
        elif decision.answer == "continue":
            kind, hours = CONTINUE, None
        else:
            continue
        medicine = medicine_of(decision.medication)
        earlier = agreed.get(medicine)
        if earlier is not None and earlier.given_at > decision.recorded_at:
            continue  # two uses of one tablet asked about separately: the newest answer stands
        agreed[medicine] = Instruction(
            f"prescriber:{decision.medication}",
            kind,
            _name(medicine, decision.medication_label, uses, kb),
            hours,
            medication=decision.medication,
            prescriber=decision.prescriber,
            given_at=decision.recorded_at,
        )
    return [*stops.values(), *agreed.values()]


def _uses_listed(screening, decisions, kb):
    """{medicine: the codes it is listed under} across the screening, the consultation it
    re-ran and the prescriber's decisions."""
    uses = {}
    findings = [*screening.findings, *(screening.consultation.findings if screening.consultation != screening else [])]
    codes = [code for finding in findings for code, _label in _medicines_of(finding, kb)]
    for code in [*codes, *(d.medication for d in decisions)]:
        uses.setdefault(medicine_of(code), set()).add(code)
    return uses


def _name(medicine, label, uses, kb):
    """How the patient reads the medicine: its own words ('aspirin for pain or fever') when it
    is listed once, the medicine's plain name ('aspirin') when it is listed under several uses,
    so that the one instruction covers every tablet of it."""
    if len(uses.get(medicine, ())) > 1 and ("medication", medicine) in kb.terms:
        label = kb.term("medication", medicine).label
    return sentence_name(label)


def for_session(instructions, starts_at, now):
    """The instructions a patient can still act on before a session at `starts_at`, as seen
    at `now`: what needs more time than is left is not given (a same-day booking never asks
    for a day without alcohol 40 minutes before the session)."""
    return [i for i in instructions if i.can_be_kept(starts_at, now)]


def too_late(instructions, starts_at, since):
    """The instructions that needed more time than a session at `starts_at` left, counting
    from `since` (when the session got its time) or from when the instruction was given."""
    return [i for i in instructions if not i.can_be_kept(starts_at, max(since, i.given_at or since))]


def translate_substance(text):
    """'ibuprofen (NSAID)' with its class in the active language; drug names stay as they are."""
    match = re.fullmatch(r"(.+) \((.+)\)", text)
    if match:
        return f"{match.group(1)} ({gettext(match.group(2))})"
    return gettext(text)
