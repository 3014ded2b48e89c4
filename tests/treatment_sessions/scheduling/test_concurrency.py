"""Twenty clinic admins book the same slot at the same moment: exactly one succeeds."""

import threading

import pytest
from django.db import connections

from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.scheduling import services
from tests.builders import active_plan, local, next_monday

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.postgres
def test_twenty_threads_booking_the_same_slot_one_succeeds(clinic, alice, room):
    plans = [active_plan(alice, "cellulite") for _ in range(20)]
    slot = [local(next_monday(), 10)]
    barrier = threading.Barrier(len(plans))
    outcomes = []

    def attempt(plan):
        try:
            barrier.wait()
            services.series_book(plan=plan, practitioner=alice, room=room, local_starts=slot, by=alice)
            outcomes.append("booked")
        except services.SchedulingConflict as error:
            outcomes.append(error.messages[0])
        except Exception as error:  # anything else is a bug: it would be a 500
            outcomes.append(f"ERROR {type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("booked") == 1, outcomes
    assert not [o for o in outcomes if o.startswith("ERROR")], outcomes
    assert TreatmentSession.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("shared", ["practitioner", "room", "patient"])
def test_the_database_itself_refuses_an_overlap_the_services_never_saw(clinic, alice, room, shared):
    """Written straight through the ORM, past every service check: PostgreSQL still refuses."""
    import datetime

    from django.db import IntegrityError, transaction

    from mesoclinic.core.models import Room
    from mesoclinic.treatment_sessions.models import SessionSeries
    from tests.builders import PractitionerFactory

    first = active_plan(alice, "cellulite")
    services.series_book(plan=first, practitioner=alice, room=room, local_starts=[local(next_monday(), 10)], by=alice)
    booked = TreatmentSession.objects.get()
    second = active_plan(alice, "cellulite", patient=first.patient if shared == "patient" else None)
    others = {
        "practitioner": alice if shared == "practitioner" else PractitionerFactory(username="other"),
        "room": room if shared == "room" else Room.objects.get(name="Room 2"),
    }
    series = SessionSeries.objects.create(plan=second, patient=second.patient, created_by=alice)
    with pytest.raises(IntegrityError, match=f"session_no_overlap_{shared}"), transaction.atomic():
        TreatmentSession.objects.create(
            series=series,
            plan=second,
            patient=second.patient,
            sequence=1,
            starts_at=booked.starts_at + datetime.timedelta(minutes=15),
            ends_at=booked.ends_at + datetime.timedelta(minutes=15),
            **others,
        )
    # a cancelled session does not hold its slot
    booked.status = "cancelled"
    booked.save()
    TreatmentSession.objects.create(
        series=series,
        plan=second,
        patient=second.patient,
        sequence=1,
        starts_at=booked.starts_at,
        ends_at=booked.ends_at,
        **others,
    )
