"""Issue 19: the lot recall page reads one page of the lot's uses (50, in session order) and
counts the whole lot in SQL, so its queries are the same for 1 use as for 50 (or 10,000 at the
chain's scale); the totals, the notice button and the exports still cover the whole lot."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Lot, Reminder, ReminderKind
from mesoclinic.treatment_sessions.session_day.recall import RECALL_PAGE_SIZE, lot_mark_recalled
from tests.builders import PatientFactory, active_plan, booked, next_monday
from tests.treatment_sessions.session_day.test_recall import use

pytestmark = pytest.mark.django_db

PATIENTS = 7  # eight sessions each: 56 uses, a page of 50 and one of 6


@pytest.fixture
def lot(db):
    product = Product.objects.create(name="Lipo Cocktail", manufacturer="MesoLab")
    return Lot.objects.create(product=product, lot_number="HY-20Q3", expires_on=datetime.date(2027, 6, 30))


def treat(lot, alice, room, patients, sessions_each=8, first=0):
    """`patients` patients, each given the lot in `sessions_each` sessions."""
    uses = []
    for n in range(first, first + patients):
        patient = PatientFactory(given_name=f"Patient{n}", family_name="Recall", phone="+90 532 111 22 33")
        plan = active_plan(alice, "cellulite", patient=patient)
        series = booked(plan, alice, room, next_monday(), hour=9 + n % 8)
        for session in list(series.sessions.order_by("sequence"))[:sessions_each]:
            uses.append(use(session, lot, alice))
    return uses


def page(client, **data):
    response = client.get(reverse("session_day:recall"), {"lot": "hy 20q3", **data})
    assert response.status_code == 200
    return response


def page_queries(client):
    page(client)  # fills the per-process caches (the clinic's zone, content types)
    with CaptureQueriesContext(connection) as captured:
        page(client)
    return len(captured)


def test_recall_page_queries_are_the_same_for_1_and_50_uses(alice_client, alice, room, lot):
    treat(lot, alice, room, 1, sessions_each=1)
    one = page_queries(alice_client)
    treat(lot, alice, room, PATIENTS, first=1)
    assert page_queries(alice_client) == one


def test_recall_pages_both_ways_with_the_whole_lots_totals(alice_client, alice, room, lot):
    uses = treat(lot, alice, room, PATIENTS)
    first = page(alice_client)
    recall = first.context["recall"]
    assert len(recall.exact) == RECALL_PAGE_SIZE and recall.earlier is None and recall.later
    assert (recall.exact_use_count, recall.exact_patient_count) == (56, PATIENTS)
    html = first.content.decode()
    assert "56 uses" in html and f"{PATIENTS} patients" in html

    later = page(alice_client, after=recall.later)
    rest = later.context["recall"]
    assert len(rest.exact) == 56 - RECALL_PAGE_SIZE and rest.later is None and rest.earlier
    assert (rest.exact_use_count, rest.exact_patient_count) == (56, PATIENTS)  # on every page
    seen = [u.pk for u in recall.exact] + [u.pk for u in rest.exact]
    assert sorted(seen) == sorted(u.pk for u in uses)  # each use once, none missed
    starts = [u.chart.session.starts_at for u in recall.exact + rest.exact]
    assert starts == sorted(starts)  # session order, across the pages

    back = page(alice_client, before=rest.earlier).context["recall"]
    assert [u.pk for u in back.exact] == [u.pk for u in recall.exact]
    assert "56 uses" in later.content.decode()


def test_the_page_audits_the_patients_it_shows(alice_client, alice, room, lot):
    treat(lot, alice, room, PATIENTS)
    recall = page(alice_client).context["recall"]
    rest = page(alice_client, after=recall.later).context["recall"]
    shown = {u.chart.session.patient_id for u in rest.exact}
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.ACCESS, additional_data__page="lot recall hy 20q3")
    last = entries.order_by("-timestamp", "-id")[: len(shown)]
    assert {entry.patient_id for entry in last} == shown
    assert entries.count() == len({u.chart.session.patient_id for u in recall.exact}) + len(shown)


def test_contact_counts_and_the_notice_cover_the_whole_lot(alice_client, alice, room, lot):
    treat(lot, alice, room, PATIENTS)
    lot_mark_recalled(lot=lot, reason="Sterility", by=alice)
    recall = page(alice_client).context["recall"]
    on_last = page(alice_client, after=recall.later)
    (group,) = on_last.context["contacts"]
    assert group.patient_count == group.to_notify_count == PATIENTS and group.notified_count == 0
    assert len(group.contacts) == len({u.chart.session.patient_id for u in on_last.context["recall"].exact})
    assert f"Send the recall notice ({PATIENTS} patients)" in on_last.content.decode()

    posted = alice_client.post(reverse("session_day:recall") + "?lot=HY-20Q3", {"action": "notify", "lot_id": lot.pk})
    assert posted.status_code == 302
    assert Reminder.objects.filter(kind=ReminderKind.RECALL).count() == PATIENTS  # all, not a page's
    (group,) = page(alice_client).context["contacts"]
    assert (group.notified_count, group.to_notify_count) == (PATIENTS, 0) and group.notice_sent_at


def test_the_exports_stay_whole(alice_client, alice, room, lot):
    treat(lot, alice, room, PATIENTS)
    url = reverse("session_day:recall_export")
    rows = list(csv.reader(io.StringIO(alice_client.get(url, {"lot": "HY-20Q3"}).content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 56
    contacts = alice_client.get(url, {"lot": "HY-20Q3", "list": "contacts"}).content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(contacts)))) == 1 + PATIENTS
    assert re.search(r"Patient6", contacts)
