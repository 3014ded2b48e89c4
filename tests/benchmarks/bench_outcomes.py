"""The clinic's outcomes page on the benchmark calendar (target 300 ms server time).

seed_demo's calendar books the sessions but charts none of them, so this benchmark first
charts the generated patients' past sessions the way a clinic would have (once, in bulk): a
signed chart with a technique and a lot, the course's measurements, the patient's satisfaction
score and the adverse events at a realistic rate. Everything it adds is on the generated
patients, whose sessions only the benchmarks use.
"""

import datetime
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mesoclinic.core.models import User
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.patients.demo import BULK_EMAIL_DOMAIN
from mesoclinic.plans.models import OutcomeMeasure, Product
from mesoclinic.treatment_sessions.models import (
    AdverseEvent,
    AdverseEventType,
    Chart,
    Lot,
    Measurement,
    ProductUse,
    SessionStatus,
    TreatmentSession,
)
from tests.benchmarks.harness import client_for, page_timing

MARKER_LOT = "BENCH-OUT-1"  # its existence says the sessions are already charted
LOTS = {"Cellulift Bench": ["BENCH-OUT-1", "BENCH-OUT-2"], "Lipo Bench": ["BENCH-OUT-3"]}
TECHNIQUES = ["nappage"] * 6 + ["mesogun"] * 3 + ["papule"]
# Per session: how often each event followed (a bruise is common; an infection rare).
EVENT_RATES = {"bruising": 0.08, "nodules": 0.01, "infection": 0.004, "redness": 0.05}


def seed_charts(stdout=print):
    """Chart the generated patients' past sessions once; returns the number of charts made."""
    if Lot.objects.filter(lot_number=MARKER_LOT).exists():
        return 0
    rng = random.Random(18)
    today = timezone.localdate()
    lots = []
    for name, numbers in LOTS.items():
        product, _ = Product.objects.get_or_create(name=name, manufacturer="Benchmark Labs")
        for number in numbers:
            lots.append(
                Lot.objects.create(product=product, lot_number=number, expires_on=today + datetime.timedelta(days=400))
            )
    sessions = list(
        TreatmentSession.objects.filter(
            patient__email__endswith="@" + BULK_EMAIL_DOMAIN,
            status=SessionStatus.COMPLETED,
            chart__isnull=True,
        )
        .order_by("plan_id", "starts_at")
        .values_list("id", "plan_id", "patient_id", "practitioner_id", "sequence", "ends_at")
    )
    measures = {m.code: m for m in OutcomeMeasure.objects.filter(code__in=["skin_irregularity", "circumference_thigh"])}
    satisfaction = OutcomeMeasure.objects.get(code="satisfaction")
    gais = OutcomeMeasure.objects.get(code="gais")
    types = {t.code: t for t in AdverseEventType.objects.filter(code__in=EVENT_RATES)}
    with transaction.atomic():
        charts = Chart.objects.bulk_create(
            [
                Chart(
                    session_id=session_id,
                    patient_id=patient_id,
                    technique=rng.choice(TECHNIQUES),
                    depth_mm=Decimal("1.0"),
                    needle_gauge=30,
                    duration_minutes=45,
                    created_by_id=practitioner_id,
                    created_at=ends_at,
                    signed_at=ends_at,
                    signed_by_id=practitioner_id,
                )
                for session_id, _plan, patient_id, practitioner_id, _sequence, ends_at in sessions
            ],
            batch_size=2000,
        )
        uses, measurements, events, scores = [], [], [], []
        course = {}  # plan id -> (lot, baseline irregularity, thigh, how well it goes)
        for chart, (session_id, plan_id, patient_id, _p, sequence, ends_at) in zip(charts, sessions, strict=True):
            if plan_id not in course:
                course[plan_id] = (rng.choice(lots), rng.uniform(2, 6), rng.uniform(50, 70), rng.uniform(-0.5, 0.05))
            lot, irregularity, thigh, effect = course[plan_id]
            uses.append(ProductUse(chart=chart, lot=lot, volume_ml=Decimal("2")))
            progress = 1 + effect * (sequence - 1) / 7
            for measure, baseline in (
                (measures["skin_irregularity"], irregularity),
                (measures["circumference_thigh"], thigh),
            ):
                value = Decimal(str(round(baseline * progress * rng.uniform(0.97, 1.03), 1)))
                measurements.append(
                    Measurement(chart=chart, measure=measure, kind=measure.label, value=value, unit=measure.unit)
                )
            if sequence >= 4:
                grade = min(5, max(1, round(3 + effect * 5 + rng.uniform(-1, 1))))
                measurements.append(Measurement(chart=chart, measure=gais, kind=gais.label, value=Decimal(grade)))
                scores.append(
                    PatientScore(
                        patient_id=patient_id,
                        session_id=session_id,
                        measure=satisfaction,
                        value=Decimal(min(10, max(0, round(7 - effect * 6 + rng.uniform(-2, 2))))),
                        channel=ScoreChannel.LINK,
                        reported_at=ends_at + datetime.timedelta(days=1),
                    )
                )
            for code, rate in EVENT_RATES.items():
                if rng.random() < rate:
                    events.append(AdverseEvent(chart=chart, type=types[code], severity="mild"))
        ProductUse.objects.bulk_create(uses, batch_size=2000)
        Measurement.objects.bulk_create(measurements, batch_size=2000)
        AdverseEvent.objects.bulk_create(events, batch_size=2000)
        PatientScore.objects.bulk_create(scores, batch_size=2000)
    stdout(
        f"  charted {len(charts)} past sessions of {len(course)} courses: {len(measurements)} measurements, "
        f"{len(scores)} scores, {len(events)} adverse events"
    )
    return len(charts)


def run(report):
    seed_charts()
    staff = User.objects.get(username="practitioner")
    report.add(
        "clinic outcomes, last 12 months (practitioner)", page_timing(client_for(staff), "/outcomes/"), target_ms=300
    )
    report.add(
        "clinic outcomes, all time (clinic admin)",
        page_timing(client_for(User.objects.get(username="scheduler")), "/outcomes/?period=all"),
        target_ms=300,
    )
