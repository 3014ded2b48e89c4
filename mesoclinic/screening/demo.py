"""A screening whose decisions are scripted in advance: how the demo clinic's practitioner, and
the tests, record one (`seed_demo` and tests/builders only; pages record what a person chose).

It goes through the same engine and `screening_record` as the screening page, so a scripted
decision the rules do not allow is refused exactly as it would be there.
"""

from mesoclinic.core.selectors import clinic_today

from . import engine
from .knowledge import knowledge_base
from .services import screening_record


def scripted_screening(patient, by, answers, *, decisions=None, overrides=None, prescriber=None, **details):
    """Record a screening of `patient` with `answers` (the engine's JSON: codes and flags).

    `decisions`: the decisions as recorded, or None to acknowledge every warning and apply
    `overrides` ({finding key: {"reason": ..., ...}}) to the critical findings they name.
    `prescriber`: {medication code: (answer, pause days, prescriber)}; the others "not asked".
    """
    kb = knowledge_base()
    data = {"date_of_birth": patient.date_of_birth.isoformat(), "on_date": clinic_today().isoformat(), **answers}
    parsed = engine.parse_answers(data, kb)
    result = engine.evaluate(parsed, kb)
    if decisions is None:
        decisions = [
            {"rule": f.rule, "key": f.key, "decision": "acknowledged"}
            for f in result.findings
            if f.severity == "warning"
        ]
        for finding in result.findings:
            override = (overrides or {}).get(finding.key)
            if override and finding.severity == "critical":
                decisions.append({"rule": finding.rule, "key": finding.key, "decision": "overridden", **override})
    answered = [
        {"medication": code, "label": label, "answer": answer, "pause_days": days, "prescriber": who}
        for code, label in result.prescriber_medications
        for answer, days, who in [(prescriber or {}).get(code, ("not_asked", None, ""))]
    ]
    return screening_record(
        patient=patient,
        recorded_by=by,
        answers=parsed,
        result=result,
        decisions=decisions,
        kb=kb,
        prescriber=answered,
        **details,
    )
