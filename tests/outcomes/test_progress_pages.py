"""Progress on the plan page (its "Progress" section) and on the practitioner's patient page:
a chart per measure, its table, the documents' findings with the caveat; constant queries."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_today
from mesoclinic.outcomes.sections import progress_context
from mesoclinic.plans import sections
from tests.builders import PatientFactory, active_plan, measured_course

pytestmark = pytest.mark.django_db

SKIN = [
    {"skin_elasticity": "0.40", "wrinkle_depth": "300"},
    {"skin_elasticity": "0.45"},
    {"skin_elasticity": "0.50", "wrinkle_depth": "255"},
]

# The plan page with its sections (18 without any; the progress adds 4, the progress report's
# card 1), and the practitioner's patient page. The progress itself is 4 queries
# (outcomes.progress.progress_for_plans: the knowledge revision its measures and findings are
# kept by, the sessions, measurements and scores) whatever the sessions and plans; the charts'
# pictures are drawn on requests of their own.
PLAN_PAGE_QUERIES = 23
PATIENT_PAGE_QUERIES = 24


def test_the_plan_page_shows_a_chart_per_measured_measure_with_its_table_and_the_caveat(alice_client, alice, room):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    page = alice_client.get(plan.get_absolute_url()).content.decode()
    assert 'id="progress"' in page and ">Progress<" in page
    # The pictures are drawn on requests of their own: each <img> names its plan and measure.
    pictures = re.findall(r'<img class="progress-chart" src="([^"]+)"', page)
    assert pictures == [
        f"/plans/{plan.pk}/progress/skin_elasticity.svg",
        f"/plans/{plan.pk}/progress/wrinkle_depth.svg",
    ]
    assert 'alt="Skin elasticity: 0.40 R2 at session 1, 0.45 R2 at session 2 (+12.5%)' in page
    assert "Show as table" in page and "<td>0.50 R2</td><td>+25%</td>" in page.replace("\n", "")
    assert "Change since the baseline: +25%, an improvement." in page
    # The documents disagree on wrinkles: the figure and the caveat, both with their keys.
    assert "six facial sessions reduced wrinkle depth by 18%." in page
    assert "The documents disagree:" in page and "found no improvement in wrinkles" in page
    assert "[guide-2024]" in page and "[basaksehir-2025]" in page
    # Measures of the protocol not measured yet are named, with nothing drawn.
    assert "Not measured yet." in page
    assert "<script" not in page.split('id="progress"')[1].split("</section>")[0]


def test_a_chart_picture_is_the_svg_of_the_plans_values_in_the_readers_language_and_is_audited(
    alice_client, alice, room
):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    before = AuditEntry.objects.count()
    response = alice_client.get(f"/plans/{plan.pk}/progress/skin_elasticity.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "no-store" in response["Cache-Control"]  # health data: never kept by a shared cache
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<script" not in svg
    # The patient's values as the chart prints them, and the legend in English.
    assert "This patient" in svg and "+25%" in svg and "baseline" in svg
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("pk")
    assert entry.actor == alice and entry.additional_data["page"] == "progress chart"
    alice.language = "tr"
    alice.save(update_fields=["language"])
    turkish = alice_client.get(f"/plans/{plan.pk}/progress/skin_elasticity.svg").content.decode()
    assert "Bu hasta" in turkish and "+%25" in turkish


def test_a_measure_not_measured_or_not_the_plans_has_no_chart_picture(alice_client, alice, room):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", [{"skin_elasticity": "0.4"}])
    assert alice_client.get(f"/plans/{plan.pk}/progress/skin_elasticity.svg").status_code == 200
    # Wrinkles are the protocol's but not measured; hair diameter is another protocol's.
    assert alice_client.get(f"/plans/{plan.pk}/progress/wrinkle_depth.svg").status_code == 404
    assert alice_client.get(f"/plans/{plan.pk}/progress/hair_diameter.svg").status_code == 404
    assert alice_client.get(f"/plans/{plan.pk}/progress/no-such-measure.svg").status_code == 404
    assert alice_client.get(f"/plans/{plan.pk + 1000}/progress/skin_elasticity.svg").status_code == 404


def test_before_the_first_measurement_the_plan_page_says_the_first_values_are_the_baseline(alice_client, alice):
    plan = active_plan(alice, "skin_rejuvenation")
    page = alice_client.get(plan.get_absolute_url()).content.decode()
    assert "Nothing measured yet: the first session's values are the baseline." in page
    assert "progress-chart" not in page


def test_a_plan_whose_protocol_measures_nothing_has_no_progress_section(alice_client, alice, rf):
    plan = active_plan(alice, "skin_rejuvenation")
    request = rf.get("/")
    request.user = alice
    assert progress_context(request, plan) is not None
    plan.protocol.measures.clear()
    assert progress_context(request, plan) is None
    assert 'id="progress"' not in alice_client.get(plan.get_absolute_url()).content.decode()


def test_the_section_is_for_practitioners_only(alice, sam, rf):
    plan = active_plan(alice, "skin_rejuvenation")
    request = rf.get("/")
    request.user = sam
    assert progress_context(request, plan) is None
    assert "progress" in sections._SECTIONS


def test_the_plan_page_in_turkish(alice_client, alice, room):
    alice.language = "tr"
    alice.save(update_fields=["language"])
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    page = alice_client.get(plan.get_absolute_url()).content.decode()
    assert 'lang="tr"' in page
    assert "Cilt elastikiyeti" in page and "Kırışıklık derinliği" in page
    assert (
        "<td>0,50 R2</td>" in page and 'alt="Cilt elastikiyeti: 1. seansta 0,40 R2, 2. seansta 0,45 R2 (+%12,5)' in page
    )
    # The documents' findings in Turkish, from the knowledge base's own Turkish.
    assert "altı yüz seansı kırışıklık derinliğini %18 azalttı." in page
    assert "kırışıklıklarda iyileşme bulmadı" in page


@pytest.mark.parametrize("sessions", [1, 6])
def test_the_plan_page_queries_do_not_grow_with_the_course(
    alice_client, alice, room, django_assert_num_queries, sessions
):
    series = [{"skin_elasticity": f"0.{40 + n}", "wrinkle_depth": str(300 - n)} for n in range(sessions)]
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", series)
    alice_client.get(plan.get_absolute_url())  # the clinic, the knowledge base: cached from now on
    with django_assert_num_queries(PLAN_PAGE_QUERIES):
        page = alice_client.get(plan.get_absolute_url()).content.decode()
    assert page.count("progress-chart") == 2


def test_the_progress_section_costs_the_plan_page_four_queries(alice_client, alice, room, monkeypatch):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    alice_client.get(plan.get_absolute_url())
    with CaptureQueriesContext(connection) as with_section:
        alice_client.get(plan.get_absolute_url())
    monkeypatch.delitem(sections._SECTIONS, "progress")
    with CaptureQueriesContext(connection) as without:
        alice_client.get(plan.get_absolute_url())
    assert len(with_section) - len(without) == 4


def patient_with_plans(alice, room, count):
    patient = PatientFactory()
    indications = ["skin_rejuvenation", "hair_loss", "cellulite", "pigmentation"][:count]
    series = {
        "skin_rejuvenation": SKIN,
        "hair_loss": [{"hair_diameter": "60"}, {"hair_diameter": "63"}],
        "cellulite": [{"skin_irregularity": "4.0"}, {"skin_irregularity": "3.5"}],
        "pigmentation": [{"masi": "12.0"}, {"masi": "9.5"}],
    }
    for index, indication in enumerate(indications):
        # A course each, on days of their own (a room holds one session at a time).
        first_day = clinic_today() - datetime.timedelta(days=60 - index)
        measured_course(alice, room, patient, indication, series[indication], first_day=first_day, every_days=5)
    return patient


def test_the_patient_page_shows_each_plans_progress(alice_client, alice, room):
    patient = patient_with_plans(alice, room, 2)
    page = alice_client.get(patient.get_absolute_url()).content.decode()
    assert '<a href="#progress">Progress</a>' in page
    # Elasticity and wrinkles; hair diameter (shedding was not measured: no chart, no heading).
    assert page.count('<img class="progress-chart"') == 3
    assert "Hair shedding" not in page
    assert "Skin rejuvenation plan" in page and "Hair loss plan" in page
    assert "The documents disagree:" in page
    # Read out with the chart: the figure without a session count, and where it would leave this patient.
    assert "basaksehir-2025: +15%, sessions not given, which from this baseline would be 69 µm." in page
    assert 'alt="Hair shaft diameter: 60 µm at session 1, 63 µm at session 2 (+5%)' in page


def test_the_clinic_admins_patient_page_shows_no_clinical_progress(sam_client, alice, room):
    patient = patient_with_plans(alice, room, 1)
    page = sam_client.get(patient.get_absolute_url()).content.decode()
    assert "progress-chart" not in page and 'id="progress"' not in page


@pytest.mark.parametrize("plans", [1, 4])
def test_the_patient_page_queries_do_not_grow_with_plans(alice_client, alice, room, django_assert_num_queries, plans):
    patient = patient_with_plans(alice, room, plans)
    alice_client.get(patient.get_absolute_url())
    with django_assert_num_queries(PATIENT_PAGE_QUERIES):
        page = alice_client.get(patient.get_absolute_url()).content.decode()
    assert page.count("progress-plan") == plans
