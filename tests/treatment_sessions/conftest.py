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
    """The Monday `weeks` from this week's; never tomorrow, so a day's preparation (no alcohol
    for 24 hours) always fits before a session booked on it, whatever day the suite runs."""
    today = datetime.date.today()
    monday = today + datetime.timedelta(days=7 * weeks - today.weekday())
    return monday if (monday - today).days >= 2 else monday + datetime.timedelta(days=7)


def local(day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute))


def book(plan, practitioner, room, first_day, hour=10, by=None, too_soon_confirmed=True):
    """Book the whole plan at its spacing from `first_day` at `hour`. A session too soon for
    the patient's preparation is confirmed, as the clinic admin would, unless a test asks not to."""
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
        too_soon_confirmed=too_soon_confirmed,
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


def booked_long_ago(session, days=10):
    """As if the patient was screened and the session booked `days` ago: every preparation
    hold had time to be kept (the re-check counts the time from then)."""
    from mesoclinic.screening.models import Screening
    from mesoclinic.treatment_sessions.models import TreatmentSession

    ago = session.starts_at - datetime.timedelta(days=days)
    Screening.objects.filter(patient=session.patient).update(
        recorded_at=ago, expires_at=ago + datetime.timedelta(days=30)
    )
    TreatmentSession.objects.filter(pk=session.pk).update(timed_at=ago)
    session.refresh_from_db()
    return session


def moment(day, hour=10, minute=0):
    import zoneinfo

    return localize(local(day, hour, minute), zoneinfo.ZoneInfo(ZONE_NAME))
