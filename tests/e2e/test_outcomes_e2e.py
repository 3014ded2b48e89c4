"""Outcome measures in the browser: the practitioner records elasticity on three sessions' charts
(the first says "Baseline", later ones show the baseline and last value beside the field, a typing
slip is refused beside the field and the rest kept), then the plan page's progress shows the three
values, and its report PDF renders."""

import datetime
import re
import subprocess
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Measurement
from tests.builders import active_plan, booked_long_ago, moment, rechecked, session_at
from tests.e2e.conftest import SCREENSHOTS, login

pytestmark = pytest.mark.e2e

VALUES = ["0,42", "0.45", "0.49"]  # the first typed with the decimal comma, as a Turkish clinic does


def sessions_today(alice, room):
    """Three sessions of one skin rejuvenation plan today, each re-checked (the day's check is
    another page's test): 08:00, 09:00 and 10:00."""
    plan = active_plan(alice, "skin_rejuvenation")
    sessions = [
        booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), hour), sequence=number))
        for number, hour in enumerate((8, 9, 10), start=1)
    ]
    for session in sessions:  # after booking: booked_long_ago moves every screening back
        rechecked(session, alice)
        session.refresh_from_db()
    return plan, sessions


def chart_and_sign(page, session, value):
    page.goto(session.get_absolute_url())
    page.get_by_role("link", name=re.compile("Chart the session|Continue the chart")).click()
    page.locator("#id_areas-0-volume_ml").fill("2")
    page.locator("#id_products-0-lot_number").fill("HG-2611")
    page.locator("#id_products-0-product").select_option(label="HydraGlow Meso (Nova Aesthetics)")
    page.locator("#id_products-0-expires_on").fill((datetime.date.today() + datetime.timedelta(days=200)).isoformat())
    page.locator("#id_products-0-volume_ml").fill("2")
    page.get_by_label("Skin elasticity").fill(value)
    page.get_by_label("I have checked the chart; signing locks it.").check()
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("Chart signed and locked.")).to_be_visible()


def shoot(page, name, widths=(820, 1366), locator=None):
    for width in widths:
        page.set_viewport_size({"width": width, "height": 1000})
        path = SCREENSHOTS / f"outcomes-{name}-{width}.png"
        (page.locator(locator) if locator else page).screenshot(
            path=str(path), **({} if locator else {"full_page": True})
        )


def test_practitioner_records_measures_on_three_charts_and_sees_them_on_the_plan(page, clinic, alice, room):
    SCREENSHOTS.mkdir(exist_ok=True)
    Product.objects.get_or_create(name="HydraGlow Meso", manufacturer="Nova Aesthetics")
    plan, sessions = sessions_today(alice, room)
    login(page, "alice")

    # Session 1: the baseline. A slip (4.2 for 0.42) is refused beside the field; the rest stays.
    page.goto(sessions[0].get_absolute_url())
    page.get_by_role("link", name="Chart the session").click()
    measurements = page.locator("#measurements")
    expect(measurements).to_contain_text("First measured session: these values are the baseline.")
    expect(measurements).to_contain_text("Between 0.05 and 1.00 R2.")
    expect(measurements).to_contain_text("as the patient says")
    page.locator("#id_areas-0-volume_ml").fill("2")
    page.get_by_label("Skin elasticity").fill("4,2")
    page.get_by_label("Wrinkle depth").fill("176")
    page.get_by_role("button", name="Save draft").click()
    field = measurements.locator(".measure-field", has=page.locator("#id_m_skin_elasticity"))
    expect(field.locator(".invalid-feedback")).to_have_text("Between 0.05 and 1.00 R2")
    expect(page.locator("#id_m_skin_elasticity")).to_have_value("4,2")
    expect(page.locator("#id_m_wrinkle_depth")).to_have_value("176")
    expect(page.locator("#id_areas-0-volume_ml")).to_have_value("2")
    shoot(page, "chart-refused", locator="#measurements")
    chart_and_sign(page, sessions[0], VALUES[0])

    # Sessions 2 and 3: the baseline and the last value beside the field.
    chart_and_sign(page, sessions[1], VALUES[1])
    page.goto(sessions[2].get_absolute_url())
    page.get_by_role("link", name="Chart the session").click()
    earlier = page.locator("#id_m_skin_elasticity_earlier")
    expect(earlier).to_contain_text("Baseline 0.42")
    expect(earlier).to_contain_text("last time 0.45")
    expect(page.locator("#measurements")).not_to_contain_text("these values are the baseline")
    shoot(page, "chart-later", locator="#measurements")
    chart_and_sign(page, sessions[2], VALUES[2])

    stored = list(
        Measurement.objects.filter(chart__session__plan=plan, measure="skin_elasticity")
        .order_by("chart__session__starts_at")
        .values_list("value", flat=True)
    )
    assert stored == [Decimal("0.42"), Decimal("0.45"), Decimal("0.49")]
    page.goto(sessions[2].get_absolute_url())
    expect(page.locator("#chart-title").locator("xpath=../..")).to_contain_text("Skin elasticity: 0.49 R2")

    # The plan page: its progress section has the three values.
    page.goto(plan.get_absolute_url())
    progress = page.locator("#progress")
    expect(progress).to_be_visible()
    figure = progress.locator(".progress-measure", has_text="Skin elasticity")
    expect(figure).to_contain_text("Baseline 0.42 R2 at session 1.")
    expect(figure).to_contain_text("Latest 0.49 R2 at session 3.")
    figure.get_by_text("Show as table").click()
    rows = figure.locator("tbody tr")
    expect(rows).to_have_count(3)
    for row, value in zip(range(3), ("0.42", "0.45", "0.49"), strict=True):
        expect(rows.nth(row)).to_contain_text(value)
    shoot(page, "plan")

    # The progress report's PDF, when the plan page links it.
    pdf_link = page.locator("section[aria-labelledby=plan-progress-report]").get_by_role("link", name="PDF")
    if pdf_link.count():
        response = page.request.get(pdf_link.first.get_attribute("href"), timeout=90_000)  # WeasyPrint
        assert response.status == 200 and response.body()[:5] == b"%PDF-"
        pdf = SCREENSHOTS / "outcomes-report.pdf"
        pdf.write_bytes(response.body())
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(SCREENSHOTS / "outcomes-report")], check=True)
        assert list(SCREENSHOTS.glob("outcomes-report-*.png"))
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert "Skin elasticity" in text and "0.49" in text
