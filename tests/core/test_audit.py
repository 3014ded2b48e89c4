from decimal import Decimal

import psycopg2
import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse

from mesoclinic.core.models import AuditEntry, AuditImmutableError
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Patient
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.models import AdverseEventType
from mesoclinic.treatment_sessions.session_day import charting
from tests.builders import (
    CHART_VALUES,
    booked_long_ago,
    charted,
    consented,
    covering,
    moment,
    plan_for,
    rechecked,
    screened,
    session_at,
)

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "given_name": "Leyla",
    "family_name": "Korkmaz",
    "date_of_birth": "1990-05-17",
    "sex": "female",
    "phone": "0532 123 45 67",
    "email": "leyla@example.com",
    "preferred_language": "tr",
}


def test_creating_a_patient_records_who_what_when_and_where(alice_client, alice):
    alice_client.post(reverse("patients:create"), NEW_PATIENT, REMOTE_ADDR="10.1.2.3")
    patient = Patient.objects.get(family_name="Korkmaz")
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.CREATE)
    assert entry.actor == alice
    assert entry.remote_addr == "10.1.2.3"
    assert entry.timestamp is not None
    assert entry.changes["family_name"] == [None, "Korkmaz"]


def test_changing_a_patient_records_the_old_and_new_values(sam_client, sam, patient):
    data = {**NEW_PATIENT, "given_name": patient.given_name, "family_name": patient.family_name}
    sam_client.post(reverse("patients:edit", args=[patient.pk]), data)
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.UPDATE)
    assert entry.actor == sam
    assert entry.changes["phone"][1] == "+905321234567"  # as stored: E.164
    assert "phone" in entry.what


def test_opening_the_patient_record_is_recorded_as_a_view(alice_client, alice, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]), REMOTE_ADDR="10.9.8.7")
    entry = AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS)
    assert entry.actor == alice
    assert entry.remote_addr == "10.9.8.7"
    assert entry.what == "Viewed patient record"


def test_deleting_a_patient_leaves_the_history(patient):
    patient_id = patient.pk
    patient.delete()
    assert AuditEntry.objects.for_patient(patient_id).filter(action=AuditEntry.Action.DELETE).exists()


def test_the_access_history_page_lists_views_and_changes(alice_client, sam_client, patient):
    sam_client.get(reverse("desk:patient", args=[patient.pk]))
    page = alice_client.get(reverse("patients:access_history", args=[patient.pk])).content.decode()
    assert "Sam Reed" in page
    assert "Viewed contact details and appointments" in page


def test_audit_entries_cannot_be_changed_or_deleted_through_the_app(alice_client, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]))
    entry = AuditEntry.objects.for_patient(patient.pk).first()
    entry.object_repr = "tampered"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="tampered")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.postgres
def test_postgresql_refuses_raw_updates_and_deletes_of_the_audit_trail(alice_client, patient):
    alice_client.get(reverse("desk:patient", args=[patient.pk]))
    from django.db.utils import DatabaseError

    for statement in ("UPDATE core_auditentry SET object_repr = 'x'", "DELETE FROM core_auditentry"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    # The test database switches the TRUNCATE trigger off for Django's own flushes (conftest).
    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending on the table
        cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_truncate")
        cursor.execute("TRUNCATE core_auditentry")
    assert AuditEntry.objects.for_patient(patient.pk).exists()


# --- From where: the client address -------------------------------------------------------

GARBAGE_FORWARDED_FOR = ["not-an-ip", "<script>alert(1)</script>, 10.0.0.1", "1.2.3.4.5", "::zz", "x" * 5000, ","]


@pytest.mark.parametrize("forwarded", GARBAGE_FORWARDED_FOR)
def test_a_garbage_x_forwarded_for_is_never_a_500_and_never_recorded(alice_client, patient, forwarded):
    response = alice_client.get(
        reverse("desk:patient", args=[patient.pk]), HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 200
    assert AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS).remote_addr == "10.9.8.7"


def test_with_no_proxy_a_client_sent_x_forwarded_for_is_ignored(alice_client, alice):
    alice_client.post(
        reverse("patients:create"), NEW_PATIENT, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE, actor=alice)
    assert entry.remote_addr == "10.1.2.3"
    assert entry.remote_port is None  # nor a client-sent X-Forwarded-Port


@override_settings(MESOCLINIC_PROXY_COUNT=1)
def test_behind_one_proxy_the_address_it_saw_is_recorded_not_what_the_client_claimed(alice_client, patient):
    # The client claims 203.0.113.9; the proxy appends the address it saw, 198.51.100.7.
    alice_client.get(
        reverse("desk:patient", args=[patient.pk]),
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
        REMOTE_ADDR="10.0.0.2",
    )
    assert AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS).remote_addr == "198.51.100.7"


@override_settings(MESOCLINIC_PROXY_COUNT=2)
def test_behind_two_proxies_the_outer_proxys_view_is_recorded(alice_client, patient):
    alice_client.get(
        reverse("desk:patient", args=[patient.pk]),
        HTTP_X_FORWARDED_FOR="203.0.113.9, 2001:db8::1, 10.0.0.3",
        REMOTE_ADDR="10.0.0.2",
    )
    assert AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS).remote_addr == "2001:db8::1"


@override_settings(MESOCLINIC_PROXY_COUNT=1)
def test_behind_a_proxy_garbage_it_passed_on_is_recorded_as_no_address(alice_client, patient):
    response = alice_client.get(
        reverse("desk:patient", args=[patient.pk]), HTTP_X_FORWARDED_FOR="1.2.3.4, garbage", REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 200
    assert AuditEntry.objects.for_patient(patient.pk).get(action=AuditEntry.Action.ACCESS).remote_addr is None


def test_the_anonymous_aftercare_link_survives_a_garbage_x_forwarded_for(alice, room, patient):
    from mesoclinic.aftercare.services import link_create, sheet_for
    from tests.builders import signed_session

    token = link_create(sheet_for(signed_session(alice, room, patient)))
    response = Client().get(reverse("aftercare:link", args=[token]), HTTP_X_FORWARDED_FOR="<script>")
    assert response.status_code == 200
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS).latest("timestamp")
    assert entry.remote_addr == "127.0.0.1"


@override_settings(AXES_FAILURE_LIMIT=2)
def test_lockouts_count_the_same_address_as_the_audit_trail(alice):
    """A client rotating a forged X-Forwarded-For is still one address to axes."""
    client = Client()
    for forged in ("203.0.113.1", "203.0.113.2"):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"}, HTTP_X_FORWARDED_FOR=forged)
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": "correct horse battery"},
        HTTP_X_FORWARDED_FOR="203.0.113.3",
    )
    assert response.status_code == 429


@override_settings(MESOCLINIC_PROXY_COUNT=1)
def test_axes_takes_the_address_the_audit_trail_takes(rf):
    from axes.helpers import get_client_ip_address

    from mesoclinic.core.audit import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="10.0.0.2")
    assert get_client_ip_address(request) == client_ip(request) == "198.51.100.7"


# --- What changes: a draft chart's rows ---------------------------------------------------


@pytest.fixture
def draft_chart(alice, room, patient):
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face"])
    screened(patient, alice, fitzpatrick_skin_type=2, medications=[], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    session = session_at(plan, alice, room, moment(clinic_today(), 12))
    rechecked(booked_long_ago(session), alice, decisions=[])
    session.refresh_from_db()
    return charted(session, alice, areas=("face",), sign=False)


def _chart_row_entries(chart):
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(chart), object_id=chart.pk, action=AuditEntry.Action.UPDATE
    ).order_by("timestamp", "id")


def test_a_draft_charts_rows_are_recorded_with_what_they_were_and_became(draft_chart, alice):
    first = _chart_row_entries(draft_chart).get()
    assert first.changes["areas"] == [[], ["face: 1.50 ml"]]
    assert first.changes["products"][0] == []
    assert first.patient_id == draft_chart.patient_id

    product = draft_chart.products_used.get().lot.product
    charting.chart_save(
        session=draft_chart.session,
        by=alice,
        values=CHART_VALUES,
        areas=[(Term.objects.get(kind="area", code="face"), Decimal("2.5"))],
        products=[charting.ProductLine("HB-1", Decimal("2"), product, None)],
        events=[(AdverseEventType.objects.get(code="bruising"), "mild", None, "small, left cheek")],
        measurements=[(None, "Wrinkle depth", Decimal("1.2"), "mm")],
    )
    second = _chart_row_entries(draft_chart).last()
    assert second.actor == alice
    assert second.changes["areas"] == [["face: 1.50 ml"], ["face: 2.50 ml"]]
    assert "products" not in second.changes  # unchanged
    before, after = second.changes["adverse events"]
    assert before == [] and after[0].startswith("bruising (mild)") and after[0].endswith("small, left cheek")
    assert second.changes["measurements"] == [[], ["Wrinkle depth: 1.20 mm"]]
    # 2.5 ml injected from a 2 ml lot: saved, and the warning it was saved with is recorded.
    assert second.changes["warnings"] == [
        [],
        [
            "2.5 ml injected in the areas, but the charted products supply only 2 ml: "
            "chart the missing lot or check the volumes."
        ],
    ]
    assert second.what == "Changed chart: adverse events, areas, measurements, warnings"


def test_saving_a_draft_chart_unchanged_adds_no_row_entry(draft_chart, alice):
    row = draft_chart.areas.get()
    use = draft_chart.products_used.get()
    charting.chart_save(
        session=draft_chart.session,
        by=alice,
        values=CHART_VALUES,
        areas=[(row.area, row.volume_ml)],
        products=[charting.ProductLine(use.lot.lot_number, use.volume_ml, use.lot.product, None)],
        events=[],
        measurements=[],
    )
    assert _chart_row_entries(draft_chart).count() == 1


# --- Integrity: the app's database role cannot rewrite the trail ---------------------------

APP_ROLE, OWNER_ROLE = "hd_test_audit_app", "hd_test_audit_owner"


def _drop_roles(cursor):
    for role in (APP_ROLE, OWNER_ROLE):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone():
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.fixture
def as_the_app_role(transactional_db):
    """A connection as an ordinary LOGIN role holding what the app's role holds after `migrate`
    (it owns the audit table it created, and reads and writes every table), then secured."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        admin = cursor.fetchone()[0]
        _drop_roles(cursor)
        cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"ALTER TABLE core_auditentry OWNER TO {APP_ROLE}")
        cursor.execute(f"ALTER FUNCTION core_auditentry_refuse_change() OWNER TO {APP_ROLE}")
        cursor.execute(f"ALTER FUNCTION core_auditentry_refuse_truncate() OWNER TO {APP_ROLE}")
    call_command("secure_audit", app_role=APP_ROLE, owner_role=OWNER_ROLE)
    db = connection.settings_dict
    app = psycopg2.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, dbname=db["NAME"], user=APP_ROLE)
    try:
        yield app
    finally:
        app.close()
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE core_auditentry OWNER TO {admin}")
            cursor.execute(f"ALTER FUNCTION core_auditentry_refuse_change() OWNER TO {admin}")
            cursor.execute(f"ALTER FUNCTION core_auditentry_refuse_truncate() OWNER TO {admin}")
            _drop_roles(cursor)


@pytest.mark.postgres
def test_the_apps_database_role_may_add_and_read_entries_but_never_rewrite_them(as_the_app_role, patient):
    content_type = ContentType.objects.get_for_model(Patient).pk
    with as_the_app_role.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditentry (content_type_id, object_pk, object_id, object_repr, action, changes_text,"
            " timestamp, patient_id) VALUES (%s, %s, %s, 'Ayla Demir', 3, '', now(), %s)",
            [content_type, str(patient.pk), patient.pk, patient.pk],
        )
        cursor.execute("SELECT count(*) FROM core_auditentry")
        assert cursor.fetchone()[0] >= 1
    as_the_app_role.commit()
    refused = {}
    for statement in (
        "UPDATE core_auditentry SET object_repr = 'tampered'",
        "DELETE FROM core_auditentry",
        "TRUNCATE core_auditentry",
        "ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_append_only",
        "ALTER TABLE core_auditentry DISABLE TRIGGER ALL",
        "DROP TABLE core_auditentry",
        "CREATE OR REPLACE FUNCTION core_auditentry_refuse_change() RETURNS trigger AS $$"
        " BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
    ):
        with as_the_app_role.cursor() as cursor:
            try:
                cursor.execute(statement)
            except psycopg2.errors.InsufficientPrivilege as error:
                refused[statement] = str(error).splitlines()[0]
            as_the_app_role.rollback()
    assert len(refused) == 7, refused
    assert AuditEntry.objects.for_patient(patient.pk).filter(object_repr="tampered").count() == 0


@pytest.mark.postgres
def test_secure_audit_refuses_a_superuser_as_the_app_role(db):
    from django.core.management.base import CommandError

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        admin = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="superuser"):
        call_command("secure_audit", app_role=admin, owner_role=OWNER_ROLE)


# --- What was seen: list pages and the calendar feed ---------------------------------------


def test_today_and_the_feed_name_the_patients_they_showed(alice_client, alice, room, patient):
    from mesoclinic.treatment_sessions.scheduling.feeds import feed_create
    from tests.builders import signed_session

    signed_session(alice, room, patient, next_in_days=0)
    alice_client.get(reverse("session_day:today"))
    seen = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS)
    assert seen.get().what == "Viewed today's sessions"

    Client().get(reverse("scheduling:feed", args=[feed_create(owner=alice)]))
    feed = AuditEntry.objects.filter(additional_data__page="calendar feed").get()
    assert feed.additional_data["patient_ids"] == [patient.pk]
    assert feed.actor == alice
