"""The issue's journey, in Turkish on a 390 px phone: a patient opens the link from her text
message, gives her date of birth, writes "hamileyim" and ticks ibuprofen (found by its brand
name), sends it, and is asked to call the clinic without being told why; the practitioner then
opens the answers, adopts them into a screening, and the screening defers.

Labels are the Turkish catalogue's (`tr()` fails if a label has no Turkish), so the test holds
the pages to their translations whatever the wording."""

import datetime
import re
import time

import pytest
from django.utils import translation
from django.utils.translation import gettext, pgettext
from playwright.sync_api import expect

from mesoclinic.core.models import Clinic
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Language
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.models import QuestionnaireResponse
from mesoclinic.screening.models import Screening
from tests.builders import PatientFactory
from tests.e2e.conftest import login
from tests.e2e.test_accessibility_e2e import PHONE

BORN = datetime.date(1990, 8, 23)


def tr(text, context=None):
    with translation.override("tr"):
        found = pgettext(context, text) if context else gettext(text)
    assert found != text, f"no Turkish for {text!r}"
    return found


@pytest.fixture
def elif_(clinic, alice):
    clinic = Clinic.current()
    clinic.phone = "+90 212 555 01 23"
    clinic.save()
    alice.language = "tr"
    alice.save()
    patient = PatientFactory(
        given_name="Elif", family_name="Yıldız", preferred_language=Language.TURKISH, date_of_birth=BORN
    )
    request = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=12)
    )
    return patient, services.link_create(request)


def test_a_pregnant_patient_is_asked_to_call_and_the_practitioner_adopts_a_deferring_screening(
    page, screenshot, elif_, alice
):
    patient, token = elif_
    page.set_viewport_size(PHONE)
    started, taps = time.monotonic(), 0

    page.goto(f"/q/{token}/")
    page.get_by_label(tr("Day")).fill(str(BORN.day))
    page.get_by_label(tr("Month")).select_option(str(BORN.month))
    page.get_by_label(tr("Year")).fill(str(BORN.year))
    page.get_by_role("button", name=tr("Continue")).click()
    taps += 4
    expect(page.locator("html")).to_have_attribute("lang", "tr")

    # Screen 1: her health and medicines. "hamileyim" among the conditions; Nurofen by its brand.
    page.get_by_label(tr("Not in the list? Write it here")).first.fill("hamileyim")
    search = page.get_by_label(tr("Search the list")).nth(1)
    search.fill("Nurofen")
    page.get_by_role("button", name=re.compile("ibuprofen", re.I)).first.click()
    taps += 3
    expect(page.locator("#medications-ibuprofen")).to_be_checked()
    screenshot("tr-health")
    page.get_by_role("button", name=tr("Next")).click()
    taps += 1

    # Screen 2: what she wants; 3: pregnancy and allergies (she answers the questions too).
    page.get_by_label(tr("In your own words: what would you like to change, and why now?")).fill(
        "Cildim daha canlı görünsün."
    )
    page.get_by_role("button", name=tr("Next")).click()
    page.locator("#pregnant-yes").check()
    page.locator("#breastfeeding-no").check()
    page.get_by_label(tr("I have no allergies that I know of")).check()
    page.get_by_role("button", name=tr("Next")).click()
    taps += 6
    for _ in range(2):  # previous treatments and skin type: nothing to add
        onward = re.compile(f"^({re.escape(tr('Next'))}|{re.escape(tr('Check my answers'))})$")
        page.get_by_role("button", name=onward).click()
        taps += 1
    screenshot("tr-review")
    page.get_by_role("button", name=tr("Send to the clinic")).click()
    taps += 1

    # She is asked to call, with the clinic's number, and told nothing clinical.
    expect(page.get_by_role("heading", name=tr("Please call the clinic before your appointment"))).to_be_visible()
    expect(page.locator("a[href^='tel:']").first).to_be_visible()
    body = page.locator("main").inner_text().lower()
    for word in ("hamile", "gebe", "pregnan"):
        assert word not in body, f"the call page names the reason: {word!r}"
    assert "ibuprofen" in body  # the preparation she can keep: stop it a week before
    assert "varfarin" not in body
    screenshot("tr-call")
    elapsed = time.monotonic() - started
    response = QuestionnaireResponse.objects.get(patient=patient)
    assert response.patient_message == "call" and response.language == "tr"
    assert "ibuprofen" in response.answers["medications"] and response.answers["pregnant"] is True
    print(f"questionnaire completed in {elapsed:.1f} s, {taps} taps, 5 screens + review")

    # The practitioner, in Turkish, adopts the answers.
    context = page.context
    context.clear_cookies()
    login(page, "alice")
    page.goto(f"/questionnaires/answers/{response.pk}/")
    page.get_by_role("link", name=tr("Start screening from these answers")).click()
    expect(page.locator(".reported-badge").first).to_be_visible()
    page.get_by_role("button", name=tr("Save screening")).click()
    expect(page.locator("#id_confirm_pregnancy_error")).to_be_visible()
    for tick in page.locator("input[name^='confirm_']").all():
        tick.check()
    for ack in page.get_by_label(tr("I have considered this and will proceed with care")).all():
        ack.check()
    screenshot("tr-adopt")
    page.get_by_role("button", name=tr("Save screening")).click()
    expect(page).to_have_url(re.compile(r"/screenings/\d+/"))
    screening = Screening.objects.get(patient=patient)
    assert screening.verdict == "defer" and screening.outcome == "deferred"
    response.refresh_from_db()
    assert response.adopted_screening == screening
    screenshot("tr-screening")
