"""The clinic day of issue 8, end to end in the browser: a new patient from the front door
to an active plan, and a deferred patient who cannot be planned or booked by any path."""

import datetime
import re

from django.urls import reverse
from playwright.sync_api import expect

from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Consent, Plan, PlanStatus
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.treatment_sessions.models import SessionSeries, TreatmentSession
from tests.builders import PatientFactory, active_plan, consented, covering, next_monday, plan_for, screened
from tests.e2e.conftest import draw_signature, login


def findings(page):
    return page.locator("#findings")


def test_new_patient_is_screened_with_a_warning_and_a_hold_planned_consented_and_activated(page, screenshot, alice):
    # The practitioner signs in through the login page and lands on her start page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    screenshot("login")
    login(page, "alice")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    # A new patient, through the form.
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Given name").fill("Elif")
    page.get_by_label("Family name").fill("Yıldız")
    page.get_by_label("Date of birth").fill("1987-09-23")
    page.get_by_label("Phone", exact=True).fill("0532 765 43 21")
    page.get_by_label("Email").fill("elif@example.com")
    screenshot("new-patient")
    page.get_by_role("button", name="Add patient").click()
    expect(page.get_by_role("heading", name="Elif Yıldız")).to_be_visible()
    patient = Patient.objects.get(given_name="Elif", family_name="Yıldız")
    assert patient.date_of_birth == datetime.date(1987, 9, 23)
    screenshot("new-hub")

    # Screening for a face and neck rejuvenation in two weeks: sensitive skin is a warning,
    # ibuprofen a hold (a week's notice, which two weeks leave).
    page.get_by_role("link", name="Start a screening").first.click()
    expect(findings(page).locator(".verdict-bar")).to_be_visible()  # the live panel has loaded
    page.get_by_label("Planned treatment date").fill((datetime.date.today() + datetime.timedelta(days=14)).isoformat())
    page.get_by_label("What to treat").select_option("skin_rejuvenation")
    page.get_by_label("Face", exact=True).check()
    page.get_by_label("Neck", exact=True).check()
    planned = page.get_by_role("group", name="Planned ingredients")
    for ingredient in ("Hyaluronic acid", "Vitamin C", "Amino acids"):
        planned.get_by_label(ingredient, exact=True).check()
    page.get_by_role("group", name="Conditions").get_by_label("Sensitive skin", exact=True).check()
    page.get_by_role("group", name="Medications now or in the last two weeks").get_by_label(
        "ibuprofen", exact=True
    ).check()
    expect(findings(page).locator(".verdict-bar")).to_contain_text("Caution")
    hold = findings(page).locator(".finding-hold").filter(has_text="NSAID")
    expect(hold).to_contain_text("7 days before the session")
    sensitive = findings(page).locator("article.finding", has_text="Sensitive skin")
    expect(sensitive.locator(".severity-badge")).to_have_text("Warning")
    screenshot("screening")

    # Saving without acknowledging is refused; acknowledged, it is saved.
    page.get_by_role("button", name="Save screening").click()
    expect(page.locator(".invalid-feedback").first).to_contain_text("Acknowledge this warning before saving.")
    warnings = findings(page).get_by_label("I have considered this and will proceed with care")
    expect(warnings.first).to_be_visible()
    for box in warnings.all():
        box.check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("Screening saved: treat with care (warnings acknowledged).")).to_be_visible()
    expect(page.get_by_text("Treat with care (warnings acknowledged)", exact=True)).to_be_visible()
    screenshot("screening-saved")
    screening = Screening.objects.get(patient=patient)
    assert screening.outcome == Outcome.CAUTION
    assert "ibuprofen" in screening.answers["medications"]
    assert any(f["hold"] and "NSAID" in f["hold"]["substance"] for f in screening.findings)

    # The plan, on the protocol's defaults, which the screening covered.
    page.get_by_role("link", name="Elif Yıldız").first.click()
    page.get_by_role("link", name="New plan").click()
    page.wait_for_load_state()  # htmx must be listening before the first change
    page.get_by_label("What to treat").select_option("skin_rejuvenation")
    builder = page.locator("#plan-builder")
    expect(builder.get_by_label("Face", exact=True)).to_be_checked()
    expect(builder.get_by_label("Hyaluronic acid", exact=True)).to_be_checked()
    screenshot("plan-builder")
    page.get_by_role("button", name="Save draft plan").click()
    expect(page.get_by_text("Draft plan saved.")).to_be_visible()
    gate = page.locator(".gate")
    expect(gate).to_contain_text("not signed consent")
    expect(gate).not_to_contain_text("did not cover")  # the screening covers the plan
    expect(gate).not_to_contain_text("no screening")
    expect(gate.get_by_role("link", name="Screen for this plan")).to_have_count(0)  # only consent is missing
    holds = page.locator("section", has=page.get_by_role("heading", name="The screening it rests on"))
    expect(holds).to_contain_text("Stop ibuprofen 7 days before each session")
    expect(page.get_by_role("button", name="Activate plan")).to_have_count(0)
    screenshot("plan-draft")

    # The patient reads and signs on screen.
    page.get_by_role("link", name="Sign consent").click()
    document = page.get_by_label("Consent document")
    expect(document).to_contain_text("Do not take ibuprofen in the 7 days before each session")  # what she signs
    page.get_by_label("Yes, photos may be taken").check()
    page.get_by_label("I have read this document").check()
    page.get_by_label("Your full name").fill("Elif Yıldız")
    draw_signature(page)
    screenshot("consent")
    page.get_by_role("button", name="Sign consent").click()
    expect(page.get_by_text("Consent signed and stored.")).to_be_visible()

    expect(page.locator(".gate")).to_contain_text("The screening covers this plan and the patient has consented.")
    page.get_by_role("button", name="Activate plan").click()
    expect(page.get_by_text("The plan is active.")).to_be_visible()
    expect(page.locator(".plan-status")).to_have_text("Active")
    expect(holds).to_contain_text("Stop ibuprofen 7 days before each session")
    screenshot("plan-active")

    plan = Plan.objects.get(patient=patient)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.screening == screening
    assert plan.activated_by == alice
    consent = Consent.objects.get(plan=plan)
    assert consent.photo_consent is True and bytes(consent.signature_png).startswith(b"\x89PNG")

    page.get_by_role("link", name="Elif Yıldız").first.click()
    expect(page.locator(".status-tile", has_text="Plan")).to_contain_text("Skin rejuvenation")
    screenshot("hub-active")


# --- A deferred patient cannot be planned and activated, or booked, by any path -------------


def csrf_headers(page):
    """What a crafted POST needs to pass Django's CSRF check: the cookie's token, as a header."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token}


def booking_post(plan, practitioner, room, first_day):
    """A complete, valid booking of every session of `plan`, as the booking page would send it."""
    data = {
        "action": "book",
        "start_date": first_day.isoformat(),
        "start_time": "10:00",
        "practitioner": str(practitioner.pk),
        "room": str(room.pk),
    }
    day = first_day
    for sequence in range(1, plan.sessions_planned + 1):
        data[f"session_{sequence}"] = f"{day.isoformat()}T10:00"
        if sequence <= len(plan.intervals):
            day += datetime.timedelta(days=plan.intervals[sequence - 1])
    return data


def deferred_patient_with_two_plans(alice):
    """Deniz had a cellulite plan activated on a clear screening; a face plan waits as a draft
    with signed consent. Nothing is deferred yet: each plan would be bookable or activatable."""
    patient = PatientFactory(given_name="Deniz", family_name="Arslan")
    active = active_plan(alice, "cellulite", patient=patient)
    draft = plan_for(patient, alice, "skin_rejuvenation")
    consented(draft, alice)
    return patient, active, draft


def test_a_deferred_patient_cannot_be_activated_or_booked_by_the_practitioner_in_the_ui_or_by_crafted_posts(
    page, screenshot, clinic, alice, room
):
    patient, active, draft = deferred_patient_with_two_plans(alice)
    first_day = next_monday(2)
    login(page, "alice")

    # She says she may be pregnant: screened for the face plan, the critical finding stands.
    page.goto(draft.get_absolute_url())
    page.locator(".gate").get_by_role("link", name="Screen for this plan").click()
    expect(findings(page).locator(".verdict-bar")).to_be_visible()  # the live panel has loaded
    page.get_by_label("Pregnant, or may be pregnant").check()
    expect(findings(page).locator(".verdict-bar")).to_contain_text("Defer treatment")
    for box in findings(page).get_by_label("I have considered this and will proceed with care").all():
        box.check()  # treatment today leaves no 24 hours without alcohol: a warning
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("Deferred", exact=True)).to_be_visible()
    screenshot("deferred-screening")
    assert Screening.objects.for_patient(patient).first().outcome == Outcome.DEFERRED

    # The draft plan: the gate says why, and there is no way to activate it.
    page.goto(draft.get_absolute_url())
    gate = page.locator(".gate")
    expect(gate).to_contain_text("The screening deferred treatment.")
    expect(page.get_by_role("button", name="Activate plan")).to_have_count(0)
    screenshot("draft-plan-gate")

    # The patient page: the active plan's sessions cannot be booked from here.
    page.goto(patient.get_absolute_url())
    expect(page.locator(".status-tile").first).to_contain_text("Deferred")
    sessions = page.locator("#sessions")
    expect(sessions).to_contain_text("On hold")
    expect(sessions.get_by_role("link", name="Book sessions")).to_have_count(0)
    screenshot("hub")
    page.goto(active.get_absolute_url())
    expect(page.get_by_text("On hold:")).to_be_visible()
    screenshot("active-plan-on-hold")

    # The booking page, reached by its address, refuses and offers no form.
    page.goto(reverse("scheduling:book", args=[active.pk]))
    expect(page.get_by_role("alert")).to_contain_text("Treatment is on hold")
    expect(page.get_by_role("button", name="Propose dates")).to_have_count(0)
    screenshot("booking-refused")

    # Crafted POSTs with a valid CSRF token. First, the token is really accepted: the same
    # request without it is refused by the CSRF check, not by the app.
    headers = csrf_headers(page)
    activate_url = reverse("plans:activate", args=[draft.pk])
    assert page.request.post(activate_url, max_redirects=0).status == 403
    response = page.request.post(activate_url, headers=headers, max_redirects=0)
    assert response.status == 302 and response.headers["location"] == draft.get_absolute_url()
    page.goto(draft.get_absolute_url())
    expect(page.locator(".messages")).to_contain_text("The screening deferred treatment.")
    # The same with the token as a form field, as the page's own form would send it.
    response = page.request.post(activate_url, form={"csrfmiddlewaretoken": headers["X-CSRFToken"]}, max_redirects=0)
    assert response.status == 302

    for plan, refusal in ((active, "Treatment is on hold"), (draft, "Only an active plan can be booked")):
        response = page.request.post(
            reverse("scheduling:book", args=[plan.pk]),
            headers=headers,
            form=booking_post(plan, alice, room, first_day),
            max_redirects=0,
        )
        assert response.status == 409, (plan, response.status)
        assert refusal in response.text()

    draft.refresh_from_db()
    active.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT and draft.activated_at is None
    assert active.status == PlanStatus.ACTIVE  # activated before the deferral; left as it was
    assert not Plan.objects.filter(patient=patient, status=PlanStatus.ACTIVE).exclude(pk=active.pk).exists()
    assert not TreatmentSession.objects.filter(patient=patient).exists()
    assert not SessionSeries.objects.filter(patient=patient).exists()


def test_a_deferred_patient_cannot_be_booked_by_the_scheduler_in_the_ui_or_by_a_crafted_post(
    page, screenshot, clinic, alice, sam, room
):
    patient, active, _ = deferred_patient_with_two_plans(alice)
    ready = active_plan(alice, "cellulite", patient=PatientFactory(given_name="Ece", family_name="Polat"))
    screened(patient, alice, decisions=[], pregnant=True, **covering(active))
    assert Screening.objects.for_patient(patient).first().outcome == Outcome.DEFERRED
    first_day = next_monday(2)

    login(page, "sam")
    page.get_by_role("link", name="Plans to book").click()
    held = page.get_by_role("row", name=re.compile("Deniz Arslan"))
    expect(held).to_contain_text("On hold")
    expect(held.get_by_role("link", name="Book sessions")).to_have_count(0)
    # The scheduler is told it is on hold, not why: no clinical detail on her pages.
    expect(page.locator("main")).not_to_contain_text("regnan")
    # A patient who is not deferred is bookable as before.
    expect(
        page.get_by_role("row", name=re.compile("Ece Polat")).get_by_role("link", name="Book sessions")
    ).to_be_visible()
    screenshot("to-book")

    page.get_by_role("link", name="Deniz Arslan").click()
    expect(page.locator("#sessions")).to_contain_text("On hold")
    expect(page.locator("#sessions").get_by_role("link", name="Book sessions")).to_have_count(0)
    screenshot("patient")

    response = page.request.post(
        reverse("scheduling:book", args=[active.pk]),
        headers=csrf_headers(page),
        form=booking_post(active, alice, room, first_day),
        max_redirects=0,
    )
    assert response.status == 409
    assert "Treatment is on hold" in response.text()
    assert not TreatmentSession.objects.filter(patient=patient).exists()

    # The same crafted POST books a patient who is not deferred: the refusal is the deferral.
    response = page.request.post(
        reverse("scheduling:book", args=[ready.pk]),
        headers=csrf_headers(page),
        form=booking_post(ready, alice, room, first_day),
        max_redirects=0,
    )
    assert response.status == 302
    assert TreatmentSession.objects.filter(plan=ready).count() == ready.sessions_planned
