"""Scheduling at scale: proposing a 10-session series (target 100 ms) and one practitioner's
week view (target 50 ms, constant queries), on the seeded 52-week calendar."""

import datetime

from django.utils import timezone

from mesoclinic.core.models import Room, User
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Plan, PlanStatus, Protocol
from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.scheduling import services
from tests.benchmarks.harness import busiest_day, client_for, page_timing, timed


def _bench_plan(practitioner):
    """An active 10-session plan for a patient with no sessions, made once."""
    patient, _ = Patient.objects.get_or_create(
        given_name="Bench", family_name="Proposal", date_of_birth=datetime.date(1985, 5, 5)
    )
    plan = Plan.objects.filter(patient=patient, status=PlanStatus.ACTIVE).first()
    if plan is None:
        protocol = Protocol.objects.get(code="cellulite")
        plan = Plan.objects.create(
            patient=patient,
            protocol=protocol,
            indication=protocol.indication,
            technique=protocol.default_technique,
            depth_mm=protocol.default_depth_mm,
            needle_gauge=protocol.default_gauge,
            session_minutes=45,
            sessions_planned=10,
            intervals=[7, 7, 7, 7, 14, 14, 14, 14, 14],
            status=PlanStatus.ACTIVE,
            created_by=practitioner,
            activated_at=timezone.now(),
            activated_by=practitioner,
        )
    return plan


def run(report):
    sessions = TreatmentSession.objects.count()
    print(f"  sessions in the database: {sessions}")
    practitioner = User.objects.get(username="practitioner")
    room = Room.objects.order_by("name").first()
    plan = _bench_plan(practitioner)
    zone = clinic_zone()
    today = datetime.datetime.now(zone).date()
    monday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=1)
    first = datetime.datetime.combine(monday, datetime.time(10))  # a busy slot: conflicts and alternatives
    proposals = services.series_proposal(plan=plan, practitioner=practitioner, room=room, first_local=first)
    conflicts = sum(not p.ok for p in proposals)
    print(f"  proposal: {len(proposals)} sessions, {conflicts} conflicts (each with alternatives)")
    report.add(
        "propose a 10-session series (busy calendar)",
        timed(
            lambda: services.series_proposal(plan=plan, practitioner=practitioner, room=room, first_local=first),
            repeat=20,
        ),
        target_ms=100,
    )
    day = busiest_day(practitioner) or monday
    week_sessions = TreatmentSession.objects.filter(
        practitioner=practitioner,
        starts_at__date__gte=day - datetime.timedelta(days=day.weekday()),
        starts_at__date__lt=day - datetime.timedelta(days=day.weekday()) + datetime.timedelta(days=7),
    ).count()
    client = client_for(User.objects.get(username="scheduler"))
    url = f"/calendar/?view=week&by=practitioner&practitioner={practitioner.pk}&date={day.isoformat()}"
    report.add(f"week view, one practitioner ({week_sessions} sessions)", page_timing(client, url), target_ms=50)
    report.add(
        "day view, all practitioners",
        page_timing(client, f"/calendar/?view=day&by=practitioner&date={day.isoformat()}"),
    )
    report.add("today list (practitioner)", page_timing(client_for(practitioner), "/today/"))
