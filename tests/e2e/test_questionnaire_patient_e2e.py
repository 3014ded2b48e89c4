"""The patient's questionnaire in a browser, on a 390 px phone: axe over each kind of page,
a screen answered with the keyboard only, the search that knows brand names, and a whole
journey (counting the taps, and weighing what the phone downloads)."""

import datetime
import gzip
import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from mesoclinic.core.selectors import clinic_today
from mesoclinic.questionnaires import services
from mesoclinic.questionnaires.models import QuestionnaireRequest
from tests.builders import PatientFactory
from tests.e2e.conftest import login
from tests.e2e.test_accessibility_e2e import FAILING_IMPACTS, FIELDS, PHONE, axe, describe, tab_to

BORN = datetime.date(1962, 5, 17)


@pytest.fixture
def token(clinic, alice):
    clinic.phone = "+90 212 555 01 23"
    clinic.save()
    cache.clear()
    patient = PatientFactory(given_name="Ayla", family_name="Demir", date_of_birth=BORN)
    asked = services.questionnaire_send(
        patient=patient, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10)
    )
    return services.link_create(asked)


def give_date_of_birth(page, token):
    page.goto(f"/q/{token}/")
    page.get_by_label("Day").fill(str(BORN.day))
    page.get_by_label("Month").select_option(str(BORN.month))
    page.get_by_label("Year").fill(str(BORN.year))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()


def assert_clean(page, name):
    """No serious axe violation, every field named, nothing wider than the phone."""
    violations = axe(page)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"{name}:\n{describe(failing)}"
    unnamed = [field["html"] for field in page.evaluate(FIELDS) if not field["name"]]
    assert not unnamed, f"{name}: fields without a name: {unnamed}"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
    minor = [f"[{v['impact']}] {v['id']}" for v in violations]
    if minor:
        print(f"{name}: moderate/minor: {minor}")


def test_the_patient_pages_pass_axe_on_a_phone(axe_page, screenshot, token):
    page = axe_page
    page.set_viewport_size(PHONE)
    page.goto(f"/q/{token}/")
    assert_clean(page, "date of birth")
    screenshot("date-of-birth")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").select_option("1")
    page.get_by_label("Year").fill("1970")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("You can try 4 more times.")).to_be_visible()
    assert_clean(page, "date of birth, wrong")

    give_date_of_birth(page, token)
    page.get_by_label("Search the list").nth(1).fill("nuro")
    expect(page.get_by_role("button", name=re.compile("ibuprofen"))).to_be_visible()
    assert_clean(page, "screen with search")
    screenshot("screen-search")

    page.goto(f"/q/{token}/2/")
    goals = page.get_by_label("In your own words")
    goals.evaluate("box => box.removeAttribute('maxlength')")  # as a browser without maxlength would send
    goals.fill("x" * 2001)
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#goals-error")).to_contain_text("At most 2000 characters")
    assert_clean(page, "screen with an error")
    screenshot("screen-error")

    page.goto(f"/q/{token}/3/")
    assert_clean(page, "yes and no")
    page.goto(f"/q/{token}/5/")
    assert_clean(page, "skin type")
    screenshot("skin-type")
    page.goto(f"/q/{token}/review/")
    assert_clean(page, "review, incomplete")

    for step, pick in ((1, None), (2, "Hair loss"), (3, None), (5, "Light to medium")):
        page.goto(f"/q/{token}/{step}/")
        if pick:
            page.get_by_label(pick).check()
        elif step == 1:  # a "none" is an answer: an empty list is not
            page.locator("#conditions_none").check()
            page.locator("#medications_none").check()
        else:
            page.locator("#pregnant-no").check()
            page.locator("#breastfeeding-no").check()
            page.locator("#allergies_none").check()
        if step == 2:
            page.get_by_label("In your own words").fill("Thicker hair")
        page.get_by_role("button", name=re.compile("Next|Check my answers")).click()
    page.goto(f"/q/{token}/review/")
    expect(page.get_by_role("button", name="Send to the clinic")).to_be_visible()
    assert_clean(page, "review")
    screenshot("review")
    page.get_by_role("button", name="Send to the clinic").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert_clean(page, "done")
    screenshot("done")


def test_a_screen_answered_with_the_keyboard_only(page, screenshot, token):
    page.set_viewport_size(PHONE)
    page.goto(f"/q/{token}/")
    tab_to(page, page.get_by_label("Day"))
    page.keyboard.type(str(BORN.day))
    tab_to(page, page.get_by_label("Month"), limit=1)
    for _ in range(BORN.month):
        page.keyboard.press("ArrowDown")
    tab_to(page, page.get_by_label("Year"), limit=1)
    page.keyboard.type(str(BORN.year))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()

    page.goto(f"/q/{token}/3/")
    tab_to(page, page.locator("#pregnant-yes"))
    page.keyboard.press("ArrowRight")  # moves to No, and chooses it
    expect(page.locator("#pregnant-no")).to_be_checked()
    tab_to(page, page.locator("#breastfeeding-yes"), limit=2)
    page.keyboard.press("ArrowRight")
    tab_to(page, page.get_by_label("Search the list"), limit=2)
    page.keyboard.type("latex")
    expect(page.get_by_role("button", name=re.compile("Latex", re.I))).to_be_visible()
    page.keyboard.press("Enter")  # ticks the first match, and sends nothing
    expect(page.locator("#allergies-latex")).to_be_checked()
    tab_to(page, page.locator(".q-match").first, limit=2)
    tab_to(page, page.get_by_role("button", name="Next"))
    screenshot("keyboard-before-next")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Step 4 of 5")).to_be_visible()
    draft = QuestionnaireRequest.objects.get().draft
    assert draft["pregnant"] == "no" and draft["breastfeeding"] == "no" and "latex" in draft["allergies"]


def test_the_search_knows_brand_names_and_turkish_letters(page, token):
    page.set_viewport_size(PHONE)
    give_date_of_birth(page, token)
    search = page.get_by_label("Search the list").nth(1)  # the medicines
    search.fill("NUROFEN")
    match = page.get_by_role("button", name=re.compile("ibuprofen"))
    expect(match).to_have_attribute("aria-pressed", "false")
    match.click()
    expect(match).to_have_attribute("aria-pressed", "true")
    box = page.locator("#medications-ibuprofen")
    expect(box).to_be_checked()
    expect(page.locator("details", has=box)).to_have_attribute("open", "")
    expect(page.locator("details", has=box).locator("[data-q-count]")).to_have_text("1 ticked")
    expect(page.locator("#q-save-status")).to_have_text("Saved")  # the autosave answered 204
    assert QuestionnaireRequest.objects.get().draft["medications"] == ["ibuprofen"]
    # Turkish capitals fold as the engine folds them: AĞRI finds "ağrı veya ateş için aspirin".
    search.fill("AĞRI")
    expect(page.get_by_role("button", name=re.compile("aspirin for pain"))).to_be_visible()
    search.fill("zzzz")
    expect(page.get_by_text("Nothing in the list has that name")).to_be_visible()
    page.reload()
    expect(page.locator("#medications-ibuprofen")).to_be_checked()  # saved without pressing Next


def test_a_typical_completion_on_a_phone(page, live_server, token, screenshot):
    """The journey a patient makes: screens, taps, and what the phone downloads for a screen."""
    page.set_viewport_size(PHONE)
    weights = {}

    def weigh(response):
        kind = response.request.resource_type
        if kind in ("document", "stylesheet", "script", "font") and response.status == 200:
            body = response.body()
            weights[response.url] = (kind, len(body), len(gzip.compress(body)))

    taps = 0

    def tap(locator):
        nonlocal taps
        taps += 1
        locator.click()

    page.goto(f"/q/{token}/")
    tap(page.get_by_label("Day"))
    page.keyboard.type("17")
    tap(page.get_by_label("Month"))
    page.get_by_label("Month").select_option("5")
    taps += 1  # choosing May in the phone's list
    tap(page.get_by_label("Year"))
    page.keyboard.type("1962")
    tap(page.get_by_role("button", name="Continue"))
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()

    # A cold load of the first screen, as a phone opening the link for the first time.
    cold = page.context.browser.new_context(base_url=live_server.url, viewport=PHONE)
    cold.add_cookies(page.context.cookies())
    fresh = cold.new_page()
    fresh.on("response", weigh)
    fresh.goto(f"/q/{token}/1/")
    fresh.wait_for_load_state("networkidle")
    cold.close()
    code = [(size, gz) for kind, size, gz in weights.values() if kind != "font"]
    screen_weight, screen_gzipped = sum(size for size, _gz in code), sum(gz for _size, gz in code)
    fonts = sum(size for kind, size, _gz in weights.values() if kind == "font")

    tap(page.locator("label[for=conditions_none]"))
    tap(page.get_by_label("Search the list").nth(1))
    page.keyboard.type("Nurofen")
    tap(page.get_by_role("button", name=re.compile("ibuprofen")))
    tap(page.get_by_role("button", name="Next"))
    tap(page.get_by_label("Hair loss"))
    tap(page.get_by_label("Scalp"))
    tap(page.get_by_role("button", name="Next"))
    tap(page.locator("label[for=pregnant-no]"))
    tap(page.locator("label[for=breastfeeding-no]"))
    tap(page.locator("label[for=allergies_none]"))
    tap(page.get_by_role("button", name="Next"))
    tap(page.get_by_role("button", name="Next"))  # nothing tried before
    tap(page.get_by_label("Light to medium"))
    tap(page.get_by_role("button", name="Check my answers"))
    tap(page.get_by_role("button", name="Send to the clinic"))
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("Do not take ibuprofen")).to_be_visible()
    screenshot("done")
    print(
        f"\nquestionnaire: 5 screens + review + done, {taps} taps (plus typing the date of birth and 'Nurofen');"
        f" a screen downloads {screen_weight} bytes of HTML+CSS+JS ({screen_gzipped} gzipped), and {fonts} of fonts:"
    )
    for url, (kind, size, gz) in sorted(weights.items(), key=lambda item: -item[1][1]):
        print(f"  {kind:10} {size:>8} {gz:>7}  {url.split('/', 3)[-1][:70]}")


def test_the_signed_in_patients_pages_pass_axe(axe_page, pat, alice, clinic):
    page = axe_page
    page.set_viewport_size(PHONE)
    asked = services.questionnaire_send(patient=pat, by=alice, visit_on=clinic_today() + datetime.timedelta(days=10))
    login(page, "pat")
    page.goto("/questionnaire/")
    expect(page.get_by_role("heading", name="My questionnaires")).to_be_visible()
    assert_clean(page, "my questionnaires")
    page.get_by_role("link", name="Start").click()
    expect(page.get_by_text("Step 1 of 5")).to_be_visible()
    assert page.url.endswith(f"/questionnaire/{asked.pk}/1/")
    assert_clean(page, "signed-in screen")
