"""Issue 19: the front desk's and the session day's pages (the week calendar, Today, the plans
to book, the outbox, lot recall) cost the same number of queries with 1 row as with 50: no query
per row, and no COUNT(*) or sort over the whole history (the outbox's history is paged along an
index; see treatment_sessions.reminders.selectors)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import Clinic
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus, TreatmentSession
from mesoclinic.treatment_sessions.reminders.selectors import PER_PAGE
from tests.builders import PatientFactory, active_plan, moment, session_at
from tests.treatment_sessions.session_day.test_recall import make_lot, use

pytestmark = pytest.mark.django_db

MANY = 50


def _count(client, url, data=None):
    """The page's queries, after a first request that fills the per-process caches."""
    assert client.get(url, data).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200
    return response, len(captured)


def _sessions(alice, room, starts):
    """One session per start, each of its own patient and plan (as a clinic day has them)."""
    Clinic.objects.update(consent_requires_signature=False)
    return [session_at(active_plan(alice, "cellulite"), alice, room, start, minutes=10) for start in starts]


def _week_starts(monday, n):
    """`n` starts in the week of `monday`, eight a day from 8:00, every hour."""
    return [moment(monday + datetime.timedelta(days=k // 8), 8 + k % 8) for k in range(n)]


def test_the_week_calendar_runs_the_same_queries_for_1_and_50_sessions(sam_client, clinic, alice, room):
    monday = clinic_today() - datetime.timedelta(days=clinic_today().weekday())
    url = reverse("scheduling:calendar")
    data = {"view": "week", "by": "practitioner", "practitioner": alice.pk, "date": monday.isoformat()}
    _sessions(alice, room, _week_starts(monday, 1))
    one, queries_one = _count(sam_client, url, data)
    assert len(one.context["placed"]) == 1
    _sessions(alice, room, _week_starts(monday, MANY)[1:])
    # History before the week (a year ago) is not read, nor shown.
    _sessions(alice, room, [moment(monday - datetime.timedelta(weeks=52), 9)])
    many, queries_many = _count(sam_client, url, data)
    assert len(many.context["placed"]) == MANY
    assert queries_many == queries_one


def test_the_calendar_shows_a_session_that_began_before_the_week(sam_client, clinic, alice, room):
    """The week's sessions are those that take any part of it (a range overlap on PostgreSQL):
    one from Sunday 23:30 to Monday 00:30 is on Monday's column too."""
    monday = clinic_today() - datetime.timedelta(days=clinic_today().weekday())
    [late] = _sessions(alice, room, [moment(monday - datetime.timedelta(days=1), 23, 30)])
    TreatmentSession.objects.filter(pk=late.pk).update(ends_at=moment(monday, 0, 30))
    data = {"view": "week", "by": "practitioner", "practitioner": alice.pk, "date": monday.isoformat()}
    placed = sam_client.get(reverse("scheduling:calendar"), data).context["placed"]
    assert [item.session.pk for item in placed] == [late.pk]
    week_before = {**data, "date": (monday - datetime.timedelta(days=7)).isoformat()}
    assert [
        item.session.pk for item in sam_client.get(reverse("scheduling:calendar"), week_before).context["placed"]
    ] == [late.pk]


def test_today_runs_the_same_queries_for_1_and_50_sessions(alice_client, clinic, alice, room):
    today = clinic_today()
    starts = [moment(today, 8) + datetime.timedelta(minutes=10 * n) for n in range(MANY)]
    _sessions(alice, room, starts[:1])
    one, queries_one = _count(alice_client, reverse("session_day:today"))
    assert len(one.context["rows"]) == 1
    _sessions(alice, room, starts[1:])
    many, queries_many = _count(alice_client, reverse("session_day:today"))
    assert len(many.context["rows"]) == MANY
    assert queries_many == queries_one


def test_the_plans_to_book_run_the_same_queries_for_1_and_50_plans(sam_client, clinic, alice):
    Clinic.objects.update(consent_requires_signature=False)
    active_plan(alice, "cellulite")
    one, queries_one = _count(sam_client, reverse("scheduling:to_book"))
    assert len(one.context["plans"]) == 1
    for _ in range(MANY - 1):
        active_plan(alice, "cellulite")
    many, queries_many = _count(sam_client, reverse("scheduling:to_book"))
    assert many.context["page"].paginator.count == MANY
    assert queries_many == queries_one


def _reminders(n, status, start=0):
    patient = PatientFactory()
    now = timezone.now()
    Reminder.objects.bulk_create(
        Reminder(
            key=f"appointment:{status}:{k}",
            patient=patient,
            kind=ReminderKind.APPOINTMENT,
            due_at=now + datetime.timedelta(minutes=k if status == ReminderStatus.PENDING else -k),
            sent_at=now - datetime.timedelta(minutes=k) if status == ReminderStatus.SENT else None,
            status=status,
        )
        for k in range(start, start + n)
    )


@pytest.mark.parametrize("status", ["", "pending", "sent", "failed", "cancelled"])
def test_the_outbox_runs_the_same_queries_for_1_and_50_reminders(sam_client, clinic, status):
    data = {"status": status} if status else {}
    for value in ReminderStatus.values:
        _reminders(1, value)
    _one, queries_one = _count(sam_client, reverse("reminders:outbox"), data)
    for value in ReminderStatus.values:
        _reminders(MANY - 1, value, start=1)
    many, queries_many = _count(sam_client, reverse("reminders:outbox"), data)
    assert len(many.context["rows"]) == PER_PAGE
    assert queries_many == queries_one


def test_the_outbox_history_is_paged_newest_first_without_counting_it(sam_client, clinic):
    """The history (sent, cancelled) is never counted: a page of it reads one row more than it
    shows, along the index, and links to the older ones, keeping the status filter."""
    _reminders(2 * PER_PAGE + 20, ReminderStatus.SENT)
    url = reverse("reminders:outbox")
    with CaptureQueriesContext(connection) as captured:
        first = sam_client.get(url, {"status": "sent"})
    counting = [q["sql"] for q in captured if "COUNT(" in q["sql"]]
    assert counting and all("'sent'" not in sql for sql in counting)
    rows = first.context["rows"]
    assert len(rows) == PER_PAGE and rows[0].key == "appointment:sent:0"
    older = first.context["history"].older
    assert f"?status=sent&amp;before={older}" in first.content.decode()
    second_page = sam_client.get(url, {"status": "sent", "before": older})
    second = second_page.context["rows"]
    assert second[0].key == f"appointment:sent:{PER_PAGE}" and len(second) == PER_PAGE
    last = sam_client.get(url, {"status": "sent", "before": second_page.context["history"].older})
    assert [r.key for r in last.context["rows"]] == [
        f"appointment:sent:{k}" for k in range(2 * PER_PAGE, 2 * PER_PAGE + 20)
    ]
    assert last.context["history"].older is None


def test_lot_recall_runs_the_same_queries_for_1_and_50_uses(alice_client, clinic, alice, room):
    lot = make_lot(Product.objects.create(name="Lipo Cocktail", manufacturer="MesoLab"), "HG-2611")
    starts = [moment(clinic_today() - datetime.timedelta(days=1 + n), 10) for n in range(MANY)]
    sessions = _sessions(alice, room, starts)
    use(sessions[0], lot, alice)
    one, queries_one = _count(alice_client, reverse("session_day:recall"), {"lot": "HG2611"})
    assert len(one.context["recall"].exact) == 1
    for session in sessions[1:]:
        use(session, lot, alice)
    many, queries_many = _count(alice_client, reverse("session_day:recall"), {"lot": "HG2611"})
    assert len(many.context["recall"].exact) == MANY
    assert queries_many == queries_one
