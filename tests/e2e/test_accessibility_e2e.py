"""Accessibility: axe-core over every main page, for each role, and keyboard-only journeys.

Each page is its own test. axe runs with the WCAG 2.x A/AA rules and the best-practice rules;
a "serious" or "critical" violation fails the test, the "moderate" and "minor" ones are listed
in the terminal summary (and in tests/e2e/screenshots/axe-report.json) to be reported.
A page that answers an error status it should not (or loads anything that does) fails too.

The app's Content Security Policy allows only its own scripts, so the scan's browser context
bypasses the CSP to inject axe (the `axe_page` fixture); the keyboard tests use the normal
`page`, CSP and all.
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from mesoclinic.aftercare.services import link_create, sheet_for
from mesoclinic.core.models import User
from mesoclinic.core.selectors import clinic_today
from mesoclinic.patients.models import Patient
from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.treatment_sessions.models import TreatmentSession
from mesoclinic.treatment_sessions.photos import services as photo_services
from mesoclinic.treatment_sessions.scheduling.services import series_book
from mesoclinic.treatment_sessions.scheduling.slots import localize
from tests.builders import (
    CLINIC_ZONE,
    PatientFactory,
    active_plan,
    booked_long_ago,
    consented,
    covering,
    local,
    next_monday,
    plan_for,
    rechecked,
    screened,
    session_at,
    signed_session,
)
from tests.e2e.conftest import AXE_NOTES
from tests.treatment_sessions.photos.test_photos import jpeg, upload

AXE_SOURCE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")
PASSWORD = "correct horse battery"
LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)
PHONE = {"width": 390, "height": 844}


# --- The clinic the pages show ----------------------------------------------------------------


@dataclass
class World:
    """Enough of a clinic that every page has something on it."""

    hub: Patient  # Ayla: screened (a warning), planned, consented, charted, photographed
    hub_session: TreatmentSession  # her completed, charted session
    draft_plan: object  # a screened plan waiting for consent
    recheck_session: TreatmentSession  # booked, not yet re-checked
    chart_session: TreatmentSession  # re-checked, ready to chart
    to_book_plan: object  # active, nothing booked; its first day collides with another session
    to_book_day: datetime.date
    sheet: object  # Pat's aftercare sheet
    link_token: str
    screening: Screening
    consent: object
    product: Product


@pytest.fixture
def world(clinic, alice, sam, pat, room):
    # Today's sessions an hour apart in clinic hours: a practitioner cannot be in two places.
    today = clinic_today()

    def at(hour):
        return localize(local(today, hour), LONDON)

    hub = PatientFactory(given_name="Ayla", family_name="Demir")
    hub_session = signed_session(
        alice, room, hub, areas=("face", "neck"), events=("bruising",), medications=("ibuprofen",), start=at(9)
    )
    for kind in ("before", "after"):
        photo_services.photos_upload(session=hub_session, files=[upload(jpeg())], kind=kind, caption="face", by=alice)
    sheet = sheet_for(signed_session(alice, room, pat, areas=("face",), start=at(10)))

    chart_plan = active_plan(alice, "cellulite", patient=PatientFactory(given_name="Nur", family_name="Keskin"))
    # Booked and screened days ago, as a clinic's sessions are: every hold had time to be kept.
    chart_session = booked_long_ago(session_at(chart_plan, alice, room, at(11)))
    rechecked(chart_session, alice)
    recheck_plan = plan_for(PatientFactory(given_name="Derya", family_name="Aksu"), alice, "cellulite")
    screened(recheck_plan.patient, alice, medications=["ibuprofen"], **covering(recheck_plan))
    consented(recheck_plan, alice)
    recheck_session = booked_long_ago(session_at(plan_activate(plan=recheck_plan, by=alice), alice, room, at(12)))

    draft_plan = plan_for(PatientFactory(given_name="Melis", family_name="Ergin"), alice, "hair_loss")
    screened(draft_plan.patient, alice, **covering(draft_plan))

    to_book_day = next_monday(2)
    to_book_plan = active_plan(alice, "cellulite", patient=PatientFactory(given_name="Selma", family_name="Uçar"))
    busy = active_plan(alice, "cellulite")
    series_book(plan=busy, practitioner=alice, room=room, local_starts=[local(to_book_day, 10)], by=alice)

    product = Product.objects.get_or_create(name="Hydra Boost", manufacturer="Meso Labs")[0]
    return World(
        hub=hub,
        hub_session=hub_session,
        draft_plan=draft_plan,
        recheck_session=recheck_session,
        chart_session=chart_session,
        to_book_plan=to_book_plan,
        to_book_day=to_book_day,
        sheet=sheet,
        link_token=link_create(sheet),
        screening=Screening.objects.filter(patient=hub).latest("recorded_at"),
        consent=hub_session.plan.consents.get(),
        product=product,
    )


# --- The pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    role: str  # anonymous, practitioner, scheduler, patient
    name: str
    url: object  # World -> str
    status: int = 200
    then: object = None  # (page, World) -> None: what to do (and wait for) before the scan
    phone: bool = False

    @property
    def id(self):
        return f"{self.role}-{self.name}"


def _day(world):
    return world.recheck_session.starts_at.astimezone(LONDON).date().isoformat()


def _fill_recheck(page, world):
    page.get_by_role("group", name="Pregnant now, or may be?").get_by_label("No").check()
    page.get_by_role("group", name="Breastfeeding now?").get_by_label("No").check()
    for hold in page.get_by_role("group", name=re.compile("^Kept the hold")).all():
        hold.get_by_label("Kept", exact=True).check()
    page.get_by_role("group", name=re.compile("infection")).get_by_label("No").check()
    page.get_by_role("group", name="Feeling well today?").get_by_label("No").check()
    page.get_by_role("button", name="Run the check").click()
    expect(page.locator(".verdict-bar")).to_be_visible()


def _run_recheck_empty(page, world):
    page.get_by_role("button", name="Run the check").click()
    expect(page.locator(".is-invalid").first).to_be_visible()


def _live_findings(page, world):
    expect(page.locator("#findings article.finding").first).to_be_visible()


def _save_unacknowledged(page, world):
    """A warning left unacknowledged: the save is refused with a message beside the finding."""
    expect(page.locator("#findings .verdict-bar")).to_be_visible()
    page.get_by_label("Sensitive skin", exact=True).check()
    expect(page.locator("#findings article.finding", has_text="Sensitive skin")).to_be_visible()
    page.get_by_role("button", name="Save screening").click()
    expect(page.locator("#findings .invalid-feedback").first).to_be_visible()


def _submit(button):
    def submit(page, world):
        page.get_by_role("button", name=button).click()
        expect(page.locator(".is-invalid, .invalid-feedback, .alert-danger").first).to_be_visible()

    return submit


def _search(page, world):
    page.get_by_label("Search patients").fill("demir")
    expect(page.locator("#patient-results").get_by_role("link", name="Ayla Demir")).to_be_visible()


def _plan_builder(page, world):
    expect(page.locator("#plan-form")).to_be_visible()


def _wait_for_hub(page, world):
    expect(page.get_by_role("heading", name="Ayla Demir", level=1)).to_be_visible()


def _book_url(world, alice_pk, room_pk):
    return (
        f"/plans/{world.to_book_plan.pk}/book/?start_date={world.to_book_day.isoformat()}"
        f"&start_time=10:00&practitioner={alice_pk}&room={room_pk}"
    )


def _booking_proposal(page, world):
    expect(page.locator(".proposal-item.is-conflict")).to_have_count(1)


SCREENS = [
    # Anyone
    Screen("anonymous", "login", lambda w: "/accounts/login/"),
    Screen("anonymous", "login-error", lambda w: "/accounts/login/", then=_submit("Sign in")),
    Screen("anonymous", "not-found", lambda w: "/no-such-page/", status=404),
    Screen("anonymous", "aftercare-link", lambda w: f"/aftercare/link/{w.link_token}/"),
    Screen("anonymous", "aftercare-link-phone", lambda w: f"/aftercare/link/{w.link_token}/", phone=True),
    Screen("anonymous", "aftercare-link-unknown", lambda w: "/aftercare/link/not-a-real-token/", status=404),
    # Practitioner
    Screen("practitioner", "today", lambda w: f"/today/?date={_day(w)}"),
    Screen("practitioner", "patient-list", lambda w: "/patients/"),
    Screen("practitioner", "patient-search", lambda w: "/patients/", then=_search),
    Screen("practitioner", "patient-search-page", lambda w: "/patients/?q=demir"),
    Screen("practitioner", "patient-new", lambda w: "/patients/new/"),
    Screen("practitioner", "patient-new-errors", lambda w: "/patients/new/", then=_submit("Add patient")),
    Screen("practitioner", "patient-edit", lambda w: f"/patients/{w.hub.pk}/edit/"),
    Screen("practitioner", "patient-hub", lambda w: f"/patients/{w.hub.pk}/", then=_wait_for_hub),
    Screen("practitioner", "access-history", lambda w: f"/patients/{w.hub.pk}/access/"),
    Screen("practitioner", "screening-live", lambda w: f"/patients/{w.hub.pk}/screenings/new/", then=_live_findings),
    Screen(
        "practitioner",
        "screening-unacknowledged",
        lambda w: f"/patients/{w.draft_plan.patient_id}/screenings/new/",
        then=_save_unacknowledged,
    ),
    Screen("practitioner", "screening-record", lambda w: f"/screenings/{w.screening.pk}/"),
    Screen("practitioner", "plan-chooser", lambda w: f"/patients/{w.hub.pk}/plans/new/"),
    Screen(
        "practitioner",
        "plan-builder",
        lambda w: f"/patients/{w.hub.pk}/plans/new/?indication=hair_loss",
        then=_plan_builder,
    ),
    Screen("practitioner", "plan-edit", lambda w: f"/plans/{w.draft_plan.pk}/edit/", then=_plan_builder),
    Screen("practitioner", "plan-draft", lambda w: f"/plans/{w.draft_plan.pk}/"),
    Screen("practitioner", "plan-with-consent", lambda w: f"/plans/{w.hub_session.plan_id}/"),
    Screen("practitioner", "consent-sign", lambda w: f"/plans/{w.draft_plan.pk}/consent/"),
    Screen(
        "practitioner",
        "consent-sign-errors",
        lambda w: f"/plans/{w.draft_plan.pk}/consent/",
        then=_submit("Sign consent"),
    ),
    Screen("practitioner", "consent-record", lambda w: f"/consents/{w.consent.pk}/"),
    Screen("practitioner", "session", lambda w: f"/sessions/{w.recheck_session.pk}/"),
    Screen("practitioner", "session-completed", lambda w: f"/sessions/{w.hub_session.pk}/"),
    Screen("practitioner", "recheck", lambda w: f"/sessions/{w.recheck_session.pk}/recheck/"),
    Screen(
        "practitioner",
        "recheck-errors",
        lambda w: f"/sessions/{w.recheck_session.pk}/recheck/",
        then=_run_recheck_empty,
    ),
    Screen(
        "practitioner", "recheck-findings", lambda w: f"/sessions/{w.recheck_session.pk}/recheck/", then=_fill_recheck
    ),
    Screen("practitioner", "chart", lambda w: f"/sessions/{w.chart_session.pk}/chart/"),
    Screen(
        "practitioner",
        "chart-errors",
        lambda w: f"/sessions/{w.chart_session.pk}/chart/",
        then=_submit("Sign and lock"),
    ),
    Screen("practitioner", "photo-upload", lambda w: f"/sessions/{w.recheck_session.pk}/photos/"),
    Screen("practitioner", "photo-compare", lambda w: f"/patients/{w.hub.pk}/photos/compare/"),
    Screen("practitioner", "session-move", lambda w: f"/sessions/{w.recheck_session.pk}/move/"),
    Screen("practitioner", "session-cancel", lambda w: f"/sessions/{w.recheck_session.pk}/cancel/"),
    Screen("practitioner", "calendar-week", lambda w: f"/calendar/?date={_day(w)}"),
    Screen("practitioner", "calendar-day", lambda w: f"/calendar/?view=day&date={_day(w)}"),
    Screen("practitioner", "calendar-feed", lambda w: "/calendar/feed/"),
    Screen("practitioner", "knowledge", lambda w: "/knowledge/"),
    Screen("practitioner", "knowledge-rule", lambda w: "/knowledge/rules/nsaid-hold/"),
    Screen("practitioner", "knowledge-terms", lambda w: "/knowledge/terms/"),
    Screen("practitioner", "knowledge-term", lambda w: "/knowledge/terms/medication/ibuprofen/"),
    Screen("practitioner", "knowledge-source", lambda w: "/knowledge/sources/guide-2024/"),
    Screen("practitioner", "protocols", lambda w: "/knowledge/protocols/"),
    Screen("practitioner", "protocol", lambda w: "/knowledge/protocols/cellulite/"),
    Screen("practitioner", "products", lambda w: "/products/"),
    Screen("practitioner", "product-new", lambda w: "/products/new/"),
    Screen("practitioner", "product-edit", lambda w: f"/products/{w.product.pk}/"),
    Screen("practitioner", "lot-recall", lambda w: "/recall/?lot=HB-1"),
    Screen("practitioner", "outbox", lambda w: "/outbox/"),
    Screen("practitioner", "password-change", lambda w: "/accounts/password/"),
    # Clinic admin
    Screen("scheduler", "calendar-week", lambda w: f"/calendar/?date={_day(w)}"),
    Screen("scheduler", "calendar-day", lambda w: f"/calendar/?view=day&date={_day(w)}"),
    Screen("scheduler", "calendar-by-room", lambda w: f"/calendar/?by=room&date={_day(w)}"),
    Screen("scheduler", "to-book", lambda w: "/calendar/to-book/"),
    Screen("scheduler", "book", lambda w: f"/plans/{w.to_book_plan.pk}/book/"),
    Screen(
        "scheduler",
        "book-proposal",
        lambda w: _book_url(w, w.hub_session.practitioner_id, w.hub_session.room_id),
        then=_booking_proposal,
    ),
    Screen("scheduler", "patient-list", lambda w: "/patients/?q=demir"),
    Screen("scheduler", "patient-contact", lambda w: f"/patients/{w.hub.pk}/"),
    Screen("scheduler", "patient-edit", lambda w: f"/patients/{w.hub.pk}/edit/"),
    Screen("scheduler", "patient-new", lambda w: "/patients/new/"),
    Screen("scheduler", "session", lambda w: f"/sessions/{w.recheck_session.pk}/"),
    Screen("scheduler", "session-move", lambda w: f"/sessions/{w.recheck_session.pk}/move/"),
    Screen("scheduler", "session-cancel", lambda w: f"/sessions/{w.recheck_session.pk}/cancel/"),
    Screen("scheduler", "clinical-page-refused", lambda w: f"/screenings/{w.screening.pk}/", status=403),
    Screen("scheduler", "outbox", lambda w: "/outbox/"),
    Screen("scheduler", "setup", lambda w: "/setup/"),
    Screen("scheduler", "setup-clinic", lambda w: "/setup/clinic/"),
    Screen("scheduler", "setup-hours", lambda w: "/setup/hours/"),
    Screen("scheduler", "setup-closures", lambda w: "/setup/closures/"),
    Screen("scheduler", "setup-rooms", lambda w: "/setup/rooms/"),
    Screen("scheduler", "setup-practitioner", lambda w: f"/setup/practitioners/{w.hub_session.practitioner_id}/"),
    # Patient
    Screen("patient", "my-aftercare", lambda w: "/aftercare/"),
    Screen("patient", "sheet", lambda w: f"/aftercare/sheets/{w.sheet.pk}/"),
    Screen("patient", "my-aftercare-phone", lambda w: "/aftercare/", phone=True),
    Screen("patient", "sheet-phone", lambda w: f"/aftercare/sheets/{w.sheet.pk}/", phone=True),
    Screen("patient", "password-change", lambda w: "/accounts/password/"),
]

# Pages whose looks the colour fixes touch most: kept as screenshots for a human to review.
SCREENSHOT_OF = {
    "anonymous-login",
    "practitioner-today",
    "practitioner-patient-hub",
    "practitioner-screening-live",
    "practitioner-knowledge-term",
    "practitioner-calendar-week",
    "practitioner-session",
    "practitioner-chart-errors",
    "scheduler-calendar-day",
    "scheduler-book-proposal",
    "scheduler-setup-hours",
    "patient-sheet",
    "patient-sheet-phone",
}

USERS = {"practitioner": "alice", "scheduler": "sam", "patient": "pat"}


def _sign_in(page, live_server, role):
    """Signs in without the login form (which has its own scan): the session cookie of a client."""
    if role == "anonymous":
        return
    client = Client()
    client.force_login(User.objects.get(username=USERS[role]))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def axe(page):
    """The violations axe finds on the page as it is now."""
    page.add_script_tag(content=AXE_SOURCE.read_text())
    return page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
            .then(results => results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                          summary: n.failureSummary}))})))""",
        AXE_TAGS,
    )


# Every visible field on a page with its accessible name, worked out as a screen reader does
# for form fields: aria-labelledby, aria-label, its <label>s, then its title. (A placeholder is
# not a label.) axe's `label` and `select-name` rules check the same; this also counts the fields.
FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && el.getClientRects().length > 0
                  && getComputedStyle(el).visibility !== 'hidden')
    .map(el => {
        const text = ids => ids.split(/\\s+/).map(id => document.getElementById(id)?.textContent || '').join(' ');
        const name = (el.getAttribute('aria-labelledby') && text(el.getAttribute('aria-labelledby')))
            || el.getAttribute('aria-label')
            || [...(el.labels || [])].map(label => label.textContent).join(' ')
            || el.getAttribute('title') || '';
        return {html: el.outerHTML.slice(0, 160), name: name.trim()};
    })"""

# The main forms, and at least how many fields each shows: they must be in the scan, and their
# fields must be there to be checked (a form that failed to render would pass vacuously).
MAIN_FORMS = {
    "anonymous-login": 2,
    "anonymous-login-error": 2,
    "practitioner-patient-list": 1,
    "practitioner-patient-new": 11,
    "practitioner-patient-new-errors": 11,
    "practitioner-patient-edit": 11,
    "practitioner-screening-live": 60,
    "practitioner-screening-unacknowledged": 60,
    "practitioner-plan-chooser": 1,
    "practitioner-plan-builder": 5,
    "practitioner-plan-edit": 5,
    "practitioner-consent-sign": 3,
    "practitioner-consent-sign-errors": 3,
    "practitioner-recheck": 6,
    "practitioner-recheck-errors": 6,
    "practitioner-recheck-findings": 7,
    "practitioner-chart": 10,
    "practitioner-chart-errors": 10,
    "practitioner-photo-upload": 2,
    "practitioner-session-move": 2,
    "practitioner-session-cancel": 1,
    "practitioner-calendar-week": 4,
    "practitioner-product-new": 2,
    "practitioner-lot-recall": 1,
    "practitioner-password-change": 3,
    "scheduler-book": 4,
    "scheduler-book-proposal": 5,
    "scheduler-patient-new": 10,
    "scheduler-patient-edit": 10,
    "scheduler-session-move": 2,
    "scheduler-session-cancel": 1,
    "scheduler-setup-clinic": 3,
    "scheduler-setup-hours": 3,
    "scheduler-setup-closures": 3,
    "scheduler-setup-rooms": 2,
    "scheduler-setup-practitioner": 3,
    "patient-password-change": 3,
}


def test_every_main_form_is_in_the_scan():
    ids = {screen.id for screen in SCREENS}
    assert set(MAIN_FORMS) <= ids, set(MAIN_FORMS) - ids


def test_the_scan_finds_what_it_should(axe_page, db):
    """The scan can fail: on a page with unlabelled fields and pale text added, it says so.
    (axe takes a placeholder for a name; the field check here does not: it vanishes on typing.)"""
    page = axe_page
    page.goto("/accounts/login/")
    page.evaluate(
        """() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input type="text" id="unnamed"><input type="text" id="hint" placeholder="Name">'
            + '<p style="color: #aaa">Pale text</p>')"""
    )
    found = {violation["id"]: violation for violation in axe(page)}
    assert found["label"]["impact"] == "critical"
    assert [node["target"] for node in found["label"]["nodes"]] == ["#unnamed"]
    assert found["color-contrast"]["impact"] == "serious"
    assert [field["html"] for field in page.evaluate(FIELDS) if not field["name"]] == [
        '<input type="text" id="unnamed">',
        '<input type="text" id="hint" placeholder="Name">',
    ]


def describe(violations):
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        lines += [
            f"    {n['target']}: {n['html']}\n      {n['summary']}".replace("\n", "\n      ") for n in v["nodes"][:8]
        ]
    return "\n".join(lines)


@pytest.mark.parametrize("screen", SCREENS, ids=[s.id for s in SCREENS])
def test_axe_finds_nothing_serious(axe_page, screenshot, live_server, world, screen):
    page = axe_page
    if screen.phone:
        page.set_viewport_size(PHONE)
    bad_statuses = []

    def on_response(response):
        if response.status >= 400 and response.request.resource_type != "document":
            bad_statuses.append(f"{response.status} {response.url}")

    page.on("response", on_response)
    _sign_in(page, live_server, screen.role)
    url = screen.url(world)
    response = page.goto(url)
    assert response.status == screen.status, f"{url} answered {response.status}"
    # Not redirected elsewhere (to the login page, or away from a page that refused to open).
    assert urlsplit(page.url).path == urlsplit(url).path, f"{url} went to {page.url}"
    page.wait_for_load_state("networkidle")  # late loads (lazy images, live updates) have answered too
    if screen.then:
        screen.then(page, world)  # each ends by waiting for the state it brings about
        # A form sent back with its errors, or a live update: still the same page.
        assert urlsplit(page.url).path == urlsplit(url).path, f"{screen.id} went on to {page.url}"

    violations = axe(page)
    fields = page.evaluate(FIELDS)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    notes = [v for v in violations if v["impact"] not in FAILING_IMPACTS]
    AXE_NOTES[screen.id] = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": v["nodes"]} for v in violations
    ]
    if screen.id in SCREENSHOT_OF:
        screenshot("page")
    assert not bad_statuses, f"error statuses while loading {screen.id}: {bad_statuses}"
    unnamed = [field["html"] for field in fields if not field["name"]]
    assert not unnamed, f"{screen.id}: form fields without a label or accessible name: {unnamed}"
    if screen.id in MAIN_FORMS:
        assert len(fields) >= MAIN_FORMS[screen.id], f"{screen.id} shows only {len(fields)} fields"
    assert not failing, (
        f"{screen.id} ({page.url}) has serious or critical accessibility violations:\n{describe(failing)}"
        + (f"\n\nAlso moderate/minor:\n{describe(notes)}" if notes else "")
    )
    if notes:
        print(f"{screen.id}: moderate/minor:\n{describe(notes)}")


# --- Keyboard only ----------------------------------------------------------------------------
# No clicks: Tab, typing, Enter and Space. Every element Tab lands on must show that it has
# the focus (an outline or a focus ring), and each journey must end where it should.

FOCUS_SHOWN = """() => {
    // An outline at least 1px wide, or a ring (box-shadow) at least 1px wide, not faint.
    const el = document.activeElement;
    if (!el || el === document.body) return false;
    const style = getComputedStyle(el);
    const alpha = color => {
        const parts = (color.match(/rgba?\\(([^)]*)\\)/) || [, ''])[1].split(',');
        return parts.length === 4 ? parseFloat(parts[3]) : (parts.length === 3 ? 1 : 0);
    };
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1
        && (style.outlineStyle === 'auto' || alpha(style.outlineColor) >= 0.5);
    const shadows = style.boxShadow === 'none' ? [] : style.boxShadow.split(/,(?![^(]*\\))/);
    const ring = shadows.some(shadow => {
        const px = (shadow.match(/-?[\\d.]+px/g) || []).map(parseFloat);
        return !/inset/.test(shadow) && alpha(shadow) >= 0.25 && px.length === 4 && (px[3] >= 1 || px[2] >= 2);
    });
    const box = el.getBoundingClientRect();
    return (outline || ring) && box.width > 0 && box.height > 0;
}"""

FOCUSED = """() => {
    const el = document.activeElement, style = getComputedStyle(el);
    return `${el.outerHTML.slice(0, 160)} (outline: ${style.outlineStyle} ${style.outlineWidth} `
        + `${style.outlineColor}; box-shadow: ${style.boxShadow})`;
}"""


def assert_focus_shows(page):
    """The focused element is on screen with an outline or a focus ring. Bootstrap eases the
    ring in, so this waits the transition out (a second at most) rather than reading it mid-way."""
    try:
        page.wait_for_function(FOCUS_SHOWN, timeout=1_000)
    except PlaywrightTimeout:
        raise AssertionError(f"focus is not visible on {page.evaluate(FOCUSED)}") from None


def tab_to(page, target, limit=400, key="Tab"):
    """Presses Tab until `target` has the focus, checking that each element on the way shows it.
    Past the last element the focus leaves the page (the body), and the next Tab starts again
    at the top; going round twice means `target` cannot be reached."""
    wrapped = 0
    for _ in range(limit + 1):
        if target.evaluate("el => el === document.activeElement"):
            assert_focus_shows(page)
            return
        page.keyboard.press(key)
        if page.evaluate("() => document.activeElement === document.body"):
            wrapped += 1
            assert wrapped < 2, f"{target} cannot be reached with {key}"
            continue
        assert_focus_shows(page)
    raise AssertionError(f"{target} never got the focus in {limit} presses of {key}")


def keyboard_login(page, username):
    page.goto("/accounts/login/")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    assert_focus_shows(page)
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def test_the_skip_link_is_the_first_stop_and_jumps_past_the_navigation(page, alice):
    keyboard_login(page, "alice")
    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).not_to_be_in_viewport()  # hidden until it has the focus
    tab_to(page, skip, limit=1)
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    # The next stop is in the page, not the navigation bar.
    assert page.evaluate("() => !!document.activeElement.closest('main')")
    assert not page.evaluate("() => !!document.activeElement.closest('nav.app-navbar')")


def test_keyboard_only_sign_in_and_a_new_patient(page, screenshot, alice):
    keyboard_login(page, "alice")
    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()

    navigation = page.get_by_role("navigation", name="Main navigation")
    tab_to(page, navigation.get_by_role("link", name="Patients"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="New patient"))
    page.keyboard.press("Enter")

    tab_to(page, page.get_by_label("Given name"))
    page.keyboard.type("Leyla")
    tab_to(page, page.get_by_label("Family name"), limit=1)
    page.keyboard.type("Korkmaz")
    tab_to(page, page.get_by_label("Date of birth"), limit=1)
    page.keyboard.type("05171990")  # the browser's date field: month, day, year
    tab_to(page, page.get_by_label("Sex"), limit=5)
    page.keyboard.type("Female")
    tab_to(page, page.get_by_label("Phone", exact=True), limit=5)
    page.keyboard.type("0532 123 45 67")
    tab_to(page, page.get_by_label("Email"), limit=1)
    page.keyboard.type("leyla@example.com")
    add = page.get_by_role("button", name="Add patient")
    tab_to(page, add, limit=10)
    screenshot("focus-on-add")
    page.keyboard.press("Space")

    expect(page.get_by_role("heading", name="Leyla Korkmaz", level=1)).to_be_visible()
    patient = Patient.objects.get(family_name="Korkmaz")
    assert (patient.given_name, patient.date_of_birth, patient.sex) == ("Leyla", datetime.date(1990, 5, 17), "female")
    assert patient.phone == "+905321234567"  # stored as E.164 (patients.phones)


def test_keyboard_only_screening_with_a_warning_acknowledged(page, screenshot, alice):
    patient = PatientFactory(given_name="Derya", family_name="Aksu")
    keyboard_login(page, "alice")
    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()
    page.goto(patient.get_absolute_url())
    tab_to(page, page.get_by_role("link", name="Start a screening").first)
    page.keyboard.press("Enter")
    findings = page.locator("#findings")
    expect(findings.locator(".verdict-bar")).to_be_visible()  # the live panel has loaded

    tab_to(page, page.get_by_label("Face", exact=True))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_label("Sensitive skin", exact=True))
    page.keyboard.press("Space")
    eczema = findings.locator("article.finding", has_text="Sensitive skin")
    expect(eczema.locator(".severity-badge")).to_have_text("Warning")
    expect(findings.locator(".verdict-bar")).to_contain_text("Caution")

    acknowledge = eczema.get_by_label("I have considered this and will proceed with care")
    tab_to(page, acknowledge)
    page.keyboard.press("Space")
    expect(acknowledge).to_be_checked()
    # Treatment today leaves no 24 hours without alcohol: that warning is acknowledged too.
    for box in findings.get_by_label("I have considered this and will proceed with care").all():
        if not box.is_checked():
            tab_to(page, box)
            page.keyboard.press("Space")
            expect(box).to_be_checked()
    screenshot("acknowledged")
    tab_to(page, page.get_by_role("button", name="Save screening"))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Treat with care (warnings acknowledged)", exact=True)).to_be_visible()
    screening = Screening.objects.get(patient=patient)
    assert screening.outcome == Outcome.CAUTION
    assert "sensitive_skin" in screening.answers["conditions"]
    assert "face" in screening.answers["areas"]
