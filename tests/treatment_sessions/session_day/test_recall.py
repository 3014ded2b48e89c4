"""Lot recall: who received a lot, for practitioners, in a fixed number of queries, audited."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Chart, Lot, ProductUse
from mesoclinic.treatment_sessions.session_day.recall import lot_recall, safe_cell
from tests.builders import PatientFactory, active_plan, booked, next_monday

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    return Product.objects.create(name="Lipo Cocktail", manufacturer="MesoLab")


def make_lot(product, number, expires=datetime.date(2027, 6, 30)):
    return Lot.objects.create(product=product, lot_number=number, expires_on=expires)


@pytest.fixture
def sessions(clinic, alice, room):
    """Eight sessions for each of three patients (one with a Turkish name)."""
    patients = [
        PatientFactory(given_name="Ayşe", family_name="Çelik", phone="+90 532 111 22 33"),
        PatientFactory(given_name="Mehmet", family_name="Öztürk"),
        PatientFactory(given_name="Emma", family_name="Clarke", phone=""),
    ]
    result = []
    for hour, patient in zip((9, 12, 15), patients, strict=True):
        plan = active_plan(alice, "cellulite", patient=patient)
        result += list(booked(plan, alice, room, next_monday(), hour=hour).sessions.order_by("sequence"))
    return result


def chart_of(session, by):
    chart = Chart.objects.filter(session=session).first()
    if chart is None:
        chart = Chart.objects.create(
            session=session,
            patient=session.patient,
            technique="nappage",
            depth_mm=Decimal("1.5"),
            needle_gauge=30,
            duration_minutes=30,
            created_by=by,
        )
    return chart


def use(session, lot, by, volume="2.00", signed=False):
    chart = chart_of(session, by)
    product_use = ProductUse.objects.create(chart=chart, lot=lot, volume_ml=Decimal(volume))
    if signed:
        Chart.objects.filter(pk=chart.pk).update(signed_at=timezone.now(), signed_by=by)
    return product_use


def search(client, lot):
    return client.get(reverse("session_day:recall"), {"lot": lot})


# --- Who may search -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["session_day:recall", "session_day:recall_export"])
def test_recall_is_for_practitioners_only(client, sam_client, pat_client, name):
    url = reverse(name)
    assert sam_client.get(url, {"lot": "X"}).status_code == 403
    assert pat_client.get(url, {"lot": "X"}).status_code == 403
    response = client.get(url, {"lot": "X"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_url_names():
    assert reverse("session_day:recall") == "/recall/"
    assert reverse("session_day:recall_export") == "/recall/export.csv"


# --- Searching --------------------------------------------------------------------------------


def test_no_search_yet(alice_client, clinic):
    response = alice_client.get(reverse("session_day:recall"))
    assert response.status_code == 200
    assert "Type a lot number to see who received it." in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS).exists()


def test_no_match(alice_client, sessions, product, alice):
    use(sessions[0], make_lot(product, "ABC123"), alice)
    response = search(alice_client, "ZZZ999")
    assert response.context["recall"].rows == []
    assert "No patient received a lot numbered “ZZZ999”." in response.content.decode()


def test_exact_match_is_case_insensitive_and_trimmed(alice_client, sessions, product, alice):
    lot = make_lot(product, "ABC123")
    first = use(sessions[0], lot, alice, volume="2.50", signed=True)
    second = use(sessions[9], lot, alice)
    response = search(alice_client, "  abc123 ")
    recall = response.context["recall"]
    assert recall.lot == "abc123"
    assert recall.exact == [first, second] and recall.partial == []
    page = response.content.decode()
    assert "Lot ABC123: 2 patients, 2 uses" in page
    ayse = sessions[0].patient
    assert f'href="{ayse.get_absolute_url()}"' in page and "Ayşe Çelik" in page
    assert ayse.date_of_birth.strftime("%-d %b %Y") in page and "+90 532 111 22 33" in page
    assert "session 1 of 8" in page and "Lipo Cocktail (MesoLab)" in page and "30 Jun 2027" in page
    assert "2.50 ml" in page and alice.display_name in page
    assert "Signed" in page and "Not signed" in page


def test_partial_matches_are_listed_apart_and_labelled(alice_client, sessions, product, alice):
    exact = use(sessions[0], make_lot(product, "ABC123"), alice)
    longer = use(sessions[8], make_lot(product, "XABC1234"), alice)
    make_lot(product, "QQQ000")
    response = search(alice_client, "abc123")
    recall = response.context["recall"]
    assert recall.exact == [exact] and recall.partial == [longer]
    page = response.content.decode()
    assert "Partial matches: other lot numbers containing “abc123”" in page
    assert page.index("XABC1234") > page.index("Partial matches")


def test_only_partial_matches(alice_client, sessions, product, alice):
    use(sessions[0], make_lot(product, "ABC1234"), alice)
    response = search(alice_client, "ABC123")
    assert response.context["recall"].exact == [] and len(response.context["recall"].partial) == 1
    assert "No exact match for this lot number." in response.content.decode()


def test_short_searches_match_exactly_only(sessions, product, alice):
    use(sessions[0], make_lot(product, "A1"), alice)
    use(sessions[1], make_lot(product, "A12"), alice)
    recall = lot_recall("a1")
    assert len(recall.exact) == 1 and recall.partial == []


def test_the_same_number_for_two_products(sessions, product, alice):
    other = Product.objects.create(name="Hair Serum")
    use(sessions[0], make_lot(product, "L-77"), alice)
    use(sessions[1], make_lot(other, "l-77"), alice)
    recall = lot_recall("L-77")
    assert len(recall.exact) == 2 and len(recall.lots) == 2


def test_a_constant_number_of_queries(alice_client, sessions, product, alice, django_assert_num_queries):
    use(sessions[0], make_lot(product, "ONE111"), alice)
    many = make_lot(product, "MANY20")
    for session in sessions[:20]:
        use(session, many, alice, signed=session.sequence % 2 == 0)
    search(alice_client, "ONE111")  # warm the caches (clinic, content types, the login session)
    with CaptureQueriesContext(connection) as one:
        assert len(search(alice_client, "ONE111").context["recall"].exact) == 1
    with django_assert_num_queries(len(one.captured_queries)):
        response = search(alice_client, "MANY20")
    assert len(response.context["recall"].exact) == 20


# --- The audit trail ------------------------------------------------------------------------


def test_each_patient_listed_is_audited_once_in_one_query(alice_client, sessions, product, alice):
    lot = make_lot(product, "ABC123")
    for session in sessions[:3] + sessions[8:10]:  # three uses for Ayşe, two for Mehmet
        use(session, lot, alice)
    with CaptureQueriesContext(connection) as queries:
        search(alice_client, "abc123")
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "core_auditentry"')]
    assert len(inserts) == 1
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS, additional_data__page="lot recall abc123")
    assert sorted(entries.values_list("patient_id", flat=True)) == sorted(
        [sessions[0].patient_id, sessions[8].patient_id]
    )
    for entry in entries:
        assert entry.actor == alice and entry.remote_addr == "127.0.0.1"
        assert entry.what == "Viewed lot recall abc123"


def test_partial_matches_are_audited_too(alice_client, sessions, product, alice):
    use(sessions[16], make_lot(product, "ABC1234"), alice)
    search(alice_client, "ABC123")
    assert AuditEntry.objects.filter(patient_id=sessions[16].patient_id, action=AuditEntry.Action.ACCESS).exists()


# --- CSV -----------------------------------------------------------------------------------


def read_csv(response):
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_has_the_same_rows(alice_client, sessions, product, alice):
    lot = make_lot(product, "ABC123")
    use(sessions[0], lot, alice, volume="1.25", signed=True)
    use(sessions[17], make_lot(product, "ABC1239"), alice)
    response = alice_client.get(reverse("session_day:recall_export"), {"lot": " ABC123 "})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="lot-recall-ABC123.csv"'
    assert response["Cache-Control"] == "private, no-store"
    header, first, second = read_csv(response)
    assert header[:4] == ["Match", "Patient", "Date of birth", "Phone"]
    ayse = sessions[0].patient
    assert first[:4] == ["exact", "Ayşe Çelik", ayse.date_of_birth.isoformat(), "'+90 532 111 22 33"]
    assert first[5:] == [
        "1 of 8",
        "Lipo Cocktail (MesoLab)",
        "ABC123",
        "2027-06-30",
        "1.25",
        alice.display_name,
        "yes",
        "no map",
        "",
    ]
    assert second[0] == "partial" and second[1] == "Emma Clarke" and second[3] == "" and second[-3] == "no"
    page = AuditEntry.objects.filter(patient_id=ayse.pk, action=AuditEntry.Action.ACCESS).get()
    assert page.additional_data["page"] == "lot recall ABC123 (CSV export)"


def test_the_csv_defuses_formulas(alice_client, sessions, product, alice):
    patient = sessions[0].patient
    patient.given_name = '=HYPERLINK("http://evil.example","x")'
    patient.save()
    use(sessions[0], make_lot(product, "@SUM(1+1)"), alice)
    _, row = read_csv(alice_client.get(reverse("session_day:recall_export"), {"lot": "@sum(1+1)"}))
    assert row[1] == "'" + patient.display_name
    assert row[7] == "'@SUM(1+1)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+90 532", "'+90 532"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Ayşe", "Ayşe"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_an_empty_export(alice_client, clinic):
    response = alice_client.get(reverse("session_day:recall_export"))
    assert response["Content-Disposition"] == 'attachment; filename="lot-recall-search.csv"'
    assert read_csv(response) == [
        [
            "Match",
            "Patient",
            "Date of birth",
            "Phone",
            "Session date",
            "Session",
            "Product",
            "Lot",
            "Expires",
            "Volume (ml)",
            "Practitioner",
            "Chart signed",
            "Points",
            "Lot in the points (ml)",
        ]
    ]
