import datetime

import pytest

from mesoclinic.plans import services as plan_services
from mesoclinic.treatment_sessions import services
from mesoclinic.treatment_sessions.scheduling import localize
from tests.conftest import CLINIC_ZONE as ZONE_NAME
from tests.factories import PatientFactory
from tests.plans.conftest import covering, make_plan, screen_patient, sign


def active_plan(by, indication="cellulite", patient=None, **overrides):
    patient = patient or PatientFactory()
    plan = make_plan(patient, by, indication, **overrides)
    screen_patient(patient, by, **covering(plan))
    sign(plan, by)
    return plan_services.plan_activate(plan=plan, by=by)


@pytest.fixture
def cellulite_plan(clinic, alice):
    return active_plan(alice, "cellulite")


def next_monday(weeks=1):
    today = datetime.date.today()
    return today + datetime.timedelta(days=7 * weeks - today.weekday())


def local(day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute))


def book(plan, practitioner, room, first_day, hour=10, by=None):
    """Book the whole plan at its spacing from `first_day` at `hour`."""
    proposals = services.series_proposal(
        plan=plan, practitioner=practitioner, room=room, first_local=local(first_day, hour)
    )
    assert all(p.ok for p in proposals), [p.problems for p in proposals if not p.ok]
    return services.series_book(
        plan=plan,
        practitioner=practitioner,
        room=room,
        local_starts=[p.wanted for p in proposals],
        by=by or practitioner,
    )


def session_at(plan, practitioner, room, start, *, sequence=1, series=None, minutes=45):
    """A session at an exact moment, past or within the hour, which booking would refuse:
    for pages about today's sessions. A new series unless one is given."""
    from mesoclinic.treatment_sessions.models import SessionSeries, TreatmentSession

    series = series or SessionSeries.objects.create(plan=plan, patient=plan.patient, created_by=practitioner)
    return TreatmentSession.objects.create(
        series=series,
        plan=plan,
        patient=plan.patient,
        practitioner=practitioner,
        room=room,
        sequence=sequence,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
    )


def moment(day, hour=10, minute=0):
    import zoneinfo

    return localize(local(day, hour, minute), zoneinfo.ZoneInfo(ZONE_NAME))
