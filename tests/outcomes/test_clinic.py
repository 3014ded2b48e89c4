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


def test_zero_events_are_shown_and_a_small_product_is_pooled_not_shown_alone(alice, room):
    plans = _two_session_courses(alice, room, SMALLEST_GROUP + 1)
    other = Product.objects.create(name="Rare Serum", manufacturer="Small Lab")
    rare = _lot(other, "RS-9")
    ProductUse.objects.filter(chart__session__plan=plans[0]).update(lot=rare)
    Chart.objects.filter(session__plan=plans[0]).update(technique="mesogun")
    outcomes = clinic_outcomes(PERIOD_YEAR)
    # Rare Serum (1 patient) alone would be a pool of one: Hydra Boost (5) joins it, so the table
    # is one pooled row and neither product's own figures (nor Hydra Boost's lots) are shown.
    (pool,) = outcomes["harms"]["products"]
    assert pool.members == ["Hydra Boost", "Rare Serum"] and (pool.sessions, pool.patients) == (12, 6)
    assert pool.rates[0].sessions == 0 and not pool.rates[0].hidden
    assert outcomes["harms"]["lots"] == []
    (techniques,) = outcomes["harms"]["techniques"]
    assert techniques.pooled and techniques.patients == SMALLEST_GROUP + 1
    page = _client(alice).get(URL).content.decode()
    assert "0 of 12 sessions" in page  # no one had bruising: zero is shown
    assert "Rare Serum" in page and "0 of 10 sessions" not in page and "0 of 2 sessions" not in page


# --- Secondary suppression: no hidden row or cell can be worked out by subtraction -----------------


def _lot(product, number):
    return Lot.objects.create(
        product=product, lot_number=number, expires_on=clinic_today() + datetime.timedelta(days=90)
    )


def _hydraglow(alice, room, lots, technique_of=None):
    """One product, HydraGlow, and courses on its lots: `lots` is [(lot number, patients,
    events)]; each course is two signed sessions with those events on each."""
    product = Product.objects.create(name="HydraGlow", manufacturer="Glow Lab")
    for number, patients, events in lots:
        lot = _lot(product, number)
        for plan in _two_session_courses(alice, room, patients, events=events):
            ProductUse.objects.filter(chart__session__plan=plan).update(lot=lot)
            if technique_of and number in technique_of:
                Chart.objects.filter(session__plan=plan).update(technique=technique_of[number])
    return product


def _shown_numbers(row):
    """What the page shows of a row: sessions, patients, and each rate's event sessions, or None
    where it says "fewer than 5 patients"."""
    if row.note or row.hidden:
        return None
    return (row.sessions, row.patients, *[None if rate.hidden else rate.sessions for rate in row.rates])


def _minus(whole, parts):
    if whole is None or any(part is None for part in parts):
        return None
    return tuple(
        None if w is None or any(p[i] is None for p in parts) else w - sum(p[i] for p in parts)
        for i, w in enumerate(whole)
    )


def test_the_field_tests_single_lot_patient_cannot_be_worked_out(alice, room):
    # The field test: HG-2611 used by 6 patients (each with bruising), HG-2702 by one patient with
    # bruising; the product row minus the shown lot gave that patient's sessions and bruising away.
    _hydraglow(alice, room, [("HG-2611", 6, ("bruising",)), ("HG-2702", 1, ("bruising",))], {"HG-2702": "mesogun"})
    outcomes = clinic_outcomes(PERIOD_YEAR)
    harms = outcomes["harms"]
    single = (2, 1, 2, 0, 0, 2)  # the one patient: 2 sessions, 1 patient, 2 bruised, 0, 0, 2 any
    (product,) = harms["products"]
    assert (product.label, product.sessions, product.patients) == ("HydraGlow", 14, 7)
    # Both lots pooled: no lot row at all, a note instead of a pooled row equal to the product's.
    (lots,) = harms["lots"]
    assert lots.note.startswith("Lots not shown separately") and _shown_numbers(lots) is None
    shown_lots = [_shown_numbers(row) for row in harms["lots"] if _shown_numbers(row)]
    assert _minus(_shown_numbers(product), shown_lots) != single
    # The techniques: mesogun (1 patient) pooled with nappage: one pooled row, the whole clinic.
    techniques = harms["techniques"]
    assert [row.pooled for row in techniques] == [True] and techniques[0].patients == 7
    technique_sums = [_shown_numbers(row) for row in techniques]
    assert _minus(_shown_numbers(product), technique_sums) != single
    for rows in (harms["products"], techniques):
        for row in rows:
            assert _shown_numbers(row) != single
    page = _client(alice).get(URL).content.decode()
    assert "Lots not shown separately: too few patients to tell apart" in page
    assert "Others (pooled so that no small group can be worked out)" in page
    assert "2 of 2 sessions" not in page and ">2 sessions" not in page


def test_small_lots_are_pooled_and_a_patient_in_two_of_them_counts_once(alice, room):
    _hydraglow(alice, room, [("HG-1", 6, ()), ("HG-2", 3, ()), ("HG-3", 1, ())])
    # One of HG-2's patients also had a course with HG-3: pooled, they count once.
    twice = ProductUse.objects.filter(lot__lot_number="HG-2").first().chart.patient
    (plan,) = _two_session_courses(alice, room, 1)
    plan.sessions.update(patient=twice)
    Chart.objects.filter(session__plan=plan).update(patient=twice)
    ProductUse.objects.filter(chart__session__plan=plan).update(lot=Lot.objects.get(lot_number="HG-3"))
    outcomes = clinic_outcomes(PERIOD_YEAR)
    lots = outcomes["harms"]["lots"]
    # HG-2 and HG-3 alone: 4 distinct patients (not 5): too few, so HG-1 joins the pool.
    assert [row.label for row in lots] == ["All lots"] and lots[0].note
    # With a fourth lot the small ones have enough patients between them to be pooled alone.
    _hydraglow_lot = Lot.objects.create(
        product=Product.objects.get(name="HydraGlow"), lot_number="HG-4", expires_on=clinic_today()
    )
    for extra in _two_session_courses(alice, room, 1):
        ProductUse.objects.filter(chart__session__plan=extra).update(lot=_hydraglow_lot)
    lots = clinic_outcomes(PERIOD_YEAR)["harms"]["lots"]
    shown, pool = lots
    assert shown.label == "HG-1" and (shown.sessions, shown.patients) == (12, 6)
    assert pool.label == "Others (each fewer than 5 patients)" and pool.members == ["HG-2", "HG-3", "HG-4"]
    # HG-2: 3 courses, HG-3: 2 (one of them HG-2's patient's), HG-4: 1; two sessions each.
    assert (pool.sessions, pool.patients) == (2 * (3 + 2 + 1), 3 + 1 + 1)
    product = _harm(clinic_outcomes(PERIOD_YEAR), "products", "HydraGlow")
    assert product.sessions - shown.sessions == pool.sessions  # the remainder is the pool, not one lot


def test_every_row_large_enough_is_shown_on_its_own(alice, room):
    _hydraglow(alice, room, [("HG-1", SMALLEST_GROUP, ()), ("HG-2", SMALLEST_GROUP, ())], {"HG-2": "mesogun"})
    harms = clinic_outcomes(PERIOD_YEAR)["harms"]
    assert [(row.label, row.patients, row.pooled) for row in harms["lots"]] == [("HG-1", 5, False), ("HG-2", 5, False)]
    assert [row.pooled for row in harms["techniques"]] == [False, False]
    assert [row.label for row in harms["products"]] == ["HydraGlow"]
    page = _client(alice).get(URL).content.decode()
    assert "Others (" not in page and "Lots not shown separately" not in page


def test_a_cell_that_would_give_a_hidden_cell_away_is_hidden_too(alice, room):
    # HG-1: 5 patients, all bruised; HG-2: 6 patients, one bruised (hidden). Product: 6 bruised,
    # shown; had HG-1's 5 been shown, 6 - 5 would be HG-2's one patient.
    product = _hydraglow(alice, room, [("HG-1", 5, ("bruising",)), ("HG-2", 5, ())])
    (plan,) = _two_session_courses(alice, room, 1, events=("bruising",))
    ProductUse.objects.filter(chart__session__plan=plan).update(lot=Lot.objects.get(product=product, lot_number="HG-2"))
    harms = clinic_outcomes(PERIOD_YEAR)["harms"]
    product_row = _harm({"harms": harms}, "products", "HydraGlow")
    assert product_row.rates[0].patients == 6 and not product_row.rates[0].hidden
    one, two = harms["lots"]
    assert two.rates[0].patients == 1 and two.rates[0].hidden
    assert one.rates[0].patients == 5 and one.rates[0].hidden  # withheld: the complement
    assert not one.rates[1].hidden  # nodules: no one, zero shown
    assert _minus(_shown_numbers(product_row), [_shown_numbers(one)])[2] is None


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
        # The session and its user, the kept figures (none: a small clinic is counted now),
        # the signed charts counted up to COUNT_LIVE_UP_TO, the clinic's zone, the protocols
        # with their measures (2), the documents' findings, the courses (one SQL query), the
        # three harm tables and the adverse event types.
        with django_assert_num_queries(QUERIES):
            assert client.get(URL).status_code == 200


QUERIES = 13
