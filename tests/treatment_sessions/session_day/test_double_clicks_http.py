"""Double clicks over real HTTP: gunicorn with several workers on PostgreSQL, threads firing
the same POST at once with the practitioner's session cookie and CSRF token.

Each trial is a fresh session (or plan); the figures of every trial are printed, so a run with
MESOCLINIC_DOUBLE_CLICK_TRIALS=5 reports how often a trial went wrong.
"""

import http.cookiejar
import os
import re
import threading
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from mesoclinic.core.models import AuditEntry
from mesoclinic.plans.demo import demo_signature
from mesoclinic.plans.models import Consent, Plan, PlanStatus
from mesoclinic.treatment_sessions.models import Chart, SessionStatus, TreatmentSession
from tests.builders import (
    PatientFactory,
    booked_long_ago,
    consented,
    covering,
    plan_for,
    rechecked,
    screened,
    session_at,
)
from tests.core.test_worker import database_url
from tests.test_fault_tolerance import Browser, Server
from tests.treatment_sessions.session_day.test_session_day import later_today

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TRIALS = int(os.environ.get("MESOCLINIC_DOUBLE_CLICK_TRIALS", "2"))
PASSWORD = "a long clinic password"
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
PORT = int(os.environ.get("MESOCLINIC_DOUBLE_CLICK_PORT", "8457"))


@pytest.fixture
def server(alice, clinic):
    # The server hashes as production does, not with the tests' fast hasher.
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt")
    alice.save()
    with Server(database_url(), BROKER_URL, workers=4, port=PORT) as running:
        yield running


class NotFollowing(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer to look at


class Clicker(Browser):
    """The test's browser, seeing redirects as they come rather than following them."""

    def __init__(self, base):
        super().__init__(base)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NotFollowing()
        )


def logged_in(server):
    browser = Clicker(server.url)
    status, _ = browser.log_in("alice", PASSWORD)
    assert status == 302
    return browser


def csrf_token(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def all_at_once(browser, path, data, clicks):
    """`clicks` threads POST `data` to `path` at the same moment; their status codes."""
    start = threading.Barrier(clicks)
    statuses = [None] * clicks

    def click(index):
        start.wait()
        statuses[index], _ = browser.post(path, data)

    threads = [threading.Thread(target=click, args=(index,)) for index in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def chartable_session(alice, room, number=0):
    """A cellulite session in an hour (and 50 minutes later for each `number`; as long before
    now late in the evening), re-checked and ready to chart."""
    from mesoclinic.plans.services import plan_activate

    patient = PatientFactory()
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    # On the clinic's today, whatever the hour: charting belongs to the session's day.
    start = later_today(60 + 50 * number)
    session = booked_long_ago(session_at(plan, alice, room, start))
    rechecked(session, alice)
    return session


def sign_data(token):
    return {
        "csrfmiddlewaretoken": token,
        "technique": "nappage",
        "depth_mm": "4.0",
        "needle_gauge": "30",
        "anaesthetic": "none",
        "duration_minutes": "40",
        "notes": "",
        "action": "sign",
        "confirm_sign": "on",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "thighs",
        "areas-0-volume_ml": "2",
        "products-TOTAL_FORMS": "0",
        "products-INITIAL_FORMS": "0",
    }


def signatures(chart):
    """How often the audit trail saw the chart signed."""
    return AuditEntry.objects.get_for_object(chart).filter(changes__has_key="signed_at").count()


def report(what, trials):
    for number, statuses in enumerate(trials, start=1):
        errors = sum(1 for status in statuses if status is None or status >= 500)
        print(f"{what} trial {number}: statuses {sorted(statuses, key=str)}, 5xx or no answer: {errors}")


def test_ten_simultaneous_sign_posts_sign_the_chart_once_and_none_fails(server, alice, room):
    browser = logged_in(server)
    trials = []
    for number in range(TRIALS):
        session = chartable_session(alice, room, number)
        path = reverse("session_day:chart", args=[session.pk])
        status, page = browser.get(path)
        assert status == 200, page
        trials.append(all_at_once(browser, path, sign_data(csrf_token(page)), clicks=10))
        chart = Chart.objects.get(session=session)
        assert chart.is_signed and chart.signed_by == alice
        assert signatures(chart) == 1
        assert TreatmentSession.objects.get(pk=session.pk).status == SessionStatus.COMPLETED
    report("sign", trials)
    assert all(status is not None and status < 500 for statuses in trials for status in statuses), trials
    assert all(status == 302 for statuses in trials for status in statuses), trials


def test_simultaneous_consent_and_activation_posts_give_one_consent_and_one_activation(server, alice):
    browser = logged_in(server)
    consent_trials, activate_trials = [], []
    for _ in range(TRIALS):
        patient = PatientFactory()
        plan = plan_for(patient, alice, "cellulite")
        screened(patient, alice, **covering(plan))
        path = reverse("plans:consent_sign", args=[plan.pk])
        status, page = browser.get(path)
        assert status == 200, page
        data = {
            "csrfmiddlewaretoken": csrf_token(page),
            "document_sha256": re.search(r'name="document_sha256" value="([^"]+)"', page).group(1),
            "signed_name": patient.display_name,
            "confirmed": "on",
            "photo_consent": "no",
            "signature": demo_signature(),
        }
        consent_trials.append(all_at_once(browser, path, data, clicks=5))
        assert Consent.objects.filter(plan=plan).count() == 1

        activate_trials.append(
            all_at_once(
                browser,
                reverse("plans:activate", args=[plan.pk]),
                {"csrfmiddlewaretoken": data["csrfmiddlewaretoken"]},
                5,
            )
        )
        plan = Plan.objects.get(pk=plan.pk)
        assert plan.status == PlanStatus.ACTIVE
    report("consent", consent_trials)
    report("activate", activate_trials)
    for statuses in [*consent_trials, *activate_trials]:
        assert all(status == 302 for status in statuses), statuses
