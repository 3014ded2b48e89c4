"""`seed_demo --scale`: ten years of a clinic chain, here at 1/10,000 of its size (10 patients,
about 100 sessions, 1,000 audit entries and the long access history's 10,000)."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from mesoclinic.core.models import AuditEntry, User
from mesoclinic.desk import scale
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Consent, Plan
from mesoclinic.screening.models import Screening
from mesoclinic.treatment_sessions.models import (
    Chart,
    InjectionPoint,
    ProductUse,
    Reminder,
    SessionPhoto,
    SessionStatus,
    TreatmentSession,
)

FRACTION = 0.0001
SIZE = scale.Size.of("chain", FRACTION)
TABLES = (
    "patients_patient",
    "plans_plan",
    "screening_screening",
    "plans_consent",
    "treatment_sessions_treatmentsession",
    "treatment_sessions_chart",
    "treatment_sessions_productuse",
    "treatment_sessions_injectionpoint",
    "treatment_sessions_sessionphoto",
    "treatment_sessions_reminder",
    "core_auditentry",
)


def _seed():
    out = io.StringIO()
    call_command("seed_demo", "--scale", "chain", "--scale-fraction", str(FRACTION), stdout=out)
    return out.getvalue()


def _chain_patients():
    return Patient.objects.filter(email__endswith="@" + scale.EMAIL_DOMAIN)


def _row_counts():
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    return counts


def _schema():
    """Every index (its name, whether unique, its columns) and constraint of the loaded tables.
    Not the index's text: PostgreSQL may word a rebuilt predicate differently, meaning the same."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, i.indisunique::text, "
            "pg_get_indexdef(i.indexrelid, 1, true) FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s) "
            "UNION ALL SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)",
            [list(TABLES), list(TABLES)],
        )
        return sorted(cursor.fetchall())


def _summary():
    return scale._state()["done"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_chain_at_a_ten_thousandth_has_every_table_group():
    schema_before = _schema()
    output = _seed()
    assert "Scale data (chain) ready" in output
    patients = _chain_patients()
    assert patients.count() == SIZE.patients == 10
    plans = Plan.objects.filter(patient__in=patients)
    assert plans.count() == SIZE.plans == 12
    assert Screening.objects.filter(patient__in=patients).count() == SIZE.screenings == 20
    assert Consent.objects.filter(patient__in=patients).count() == 12
    sessions = TreatmentSession.objects.filter(patient__in=patients)
    # 8 per plan, but for the few that would meet the demo's own sessions of Dr. Aksoy
    assert 85 <= sessions.count() <= 96
    done = sessions.filter(status=SessionStatus.COMPLETED)
    assert done.exists() and sessions.filter(status=SessionStatus.SCHEDULED).exists()
    charts = Chart.objects.filter(patient__in=patients)
    # every session done has its signed chart, and no other session has one
    assert charts.count() == done.count()
    assert not charts.filter(signed_at__isnull=True).exists()
    assert not charts.exclude(session__status=SessionStatus.COMPLETED).exists()
    assert ProductUse.objects.filter(chart__in=charts).count() == charts.count()
    assert InjectionPoint.objects.filter(chart__in=charts).count() == 5 * charts.count()
    assert SessionPhoto.objects.filter(patient__in=patients).count() == SIZE.photos
    assert Reminder.objects.filter(patient__in=patients).count() == sessions.count()
    # the plans of the past are done, the current block's are active
    assert set(plans.values_list("status", flat=True)) <= {"completed", "active"}
    audit = AuditEntry.objects.filter(patient_id__in=patients.values("pk"))
    assert audit.count() == SIZE.audit + scale.HEAVY_AUDIT_ROWS
    assert not audit.filter(patient_id__isnull=True).exists()
    assert set(audit.values_list("action", flat=True)) == {AuditEntry.Action.ACCESS, AuditEntry.Action.UPDATE}
    summary = _summary()
    assert AuditEntry.objects.filter(patient_id=summary["audit_patient"]).count() >= scale.HEAVY_AUDIT_ROWS
    # the indexes and constraints dropped for the load are all back, as they were
    assert _schema() == schema_before


@pytest.mark.postgres
@pytest.mark.django_db
def test_running_it_again_adds_nothing():
    _seed()
    counts = _row_counts()
    output = _seed()
    assert "already here; nothing to do" in output
    assert _row_counts() == counts


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_run_that_stopped_halfway_is_finished_by_the_next(monkeypatch):
    def power_cut(cursor, plan):
        raise RuntimeError("power cut")

    steps = dict(scale.STEPS)
    monkeypatch.setattr(
        scale, "STEPS", tuple((name, power_cut if name == "photos" else work) for name, work in steps.items())
    )
    with pytest.raises(RuntimeError):
        _seed()
    assert TreatmentSession.objects.filter(patient__in=_chain_patients()).exists()
    assert not SessionPhoto.objects.filter(patient__in=_chain_patients()).exists()
    assert "photos" not in scale._state()
    monkeypatch.setattr(scale, "STEPS", tuple(steps.items()))
    _seed()
    assert SessionPhoto.objects.filter(patient__in=_chain_patients()).count() == SIZE.photos
    assert AuditEntry.objects.filter(patient_id__in=_chain_patients().values("pk")).count() == (
        SIZE.audit + scale.HEAVY_AUDIT_ROWS
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_another_scale_on_the_same_database_is_refused():
    _seed()
    scale_state = scale._state()
    scale_state.pop("done")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {scale.STATE_TABLE} WHERE step = 'done'")
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_demo", "--scale", "tenth", "--scale-fraction", "0.0002", stdout=io.StringIO())


def _client(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_demo_users_see_the_chain_on_their_pages(settings):
    _seed()
    summary = _summary()
    busiest = Patient.objects.get(pk=summary["busiest_patient"])
    practitioner, scheduler = _client("practitioner"), _client("scheduler")
    record = practitioner.get(f"/patients/{busiest.pk}/")
    assert record.status_code == 200
    assert busiest.family_name in record.content.decode()
    today = practitioner.get("/today/")
    assert today.status_code == 200
    on_today = TreatmentSession.objects.filter(
        practitioner__username="practitioner", patient__in=_chain_patients(), starts_at__date=summary["busy_day"]
    )
    if on_today.exists():  # a weekday: the demo practitioner's day is full
        assert on_today.first().patient.family_name in today.content.decode()
    week = scheduler.get(
        f"/calendar/?by=practitioner&practitioner={summary['practitioner']}&date={summary['busy_day']}"
    )
    assert week.status_code == 200
    history = practitioner.get(f"/patients/{busiest.pk}/access/")
    assert history.status_code == 200
    assert practitioner.get(f"/recall/?lot={summary['recall_lot']}").status_code == 200


def test_scale_needs_postgresql(monkeypatch, db):
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="--scale needs PostgreSQL"):
        call_command("seed_demo", "--scale", "tenth", stdout=io.StringIO())


def test_the_fraction_is_only_for_a_scale(db):
    with pytest.raises(CommandError, match="--scale-fraction"):
        call_command("seed_demo", "--scale-fraction", "0.5", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--scale-fraction"):
        call_command("seed_demo", "--scale", "chain", "--scale-fraction", "2", stdout=io.StringIO())


def test_sizes_keep_ten_years_with_fewer_rooms():
    chain, tenth = scale.Size.of("chain"), scale.Size.of("tenth")
    assert (chain.patients, chain.sessions, chain.screenings, chain.audit, chain.photos) == (
        100_000,
        1_000_000,
        200_000,
        10_000_000,
        50_000,
    )
    assert chain.plans * scale.SESSIONS_PER_PLAN == chain.sessions
    assert tenth.sessions == chain.sessions // 10 and tenth.rooms < chain.rooms
    # enough rooms that the calendar holds them within the ten years
    assert tenth.plans * scale.SESSIONS_PER_PLAN == tenth.sessions
