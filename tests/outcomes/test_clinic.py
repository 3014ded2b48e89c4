"""The clinic's outcomes page (outcomes.clinic): what works beside the documents, what harms per
product, lot and technique, small counts hidden, both languages, constant queries."""

import datetime
import itertools
import re
import statistics
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.test import Client

from mesoclinic.core.selectors import clinic_today
from mesoclinic.outcomes import clinic
from mesoclinic.outcomes.clinic import PERIOD_ALL, PERIOD_YEAR, SMALLEST_GROUP, clinic_outcomes
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.plans.models import OutcomeMeasure, Product, ReportedOutcome
from mesoclinic.treatment_sessions.models import Chart, Lot, ProductUse, SessionStatus
from tests.builders import PatientFactory, measured_course

_SLOT = itertools.count()

pytestmark = pytest.mark.django_db

URL = "/outcomes/"


@pytest.fixture(autouse=True)
def _slots():
    """Each course on days of its own: one practitioner cannot be in two sessions at once."""
    global _SLOT
    _SLOT = itertools.count()


def course(alice, room, patient, indication, series, *, first_day=None, **kwargs):
    """measured_course, each call a weekday of its own and, after seven, weeks further back."""
    n = next(_SLOT)
    first_day = first_day or clinic_today() - datetime.timedelta(days=7 * len(series))
    first_day -= datetime.timedelta(days=n % 7 + 7 * len(series) * (n // 7))
    return measured_course(alice, room, patient, indication, series, first_day=first_day, **kwargs)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _round(value):
    return Decimal(value).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _expected_change(first, at):
    """The change in per cent, worked out here from the numbers the test typed."""
    return _round((Decimal(at) - Decimal(first)) * 100 / Decimal(first))


def _effect(outcomes, protocol, measure, sessions):
    group = next(g for g in outcomes["effects"] if g.protocol.code == protocol)
    return next(e for e in group.effects if e.measure.code == measure and e.sessions == sessions)


def _elasticity_courses(alice, room, firsts_and_sixths, **kwargs):
    """Skin rejuvenation courses of six sessions, elasticity measured at the first and sixth."""
    plans = []
    for first, sixth in firsts_and_sixths:
        series = [{"skin_elasticity": first}, {}, {}, {}, {}, {"skin_elasticity": sixth}]
        plans.append(course(alice, room, PatientFactory(), "skin_rejuvenation", series, **kwargs)[0])
    return plans


ELASTICITY = [("0.40", "0.50"), ("0.50", "0.55"), ("0.30", "0.39"), ("0.60", "0.57"), ("0.45", "0.54")]


def test_the_mean_and_median_change_at_the_documents_session_count(alice, room):
    _elasticity_courses(alice, room, ELASTICITY)
    # A course that has not reached session 6 does not count at 6; at its latest it would.
    course(alice, room, PatientFactory(), "skin_rejuvenation", [{"skin_elasticity": "0.2"}] * 4)

    effect = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6)

    changes = [_expected_change(first, sixth) for first, sixth in ELASTICITY]
    assert sorted(effect.values) == sorted(changes)
    assert effect.mean == _round(sum(changes) / len(changes))
    assert effect.median == _round(statistics.median(changes))
    assert (effect.patients, effect.courses, effect.hidden) == (5, 5, False)
    assert effect.better_courses == sum(1 for c in changes if c > 0)
    # Beside the documents' figure for six sessions, with its source.
    (figure,) = effect.figures
    stored = ReportedOutcome.objects.get(code="skin_elasticity_basaksehir")
    assert figure.reported == stored and stored.sessions == 6
    assert figure.sources[0][0] == "basaksehir-2025"


def test_a_figure_without_a_session_count_is_read_at_each_courses_latest_session(alice, room):
    values = [("60", "70", "66"), ("50", "55", "60"), ("40", "48", "44"), ("70", "77", "84"), ("55", "50", "66")]
    for a, b, c in values:
        series = [{"hair_diameter": a}, {"hair_diameter": b}, {"hair_diameter": c}]
        course(alice, room, PatientFactory(), "hair_loss", series)
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "hair_loss", "hair_diameter", None)
    changes = [_expected_change(a, c) for a, _b, c in values]
    assert sorted(effect.values) == sorted(changes)
    assert effect.mean == _round(sum(changes) / len(changes))
    assert [f.reported.code for f in effect.figures] == ["hair_diameter_basaksehir"]


def test_no_benefit_findings_are_shown_in_words_beside_the_figure(alice, room):
    for first, sixth in (("300", "250"), ("280", "270"), ("310", "300"), ("200", "210"), ("260", "221")):
        series = [{"wrinkle_depth": first}, {}, {}, {}, {}, {"wrinkle_depth": sixth}]
        course(alice, room, PatientFactory(), "skin_rejuvenation", series)
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "wrinkle_depth", 6)
    assert [c.reported.code for c in effect.caveats] == ["wrinkle_depth_guide_no_benefit"]
    page = _client(alice).get(URL).content.decode()
    assert "No benefit found:" in page
    assert ReportedOutcome.objects.get(code="wrinkle_depth_guide_no_benefit").summary in page


def test_satisfaction_is_the_share_of_courses_satisfied_from_7_at_the_documents_session(alice, room):
    scores = ["9", "8", "7", "6", "7", "10"]
    satisfaction = OutcomeMeasure.objects.get(code="satisfaction")
    for score in scores:
        plan, sessions = course(alice, room, PatientFactory(), "cellulite", [{}] * 8)
        # The patient's own score at session 8 (their newest answer counts).
        for value in ("2", score):
            PatientScore.objects.create(
                patient=plan.patient, session=sessions[7], measure=satisfaction, value=value, channel=ScoreChannel.LINK
            )
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "cellulite", "satisfaction", 8)
    satisfied = sum(1 for s in scores if Decimal(s) >= 7)
    assert effect.kind == "share" and effect.courses == len(scores)
    assert effect.share == (Decimal(satisfied) * 100 / len(scores)).quantize(Decimal(1), ROUND_HALF_UP)
    assert effect.mean == _round(sum(Decimal(s) for s in scores) / len(scores))
    assert not effect.share_hidden
    assert [f.reported.code for f in effect.figures] == ["satisfaction_cellulite_basaksehir"]


def test_gais_counts_as_improved_from_1_to_3(alice, room):
    grades = ["1", "2", "3", "4", "3"]
    for grade in grades:
        course(alice, room, PatientFactory(), "hair_loss", [{}, {"gais": grade}])
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "hair_loss", "gais", None)
    improved = sum(1 for g in grades if Decimal(g) <= 3)
    assert effect.share == (Decimal(improved) * 100 / len(grades)).quantize(Decimal(1), ROUND_HALF_UP)


# --- Small counts -------------------------------------------------------------------------------


def test_a_figure_from_fewer_than_the_smallest_group_is_hidden_and_from_that_many_shown(alice, room):
    assert SMALLEST_GROUP == 5
    _elasticity_courses(alice, room, ELASTICITY[: SMALLEST_GROUP - 1])
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6)
    assert effect.patients == SMALLEST_GROUP - 1 and effect.hidden
    page = _client(alice).get(URL).content.decode()
    assert "fewer than 5 patients" in page and "mean change" not in page
    mean_if_shown = clinic.percent_text(effect.mean, signed=True)
    assert mean_if_shown not in page

    _elasticity_courses(alice, room, ELASTICITY[SMALLEST_GROUP - 1 : SMALLEST_GROUP])
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6)
    assert effect.patients == SMALLEST_GROUP and not effect.hidden
    page = _client(alice).get(URL).content.decode()
    assert clinic.percent_text(effect.mean, signed=True) in page and "mean change" in page


def test_two_courses_of_one_patient_count_as_one_patient(alice, room):
    patient = PatientFactory()
    for first, sixth in ELASTICITY[:2]:
        series = [{"skin_elasticity": first}, {}, {}, {}, {}, {"skin_elasticity": sixth}]
        course(alice, room, patient, "skin_rejuvenation", series)
    _elasticity_courses(alice, room, ELASTICITY[2:5])
    effect = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6)
    assert (effect.courses, effect.patients, effect.hidden) == (5, 4, True)


def _two_session_courses(alice, room, count, events=()):
    return [
        course(alice, room, PatientFactory(), "skin_rejuvenation", [{}, {}], events=events)[0] for _ in range(count)
    ]


def _harm(outcomes, dimension, label):
    return next(row for row in outcomes["harms"][dimension] if row.label == label)


def test_adverse_event_rates_per_product_lot_and_technique(alice, room):
    _two_session_courses(alice, room, 4)
    _two_session_courses(alice, room, 2, events=("bruising",))
    _two_session_courses(alice, room, 5, events=("infection", "nodules"))
    outcomes = clinic_outcomes(PERIOD_YEAR)
    lot = _harm(outcomes, "lots", "HB-1")
    product = _harm(outcomes, "products", "Hydra Boost")
    technique = _harm(outcomes, "techniques", "Nappage (many superficial injections)")
    for row in (lot, product, technique):
        assert (row.sessions, row.patients, row.hidden) == (22, 11, False)
        bruising, nodules, infection, any_event = row.rates
        assert (bruising.sessions, bruising.patients, bruising.hidden) == (4, 2, True)  # 2 patients: hidden
        assert (infection.sessions, infection.patients, infection.hidden) == (10, 5, False)
        assert nodules == infection
        assert (any_event.sessions, any_event.patients) == (14, 7)
        assert infection.percent == _round(Decimal(10) * 100 / 22)
    page = _client(alice).get(URL).content.decode()
    assert "10 of 22 sessions" in page and "14 of 22 sessions" in page
    assert ">4 of 22 sessions" not in page  # the bruising of two patients


def test_zero_events_are_shown_and_a_small_product_is_hidden_whole(alice, room):
    plans = _two_session_courses(alice, room, SMALLEST_GROUP + 1)
    other = Product.objects.create(name="Rare Serum", manufacturer="Small Lab")
    rare = Lot.objects.create(product=other, lot_number="RS-9", expires_on=clinic_today() + datetime.timedelta(days=90))
    ProductUse.objects.filter(chart__session__plan=plans[0]).update(lot=rare)
    Chart.objects.filter(session__plan=plans[0]).update(technique="mesogun")
    outcomes = clinic_outcomes(PERIOD_YEAR)
    assert _harm(outcomes, "lots", "HB-1").patients == SMALLEST_GROUP
    assert _harm(outcomes, "lots", "HB-1").rates[0].sessions == 0
    assert not _harm(outcomes, "lots", "HB-1").rates[0].hidden
    small = _harm(outcomes, "products", "Rare Serum")
    assert (small.patients, small.hidden) == (1, True)
    assert _harm(outcomes, "techniques", "Mesogun (automatic, controlled depth and dose)").hidden
    page = _client(alice).get(URL).content.decode()
    assert "0 of 10 sessions" in page  # HB-1: five patients, no event
    assert "RS-9" in page and "0 of 2 sessions" not in page  # Rare Serum's lot: one patient


# --- The period, the page, who sees it -------------------------------------------------------------


def test_the_last_12_months_leave_out_older_courses_and_all_time_counts_them(alice, room):
    _elasticity_courses(alice, room, ELASTICITY)
    long_ago = clinic_today() - datetime.timedelta(days=500)
    _elasticity_courses(alice, room, [("0.50", "0.60")], first_day=long_ago)
    assert _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6).courses == 5
    assert _effect(clinic_outcomes(PERIOD_ALL), "skin_rejuvenation", "skin_elasticity", 6).courses == 6
    year = _harm(clinic_outcomes(PERIOD_YEAR), "lots", "HB-1")
    every = _harm(clinic_outcomes(PERIOD_ALL), "lots", "HB-1")
    assert (year.sessions, every.sessions) == (30, 36)
    assert _client(alice).get(URL + "?period=all").status_code == 200


def test_a_cancelled_session_is_not_counted(alice, room):
    plans = _elasticity_courses(alice, room, ELASTICITY)
    plans[0].sessions.filter(sequence=6).update(status=SessionStatus.CANCELLED)
    assert _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6).courses == 4


@pytest.mark.parametrize("value", ["week", "12M", "x" * 500, "\x00"])
def test_a_bad_period_is_refused_with_a_message(alice, value):
    response = _client(alice).get(URL, {"period": value})
    assert response.status_code == 400
    assert "period" in response.content.decode() and "12m, all" in response.content.decode()


def test_the_clinic_admin_sees_the_page_without_names_and_a_patient_does_not(alice, sam, pat, room):
    patients = [PatientFactory(given_name=f"Named{n}", family_name="Person") for n in range(SMALLEST_GROUP)]
    for patient, (first, sixth) in zip(patients, ELASTICITY, strict=True):
        series = [{"skin_elasticity": first}, {}, {}, {}, {}, {"skin_elasticity": sixth}]
        course(alice, room, patient, "skin_rejuvenation", series, events=("bruising",))
    response = _client(sam).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "mean change" in page and "HB-1" in page
    assert "Named" not in page
    assert not re.search(r"/(patients|plans|sessions)/[0-9]", page)  # no link to anyone's record
    assert _client(pat.user).get(URL).status_code == 403
    assert Client().get(URL).status_code == 302


def test_the_page_in_turkish(alice, room):
    _elasticity_courses(alice, room, ELASTICITY, events=("bruising",))
    alice.language = "tr"
    alice.save(update_fields=["language"])
    response = _client(alice).get(URL)
    page = response.content.decode()
    assert response["Content-Language"] == "tr"
    measure = OutcomeMeasure.objects.get(code="skin_elasticity")
    assert measure.label_tr in page and measure.label not in page
    assert ReportedOutcome.objects.get(code="skin_elasticity_basaksehir").summary_tr in page
    assert "Morarma" in page  # the bruising column, from the knowledge base's Turkish
    mean = _effect(clinic_outcomes(PERIOD_YEAR), "skin_rejuvenation", "skin_elasticity", 6).mean
    assert f"{abs(mean)}".replace(".", ",") in page  # a Turkish decimal comma


@pytest.mark.parametrize("courses", [2, 20])
def test_the_page_runs_the_same_queries_for_2_and_20_courses(alice, sam, room, courses, django_assert_num_queries):
    for n in range(courses):
        series = [{"skin_elasticity": "0.40", "wrinkle_depth": "300"}, {}, {"skin_elasticity": f"0.{45 + n % 40}"}]
        plan, sessions = course(
            alice, room, PatientFactory(), "skin_rejuvenation", series, events=("bruising",) if n % 2 else ()
        )
        PatientScore.objects.create(
            patient=plan.patient,
            session=sessions[-1],
            measure=OutcomeMeasure.objects.get(code="satisfaction"),
            value=Decimal(8),
            channel=ScoreChannel.LOGIN,
        )
    for user in (alice, sam):
        client = _client(user)
        client.get(URL)  # the clinic's settings, cached after the first page
        # The session and its user, the clinic's zone, the protocols with their measures (2),
        # the documents' findings, the courses (one SQL query), the three harm tables and
        # the adverse event types.
        with django_assert_num_queries(QUERIES):
            assert client.get(URL).status_code == 200


QUERIES = 11
