import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, ReminderStatus
from tests.builders import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_outbox_pages_keep_their_status_filter(sam_client, clinic):
    patient = PatientFactory()
    now = timezone.now()
    Reminder.objects.bulk_create(
        Reminder(
            key=f"appointment:x:{n}",
            patient=patient,
            kind=ReminderKind.APPOINTMENT,
            due_at=now - datetime.timedelta(minutes=n),
            status=ReminderStatus.FAILED if n % 2 else ReminderStatus.SENT,
        )
        for n in range(130)
    )
    first = sam_client.get(reverse("reminders:outbox"), {"status": "failed"})
    assert first.context["page"].paginator.count == 65
    assert "?status=failed&amp;page=2" in first.content.decode()
    second = sam_client.get(reverse("reminders:outbox"), {"status": "failed", "page": 2})
    assert {r.status for r in second.context["page"]} == {ReminderStatus.FAILED}
    assert "?status=failed&amp;page=1" in second.content.decode()
