import datetime

import pytest

from mesoclinic.plans import services
from mesoclinic.plans.forms import PlanForm
from mesoclinic.plans.models import Protocol
from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Term
from mesoclinic.screening.services import screening_record


def screen_patient(patient, by, decisions=None, prescriber=None, **answers):
    """Record a screening of `patient` with these answers, acknowledging every warning.
    `prescriber`: {medication code: (answer, pause days, prescriber)} for the medicines asked about."""
    kb = knowledge_base()
    data = {"date_of_birth": patient.date_of_birth.isoformat(), "on_date": datetime.date.today().isoformat(), **answers}
    parsed = engine.parse_answers(data, kb)
    result = engine.evaluate(parsed, kb)
    if decisions is None:
        decisions = [
            {"rule": f.rule, "key": f.key, "decision": "acknowledged"}
            for f in result.findings
            if f.severity == "warning"
        ]
    answered = [
        {"medication": code, "label": label, "answer": answer, "pause_days": days, "prescriber": who}
        for code, label in result.prescriber_medications
        for answer, days, who in [(prescriber or {}).get(code, ("not_asked", None, ""))]
    ]
    return screening_record(
        patient=patient, recorded_by=by, answers=parsed, result=result, decisions=decisions, prescriber=answered
    )


def make_plan(patient, by, indication="hair_loss", **overrides):
    protocol = Protocol.objects.get(code=indication)
    values = PlanForm.initial_for(protocol)
    values["intervals"] = protocol.default_intervals(protocol.default_sessions)
    values.update(overrides)
    values["areas"] = list(Term.objects.filter(kind="area", code__in=values["areas"]))
    values["ingredients"] = list(Term.objects.filter(kind="ingredient", code__in=values["ingredients"]))
    return services.plan_create(patient=patient, protocol=protocol, values=values, created_by=by)


def sign(plan, by, photo=True):
    return services.consent_sign(
        plan=plan,
        document_html="<p>document</p>",
        signed_name=plan.patient.display_name,
        confirmed=True,
        photo_consent=photo,
        signature_png=None,
        witnessed_by=by,
    )


def covering(plan, **extra):
    """Screening answers that cover `plan`'s areas, ingredients and indication."""
    return {
        "areas": [t.code for t in plan.areas.all()],
        "ingredients": [t.code for t in plan.ingredients.all()],
        "indication": plan.indication.code,
        **extra,
    }


@pytest.fixture
def hair_plan(patient, alice):
    return make_plan(patient, alice, "hair_loss")
