"""The chart's Measurements section: the protocol's outcome measures as quick numeric fields, each
with its unit, range and how-to; a value outside the range refused beside its field with all else
typed kept; the baseline and the last value shown beside each field at later sessions; the
decimal comma a Turkish clinic types; hostile values never a 500 and never stored; older charts'
"other" measurements (measure None) shown and kept when re-opened."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from mesoclinic.core.selectors import clinic_today
from mesoclinic.plans.models import OutcomeMeasure
from mesoclinic.treatment_sessions.models import Chart, Measurement
from mesoclinic.treatment_sessions.session_day import charting
from mesoclinic.treatment_sessions.session_day.forms import MeasurementsForm
from mesoclinic.treatment_sessions.session_day.selectors import chart_measures, earlier_measurements
from tests.builders import (
    CHART_VALUES,
    PatientFactory,
    active_plan,
    booked_long_ago,
    measured_course,
    moment,
    rechecked,
    session_at,
)

pytestmark = pytest.mark.django_db


def today_for(plan, alice, room, hour=12):
    session = booked_long_ago(session_at(plan, alice, room, moment(clinic_today(), hour)))
    rechecked(session, alice)
    session.refresh_from_db()
    return session


@pytest.fixture
def first_session(clinic, alice, room):
    """The first session of a skin rejuvenation plan, today: nothing measured before."""
    return today_for(active_plan(alice, "skin_rejuvenation"), alice, room)


@pytest.fixture
def fourth_session(clinic, alice, room):
    """Session 4 of a skin rejuvenation course whose three signed sessions measured elasticity
    (0.40, 0.44, 0.47) and wrinkle depth at the first and third only (the second skipped it)."""
    plan, _sessions = measured_course(
        alice,
        room,
        PatientFactory(),
        "skin_rejuvenation",
        [
            {"skin_elasticity": "0.40", "wrinkle_depth": "180"},
            {"skin_elasticity": "0.44"},
            {"skin_elasticity": "0.47", "wrinkle_depth": "171"},
        ],
    )
    return today_for(plan, alice, room)


def post_data(**measures):
    return {
        **{name: str(value) for name, value in CHART_VALUES.items()},
        "notes": "Patient relaxed, no bleeding.",
        "action": "save",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "face",
        "areas-0-volume_ml": "2",
        "products-TOTAL_FORMS": "1",
        "products-INITIAL_FORMS": "0",
        "ae_bruising": "on",
        "ae_bruising_severity": "mild",
        **measures,
    }


def chart_url(session):
    return reverse("session_day:chart", args=[session.pk])


# --- The fields ----------------------------------------------------------------------------------


def test_each_measure_of_the_protocol_is_a_field_with_its_unit_range_and_how(first_session):
    measures = chart_measures(first_session.plan)
    codes = [m.code for m in measures]
    assert codes[:2] == ["skin_elasticity", "wrinkle_depth"] and "satisfaction" in codes
    form = MeasurementsForm(measures=measures)
    field = form.fields["m_skin_elasticity"]
    assert field.unit == "R2" and not field.required
    assert field.range_text == "Between 0.05 and 1.00 R2"
    assert field.help_text.startswith("Cutometer R2")
    assert form.fields["m_satisfaction"].by_patient and not field.by_patient


def test_the_first_measured_session_says_baseline(alice_client, first_session):
    page = alice_client.get(chart_url(first_session))
    assert page.status_code == 200 and page.context["baseline_session"] is True
    html = page.content.decode()
    section = html[html.index('id="c-m"') :]
    assert "these values are the baseline" in section
    assert "Between 0.05 and 1.00 R2." in section and "Cutometer R2" in section
    assert "as the patient says" in section  # satisfaction, told by the patient
    assert 'name="m_skin_elasticity"' in section and 'inputmode="decimal"' in section


def test_later_sessions_show_the_baseline_and_the_last_value(alice_client, fourth_session):
    earlier = earlier_measurements(fourth_session)
    assert earlier["skin_elasticity"].baseline == Decimal("0.40")
    assert earlier["skin_elasticity"].previous == Decimal("0.47")
    assert earlier["skin_elasticity"].sessions == 3
    assert (earlier["wrinkle_depth"].baseline, earlier["wrinkle_depth"].previous) == (180, 171)
    assert "satisfaction" not in earlier
    page = alice_client.get(chart_url(fourth_session))
    assert page.context["baseline_session"] is False
    html = page.content.decode()
    field = html[html.index('name="m_skin_elasticity"') : html.index('name="m_wrinkle_depth"')]
    assert "<strong>0.40</strong>" in field and "last time" in field and "<strong>0.47</strong>" in field
    wrinkle = html[html.index('name="m_wrinkle_depth"') :]
    assert "<strong>180</strong>" in wrinkle and "<strong>171</strong>" in wrinkle  # its own decimals
    assert "these values are the baseline" not in html
    satisfaction = html[html.index('name="m_satisfaction"') :]
    # Not "not measured before": the patient may have scored it through their aftercare link.
    assert "Not on an earlier chart of this plan" in satisfaction[:1500]


def test_the_earlier_values_are_one_query_however_many_sessions(clinic, alice, room, django_assert_num_queries):
    counts = []
    for sessions, weeks_ago in ((1, 3), (6, 20)):
        plan, _ = measured_course(
            alice,
            room,
            PatientFactory(),
            "skin_rejuvenation",
            [{"skin_elasticity": "0.5"}] * sessions,
            first_day=clinic_today() - datetime.timedelta(weeks=weeks_ago, days=1),
        )
        today = today_for(plan, alice, room, hour=9 + sessions)
        with django_assert_num_queries(1) as captured:
            earlier_measurements(today)
        counts.append(len(captured.captured_queries))
    assert counts == [1, 1]


def test_measures_are_saved_and_restored_at_chosen_sessions(alice_client, fourth_session):
    response = alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity="0.49"))
    assert response.status_code == 302
    chart = Chart.objects.get(session=fourth_session)
    saved = chart.measurements.get()  # wrinkle depth and the rest left empty: nothing forced
    assert (saved.measure_id, saved.value, saved.unit) == ("skin_elasticity", Decimal("0.49"), "R2")
    page = alice_client.get(chart_url(fourth_session))
    assert page.context["measurements"]["m_skin_elasticity"].value() == Decimal("0.49")
    session_page = alice_client.get(fourth_session.get_absolute_url()).content.decode()
    assert "Skin elasticity: <strong>0.49</strong> R2" in session_page


# --- Refusals --------------------------------------------------------------------------------


def test_a_value_out_of_range_is_refused_beside_its_field_and_everything_else_is_kept(alice_client, fourth_session):
    response = alice_client.post(
        chart_url(fourth_session),
        post_data(m_skin_elasticity="4.7", m_wrinkle_depth="165", other_kind="Cheek redness", other_value="2"),
    )
    assert response.status_code == 200
    assert not Chart.objects.filter(session=fourth_session).exists()
    measurements = response.context["measurements"]
    assert measurements.errors["m_skin_elasticity"] == ["Between 0.05 and 1.00 R2"]
    html = response.content.decode()
    field = html[html.index('for="id_m_skin_elasticity"') : html.index('for="id_m_wrinkle_depth"')]
    assert 'value="4.7"' in field and "is-invalid" in field and "Between 0.05 and 1.00 R2</div>" in field
    assert 'name="m_wrinkle_depth" id="id_m_wrinkle_depth" value="165"' in html
    assert 'value="Cheek redness"' in html
    assert "Patient relaxed, no bleeding." in html
    assert response.context["events"]["ae_bruising"].value() is True
    assert response.context["areas"].forms[0]["volume_ml"].value() == "2"


def turkish(user):
    user.language = "tr"
    user.save(update_fields=["language"])


def test_the_range_message_in_turkish_has_the_turkish_number_format(alice_client, alice, fourth_session):
    turkish(alice)
    response = alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity="0,01"))
    assert response.status_code == 200
    [message] = response.context["measurements"].errors["m_skin_elasticity"]
    assert "0,05" in message and "1,00" in message and "R2" in message
    with translation.override("tr"):
        assert message == response.context["measurements"].fields["m_skin_elasticity"].range_text


@pytest.mark.parametrize(("typed", "stored"), [("0,45", "0.45"), ("0.45", "0.45"), (" 0,5 ", "0.50")])
def test_the_decimal_comma_a_turkish_clinic_types_is_read(alice_client, alice, fourth_session, typed, stored):
    turkish(alice)
    response = alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity=typed))
    assert response.status_code == 302
    assert Measurement.objects.get(chart__session=fourth_session).value == Decimal(stored)


def test_a_turkish_reader_sees_the_comma_and_saves_it_back(alice_client, alice, fourth_session):
    alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity="0,45"))  # in English too
    turkish(alice)
    page = alice_client.get(chart_url(fourth_session)).content.decode()
    assert 'name="m_skin_elasticity" id="id_m_skin_elasticity" value="0,45"' in page
    assert "<strong>0,40</strong>" in page  # the baseline, in the reader's number format
    again = alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity="0,45"))
    assert again.status_code == 302
    assert Measurement.objects.get(chart__session=fourth_session).value == Decimal("0.45")


HOSTILE = ["1e9", "1E-9", "abc", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "1,2,3", "1.200,5", "0,455",
           "9" * 5000, "1e999999999999", "-1", "\x00", "💉", "0x10", "1_0"]  # fmt: skip


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_values_are_refused_never_a_500_never_stored(alice_client, fourth_session, typed):
    response = alice_client.post(
        chart_url(fourth_session), post_data(m_skin_elasticity=typed, m_wrinkle_depth=typed, other_value=typed)
    )
    assert response.status_code == 200
    errors = response.context["measurements"].errors
    assert "m_skin_elasticity" in errors and "m_wrinkle_depth" in errors
    assert not Measurement.objects.filter(chart__session=fourth_session).exists()


def test_minus_zero_is_zero(alice_client, fourth_session):
    response = alice_client.post(chart_url(fourth_session), post_data(m_satisfaction="-0"))
    assert response.status_code == 302
    value = Measurement.objects.get(chart__session=fourth_session, measure="satisfaction").value
    assert value == 0 and not value.is_signed()


def test_the_limits_themselves_are_taken(alice_client, first_session):
    # At the first session: nothing earlier to be far from (10 µm after 171 µm is asked about).
    response = alice_client.post(chart_url(first_session), post_data(m_skin_elasticity="1", m_wrinkle_depth="10"))
    assert response.status_code == 302
    values = dict(Measurement.objects.filter(chart__session=first_session).values_list("measure_id", "value"))
    assert values == {"skin_elasticity": Decimal("1.00"), "wrinkle_depth": Decimal("10")}


# --- Older charts ------------------------------------------------------------------------------


def test_an_older_charts_other_measurements_show_and_are_kept_when_reopened(alice_client, alice, fourth_session):
    elasticity = OutcomeMeasure.objects.get(code="skin_elasticity")
    charting.chart_save(
        session=fourth_session,
        by=alice,
        values=CHART_VALUES,
        areas=[],
        products=[],
        events=[],
        measurements=[
            (None, "Thigh circumference", Decimal("58.5"), "cm"),
            (None, "Cheek redness", Decimal("2"), "points"),
            (elasticity, elasticity.label, Decimal("0.5"), "R2"),
        ],
    )
    session_page = alice_client.get(fourth_session.get_absolute_url()).content.decode()
    assert "Skin elasticity: <strong>0.50</strong> R2" in session_page
    assert "Thigh circumference: <strong>58.50</strong> cm" in session_page
    assert "Cheek redness: <strong>2.00</strong> points" in session_page
    page = alice_client.get(chart_url(fourth_session))
    form = page.context["measurements"]
    assert form["other_kind"].value() == "Thigh circumference" and form["other_kind_1"].value() == "Cheek redness"
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    response = alice_client.post(chart_url(fourth_session), post_data(**{k: str(v) for k, v in data.items()}))
    assert response.status_code == 302
    kept = sorted(
        Measurement.objects.filter(chart__session=fourth_session).values_list("measure_id", "kind", "value"), key=str
    )
    assert kept == sorted(
        [
            (None, "Thigh circumference", Decimal("58.50")),
            (None, "Cheek redness", Decimal("2.00")),
            ("skin_elasticity", "Skin elasticity", Decimal("0.50")),
        ],
        key=str,
    )


def test_a_measure_typed_on_an_unsigned_earlier_draft_does_not_count(clinic, alice, room):
    plan = active_plan(alice, "skin_rejuvenation")
    earlier = today_for(plan, alice, room, hour=9)
    charting.chart_save(
        session=earlier,
        by=alice,
        values=CHART_VALUES,
        areas=[],
        products=[],
        events=[],
        measurements=[(OutcomeMeasure.objects.get(code="skin_elasticity"), "Skin elasticity", Decimal("0.4"), "R2")],
    )
    later = session_at(plan, alice, room, earlier.starts_at + datetime.timedelta(hours=3))
    assert earlier_measurements(later) == {}  # a draft is not what happened


# --- A typing slip inside the range ---------------------------------------------------------------


@pytest.fixture
def wrinkles_148(clinic, alice, room):
    """Session 3 of a plan whose signed sessions measured wrinkle depth 160 then 148 µm."""
    plan, _sessions = measured_course(
        alice, room, PatientFactory(), "skin_rejuvenation", [{"wrinkle_depth": "160"}, {"wrinkle_depth": "148"}]
    )
    return today_for(plan, alice, room)


def test_ten_times_the_last_value_is_refused_once_then_kept_with_the_tick(alice_client, wrinkles_148):
    response = alice_client.post(chart_url(wrinkles_148), post_data(m_wrinkle_depth="1480", m_skin_elasticity="0.5"))
    assert response.status_code == 200
    assert not Chart.objects.filter(session=wrinkles_148).exists()
    [message] = response.context["measurements"].errors["m_wrinkle_depth"]
    assert message == (
        "1480 µm is 10 times the last value (148 µm): check it, or tick “The value is right” to keep it."
    )
    html = response.content.decode()
    field = html[html.index('for="id_m_wrinkle_depth"') :]
    assert 'value="1480"' in field[:1500] and 'name="m_wrinkle_depth_confirmed"' in field[:2500]
    assert 'name="m_skin_elasticity" id="id_m_skin_elasticity" value="0.5"' in html  # the rest kept
    assert 'name="m_skin_elasticity_confirmed"' not in html  # the tick only where the value is far
    kept = alice_client.post(chart_url(wrinkles_148), post_data(m_wrinkle_depth="1480", m_wrinkle_depth_confirmed="on"))
    assert kept.status_code == 302
    assert Measurement.objects.get(chart__session=wrinkles_148).value == Decimal("1480")


@pytest.mark.parametrize(
    ("typed", "refused"), [("444", True), ("443", False), ("50", False), ("49", True), ("51", False), ("150", False)]
)
def test_a_third_or_three_times_the_last_value_is_asked_about(alice_client, wrinkles_148, typed, refused):
    response = alice_client.post(chart_url(wrinkles_148), post_data(m_wrinkle_depth=typed))
    assert (response.status_code == 200) is refused
    if refused:
        [message] = response.context["measurements"].errors["m_wrinkle_depth"]
        assert "(148 µm)" in message and "The value is right" in message


def test_after_a_zero_more_than_half_the_range_away_is_asked_about(alice_client, clinic, alice, room):
    plan, _ = measured_course(alice, room, PatientFactory(), "skin_rejuvenation", [{"satisfaction": "0"}])
    session = today_for(plan, alice, room)
    assert alice_client.post(chart_url(session), post_data(m_satisfaction="5")).status_code == 302
    Measurement.objects.filter(chart__session=session).delete()
    Chart.objects.filter(session=session).delete()
    response = alice_client.post(chart_url(session), post_data(m_satisfaction="6"))
    assert response.status_code == 200
    assert response.context["measurements"].errors["m_satisfaction"] == [
        "6/10 is far from the last value (0/10): check it, or tick “The value is right” to keep it."
    ]


def test_the_tick_stays_shown_and_ticked_when_another_field_is_wrong(alice_client, wrinkles_148):
    response = alice_client.post(
        chart_url(wrinkles_148),
        post_data(m_wrinkle_depth="1480", m_wrinkle_depth_confirmed="on", m_skin_elasticity="9"),
    )
    assert response.status_code == 200
    errors = response.context["measurements"].errors
    assert "m_wrinkle_depth" not in errors and "m_skin_elasticity" in errors
    html = response.content.decode()
    tick = html[html.index('name="m_wrinkle_depth_confirmed"') :][:200]
    assert "checked" in tick


# --- The summary at the top ----------------------------------------------------------------------


def test_the_summary_at_the_top_lists_each_problem_linked_to_its_field(alice_client, wrinkles_148):
    response = alice_client.post(chart_url(wrinkles_148), post_data(m_wrinkle_depth="1480", duration_minutes="0"))
    assert response.status_code == 200
    html = response.content.decode()
    summary = html[html.index('id="chart-problems"') : html.index('id="c-how"')]
    assert '<div class="alert alert-danger" role="alert" tabindex="-1" id="chart-problems" autofocus>' in html
    assert '<a href="#id_m_wrinkle_depth">Wrinkle depth: 1480 µm is 10 times the last value (148 µm)' in summary
    assert '<a href="#id_duration_minutes">Duration (minutes): ' in summary  # the other chart forms' too
    assert html.index('id="chart-problems"') < html.index('id="c-m"')


def test_no_summary_when_nothing_is_wrong(alice_client, wrinkles_148):
    assert 'id="chart-problems"' not in alice_client.get(chart_url(wrinkles_148)).content.decode()


# --- Too many decimals, in the clinic's words -----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "gais", "depth", "whole", "one_decimal"),
    [
        ("en", "2.5", "0.42", "Enter a whole number.", "Enter a number with at most one decimal, e.g. 0.4."),
        ("tr", "2,5", "0,42", "Tam bir sayı girin.", "En fazla bir ondalık basamaklı bir sayı girin, ör. 0,4."),
    ],
)
def test_too_many_decimals_are_said_in_the_clinics_words(clinic, language, gais, depth, whole, one_decimal):
    measures = [OutcomeMeasure.objects.get(code="gais"), OutcomeMeasure.objects.get(code="skin_irregularity")]
    assert [m.decimals for m in measures] == [0, 1]
    with translation.override(language):
        form = MeasurementsForm({"m_gais": gais, "m_skin_irregularity": depth}, measures=measures)
        assert not form.is_valid()
        assert form.errors["m_gais"] == [whole]
        assert form.errors["m_skin_irregularity"] == [one_decimal]


def test_the_decimals_message_is_beside_the_field_on_the_page(alice_client, fourth_session):
    response = alice_client.post(chart_url(fourth_session), post_data(m_skin_elasticity="0.455"))
    assert response.status_code == 200
    assert response.context["measurements"].errors["m_skin_elasticity"] == [
        "Enter a number with at most 2 decimals, e.g. 0.45."
    ]
