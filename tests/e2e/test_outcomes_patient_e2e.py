"""The patient on a phone: from the aftercare link of her email, gives her scores with a thumb,
sees what she gave, changes her mind, and opens her progress report (a Turkish patient: the
clinic's questions and the documents' findings in Turkish)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.plans.models import OutcomeMeasure, ReportedOutcome
from tests.builders import PatientFactory, measured_course

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def turkish_course(clinic, alice, room):
    patient = PatientFactory(given_name="Ayşe", family_name="Yıldırım", preferred_language="tr")
    plan, sessions = measured_course(alice, room, patient, "pain", [{"function_score": "52"}, {"function_score": "61"}])
    sheets = [sheet_for(session) for session in sessions]
    return plan, sessions, link_create(sheets[-1])


def test_a_turkish_patient_scores_on_her_phone_through_the_link_and_opens_her_report(page, screenshot, turkish_course):
    _plan, _sessions, token = turkish_course
    pain = OutcomeMeasure.objects.get(code="pain_score")
    page.set_viewport_size(PHONE)
    page.goto(f"/aftercare/link/{token}/")
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    page.locator("a[href$='/scores/']").first.click()

    expect(page.get_by_text(pain.patient_question_tr)).to_be_visible()
    button = page.locator("label[for=id_pain_score_4]")
    box = button.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box  # a thumb's target
    screenshot("scores-phone")
    button.click()
    page.locator("label[for=id_satisfaction_8]").click()
    page.locator("button[type=submit]").click()

    thanks = page.locator("#thanks-title").locator("xpath=..")
    expect(thanks).to_contain_text("4")
    expect(thanks).to_contain_text("8")
    screenshot("thanks-phone")
    assert [(s.measure_id, s.value, s.channel) for s in PatientScore.objects.order_by("measure_id")] == [
        ("pain_score", Decimal("4"), ScoreChannel.LINK),
        ("satisfaction", Decimal("8"), ScoreChannel.LINK),
    ]

    # She changes her mind: the form comes back with her answers chosen, and the newest counts.
    thanks.locator("a").first.click()
    expect(page.locator("#id_pain_score_4")).to_be_checked()
    page.locator("label[for=id_pain_score_2]").click()
    page.locator("button[type=submit]").click()
    expect(page.locator("#thanks-title")).to_be_visible()
    assert PatientScore.objects.filter(measure=pain).count() == 2
    assert PatientScore.objects.filter(measure=pain).latest("reported_at").value == Decimal("2")

    page.locator("a[href*='/progress/link/']").last.click()
    report = page.locator("article.report")
    expect(report).to_contain_text("Ayşe Yıldırım")
    finding = ReportedOutcome.objects.filter(protocol="pain", measure="pain_score").first()
    expect(report).to_contain_text(finding.patient_text_tr)
    expect(report.locator("img.progress-chart")).to_have_count(3)  # pain, function, satisfaction
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the report is {width}px wide on a 390px phone"
    screenshot("report-phone")

    with page.expect_download() as download:
        page.locator("a[href$='/pdf/']").first.click()
    assert download.value.path().read_bytes().startswith(b"%PDF")
