"""Which pages write an audit entry: every URL pattern of the app (not the admin), requested by
a role allowed to use it, against the table below. A new view fails the test until it is in
the table, so whoever adds a page decides whether reading it is recorded.

Reads of one patient's data (a record, a screening, a plan, a consent, a session, a photo, a
sheet) and pages listing patients' clinical data (Today, the outbox, lot recall, the
calendar feed) write an ACCESS entry. Pages that show no patient's data, or only the
directory and the diary (names and times: the patient list, the calendar, the list to book),
write none. POST-only views change data: their entries are auditlog's record of the change
(tests/core/test_audit.py), so this test does not post to them.
"""

import pytest
from django.urls import resolve, reverse

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.services import plan_activate
from tests.builders import (
    PatientFactory,
    booked_long_ago,
    consented,
    covering,
    moment,
    plan_for,
    rechecked,
    screened,
    session_at,
)
from tests.test_access_matrix import (
    DJANGO_VIEWS,
    A,
    P,
    S,
    T,
    args_for,
    clients,
    url_names,
    verified_for_questionnaires,
    world,
)

pytestmark = pytest.mark.django_db

__all__ = ["world"]  # the fixture, shared with the access matrix

CHANGE = "change"  # POST only

WRITES_AN_ENTRY = {
    "home": False,
    "healthz": False,
    "login": False,
    "logout": CHANGE,
    "password_change": False,
    "password_change_done": False,
    "profile": False,  # the staff member's own language: no patient's data
    "core:setup": False,
    "core:setup_clinic": False,
    "core:setup_hours": False,
    "core:setup_closures": False,
    "core:setup_rooms": False,
    "core:setup_practitioner": False,
    "patients:list": False,
    "patients:create": False,
    "patients:edit": True,
    "patients:access_history": True,
    "patients:archive": True,
    "patients:restore": CHANGE,
    "desk:patient": True,
    "desk:merge_choose": True,
    "desk:merge": True,
    "screening:new": True,
    "screening:evaluate": CHANGE,
    "screening:detail": True,
    "screening:prescriber_decision": CHANGE,
    "screening:knowledge": False,
    "screening:rule": False,
    "screening:terms": False,
    "screening:term": False,
    "screening:source": False,
    "plans:new": True,
    "plans:detail": True,
    "plans:edit": True,
    "plans:activate": CHANGE,
    "plans:stop": CHANGE,
    "plans:complete": CHANGE,
    "plans:flags": CHANGE,
    "plans:consent_sign": True,
    "plans:consent_detail": True,
    "plans:consent_pdf": True,
    "plans:consent_signature": True,
    "plans:consent_withdraw": CHANGE,
    "plans:protocols": False,
    "plans:protocol": False,
    "plans:products": False,
    "plans:product_new": False,
    "plans:product_edit": False,
    "treatment_sessions:session": True,
    "scheduling:calendar": False,
    "scheduling:calendar_week_for": False,
    "scheduling:to_book": False,
    "scheduling:feed_settings": False,
    "scheduling:feed": True,
    "scheduling:book": True,
    "scheduling:move": False,
    "scheduling:cancel": False,
    "scheduling:no_show": CHANGE,
    "scheduling:patient_ics": True,
    "session_day:today": True,
    "session_day:recheck": True,
    "session_day:recheck_evaluate": CHANGE,
    "session_day:chart": True,
    "session_day:addendum": CHANGE,
    "session_day:recall": True,
    "session_day:recall_export": True,
    "photos:upload": True,
    "photos:file": True,
    "photos:thumbnail": True,
    "photos:compare": True,
    "photos:align": CHANGE,
    "photos:aligned": True,
    "reminders:outbox": True,
    "reminders:message": True,
    "aftercare:mine": False,
    "aftercare:sheet": True,
    "aftercare:sheet_pdf": True,
    "aftercare:revoke": CHANGE,
    "aftercare:resend": CHANGE,
    "aftercare:link": True,
    "aftercare:link_pdf": True,
    # The patient's scores and progress report (outcomes): their own data, by link or login.
    "outcomes:link_scores": True,
    "outcomes:link_report": True,
    "outcomes:link_report_pdf": True,
    "outcomes:mine": False,  # the names of the patient's own treatments only
    "outcomes:my_scores": True,
    "outcomes:my_report": True,
    "outcomes:my_report_pdf": True,
    "outcomes:report": True,
    "outcomes:chart": True,
    "outcomes:report_pdf": True,
    "outcomes:report_send": CHANGE,
    # The clinic's outcomes: aggregates only, no patient named and small counts hidden.
    "outcomes:clinic": False,
    # The date-of-birth form shows nothing of the patient; the pages after it show their answers.
    "questionnaires:link": False,
    "questionnaires:link_screen": True,
    "questionnaires:link_review": True,
    "questionnaires:link_done": True,
    "questionnaires:mine": False,  # visit dates only
    "questionnaires:mine_screen": True,
    "questionnaires:mine_review": True,
    "questionnaires:mine_done": True,
    "questionnaires:send": CHANGE,
    "questionnaires:revoke": CHANGE,
    "questionnaires:review": True,
    "questionnaires:adopt": True,
    "questionnaires:fhir_questionnaire": False,  # no patient's data
    "questionnaires:fhir_response": True,
    # Stock shows products and lots, no patient.
    "stock:list": False,
    "stock:receive": False,
    "stock:scan": CHANGE,
    "stock:lot": False,
}

# Lists need something to list: recall a lot that was used (Today has the world's sessions).
QUERY = {"session_day:recall": "?lot=HB-1", "session_day:recall_export": "?lot=HB-1"}


def test_the_table_names_every_view_and_only_views():
    names = set(url_names())
    assert not names - WRITES_AN_ENTRY.keys(), f"add to WRITES_AN_ENTRY: {sorted(names - WRITES_AN_ENTRY.keys())}"
    assert not WRITES_AN_ENTRY.keys() - names, f"no such view: {sorted(WRITES_AN_ENTRY.keys() - names)}"


def _role_for(name, view):
    allowed = DJANGO_VIEWS.get(name) or set(view.allowed_roles)
    return next(role for role in (P, S, T, A) if role in allowed)


def _pages_that_need_a_draft(world, alice, room):
    """The world's plan is active and its sessions signed or not yet re-checked; the plan editor,
    the consent form and the chart show only for a draft plan and a re-checked session."""
    draft = plan_for(world["patient"], alice, "skin_rejuvenation", areas=["face"])
    patient = PatientFactory(given_name="Chartable", family_name="Person")
    plan = plan_for(patient, alice, "skin_rejuvenation", areas=["face"])
    screened(patient, alice, fitzpatrick_skin_type=2, medications=[], **covering(plan))
    consented(plan, alice)
    session = session_at(plan_activate(plan=plan, by=alice), alice, room, moment(clinic_today(), 17))
    rechecked(booked_long_ago(session), alice, decisions=[])
    # The re-check opens only on the session's day: today's session, not the world's upcoming one.
    return {
        # Pat's own questionnaires: her pages show only hers.
        "questionnaires:mine_screen": [world["own_questionnaire"].pk, 1],
        "questionnaires:mine_review": [world["own_questionnaire"].pk],
        "questionnaires:mine_done": [world["own_questionnaire_sent"].pk],
        "plans:edit": [draft.pk],
        "plans:consent_sign": [draft.pk],
        "session_day:chart": [session.pk],
        "session_day:recheck": [session.pk],
        # Pat's own sheet and plan: the patient's score and report pages show only hers.
        "outcomes:my_scores": [world["own_sheet"].pk],
        "outcomes:my_report": [world["own_sheet"].session.plan_id],
        "outcomes:my_report_pdf": [world["own_sheet"].session.plan_id],
    }


def test_each_view_writes_an_entry_exactly_when_the_table_says(world, alice, sam, pat, room):
    by_role = clients(alice, sam, pat)
    verified_for_questionnaires(by_role[P], world)
    own_args = _pages_that_need_a_draft(world, alice, room)
    observed, wrong = {}, []
    for name in url_names():
        expected = WRITES_AN_ENTRY.get(name)
        args = own_args.get(name) or args_for(name, world, alice)
        url = reverse(name, args=args) + QUERY.get(name, "")
        role = _role_for(name, resolve(url.split("?")[0]).func)
        before = AuditEntry.objects.count()
        if expected == CHANGE:
            if name != "logout":  # it would sign the client out
                code = by_role[role].get(url).status_code
                assert code in (302, 405), f"{name} is in the table as POST only, but GET answers {code}"
                assert AuditEntry.objects.count() == before, f"{name}: a refused GET wrote an entry"
            continue
        response = by_role[role].get(url)
        # The page itself, not a redirect away from it (the start page and sign-in send a
        # signed-in user on by design, and a questionnaire link already opened with the date of
        # birth goes on to its first screen).
        assert response.status_code == 200 or name in ("home", "login", "questionnaires:link"), (
            f"{role} GET {url}: {response.status_code}"
        )
        observed[name] = AuditEntry.objects.count() > before
        if observed[name] != expected:
            wrong.append(f"{name} ({role}): writes an entry: {observed[name]}, table says {expected}")
    print("\n".join(f"{name:32} {'yes' if writes else 'no'}" for name, writes in observed.items()))
    assert not wrong, "\n".join(wrong)
