"""A second "Sign and lock" (a double click, a stale tab) is answered calmly: the chart was
signed once, by the first, and the page says so. Signing asks for a confirmation first."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from mesoclinic.core.models import AuditEntry
from mesoclinic.treatment_sessions.models import Chart, SessionStatus
from mesoclinic.treatment_sessions.session_day import charting
from tests.treatment_sessions.session_day.test_double_clicks_http import chartable_session, sign_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def chart_url(alice, room):
    session = chartable_session(alice, room)
    return reverse("session_day:chart", args=[session.pk]), session


def signatures(chart):
    """How often the audit trail saw the chart signed."""
    return AuditEntry.objects.get_for_object(chart).filter(changes__has_key="signed_at").count()


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def sign(client, url):
    data = sign_data("")
    del data["csrfmiddlewaretoken"]
    return client.post(url, data)


def test_a_second_sign_post_says_already_signed_and_goes_to_the_session(alice_client, chart_url, alice):
    url, session = chart_url
    first = sign(alice_client, url)
    assert first.status_code == 302
    signed_at = Chart.objects.get(session=session).signed_at

    second = sign(alice_client, url)
    assert second.status_code == 302 and second.url == session.get_absolute_url()
    assert said(second)[-1:] == [charting.ALREADY_SIGNED]
    chart = Chart.objects.get(session=session)
    assert chart.signed_at == signed_at and chart.signed_by == alice
    assert signatures(chart) == 1


def test_a_sign_that_meets_a_chart_signed_meanwhile_is_answered_already_signed(alice_client, chart_url, monkeypatch):
    """The second click loaded the chart before the first committed: the service finds the
    chart signed under its lock, and the page leaves with the same calm message."""
    from mesoclinic.treatment_sessions.session_day import views

    url, session = chart_url
    real = views.ChartForms.for_session
    first_click = []

    def loaded_before_the_first_click_committed(session, data=None, *, existing=None):
        forms = real(session, data, existing=existing)
        if not first_click:
            first_click.append(None)
            first_click[0] = sign(alice_client, url)  # the first click lands now
        return forms

    monkeypatch.setattr(views.ChartForms, "for_session", loaded_before_the_first_click_committed)
    response = sign(alice_client, url)
    assert first_click[0].status_code == 302
    assert response.status_code == 302
    assert said(response)[-1:] == [charting.ALREADY_SIGNED]
    assert Chart.objects.get(session=session).is_signed


def test_signing_asks_the_practitioner_to_confirm_and_a_draft_does_not(alice_client, chart_url):
    url, session = chart_url
    data = sign_data("")
    del data["csrfmiddlewaretoken"]
    del data["confirm_sign"]
    page = alice_client.post(url, data)
    assert page.status_code == 200
    assert "Tick this to sign: signing locks the chart." in page.content.decode()
    assert not Chart.objects.filter(session=session, signed_at__isnull=False).exists()

    draft = alice_client.post(url, {**data, "action": "save"})
    assert draft.status_code == 302
    chart = Chart.objects.get(session=session)
    assert not chart.is_signed
    session.refresh_from_db()
    assert session.status == SessionStatus.SCHEDULED


def test_the_chart_page_offers_the_confirmation_next_to_sign_and_lock(alice_client, chart_url):
    url, _ = chart_url
    page = alice_client.get(url).content.decode()
    assert 'name="confirm_sign"' in page and "I have checked the chart; signing locks it." in page


def test_signing_twice_in_the_service_is_refused_as_already_signed(chart_url, alice):
    _, session = chart_url
    from tests.builders import charted

    chart = charted(session, alice, areas=("thighs",))
    with pytest.raises(charting.ChartAlreadySigned):
        charting.chart_sign(chart=chart, by=alice)
