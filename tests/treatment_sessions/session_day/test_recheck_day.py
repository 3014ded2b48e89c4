"""The re-check belongs to the day of the session, in the clinic's own time: not the evening
before, not the day after. A re-check of another day is history, not this session's re-check,
and charting waits for the session's day. The re-check page updates its findings live and
keeps every decision the practitioner made across the updates."""

import datetime
import zoneinfo

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesoclinic.core.selectors import clinic_today
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.treatment_sessions.models import Chart, TreatmentSession
from mesoclinic.treatment_sessions.session_day import charting, recheck
from tests.builders import (
    CHART_VALUES,
    active_plan,
    booked_long_ago,
    moment,
    rechecked,
    session_at,
)

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo("Europe/London")
ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")
DAY = datetime.date(2026, 3, 18)  # a Wednesday, away from the clocks changing


def at(day, hour, minute=0, zone=LONDON):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)


def a_session(alice, room, start, indication="cellulite", medications=()):
    """A session at `start` for a patient screened and booked ten days before it."""
    plan = active_plan(alice, indication, answers={"medications": list(medications)})
    return booked_long_ago(session_at(plan, alice, room, start))


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The rule, at the edges of the clinic's day ----------------------------------------------


@pytest.mark.parametrize("hour, minute", [(0, 30), (23, 30)])
def test_a_re_check_is_accepted_from_the_first_to_the_last_minute_of_the_sessions_day(
    clinic, alice, room, hour, minute
):
    session = a_session(alice, room, at(DAY, hour, minute))
    before = recheck.recheck_refusal(session, now=at(DAY - datetime.timedelta(days=1), 23, 59))
    assert "cannot be done earlier" in before and "Wednesday 18 March 2026" in before
    assert recheck.recheck_refusal(session, now=at(DAY, 0, 0)) == ""
    assert recheck.recheck_refusal(session, now=at(DAY, 23, 59)) == ""
    after = recheck.recheck_refusal(session, now=at(DAY + datetime.timedelta(days=1), 0, 0))
    assert "has passed" in after


@pytest.mark.parametrize("hour, minute", [(0, 30), (23, 30)])
def test_charting_waits_for_the_sessions_day(clinic, alice, room, hour, minute):
    session = a_session(alice, room, at(DAY, hour, minute))
    allowed, reason = recheck.may_chart(session, now=at(DAY - datetime.timedelta(days=1), 23, 59))
    assert not allowed and "it can be charted from that day" in reason
    allowed, reason = recheck.may_chart(session, now=at(DAY, 0, 0))
    assert not allowed and reason == "Do the re-check on the day before charting."  # the day has come


def test_the_day_is_the_clinics_day_in_istanbul(clinic, alice, room):
    """00:30 in Istanbul is 21:30 the evening before in London (and UTC): the Istanbul clinic's
    day starts at its own midnight, three hours before London's."""
    clinic.timezone = "Europe/Istanbul"
    clinic.save()
    session = a_session(alice, room, at(DAY, 0, 30, zone=ISTANBUL))
    assert recheck.session_date(session) == DAY
    assert recheck.session_date(session, zone=LONDON) == DAY - datetime.timedelta(days=1)
    midnight = at(DAY, 0, 0, zone=ISTANBUL)
    assert recheck.recheck_refusal(session, now=midnight) == ""
    assert recheck.recheck_refusal(session, now=midnight - datetime.timedelta(minutes=1)) != ""
    # 20:00 UTC the day before is 23:00 in Istanbul: not yet the day there, though a London
    # clock would put this session (21:30 London) on the same evening.
    evening = datetime.datetime.combine(DAY - datetime.timedelta(days=1), datetime.time(20), tzinfo=datetime.UTC)
    assert "cannot be done earlier" in recheck.recheck_refusal(session, now=evening)
    assert recheck.recheck_refusal(session, now=evening, zone=LONDON) == ""
    assert recheck.recheck_refusal(session, now=at(DAY, 23, 59, zone=ISTANBUL)) == ""
    assert "has passed" in recheck.recheck_refusal(
        session, now=at(DAY, 23, 59, zone=ISTANBUL) + datetime.timedelta(minutes=1)
    )


# --- The same rule through the service, now ----------------------------------------------------


def test_a_session_tomorrow_at_half_past_midnight_cannot_be_re_checked_today(clinic, alice, room):
    session = a_session(alice, room, moment(clinic_today() + datetime.timedelta(days=1), 0, 30))
    with pytest.raises(ValidationError, match="cannot be done earlier"):
        rechecked(session, alice)
    session.refresh_from_db()
    assert session.recheck is None


@pytest.mark.parametrize("hour, minute", [(0, 30), (23, 30)])
def test_a_session_today_is_re_checked_early_or_late_in_the_day(clinic, alice, room, hour, minute):
    session = a_session(alice, room, moment(clinic_today(), hour, minute))
    recorded = rechecked(session, alice)
    session.refresh_from_db()
    assert session.recheck == recorded and recheck.is_for_the_day(session)
    assert recheck.may_chart(session) == (True, "")


def test_a_session_of_yesterday_evening_is_not_re_checked_today(clinic, alice, room):
    session = a_session(alice, room, moment(clinic_today() - datetime.timedelta(days=1), 23, 30))
    with pytest.raises(ValidationError, match="has passed"):
        rechecked(session, alice)


# --- The pages ---------------------------------------------------------------------------------


@pytest.fixture
def tomorrows_session(clinic, alice, room):
    return a_session(alice, room, moment(clinic_today() + datetime.timedelta(days=1), 10))


ANSWERS = {"pregnant": "no", "breastfeeding": "no", "infection_at_site": "no", "feeling_well": "yes"}


def test_the_re_check_page_of_tomorrows_session_sends_back_to_the_session_with_the_reason(
    alice_client, tomorrows_session
):
    url = reverse("session_day:recheck", args=[tomorrows_session.pk])
    response = alice_client.get(url)
    assert response.status_code == 302 and response.url == tomorrows_session.get_absolute_url()
    assert "it cannot be done earlier" in said(response)[0]
    page = alice_client.get(tomorrows_session.get_absolute_url()).content.decode()
    assert "it cannot be done earlier" in page
    assert "Start the re-check" not in page


def test_a_crafted_re_check_post_for_tomorrow_records_nothing(alice_client, tomorrows_session):
    url = reverse("session_day:recheck", args=[tomorrows_session.pk])
    response = alice_client.post(url, {**ANSWERS, "action": "save"})
    assert response.status_code == 302
    assert not Screening.objects.filter(patient=tomorrows_session.patient, kind="recheck").exists()
    live = alice_client.post(reverse("session_day:recheck_evaluate", args=[tomorrows_session.pk]), ANSWERS)
    assert live.status_code == 200 and "it cannot be done earlier" in live.content.decode()


def test_tomorrows_session_cannot_be_charted_not_even_by_a_crafted_post(alice_client, alice, clinic, room):
    """Even with a re-check: made this morning, and the session moved to tomorrow since."""
    tomorrows_session = a_session(alice, room, moment(clinic_today(), 9))
    rechecked(tomorrows_session, alice)
    day = datetime.timedelta(days=1)
    TreatmentSession.objects.filter(pk=tomorrows_session.pk).update(
        starts_at=tomorrows_session.starts_at + day, ends_at=tomorrows_session.ends_at + day
    )
    tomorrows_session.refresh_from_db()
    url = reverse("session_day:chart", args=[tomorrows_session.pk])
    response = alice_client.get(url)
    assert response.status_code == 302
    assert "it can be charted from that day" in said(response)[0]
    data = {
        **{name: str(value) for name, value in CHART_VALUES.items()},
        "action": "sign",
        "confirm_sign": "on",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "thighs",
        "areas-0-volume_ml": "2",
        "products-TOTAL_FORMS": "0",
        "products-INITIAL_FORMS": "0",
    }
    response = alice_client.post(url, data)
    assert response.status_code == 302 and "it can be charted from that day" in said(response)[0]
    assert not Chart.objects.filter(session=tomorrows_session).exists()
    with pytest.raises(ValidationError, match="it can be charted from that day"):
        charting.chart_save(
            session=tomorrows_session, by=alice, values=CHART_VALUES, areas=[], products=[], events=[], measurements=[]
        )


# --- A re-check of an earlier day ----------------------------------------------------------------


@pytest.fixture
def rechecked_the_evening_before(clinic, alice, room):
    """Today's session, whose re-check was made yesterday at 23:30 (before the rule, or before
    the session was moved to today)."""
    session = a_session(alice, room, moment(clinic_today(), 0, 30))
    check = rechecked(session, alice)
    Screening.objects.filter(pk=check.pk).update(
        recorded_at=moment(clinic_today() - datetime.timedelta(days=1), 23, 30)
    )
    session.refresh_from_db()
    return session


def test_a_re_check_of_the_evening_before_does_not_count(rechecked_the_evening_before):
    session = rechecked_the_evening_before
    assert not recheck.is_for_the_day(session)
    allowed, reason = recheck.may_chart(session)
    assert not allowed and "was not made on the day of this session" in reason


def test_the_pages_ask_for_a_fresh_re_check_and_show_the_old_one_as_history(
    alice_client, alice, rechecked_the_evening_before
):
    session = rechecked_the_evening_before
    page = alice_client.get(session.get_absolute_url()).content.decode()
    assert "Start the re-check" in page and "Re-check again" not in page
    assert "History: a re-check of" in page and "it does not count for this session" in page
    assert "Chart the session" not in page
    row = alice_client.get(reverse("session_day:today")).context["rows"][0]
    assert ("info", "Holds to confirm (re-check)") in row["badges"]
    form = alice_client.get(reverse("session_day:recheck", args=[session.pk])).content.decode()
    assert "before the day of this session: it does not count for today" in form

    fresh = rechecked(session, alice)
    session.refresh_from_db()
    assert session.recheck == fresh and recheck.may_chart(session) == (True, "")
    page = alice_client.get(session.get_absolute_url()).content.decode()
    assert "History: a re-check of" not in page and "Chart the session" in page
    row = alice_client.get(reverse("session_day:today")).context["rows"][0]
    assert ("info", "Holds to confirm (re-check)") not in row["badges"]


def test_a_session_moved_to_another_day_needs_a_new_re_check(clinic, alice, room):
    session = a_session(alice, room, moment(clinic_today(), 12))
    rechecked(session, alice)
    TreatmentSession.objects.filter(pk=session.pk).update(
        starts_at=session.starts_at + datetime.timedelta(days=1), ends_at=session.ends_at + datetime.timedelta(days=1)
    )
    session.refresh_from_db()
    assert not recheck.is_for_the_day(session)
    assert not recheck.may_chart(session)[0]


# --- Live findings ---------------------------------------------------------------------------------


@pytest.fixture
def ibuprofen_today(clinic, alice, room):
    """Today's session for a patient screened with ibuprofen: the NSAID and alcohol holds."""
    return a_session(alice, room, moment(clinic_today(), 12), medications=["ibuprofen"])


def evaluate(client, session, data):
    return client.post(reverse("session_day:recheck_evaluate", args=[session.pk]), data)


def test_the_findings_wait_for_every_answer_and_say_which_are_missing(alice_client, ibuprofen_today):
    response = evaluate(alice_client, ibuprofen_today, {"pregnant": "no"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Still to answer" in content and "Feeling well today?" in content
    assert "Pregnant now, or may be?" not in content
    assert "This field is required" not in content  # not an error: the practitioner is still asking


def test_the_findings_update_with_the_answers_and_keep_the_decisions_sent(alice_client, ibuprofen_today):
    kept = {**ANSWERS, "hold_nsaid-hold:ibuprofen": "kept", "hold_alcohol-hold": "kept"}
    clear = evaluate(alice_client, ibuprofen_today, kept)
    assert clear.context["result"]["verdict"] == "clear"

    broken = {**kept, "hold_nsaid-hold:ibuprofen": "broken"}
    caution = evaluate(alice_client, ibuprofen_today, broken)
    assert caution.context["result"]["verdict"] == "caution"
    assert "hold-not-kept-nsaid" in caution.context["pending"]
    box = 'name="ack_hold-not-kept-nsaid"'
    assert box in caution.content.decode()
    assert "1 new since the screening needs a decision" in caution.content.decode()

    # Ticked, then another answer changes (an infection at the site: critical, overridable).
    ticked = {**broken, "ack_hold-not-kept-nsaid": "on", "infection_at_site": "yes"}
    again = evaluate(alice_client, ibuprofen_today, ticked)
    content = again.content.decode()
    assert again.context["result"]["verdict"] == "defer"
    assert f'{box} id="id_ack_hold-not-kept-nsaid" checked' in content
    assert 'name="override_active-skin-infection"' in content

    chosen = {
        **ticked,
        "override_active-skin-infection": "site_excluded",
        "override_active-skin-infection_site": "face",
    }
    chosen["override_active-skin-infection_comment"] = "Cold sore on the lip; treating the thighs."
    later = evaluate(alice_client, ibuprofen_today, {**chosen, "feeling_well": "yes"}).content.decode()
    assert '<option value="site_excluded" selected>' in later
    assert 'value="Cold sore on the lip; treating the thighs."' in later
    assert f'{box} id="id_ack_hold-not-kept-nsaid" checked' in later

    saved = alice_client.post(reverse("session_day:recheck", args=[ibuprofen_today.pk]), {**chosen, "action": "save"})
    assert saved.status_code == 302
    ibuprofen_today.refresh_from_db()
    assert ibuprofen_today.recheck.outcome == Outcome.OVERRIDDEN


def test_a_live_update_never_saves(alice_client, ibuprofen_today):
    data = {**ANSWERS, "hold_nsaid-hold:ibuprofen": "kept", "hold_alcohol-hold": "kept", "action": "save"}
    assert evaluate(alice_client, ibuprofen_today, data).status_code == 200
    ibuprofen_today.refresh_from_db()
    assert ibuprofen_today.recheck is None


def test_only_a_practitioner_gets_the_live_findings_and_only_by_post(
    alice_client, sam_client, pat_client, ibuprofen_today
):
    url = reverse("session_day:recheck_evaluate", args=[ibuprofen_today.pk])
    assert sam_client.post(url, ANSWERS).status_code == 403
    assert pat_client.post(url, ANSWERS).status_code == 404
    assert alice_client.get(url).status_code == 405
