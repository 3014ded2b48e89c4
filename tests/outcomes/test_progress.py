"""The numbers the progress charts, the report and the clinic page draw (outcomes.progress)."""

import datetime
from decimal import Decimal

import pytest

from mesoclinic.core.selectors import clinic_today
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.outcomes.progress import change_percent, is_better, plan_progress, progress_for_plans
from mesoclinic.plans.models import Finding, OutcomeMeasure, ReportedOutcome
from tests.builders import PatientFactory, measured_course

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("baseline", "value", "expected"),
    [("0.40", "0.50", "25.0"), ("100", "82", "-18.0"), ("3", "2", "-33.3"), ("2", "2", "0.0"), ("0", "5", None)],
)
def test_change_is_per_cent_of_the_baseline_to_one_decimal(baseline, value, expected):
    got = change_percent(Decimal(baseline), Decimal(value))
    assert got == (Decimal(expected) if expected else None)


def test_better_follows_the_measure_direction():
    elasticity = OutcomeMeasure.objects.get(code="skin_elasticity")
    wrinkles = OutcomeMeasure.objects.get(code="wrinkle_depth")
    assert is_better(elasticity, Decimal("10")) is True
    assert is_better(wrinkles, Decimal("10")) is False
    assert is_better(wrinkles, Decimal("-18")) is True
    assert is_better(wrinkles, Decimal("0")) is None


def test_a_course_gives_baseline_changes_and_the_documents_figures(alice, room):
    patient = PatientFactory()
    series = [
        {"skin_elasticity": "0.40", "wrinkle_depth": "300"},
        {"skin_elasticity": "0.44"},
        {"skin_elasticity": "0.50", "wrinkle_depth": "255"},
    ]
    plan, _sessions = measured_course(alice, room, patient, "skin_rejuvenation", series)
    rows = {row.measure.code: row for row in plan_progress(plan)}

    elasticity = rows["skin_elasticity"]
    assert [(p.number, p.value) for p in elasticity.points] == [
        (1, Decimal("0.40")),
        (2, Decimal("0.44")),
        (3, Decimal("0.50")),
    ]
    assert [p.change for p in elasticity.points] == [None, Decimal("10.0"), Decimal("25.0")]
    assert elasticity.change == Decimal("25.0") and elasticity.improved is True
    (figure,) = elasticity.figures
    stored = ReportedOutcome.objects.get(code="skin_elasticity_basaksehir")
    assert (figure.value, figure.sessions) == (stored.value, stored.sessions)
    # +25% from this patient's own baseline of 0.40
    assert figure.target == Decimal("0.50")
    assert figure.documents == ["basaksehir-2025"]

    wrinkles = rows["wrinkle_depth"]
    assert [p.number for p in wrinkles.points] == [1, 3]  # not measured at session 2
    assert wrinkles.change == Decimal("-15.0") and wrinkles.improved is True
    # The documents disagree: the figure and the caveat are both there.
    assert [ref.finding for ref in wrinkles.figures] == [Finding.CHANGE]
    assert [ref.reported.code for ref in wrinkles.caveats] == ["wrinkle_depth_guide_no_benefit"]


def test_the_patients_score_counts_unless_the_practitioner_measured_it(alice, room):
    patient = PatientFactory()
    plan, sessions = measured_course(alice, room, patient, "cellulite", [{"satisfaction": "6"}, {}])
    satisfaction = OutcomeMeasure.objects.get(code="satisfaction")
    for session, value in ((sessions[0], "9"), (sessions[1], "7"), (sessions[1], "8")):
        PatientScore.objects.create(
            patient=patient, session=session, measure=satisfaction, value=Decimal(value), channel=ScoreChannel.LINK
        )
    row = next(row for row in plan_progress(plan) if row.measure.code == "satisfaction")
    assert [(p.number, p.value, p.by_patient) for p in row.points] == [
        (1, Decimal("6"), False),
        (2, Decimal("8"), True),  # the newest of the patient's two answers
    ]
    assert row.change is None  # satisfaction is not a change from baseline


def test_queries_stay_the_same_for_one_plan_and_for_five(alice, room, django_assert_num_queries):
    plans = []
    for index in range(5):
        plan, _sessions = measured_course(
            alice,
            room,
            PatientFactory(),
            "hair_loss",
            [{"hair_diameter": "50"}, {"hair_diameter": "55"}],
            first_day=clinic_today() - datetime.timedelta(days=30 + index),  # one course a day: no overlap
        )
        plans.append(plan)
    progress_for_plans(plans[:1])  # the measures and findings: read once, kept per revision
    # The revision, the sessions done, the measurements, the patients' scores.
    with django_assert_num_queries(4):
        one = progress_for_plans(plans[:1])
    with django_assert_num_queries(4):
        five = progress_for_plans(plans)
    assert len(five) == 5 and one[plans[0].pk][0].points


def test_a_change_to_a_measure_or_a_finding_is_seen_at_once(alice, room, django_assert_num_queries):
    plan, _sessions = measured_course(alice, room, PatientFactory(), "hair_loss", [{"hair_diameter": "50"}])
    assert plan_progress(plan)[0].measure.label == "Hair shaft diameter"
    measure = OutcomeMeasure.objects.get(code="hair_diameter")
    measure.label = "Hair diameter (trichoscopy)"
    measure.save()  # as the admin saves it: the knowledge revision moves
    with django_assert_num_queries(7):  # the measures and findings read again, with the revision
        rows = plan_progress(plan)
    assert rows[0].measure.label == "Hair diameter (trichoscopy)"
    finding = ReportedOutcome.objects.filter(protocol_id=plan.protocol_id, measure_id="hair_diameter").first()
    assert finding is not None and finding.code in {ref.reported.code for ref in rows[0].references}
    finding.delete()
    assert finding.code not in {ref.reported.code for ref in plan_progress(plan)[0].references}
    # A protocol losing the measure (the many-to-many) is seen too.
    plan.protocol.measures.remove(measure)
    assert "hair_diameter" not in {row.measure.code for row in plan_progress(plan)}
