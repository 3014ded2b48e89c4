"""The patient page and the screening page cost the same number of queries however long the
patient's history: one plan, session, photo, sheet and screening, or fifty of each (issue 19,
"flat pages"). The patient page shows the recent history (desk.selectors) and the way to all of
it; the whole history is constant in queries too, only longer."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mesoclinic.aftercare.services import sheet_for
from mesoclinic.core.selectors import clinic_today
from mesoclinic.desk import selectors as desk
from mesoclinic.plans.models import Plan, PlanStatus
from mesoclinic.treatment_sessions.models import PhotoKind, SessionPhoto
from tests.builders import measured_course, moment, screened, session_at

pytestmark = pytest.mark.django_db

# The practitioner's patient page: session, user, patient, the latest contact changes, the audit
# entry; clinical status (screening, follow-ups, preparation's prescriber decisions and knowledge
# revision); plans (with their progress and how many, and their areas); sessions (and their charts'
# products and events); questionnaires; screenings; photos (consent; the photos with how many are hidden); sheets;
# progress (the knowledge revision its measures and findings are kept by, sessions, measurements,
# scores); the map.
PATIENT_PAGE_QUERIES = 24
# The clinic admin's share: no screenings, photos, sheets, progress or map.
SCHEDULER_PAGE_QUERIES = 13
# Session, user, patient, the newest screening, knowledge revision, evaluation items, audit entry.
SCREENING_PAGE_QUERIES = 7


def history(alice, room, patient, plans):
    """`plans` plans of one signed session each (past, 3 days apart), each session with a before
    and an after photo and its aftercare sheet, and one more session booked for the last plan."""
    first = clinic_today() - datetime.timedelta(days=3 * plans + 3)
    for number in range(plans):
        day = first + datetime.timedelta(days=3 * number)
        plan, sessions = measured_course(alice, room, patient, "skin_rejuvenation", [{}], first_day=day)
        for session in sessions:
            for kind in (PhotoKind.BEFORE, PhotoKind.AFTER):
                SessionPhoto.objects.create(
                    session=session,
                    patient=patient,
                    kind=kind,
                    image="photos/none.jpg",
                    width=8,
                    height=8,
                    uploaded_by=alice,
                )
            sheet_for(session)
    session_at(plan, alice, room, moment(clinic_today() + datetime.timedelta(days=9), 11))
    # Ten years on, the earlier plans are done (as a clinic closes them: no audit needed here).
    Plan.objects.filter(patient=patient).exclude(pk=plan.pk).update(
        status=PlanStatus.COMPLETED, ended_at=timezone.now() - datetime.timedelta(days=400)
    )
    return plan


@pytest.mark.parametrize("plans", [1, 50])
def test_patient_page_queries_do_not_grow_with_the_history(
    alice, alice_client, room, patient, django_assert_num_queries, plans
):
    history(alice, room, patient, plans)
    url = reverse("desk:patient", args=[patient.pk])
    alice_client.get(url)  # warm the per-process caches (content types, knowledge base, clinic)
    with django_assert_num_queries(PATIENT_PAGE_QUERIES):
        page = alice_client.get(url).content.decode()
    more = plans > desk.RECENT_SESSIONS_DONE
    assert ("Show the whole history" in page) is more
    if more:
        assert "Every session to come and the latest done are shown." in page


@pytest.mark.parametrize("plans", [1, 50])
def test_the_whole_history_is_constant_in_queries_too(
    alice, alice_client, room, patient, django_assert_num_queries, plans
):
    history(alice, room, patient, plans)
    url = reverse("desk:patient", args=[patient.pk]) + "?history=all"
    alice_client.get(url)
    with django_assert_num_queries(PATIENT_PAGE_QUERIES):
        page = alice_client.get(url).content.decode()
    assert "Show the whole history" not in page
    assert "Recent history only" in page
    assert page.count('class="badge session-status') == plans + 1


def test_the_recent_history_is_what_a_clinic_acts_on(alice, alice_client, room, patient):
    """Every session to come, the latest done, the newest plans, photos and sheets."""
    history(alice, room, patient, 15)
    context = alice_client.get(reverse("desk:patient", args=[patient.pk])).context
    sessions = context["sessions"]
    assert len(sessions) == desk.RECENT_SESSIONS_DONE + 1
    assert sessions == sorted(sessions, key=lambda s: s.starts_at)
    assert context["next_session"] == sessions[-1]
    assert context["shown"]["sessions"].more
    assert len(context["plans"]) == desk.RECENT_PLANS and context["shown"]["plans"].more
    assert len(context["photos"].groups) == desk.RECENT_PHOTO_SESSIONS
    newest_photo_session = max(group.session.starts_at for group in context["photos"].groups)
    assert newest_photo_session == sessions[-2].starts_at  # the latest session done
    assert len(context["sheets"]) == desk.RECENT_SHEETS and context["shown"]["sheets"].more
    # Each plan's progress counts every session, shown or not.
    assert all(plan.sessions_done == 1 for plan in context["plans"])
    assert context["active_plan"] == context["plans"][0]


@pytest.mark.parametrize("plans", [1, 50])
def test_scheduler_patient_page_queries_do_not_grow(alice, sam_client, room, patient, django_assert_num_queries, plans):
    history(alice, room, patient, plans)
    url = reverse("desk:patient", args=[patient.pk])
    sam_client.get(url)
    with django_assert_num_queries(SCHEDULER_PAGE_QUERIES):
        assert sam_client.get(url).status_code == 200


@pytest.mark.parametrize("screenings", [1, 50])
def test_screening_page_queries_do_not_grow_with_past_screenings(
    alice, alice_client, patient, django_assert_num_queries, screenings
):
    for _ in range(screenings):
        screened(patient, alice, medications=["ibuprofen"])
    url = reverse("screening:new", args=[patient.pk])
    alice_client.get(url)
    with django_assert_num_queries(SCREENING_PAGE_QUERIES):
        page = alice_client.get(url).content.decode()
    assert "Answers pre-filled from the screening of" in page
    # Pre-filled from the newest: its medicine is ticked.
    assert re.search(r'name="medications" value="ibuprofen" id="[^"]+" checked', page)
