"""Progress on the plan page (its "Progress" section) and on the practitioner's patient page:
a chart per measure, its table, the documents' findings with the caveat; constant queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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

# The plan page with its sections (18 without any; the progress adds 6, the progress report's
# card 1), and the practitioner's patient page. The progress itself is 6 queries
# (outcomes.progress.progress_for_plans) whatever the sessions and plans; the charts are drawn
# from memory.
PLAN_PAGE_QUERIES = 25
PATIENT_PAGE_QUERIES = 26


def test_the_plan_page_shows_a_chart_per_measured_measure_with_its_table_and_the_caveat(alice_client, alice, room):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    page = alice_client.get(plan.get_absolute_url()).content.decode()
    assert 'id="progress"' in page and ">Progress<" in page
    assert page.count('<img class="progress-chart" src="data:image/svg+xml;base64,') == 2
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


def test_the_progress_section_costs_the_plan_page_six_queries(alice_client, alice, room, monkeypatch):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", SKIN)
    alice_client.get(plan.get_absolute_url())
    with CaptureQueriesContext(connection) as with_section:
        alice_client.get(plan.get_absolute_url())
    monkeypatch.delitem(sections._SECTIONS, "progress")
    with CaptureQueriesContext(connection) as without:
        alice_client.get(plan.get_absolute_url())
    assert len(with_section) - len(without) == 6


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
