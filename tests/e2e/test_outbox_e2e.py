"""The clinic admin reads a reminder as the patient will, and sends again one that was not sent."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from mesoclinic.celery import app as celery_app
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from mesoclinic.treatment_sessions.reminders import delivery
from tests.builders import PatientFactory, active_plan, booked, next_monday
from tests.e2e.conftest import login


@pytest.fixture
def worker_in_process():
    """The task runs where the page queued it, as a worker would a moment later."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_admin_previews_a_reminder_and_sends_a_failed_one_again(
    page, screenshot, clinic, alice, sam, room, worker_in_process
):
    patient = PatientFactory(given_name="Ayşe", family_name="O'Brien", email="ayse@example.com")
    series = booked(active_plan(alice, patient=patient), alice, room, next_monday(3))
    first, second = series.sessions.order_by("sequence")[:2]
    upcoming = Reminder.objects.get(session=first, kind=ReminderKind.APPOINTMENT)
    refused = Reminder.objects.get(session=second, kind=ReminderKind.APPOINTMENT)
    Reminder.objects.filter(pk=refused.pk).update(
        status=ReminderStatus.FAILED, last_error="SMTPRecipientsRefused: 550 mailbox unavailable", attempts=9
    )

    login(page, "sam")
    page.goto("/outbox/")
    due = page.locator("section", has=page.get_by_role("heading", name="Due next"))
    history = page.locator("section", has=page.get_by_role("heading", name="Sent, not sent and cancelled"))
    expect(history.locator(f"#reminder-{refused.pk}")).to_contain_text("Not sent")
    expect(due.locator("tbody tr").first).to_contain_text("O'Brien")
    screenshot("outbox")

    # The next appointment reminder, exactly as it will be sent.
    due.locator(f"#reminder-{upcoming.pk}").get_by_role("link", name="Preview").locator("visible=true").click()
    expect(page.get_by_role("heading", name="Appointment reminder")).to_be_visible()
    body = page.get_by_test_id("message-body")
    expect(body).to_have_text(delivery.compose(upcoming).body.strip())
    expect(body).to_contain_text("Dear Ayşe,")
    expect(page.get_by_text("Send this message again")).to_have_count(0)
    screenshot("preview")

    # The one that was not sent: read it, confirm, and it goes.
    page.goto("/outbox/")
    page.locator(f"#reminder-{refused.pk}").get_by_role("link", name="Send again…").locator("visible=true").click()
    expect(page.get_by_role("alert").first).to_contain_text("550 mailbox unavailable")
    expect(page.get_by_text("Send this message again to ayse@example.com?")).to_be_visible()
    screenshot("confirm")
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text("Sending again to ayse@example.com")).to_be_visible()
    row = page.locator(f"#reminder-{refused.pk}")
    expect(row).to_contain_text("Sent")
    expect(row).not_to_contain_text("550")
    screenshot("sent")
    # (Booking her first session also sent the pre-visit questionnaire, with its own link.)
    assert [m.to for m in mail.outbox if "/q/" not in m.body] == [["ayse@example.com"]]
    refused.refresh_from_db()
    assert refused.status == ReminderStatus.SENT

    # Coming back to it later: nothing to send again.
    page.goto(f"/outbox/{refused.pk}/")
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
