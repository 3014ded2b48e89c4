"""A patient on warfarin and ibuprofen for a facial treatment next week, as the practitioner
meets her: the screening defers and asks about the prescriber, the practitioner records the
agreed pause and the cardiologist's clearance, and the reminder the patient then receives says
exactly what the prescriber agreed, and nothing more about warfarin."""

import datetime

from django.core import mail
from playwright.sync_api import expect

from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.models import Outcome, PrescriberDecision, Screening
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind
from mesoclinic.treatment_sessions.reminders import delivery
from tests.builders import PatientFactory, booked, consented, plan_for
from tests.e2e.conftest import login

ACKNOWLEDGE = "I have considered this and will proceed with care"


def test_warfarin_and_ibuprofen_for_a_facial_treatment_next_week(page, screenshot, clinic, alice, room):
    patient = PatientFactory(given_name="Ayşe", family_name="Kaya", email="ayse@example.com", sex="female")
    today = datetime.date.today()
    # Six days ahead (five when that is a Sunday, when the clinic is closed): less than the
    # week without ibuprofen at any hour the suite runs, and the next session a week later has it.
    next_week = today + datetime.timedelta(days=6)
    if next_week.weekday() == 6:
        next_week -= datetime.timedelta(days=1)
    login(page, "alice")
    page.goto(f"/patients/{patient.pk}/screenings/new/")
    findings = page.locator("#findings")
    expect(findings.locator(".verdict-bar")).to_be_visible()  # the live panel has loaded

    page.get_by_label("Planned treatment date").fill(next_week.isoformat())
    page.get_by_label("What to treat").select_option("skin_rejuvenation")
    page.get_by_label("Face", exact=True).check()
    page.get_by_label("Neck", exact=True).check()
    planned = page.get_by_role("group", name="Planned ingredients")
    for ingredient in ("Hyaluronic acid", "Vitamin C", "Amino acids"):
        planned.get_by_label(ingredient, exact=True).check()
    medications = page.get_by_role("group", name="Medications now or in the last two weeks")
    medications.get_by_label("warfarin", exact=True).check()
    medications.get_by_label("ibuprofen", exact=True).check()

    # The deferral, and the question for the prescriber; never "stop warfarin".
    expect(findings.locator(".verdict-bar")).to_contain_text("Defer treatment")
    facial = findings.locator("article.finding", has_text="Facial treatment on a blood thinner")
    expect(facial.locator(".severity-badge")).to_have_text("Critical")
    expect(facial).to_contain_text("Can be overridden only with a specialist's clearance on file")
    prescriber = findings.locator(".prescriber-card")
    expect(prescriber).to_contain_text("warfarin")
    expect(findings).not_to_contain_text("Stop warfarin")
    # A week without ibuprofen cannot fit before next week's session: a warning, not preparation.
    expect(findings.locator("article.finding", has_text="Not enough time to stop ibuprofen")).to_be_visible()
    screenshot("deferred")

    # The prescriber agreed to a 5-day pause; the cardiologist's clearance is on file.
    warfarin = prescriber.get_by_role("group", name="warfarin")
    warfarin.get_by_label("Decision").select_option("pause")
    warfarin.get_by_label("Pause for (days)").fill("5")
    warfarin.get_by_label("Prescriber", exact=True).fill("Dr. Selim Kaya")
    facial.get_by_label("Override reason").select_option("specialist_clearance")
    facial.get_by_label("Cleared by (name, speciality)").fill("Dr. Selim Kaya, cardiology")
    facial.get_by_label("Cleared on").fill(today.isoformat())
    facial.get_by_label("What the clearance says").fill(
        "Agrees to facial treatment with warfarin paused for the 5 days before each session."
    )
    for box in findings.get_by_label(ACKNOWLEDGE).all():
        box.check()
    screenshot("decided")
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("Screening saved: cleared by override.")).to_be_visible()
    expect(page.get_by_text("Agreed to pause")).to_be_visible()  # the prescriber's decision, on the record
    screenshot("saved")
    screening = Screening.objects.get(patient=patient)
    assert screening.outcome == Outcome.OVERRIDDEN
    decision = PrescriberDecision.objects.get(screening=screening, medication="warfarin")
    assert (decision.answer, decision.pause_days, decision.prescriber) == ("pause", 5, "Dr. Selim Kaya")

    # The plan rests on it; the practitioner sees what the patient is told.
    plan = plan_for(patient, alice, "skin_rejuvenation")
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    page.goto(plan.get_absolute_url())
    told = page.locator("section", has=page.get_by_role("heading", name="The screening it rests on"))
    expect(told).to_contain_text("Pause warfarin 5 days before each session, as agreed with Dr. Selim Kaya")
    expect(told).to_contain_text("Stop ibuprofen 7 days before each session")
    screenshot("plan")

    # The series is booked from next week; the first session is too soon for the ibuprofen week.
    series = booked(plan, alice, room, next_week)
    first = series.sessions.get(sequence=1)
    held = Reminder.objects.filter(session=first, kind=ReminderKind.HOLD)
    assert {r.details["key"] for r in held} == {"prescriber:warfarin", "alcohol-hold"}
    delivery.deliver(held.get(details__key="prescriber:warfarin").pk)
    # Booking the first session also sent the pre-visit questionnaire: this is the other email.
    [email] = [m for m in mail.outbox if "/q/" not in m.body]
    assert "As agreed with Dr. Selim Kaya, please do not take warfarin in the 5 days before it." in email.body
    assert email.body.count("warfarin") == 1  # exactly that, and nothing more about warfarin
    assert "ibuprofen" not in email.body
    # The second session, a week later, leaves time for the week without ibuprofen.
    second = series.sessions.get(sequence=2)
    assert Reminder.objects.filter(session=second, kind=ReminderKind.HOLD, details__key="nsaid-hold:ibuprofen").exists()
