"""Everything a test needs to set the clinic up: people (factory_boy) and their journeys
(screened, planned, consented, booked, re-checked, charted), made through the app's own
services, so a test meets the same refusals a page would. The demo clinic uses the same
scripted screening and protocol plans (screening/demo.py, plans/demo.py)."""

import datetime
import zoneinfo
from decimal import Decimal

import factory

from mesoclinic.core.models import Role, User
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Language, Patient, Sex
from mesoclinic.plans.demo import protocol_plan, signed_consent
from mesoclinic.plans.models import OutcomeMeasure, Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.demo import scripted_screening
from mesoclinic.screening.models import Screening, Term
from mesoclinic.treatment_sessions.demo import session_as_it_happened
from mesoclinic.treatment_sessions.models import (
    AdverseEvent,
    AdverseEventType,
    Chart,
    Lot,
    Measurement,
    ProductUse,
    SessionSeries,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.scheduling import services as scheduling
from mesoclinic.treatment_sessions.scheduling.slots import localize
from mesoclinic.treatment_sessions.session_day import charting, recheck

CLINIC_ZONE = "Europe/London"  # the test clinic's zone: one with daylight saving, so tests meet it

# --- People ---------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.PRACTITIONER
    password = factory.django.Password("correct horse battery")


class PractitionerFactory(UserFactory):
    role = Role.PRACTITIONER
    title = "Dr."


class SchedulerFactory(UserFactory):
    role = Role.SCHEDULER


class PatientUserFactory(UserFactory):
    role = Role.PATIENT


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.Faker(
        "date_between", start_date=datetime.date(1950, 1, 1), end_date=datetime.date(2004, 1, 1)
    )
    sex = Sex.FEMALE
    phone = factory.Sequence(lambda n: f"+90532{n:07d}")
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}.{p.family_name.lower()}@example.com")
    preferred_language = Language.ENGLISH


# --- Screening, plan, consent -------------------------------------------------------------


def screened(patient, by, decisions=None, prescriber=None, **answers) -> Screening:
    """A screening of `patient` with these answers, every warning acknowledged.
    `prescriber`: {medication code: (answer, pause days, prescriber)} for the medicines asked about."""
    return scripted_screening(patient, by, answers, decisions=decisions, prescriber=prescriber)


def plan_for(patient, by, indication="hair_loss", **overrides):
    """A draft plan with the protocol's defaults."""
    return protocol_plan(patient, by, indication, **overrides)


def consented(plan, by, photo=True):
    return signed_consent(plan, by, photo=photo)


def covering(plan, **extra):
    """Screening answers that cover `plan`'s areas, ingredients and indication."""
    return {
        "areas": [t.code for t in plan.areas.all()],
        "ingredients": [t.code for t in plan.ingredients.all()],
        "indication": plan.indication.code,
        **extra,
    }


def active_plan(by, indication="cellulite", patient=None, answers=None, **overrides):
    """A plan screened for, consented to and activated: ready to book."""
    patient = patient or PatientFactory()
    plan = plan_for(patient, by, indication, **overrides)
    screened(patient, by, **covering(plan, **(answers or {})))
    consented(plan, by)
    return plan_activate(plan=plan, by=by)


# --- Booking ------------------------------------------------------------------------------


def next_monday(weeks=1):
    """The Monday `weeks` from this week's; never tomorrow, so a day's preparation (no alcohol
    for 24 hours) always fits before a session booked on it, whatever day the suite runs."""
    today = datetime.date.today()
    monday = today + datetime.timedelta(days=7 * weeks - today.weekday())
    return monday if (monday - today).days >= 2 else monday + datetime.timedelta(days=7)


def local(day, hour=10, minute=0):
    return datetime.datetime.combine(day, datetime.time(hour, minute))


def moment(day, hour=10, minute=0, zone=CLINIC_ZONE):
    """The aware moment of a wall-clock time in the test clinic's zone."""
    return localize(local(day, hour, minute), zoneinfo.ZoneInfo(zone))


def booked(plan, practitioner, room, first_day, hour=10, by=None, too_soon_confirmed=True):
    """Book the whole plan at its spacing from `first_day` at `hour`. A session too soon for
    the patient's preparation is confirmed, as the clinic admin would, unless a test asks not to."""
    proposals = scheduling.series_proposal(
        plan=plan, practitioner=practitioner, room=room, first_local=local(first_day, hour)
    )
    assert all(p.ok for p in proposals), [p.problems for p in proposals if not p.ok]
    return scheduling.series_book(
        plan=plan,
        practitioner=practitioner,
        room=room,
        local_starts=[p.wanted for p in proposals],
        by=by or practitioner,
        too_soon_confirmed=too_soon_confirmed,
    )


def session_at(plan, practitioner, room, start, *, sequence=None, series=None, minutes=45):
    """A session at an exact moment, past or within the hour, which booking would refuse:
    for pages about today's sessions. A new series unless one is given; the plan's next
    number unless one is given (a plan's live sessions never share one)."""
    if sequence is None:
        sequence = TreatmentSession.objects.filter(plan=plan).exclude(status=SessionStatus.CANCELLED).count() + 1
    series = series or SessionSeries.objects.create(plan=plan, patient=plan.patient, created_by=practitioner)
    return session_as_it_happened(series, practitioner, room, start, datetime.timedelta(minutes=minutes), sequence)


def booked_long_ago(session, days=10):
    """As if the patient was screened and the session booked `days` ago: every preparation
    hold had time to be kept (the re-check counts the time from then)."""
    ago = session.starts_at - datetime.timedelta(days=days)
    Screening.objects.filter(patient=session.patient).update(
        recorded_at=ago, expires_at=ago + datetime.timedelta(days=30)
    )
    TreatmentSession.objects.filter(pk=session.pk).update(timed_at=ago)
    session.refresh_from_db()
    return session


# --- The session day ----------------------------------------------------------------------


def rechecked(session, by, decisions=(), **today):
    """The re-check on the day, with today's answers (all well unless a test says otherwise)."""
    answers = {
        "pregnant": False,
        "breastfeeding": False,
        "new_medications": [],
        "holds_broken": [],
        "infection_at_site": False,
        "feeling_well": True,
        **today,
    }
    screening = recheck.base_screening(session)
    evaluation = recheck.evaluate(session, screening, recheck.RecheckAnswers(**answers))
    return recheck.recheck_record(
        session=session, by=by, evaluation=evaluation, screening=screening, decisions=list(decisions)
    )


CHART_VALUES = {
    "technique": "nappage",
    "depth_mm": Decimal("1.0"),
    "needle_gauge": 32,
    "anaesthetic": "none",
    "duration_minutes": 40,
    "notes": "",
}


def charted(session, by, areas=("face",), events=(), sign=True, measured=None):
    """The session's chart with a lot and these adverse events, signed unless told not to.
    `measured`: {outcome measure code: value} recorded on the chart."""
    product, _ = Product.objects.get_or_create(name="Hydra Boost", manufacturer="Meso Labs")
    chart = charting.chart_save(
        session=session,
        by=by,
        values=CHART_VALUES,
        areas=[(Term.objects.get(kind="area", code=code), Decimal("1.5")) for code in areas],
        products=[
            charting.ProductLine("HB-1", Decimal("2"), product, datetime.date.today() + datetime.timedelta(days=300))
        ],
        events=[(AdverseEventType.objects.get(code=code), "mild", None, "") for code in events],
        measurements=[
            (measure, measure.label, Decimal(str(value)), measure.unit)
            for measure, value in (
                (OutcomeMeasure.objects.get(code=code), value) for code, value in (measured or {}).items()
            )
        ],
    )
    if sign:
        charting.chart_sign(chart=chart, by=by)
    return chart


def measured_course(alice, room, patient, indication, series, *, first_day=None, every_days=7, events=()):
    """A plan with one signed session per entry of `series` ([{measure code: value}, ...]), a
    week apart and in the past, written as it happened (the demo's way: booking and the day's
    re-check refuse the past), each chart carrying its measurements and `events`."""
    plan = plan_for(patient, alice, indication)
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    first_day = first_day or clinic_today() - datetime.timedelta(days=every_days * len(series))
    chain = SessionSeries.objects.create(plan=plan, patient=patient, created_by=alice)
    product, _ = Product.objects.get_or_create(name="Hydra Boost", manufacturer="Meso Labs")
    lot, _ = Lot.objects.get_or_create(
        product=product, lot_number="HB-1", defaults={"expires_on": clinic_today() + datetime.timedelta(days=300)}
    )
    sessions = []
    for number, values in enumerate(series, start=1):
        start = moment(first_day + datetime.timedelta(days=every_days * (number - 1)), 10)
        session = session_as_it_happened(
            chain, alice, room, start, datetime.timedelta(minutes=45), number, SessionStatus.COMPLETED
        )
        chart = Chart.objects.create(
            session=session,
            patient=patient,
            created_by=alice,
            **{k: v for k, v in CHART_VALUES.items() if k != "notes"},
        )
        ProductUse.objects.create(chart=chart, lot=lot, volume_ml=Decimal("2"))
        for code in events:
            AdverseEvent.objects.create(chart=chart, type=AdverseEventType.objects.get(code=code), severity="mild")
        for code, value in values.items():
            measure = OutcomeMeasure.objects.get(code=code)
            Measurement.objects.create(
                chart=chart, measure=measure, kind=measure.label, value=Decimal(str(value)), unit=measure.unit
            )
        chart.signed_at, chart.signed_by = session.ends_at, alice
        chart.save(update_fields=["signed_at", "signed_by"])
        sessions.append(session)
    return plan, sessions


def signed_session(
    alice,
    room,
    patient,
    indication="skin_rejuvenation",
    areas=("face",),
    events=(),
    skin=2,
    medications=(),
    next_in_days=14,
    start=None,
    measured=None,
):
    """A completed, charted and signed session, with the plan's next session booked.
    `measured`: {outcome measure code: value} recorded on its chart."""
    plan = plan_for(patient, alice, indication, areas=list(areas))
    screened(patient, alice, fitzpatrick_skin_type=skin, medications=list(medications), **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    start = start or moment(clinic_today(), 12)
    session = session_at(plan, alice, room, start)
    if next_in_days:
        session_at(plan, alice, room, start + datetime.timedelta(days=next_in_days), sequence=2, series=session.series)
    # Booked well ahead, as a clinic books: every hold had time to be kept.
    rechecked(booked_long_ago(session), alice, decisions=[])
    session.refresh_from_db()
    charted(session, alice, areas=areas, events=events, measured=measured)
    session.refresh_from_db()
    return session
