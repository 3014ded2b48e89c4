"""Where a patient stands is answered once (treatment_sessions.status, on the screening and
consent layers below it) and every page says what it says: Today, the patient page, the plans
to book, the booking page and the booking service."""

import datetime

import pytest
from django.urls import reverse

from mesoclinic.core.selectors import clinic_today
from mesoclinic.screening.models import Screening
from mesoclinic.treatment_sessions.models import AdverseEvent, AdverseEventType, Chart
from mesoclinic.treatment_sessions.scheduling import services
from mesoclinic.treatment_sessions.status import ON_HOLD, clinical_status, clinical_statuses
from tests.builders import (
    PatientFactory,
    active_plan,
    covering,
    moment,
    screened,
    session_at,
)

pytestmark = pytest.mark.django_db


def _today_badges(client, session):
    response = client.get(reverse("session_day:today"))
    return next(row["badges"] for row in response.context["rows"] if row["session"] == session)


def _todays_session(plan, alice, room, hour=23):
    return session_at(plan, alice, room, moment(clinic_today(), hour))


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
    return AdverseEvent.objects.create(
        chart=chart, type=AdverseEventType.objects.get(code="bruising"), severity="mild", follow_up_on=on
    )


def test_a_follow_up_due_yesterday_shows_on_today_and_on_the_patient_page_alike(alice_client, clinic, alice, room):
    """The field test: Today said "Follow-up due: bruising" while the patient page said
    "Follow-ups: None open". Both now read the same status."""
    plan = active_plan(alice, "cellulite")
    earlier = session_at(plan, alice, room, moment(clinic_today() - datetime.timedelta(days=8), 10))
    _bruising_due(earlier, alice, on=clinic_today() - datetime.timedelta(days=1))
    today = _todays_session(plan, alice, room)
    status = clinical_status(plan.patient)
    assert ("warning", "Follow-up due: bruising") in status.alerts
    assert ("warning", "Follow-up due: bruising") in _today_badges(alice_client, today)
    page = alice_client.get(plan.patient.get_absolute_url())
    assert page.context["status"].alerts == status.alerts
    content = page.content.decode()
    assert "Follow-up due: bruising" in content and "None open" not in content and "1 due" in content


def test_a_follow_up_two_weeks_past_is_closed_everywhere(alice_client, clinic, alice, room):
    plan = active_plan(alice, "cellulite")
    earlier = session_at(plan, alice, room, moment(clinic_today() - datetime.timedelta(days=30), 10))
    _bruising_due(earlier, alice, on=clinic_today() - datetime.timedelta(days=15))
    today = _todays_session(plan, alice, room)
    assert clinical_status(plan.patient).follow_ups == []
    assert not any("Follow-up" in text for _, text in _today_badges(alice_client, today))
    assert "None open" in alice_client.get(plan.patient.get_absolute_url()).content.decode()


def test_a_lapsed_deferral_ranks_the_same_on_today_and_on_the_patient_page(
    alice_client, sam_client, clinic, alice, room
):
    """Deferred, then lapsed: Today once said only "Screening lapsed", the patient page only
    "Lapsed". The deferral still stands (nothing may be booked) and both pages say both, in order."""
    plan = active_plan(alice, "cellulite")
    screened(plan.patient, alice, decisions=[], pregnant=True, **covering(plan))
    Screening.objects.filter(patient=plan.patient).update(expires_at=moment(clinic_today(), 0))
    today = _todays_session(plan, alice, room)
    status = clinical_status(plan.patient)
    assert [text.split(" since")[0] for _, text in status.alerts] == ["Treatment deferred", "Screening lapsed"]
    assert _today_badges(alice_client, today)[: len(status.alerts)] == status.alerts
    page = alice_client.get(plan.patient.get_absolute_url()).content.decode()
    assert "Deferred" in page and "and lapsed" in page and status.alerts[0][1] in page
    # The clinic admin learns that booking waits, never why.
    admin_page = sam_client.get(plan.patient.get_absolute_url()).content.decode()
    assert "On hold" in admin_page and "pregnan" not in admin_page.lower()
    assert status.booking_refusal(plan) == ON_HOLD


def test_the_plans_to_book_and_the_booking_service_follow_the_status(sam_client, clinic, alice, room):
    ready = active_plan(alice, "cellulite")
    held = active_plan(alice, "cellulite")
    screened(held.patient, alice, decisions=[], pregnant=True, **covering(held))
    plans = {plan.pk: plan for plan in sam_client.get(reverse("scheduling:to_book")).context["plans"]}
    statuses = clinical_statuses([ready.patient, held.patient])
    for plan in (ready, held):
        assert plans[plan.pk].refusal == statuses[plan.patient_id].booking_refusal(plan)
    assert plans[held.pk].refusal == ON_HOLD and plans[ready.pk].refusal == ""
    with pytest.raises(services.SchedulingConflict, match="Treatment is on hold"):
        services.series_book(
            plan=held, practitioner=alice, room=room, local_starts=[datetime.datetime(2030, 1, 7, 10)], by=alice
        )


def test_the_batch_answers_as_one_patient_would_in_two_queries_however_many(
    clinic, alice, room, django_assert_num_queries
):
    plans = [active_plan(alice, "cellulite") for _ in range(4)]
    screened(plans[0].patient, alice, decisions=[], pregnant=True, **covering(plans[0]))
    unscreened = PatientFactory()
    patients = [plan.patient for plan in plans] + [unscreened]
    with django_assert_num_queries(2):
        batch = clinical_statuses(patients)
    for patient in patients:
        one = clinical_status(patient)
        assert batch[patient.pk].alerts == one.alerts
        assert batch[patient.pk].screening.screening == one.screening.screening
    assert batch[unscreened.pk].alerts == [("danger", "Screening missing")]
    with django_assert_num_queries(2):
        clinical_statuses(patients[:1])
