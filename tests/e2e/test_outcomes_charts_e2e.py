"""The progress charts in a real browser: each SVG picture loads from its own URL under the
strict CSP, styled, with no console error; screenshots at phone and desktop widths."""

import pytest
from playwright.sync_api import expect

from tests.builders import PatientFactory, measured_course
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SKIN = [
    {"skin_elasticity": "0.40", "wrinkle_depth": "300", "gais": "4"},
    {"skin_elasticity": "0.44"},
    {"skin_elasticity": "0.47", "wrinkle_depth": "280", "gais": "3"},
    {"skin_elasticity": "0.50", "wrinkle_depth": "262", "gais": "2"},
]


def test_the_plan_page_draws_the_progress_charts_under_the_csp(page, screenshot, alice, room):
    patient = PatientFactory(given_name="Ayşe", family_name="Yıldız")
    plan, _sessions = measured_course(alice, room, patient, "skin_rejuvenation", SKIN)
    login(page, "alice")
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(plan.get_absolute_url())
        section = page.locator("#progress")
        expect(section.get_by_role("heading", name="Progress")).to_be_visible()
        charts = section.locator("img.progress-chart")
        expect(charts).to_have_count(3)  # elasticity, wrinkle depth, GAIS; satisfaction not measured
        charts.first.scroll_into_view_if_needed()
        # Each picture is a request of its own (outcomes:chart): wait until every one has come.
        page.wait_for_function(
            "() => [...document.querySelectorAll('#progress img.progress-chart')]"
            ".every(e => e.complete && e.naturalWidth > 0)"
        )
        sources = charts.evaluate_all("els => els.map(e => new URL(e.src).pathname)")
        assert sources == [
            f"/plans/{plan.pk}/progress/{code}.svg" for code in ("skin_elasticity", "wrinkle_depth", "gais")
        ]
        expect(charts.nth(1)).to_have_attribute(
            "alt",
            "Wrinkle depth: 300 µm at session 1, 280 µm at session 3 (\u22126.7%), 262 µm at session 4 (\u221212.7%); basaksehir-2025: \u221218% after 6 sessions, which from this baseline would be 246 µm; guide-2024: some studies found no benefit.",
        )
        expect(section).to_contain_text("The documents disagree:")
        # The table alternative opens without script.
        section.get_by_text("Show as table").first.click()
        expect(section.locator("table").first).to_contain_text("0.50 R2")
        screenshot(f"plan-{width}")
    page.goto(patient.get_absolute_url())
    expect(page.locator("#progress img.progress-chart")).to_have_count(3)
    page.locator("#progress").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#progress img.progress-chart')]"
        ".every(e => e.complete && e.naturalWidth > 0)"
    )
    screenshot("patient-1366")
    # The `page` fixture fails the test on any console error, a CSP violation included.
