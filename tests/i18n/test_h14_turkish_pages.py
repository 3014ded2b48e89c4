"""The sessions and aftercare pages of the staff app, read by a Turkish-speaking practitioner
and clinic admin: every word from the catalogue, dates in Turkish, progress as "3 / 8", the
clinical labels (indications, adverse events) from the knowledge base's own Turkish.

These assert on Turkish the catalogue carries once the lead merges /tmp/h/h14/tr.po."""

import datetime

import pytest
from django.urls import reverse
from django.utils import formats, translation

from mesoclinic.core.selectors import clinic_today
from mesoclinic.treatment_sessions.models import AdverseEvent, AdverseEventType, Chart
from mesoclinic.treatment_sessions.status import booking_refusal
from tests.builders import (
    PatientFactory,
    active_plan,
    booked,
    booked_long_ago,
    charted,
    moment,
    next_monday,
    plan_for,
    rechecked,
    session_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def turkish(alice, sam):
    """Alice (practitioner) and Sam (clinic admin) read the app in Turkish."""
    for user in (alice, sam):
        user.language = "tr"
        user.save(update_fields=["language"])


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Language"] == "tr"
    return response.content.decode()


def _bruising_due(session, alice, on):
    chart = Chart.objects.create(
        session=session,
        patient=session.patient,
        technique="nappage",
        depth_mm=1,
        needle_gauge=32,
        duration_minutes=30,
        created_by=alice,
    )
    AdverseEvent.objects.create(
        chart=chart, type=AdverseEventType.objects.get(code="bruising"), severity="mild", follow_up_on=on
    )


def test_today_reads_in_turkish_with_progress_as_three_of_eight_and_badges_translated(
    turkish, alice_client, clinic, alice, room
):
    plan = active_plan(alice, "cellulite")
    earlier = session_at(plan, alice, room, moment(clinic_today() - datetime.timedelta(days=8), 10))
    _bruising_due(earlier, alice, on=clinic_today() - datetime.timedelta(days=1))
    session_at(plan, alice, room, moment(clinic_today(), 23))
    html = _page(alice_client, reverse("session_day:today"))
    assert "Haftam" in html  # "My week"
    assert f"Seans 2 / {plan.sessions_planned}" in html  # "Session 2 of 8", the "3 / 8" form
    assert "Takip zamanı: morarma" in html  # the badge, with the adverse event's Turkish label
    assert "Teyit edilecek hazırlıklar" in html
    with translation.override("tr"):
        assert formats.date_format(clinic_today(), "j F Y") in html  # "8 Aralık 2026"
    for english in ("Session 2 of", "Follow-up due", "My week", "bruising"):
        assert english not in html


def test_the_same_today_page_stays_english_for_an_english_reader(alice_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    session_at(plan, alice, room, moment(clinic_today(), 23))
    html = alice_client.get(reverse("session_day:today")).content.decode()
    assert f"Session 1 of {plan.sessions_planned}" in html and "My week" in html
    assert "Haftam" not in html


def test_a_signed_session_page_reads_in_turkish(turkish, alice_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    session = booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), 23)))
    rechecked(session, alice)
    charted(session, alice, events=("bruising",))
    html = _page(alice_client, session.get_absolute_url())
    for turkish_words in (
        "Seans günü yeniden kontrol",  # Re-check on the day
        "Seans kaydı",  # Chart
        "Yan etkiler",  # Adverse events
        "Morarma (hafif)",  # the event's Turkish label and severity
        "Seans dizisi",  # The series
        "Değişiklikler",  # Changes
        "Tamamlandı",  # Completed
        "Ek not ekle",  # Add addendum
    ):
        assert turkish_words in html, turkish_words
    for english in ("The series", "Adverse events", "Add addendum", "Completed"):
        assert english not in html


def test_the_calendar_names_weekdays_and_months_in_turkish(turkish, sam_client, clinic, alice, room):
    monday = next_monday()
    booked(active_plan(alice, "cellulite"), alice, room, monday)
    html = _page(sam_client, reverse("scheduling:calendar") + f"?practitioner={alice.pk}&date={monday}")
    with translation.override("tr"):
        heading = formats.date_format(monday, "D j M")  # "Pzt 7 Ara"
        sunday = formats.date_format(monday + datetime.timedelta(days=6), "j M Y")
    assert heading in html and sunday in html
    assert "haftası" in html  # "Week of …"
    assert "Randevusu verilecek planlar" in html  # Plans to book
    assert "Planlandı" in html  # the legend's Scheduled
    for english in ("Week of", "Plans to book", "Click an empty slot"):
        assert english not in html


def test_booking_a_series_reads_in_turkish(turkish, sam_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    html = _page(sam_client, reverse("scheduling:book", args=[plan.pk]))
    assert "Seans dizisi için randevu" in html
    assert "Öneri" in html  # Proposal
    assert "Selülit" in html  # the indication's Turkish label
    assert "Propose again" not in html and "Book a series" not in html


def test_lot_recall_and_its_plurals_read_in_turkish(turkish, alice_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    session = booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), 23)))
    rechecked(session, alice)
    charted(session, alice)
    html = _page(alice_client, reverse("session_day:recall") + "?lot=HB1")
    assert "Lot geri çağırma" in html
    assert "1 hasta, 1 uygulama" in html  # "1 patient, 1 use", through the plural forms
    assert "Tam eşleşmeler" in html and "İmzalı" in html


def test_a_draft_plan_is_refused_in_the_readers_language(alice, clinic):
    plan = plan_for(PatientFactory(), alice, "cellulite")
    with translation.override("tr"):
        assert booking_refusal(plan).startswith("Yalnızca etkin bir plana randevu verilebilir")
    assert booking_refusal(plan).startswith("Only an active plan can be booked")
