"""Demo journeys (named patients, through the real services) and calendar scale data (bulk).

Only `seed_demo` calls this. The named patients walk the same paths a clinic would:
screened, planned, consented, booked; some sessions already done. The scale data fills
the calendar for benchmarks with bulk inserts.
"""

import datetime
import hashlib
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mesoclinic.core.models import Room, User
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.demo import BULK_EMAIL_DOMAIN
from mesoclinic.patients.models import Patient
from mesoclinic.plans import services as plan_services
from mesoclinic.plans.consent import consent_document
from mesoclinic.plans.demo import protocol_plan, signed_consent
from mesoclinic.plans.models import Consent, Plan, PlanStatus, Product, Protocol
from mesoclinic.screening.demo import scripted_screening
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.scheduling import slots

from .models import (
    AdverseEvent,
    AdverseEventType,
    Chart,
    ChartArea,
    Lot,
    ProductUse,
    SessionSeries,
    SessionStatus,
    StockMovement,
    TreatmentSession,
)
from .scheduling import services
from .stock.services import delivery_receive

# given name -> (screening answers, plan indication or None,
#                booking: (weeks from now of session 1, hour) / "unbooked" / None for a draft)
JOURNEYS = {
    "Emma": ({"areas": ["face", "neck"], "fitzpatrick_skin_type": 2}, "skin_rejuvenation", (-2, 10)),
    "Elif": (
        {"conditions": ["eczema"], "medications": ["aspirin_for_pain"], "areas": ["scalp"]},
        "hair_loss",
        (2, 11),
    ),
    "James": ({"medications": ["warfarin"], "areas": ["scalp"]}, "hair_loss", (3, 15)),
    "Mehmet": ({"conditions": ["lupus"], "medications": ["methotrexate"], "areas": ["joints"]}, None, None),
    "Sofia": ({"fitzpatrick_skin_type": 5, "areas": ["face"]}, "pigmentation", None),
    "Ayşe": ({"areas": ["thighs", "buttocks"]}, "cellulite", "unbooked"),
    "Zeynep": ({"areas": ["abdomen"], "conditions": ["bruises_easily"]}, "localized_fat", (2, 14)),
    "Hannah": ({"areas": ["face"]}, None, None),  # 17: deferred for age
}


def seed_journeys(practitioner, scheduler):
    """Screen, plan, consent and book the named demo patients (once)."""
    rooms = list(Room.objects.filter(is_active=True).order_by("name"))
    for given, (answers, indication, booking) in JOURNEYS.items():
        patient = Patient.objects.filter(given_name=given).exclude(email__endswith=BULK_EMAIL_DOMAIN).first()
        if patient is None or patient.screenings.exists():
            continue
        with transaction.atomic():
            plan = None
            if indication:
                plan = protocol_plan(patient, practitioner, indication, goals="Agreed at the consultation.")
                answers = {
                    **answers,
                    "areas": sorted({*answers.get("areas", []), *(t.code for t in plan.areas.all())}),
                    "ingredients": [t.code for t in plan.ingredients.all()],
                    "indication": indication,
                }
            _screen(patient, practitioner, answers)
            if plan is None:
                continue
            if booking is None:
                continue  # a draft: consent still to sign
            signed_consent(plan, practitioner, document_html=_consent_html(plan))
            plan = plan_services.plan_activate(plan=plan, by=practitioner)
            if booking == "unbooked":
                continue
            _book(plan, practitioner, rooms[0], scheduler, weeks_from_now=booking[0], hour=booking[1])


# How the demo practitioner decided what the engine asked, per patient: overrides of critical
# findings (only in ways the rules allow) and the prescriber's answers.
OVERRIDES = {
    "Elif": {
        "chronic-skin-condition": {
            "reason": "site_excluded",
            "site": "hands",
            "comment": "Eczema on the backs of both hands only; the scalp is clear.",
        }
    },
}
PRESCRIBERS = {"James": {"warfarin": ("pause", 5, "Dr. Priya Patel (GP)")}}


def _screen(patient, practitioner, answers):
    return scripted_screening(
        patient,
        practitioner,
        answers,
        overrides=OVERRIDES.get(patient.given_name),
        prescriber=PRESCRIBERS.get(patient.given_name),
        evaluation={"health-history": True},
        goals="Demo patient",
    )


def _consent_html(plan):
    return consent_document(
        plan,
        practitioner=plan.created_by,
        on_date=timezone.localdate(),
        instructions=patient_instructions(plan.patient),
    )


def _book(plan, practitioner, room, scheduler, weeks_from_now, hour):
    """Book the plan on Tuesdays at `hour` from `weeks_from_now`; sessions already past are done."""
    zone = clinic_zone()
    today = datetime.datetime.now(zone).date()
    tuesday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(days=1, weeks=weeks_from_now)
    first = datetime.datetime.combine(tuesday, datetime.time(hour))
    targets = slots.series_targets(first, plan.intervals, plan.sessions_planned)
    # Past sessions are history, not bookings: write them directly, the way they happened.
    past = [t for t in targets if slots.localize(t, zone) < timezone.now()]
    future = targets[len(past) :]
    series = SessionSeries.objects.create(plan=plan, patient=plan.patient, created_by=scheduler)
    duration = datetime.timedelta(minutes=plan.session_minutes)
    for sequence, target in enumerate(past, start=1):
        done = session_as_it_happened(
            series, practitioner, room, slots.localize(target, zone), duration, sequence, SessionStatus.COMPLETED
        )
        _chart_history(done, practitioner)
    if future:
        services.series_book(
            plan=plan, practitioner=practitioner, room=room, local_starts=future, by=scheduler, too_soon_confirmed=True
        )


def session_as_it_happened(series, practitioner, room, start, duration, sequence=1, status=SessionStatus.SCHEDULED):
    """A session written directly at an exact moment, past or within the hour, which booking
    would refuse: the demo's history, and the tests' sessions of today."""
    return TreatmentSession.objects.create(
        series=series,
        plan=series.plan,
        patient=series.patient,
        practitioner=practitioner,
        room=room,
        sequence=sequence,
        starts_at=start,
        ends_at=start + duration,
        status=status,
    )


def _chart_history(session, practitioner):
    """A past session's signed chart, as if charted on the day (its aftercare sheet is made by
    the desk's seed_demo, above this app)."""
    plan = session.plan
    product, _ = Product.objects.get_or_create(name="HydraGlow Meso", manufacturer="Nova Aesthetics")
    lot, _ = Lot.objects.get_or_create(
        product=product,
        lot_number="HG-2611",
        defaults={"expires_on": session.starts_at.date() + datetime.timedelta(days=365)},
    )
    chart = Chart.objects.create(
        session=session,
        patient=session.patient,
        technique=plan.technique,
        depth_mm=plan.depth_mm,
        needle_gauge=plan.needle_gauge,
        duration_minutes=plan.session_minutes,
        created_by=practitioner,
    )
    ChartArea.objects.bulk_create(
        ChartArea(chart=chart, area=term, volume_ml=Decimal("1.5")) for term in plan.areas.all()
    )
    ProductUse.objects.create(chart=chart, lot=lot, volume_ml=Decimal("2"))
    if session.sequence == 1:
        AdverseEvent.objects.create(
            chart=chart,
            type=AdverseEventType.objects.get(code="bruising"),
            severity="mild",
            follow_up_on=session.starts_at.date() + datetime.timedelta(days=7),
            notes="Small bruise",
        )
    chart.signed_at, chart.signed_by = session.ends_at, practitioner
    chart.save(update_fields=["signed_at", "signed_by"])


# --- Scale data ------------------------------------------------------------------------------

SLOT_HOURS = (9, 10, 11, 12, 14, 15, 16, 17)


def seed_calendar(weeks, stdout=None):
    """Fill `weeks` weeks around today with 8-session weekly series for generated patients.

    Each practitioner keeps one room; each patient holds one weekly slot for eight weeks.
    Idempotent: does nothing if the generated patients already have sessions.
    """
    generated = Patient.objects.filter(email__endswith="@" + BULK_EMAIL_DOMAIN)
    if not weeks or TreatmentSession.objects.filter(patient__in=generated).exists():
        return 0
    practitioners = list(User.objects.practitioners().order_by("pk"))
    rooms = list(Room.objects.filter(is_active=True).order_by("pk"))
    protocol = Protocol.objects.select_related("indication").get(code="cellulite")
    areas = list(protocol.default_areas.all())
    ingredients = list(protocol.default_ingredients.all())
    zone = clinic_zone()
    today = datetime.datetime.now(zone).date()
    first_monday = today - datetime.timedelta(days=today.weekday(), weeks=weeks // 2)
    now = timezone.now()
    hours = {}  # (practitioner, weekday) -> the slot hours inside their working hours
    for practitioner in practitioners:
        for row in practitioner.working_hours.all():
            fitting = [h for h in SLOT_HOURS if row.starts.hour <= h and h + 1 <= row.ends.hour]
            hours.setdefault((practitioner.pk, row.weekday), []).extend(fitting)
    chains = []  # (practitioner, room, weekday, hour, first week)
    for week in range(0, weeks, 8):
        for index, practitioner in enumerate(practitioners):
            for (owner, weekday), slot_hours in sorted(hours.items()):
                if owner == practitioner.pk:
                    chains += [(practitioner, rooms[index % len(rooms)], weekday, hour, week) for hour in slot_hours]
    chains = _free_chains(chains, first_monday, weeks, zone, protocol.default_session_minutes)
    patient_rows = list(generated.order_by("pk").values_list("pk", "date_of_birth")[: len(chains)])
    patient_ids = [pk for pk, _ in patient_rows]
    born = dict(patient_rows)
    chains = chains[: len(patient_ids)]
    if not chains:
        return 0
    with transaction.atomic():
        plans = Plan.objects.bulk_create(
            Plan(
                patient_id=pid,
                protocol=protocol,
                indication=protocol.indication,
                technique=protocol.default_technique,
                depth_mm=protocol.default_depth_mm,
                needle_gauge=protocol.default_gauge,
                session_minutes=protocol.default_session_minutes,
                sessions_planned=8,
                intervals=[7] * 7,
                status=PlanStatus.ACTIVE,
                created_by=chain[0],
                activated_at=now,
                activated_by=chain[0],
            )
            for pid, chain in zip(patient_ids, chains, strict=True)
        )
        Plan.areas.through.objects.bulk_create(
            Plan.areas.through(plan_id=plan.pk, term_id=term.pk) for plan in plans for term in areas
        )
        Plan.ingredients.through.objects.bulk_create(
            Plan.ingredients.through(plan_id=plan.pk, term_id=term.pk) for plan in plans for term in ingredients
        )
        _bulk_screenings_and_consents(plans, chains, now, born)
        series = SessionSeries.objects.bulk_create(
            SessionSeries(plan=plan, patient_id=plan.patient_id, created_by=chain[0])
            for plan, chain in zip(plans, chains, strict=True)
        )
        duration = datetime.timedelta(minutes=protocol.default_session_minutes)
        sessions = []
        for plan, one_series, (practitioner, room, weekday, hour, week) in zip(plans, series, chains, strict=True):
            for sequence in range(1, 9):
                day = first_monday + datetime.timedelta(weeks=week + sequence - 1, days=weekday)
                start = slots.localize(datetime.datetime.combine(day, datetime.time(hour)), zone)
                sessions.append(
                    TreatmentSession(
                        series=one_series,
                        plan=plan,
                        patient_id=plan.patient_id,
                        practitioner=practitioner,
                        room=room,
                        sequence=sequence,
                        starts_at=start,
                        ends_at=start + duration,
                        status=SessionStatus.COMPLETED if start < now else SessionStatus.SCHEDULED,
                    )
                )
        TreatmentSession.objects.bulk_create(sessions, batch_size=2000)
    if stdout:
        stdout.write(f"Calendar: {len(plans)} plans, {len(sessions)} sessions over {weeks} weeks.")
    return len(sessions)


def _chain_starts(chain, first_monday, zone):
    _, _, weekday, hour, week = chain
    return [
        slots.localize(
            datetime.datetime.combine(
                first_monday + datetime.timedelta(weeks=week + n, days=weekday), datetime.time(hour)
            ),
            zone,
        )
        for n in range(8)
    ]


def _free_chains(chains, first_monday, weeks, zone, minutes):
    """Drop the chains that would collide with sessions already booked (the demo journeys)."""
    duration = datetime.timedelta(minutes=minutes)
    start = slots.localize(datetime.datetime.combine(first_monday, datetime.time(0)), zone)
    taken = list(
        TreatmentSession.objects.occupying()
        .filter(starts_at__gte=start, starts_at__lt=start + datetime.timedelta(weeks=weeks + 8))
        .values_list("starts_at", "ends_at", "practitioner_id", "room_id")
    )
    if not taken:
        return chains
    by_practitioner, by_room = {}, {}
    for begins, ends, practitioner_id, room_id in taken:
        by_practitioner.setdefault(practitioner_id, []).append((begins, ends, None))
        by_room.setdefault(room_id, []).append((begins, ends, None))
    busy_p = {pk: slots.Busy.of("", rows) for pk, rows in by_practitioner.items()}
    busy_r = {pk: slots.Busy.of("", rows) for pk, rows in by_room.items()}
    free = []
    for chain in chains:
        practitioner, room = chain[0], chain[1]
        clash = any(
            (practitioner.pk in busy_p and busy_p[practitioner.pk].clash(moment, moment + duration))
            or (room.pk in busy_r and busy_r[room.pk].clash(moment, moment + duration))
            for moment in _chain_starts(chain, first_monday, zone)
        )
        if not clash:
            free.append(chain)
    return free


def _bulk_screenings_and_consents(plans, chains, now, born):
    kb = knowledge_base()
    document = "<p>Consent recorded for the benchmark data set.</p>"
    Screening.objects.bulk_create(
        Screening(
            patient_id=plan.patient_id,
            recorded_by=chain[0],
            recorded_at=now,
            expires_at=now + datetime.timedelta(days=30),
            answers={"date_of_birth": born[plan.patient_id].isoformat(), "areas": ["thighs"], "ingredients": []},
            findings=[],
            verdict="clear",
            outcome=Outcome.CLEAR,
            rules_version=kb.version,
        )
        for plan, chain in zip(plans, chains, strict=True)
    )
    Consent.objects.bulk_create(
        Consent(
            plan=plan,
            patient_id=plan.patient_id,
            document_html=document,
            document_sha256=hashlib.sha256(document.encode()).hexdigest(),
            signed_name="(benchmark data)",
            confirmed=True,
            photo_consent=False,
            witnessed_by=chain[0],
            signed_at=now,
        )
        for plan, chain in zip(plans, chains, strict=True)
    )


# --- Stock -------------------------------------------------------------------------------------

# product name -> [(lot, expires in days, units received, supplier)]: the demo shelf, with a lot
# that expires within 30 days (Lumina) and a product below its reorder level (LipoContour).
DEMO_DELIVERIES = {
    "HydraGlow Meso": [("HG-2611", 365, 10, "Medikal Depo A.Ş."), ("HG-2702", 540, 6, "Medikal Depo A.Ş.")],
    "Capilla Boost": [("CB-1140", 300, 6, "Estetik Tedarik Ltd.")],
    "LipoContour": [("LC-0932", 200, 4, "Estetik Tedarik Ltd.")],
    "Lumina Tone": [("LT-7781", 21, 5, "Meridian İstanbul")],
    "Relief Meso": [("RM-3305", 420, 10, "Meridian İstanbul")],
}


def seed_stock(by):
    """The demo clinic's deliveries, received once through the stock service (so the shelf,
    its history and the audit trail are what receiving makes). The lot the demo's past charts
    used (HG-2611) is among them: it becomes counted from its delivery."""
    if StockMovement.objects.exists():
        return 0
    today = timezone.localdate()
    received = 0
    for name, deliveries in DEMO_DELIVERIES.items():
        product = Product.objects.filter(name=name).first()
        if product is None or product.unit_ml is None:
            continue
        for lot_number, days, units, supplier in deliveries:
            known = Lot.objects.filter(product=product, lot_number=lot_number).first()
            expires_on = known.expires_on if known else today + datetime.timedelta(days=days)
            delivery_receive(
                product=product, lot_number=lot_number, expires_on=expires_on, units=units, supplier=supplier, by=by
            )
            received += 1
    return received
