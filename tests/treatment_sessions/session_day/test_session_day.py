import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mesoclinic.plans.models import Product
from mesoclinic.screening.models import Outcome, Term
from mesoclinic.treatment_sessions.models import (
    AdverseEventType,
    Chart,
    ChartArea,
    ChartLockedError,
    Lot,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.scheduling.slots import localize
from mesoclinic.treatment_sessions.session_day import charting, recheck
from tests.builders import CLINIC_ZONE, booked_long_ago, consented, covering, plan_for, rechecked, screened, session_at

pytestmark = pytest.mark.django_db
LONDON = zoneinfo.ZoneInfo(CLINIC_ZONE)


def later_today(minutes=60):
    """A moment `minutes` from now that stays on the clinic's today, since the re-check and the
    chart belong to the session's day: late in the evening, as long before now instead."""
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    start = now + datetime.timedelta(minutes=minutes)
    if start.astimezone(LONDON).date() != now.astimezone(LONDON).date():
        start = now - datetime.timedelta(minutes=minutes)
    return start


@pytest.fixture
def todays_session(clinic, alice, room, patient):
    """A cellulite session in an hour (an hour ago late in the evening) for a patient screened
    with ibuprofen (an NSAID hold)."""
    from mesoclinic.plans.services import plan_activate

    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, medications=["ibuprofen"], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    start = later_today(60)
    # Screened and booked ten days ago, so the patient had time to keep every hold.
    return booked_long_ago(session_at(plan, alice, room, start))


def test_the_holds_of_the_screening_are_asked_about(todays_session):
    screening = recheck.base_screening(todays_session)
    holds = {item.key: item for item in recheck.hold_items(screening)}
    assert set(holds) == {"nsaid-hold:ibuprofen", "alcohol-hold"}
    assert holds["nsaid-hold:ibuprofen"].medication == "ibuprofen"
    assert holds["nsaid-hold:ibuprofen"].question == "Kept the hold: no ibuprofen in the 7 days before today?"
    assert holds["alcohol-hold"].is_alcohol


def test_a_quiet_re_check_lets_the_session_be_charted(todays_session, alice):
    recorded = rechecked(todays_session, alice)
    todays_session.refresh_from_db()
    assert todays_session.recheck == recorded
    assert recorded.kind == "recheck" and recorded.outcome == Outcome.CLEAR
    assert recheck.may_chart(todays_session) == (True, "")


def test_pregnancy_today_stops_the_session(todays_session, alice):
    recorded = rechecked(todays_session, alice, pregnant=True)
    todays_session.refresh_from_db()
    assert recorded.outcome == Outcome.DEFERRED
    allowed, reason = recheck.may_chart(todays_session)
    assert not allowed and "stopped" in reason


def test_a_new_critical_finding_can_be_overridden_with_a_reason(todays_session, alice):
    decisions = [
        {
            "rule": "active-skin-infection",
            "decision": "overridden",
            "reason": "site_excluded",
            "site": "face",
            "comment": "Cold sore on the lip; treating the thighs.",
        }
    ]
    recorded = rechecked(todays_session, alice, decisions=decisions, infection_at_site=True)
    assert recorded.outcome == Outcome.OVERRIDDEN
    todays_session.refresh_from_db()
    assert recheck.may_chart(todays_session)[0]


def test_a_broken_hold_is_a_warning_that_must_be_acknowledged(todays_session, alice):
    with pytest.raises(ValidationError, match="must be acknowledged"):
        rechecked(todays_session, alice, holds_broken=["nsaid-hold:ibuprofen", "alcohol-hold"])
    recorded = rechecked(
        todays_session,
        alice,
        holds_broken=["nsaid-hold:ibuprofen", "alcohol-hold"],
        decisions=[
            {"rule": "hold-not-kept-nsaid", "decision": "acknowledged"},
            {"rule": "alcohol-last-24h", "decision": "acknowledged"},
        ],
    )
    assert recorded.outcome == Outcome.CAUTION
    assert recorded.answers["recent_medications"] == ["ibuprofen"]
    assert recorded.answers["alcohol_last_24h"] is True


def test_new_medications_run_through_the_same_engine(todays_session, alice):
    with pytest.raises(ValidationError, match="must be acknowledged"):
        rechecked(todays_session, alice, new_medications=["warfarin"])


def test_charting_needs_a_re_check_first(todays_session, alice):
    with pytest.raises(ValidationError, match="re-check"):
        chart(todays_session, alice)


def chart(session, alice, products=(), events=(), **values):
    base = {
        "technique": "nappage",
        "depth_mm": 4,
        "needle_gauge": 30,
        "anaesthetic": "none",
        "duration_minutes": 40,
        "notes": "",
    }
    base.update(values)
    thighs = Term.objects.get(kind="area", code="thighs")
    return charting.chart_save(
        session=session,
        by=alice,
        values=base,
        areas=[(thighs, 2)],
        products=list(products),
        events=list(events),
        measurements=[(None, "Thigh circumference", 58.5, "cm")],
    )


@pytest.fixture
def product(db):
    product = Product.objects.create(name="Lipo Serum", manufacturer="Meso Labs")
    return product


def test_a_chart_records_lots_events_and_measurements(todays_session, alice, product):
    rechecked(todays_session, alice)
    bruising = AdverseEventType.objects.get(code="bruising")
    saved = chart(
        todays_session,
        alice,
        products=[charting.ProductLine("ab123", 2, product, datetime.date.today() + datetime.timedelta(days=90))],
        events=[(bruising, "mild", None, "left thigh")],
    )
    assert saved.products_used.get().lot.lot_number == "AB123"
    event = saved.adverse_events.get()
    assert event.follow_up_on == charting.session_day(todays_session) + datetime.timedelta(days=7)
    assert saved.measurements.get().value == 58.5


def test_a_known_lot_needs_only_its_number(todays_session, alice, product):
    Lot.objects.create(
        product=product, lot_number="LOT-7", expires_on=datetime.date.today() + datetime.timedelta(days=30)
    )
    rechecked(todays_session, alice)
    saved = chart(todays_session, alice, products=[charting.ProductLine("lot-7", 1.5)])
    assert saved.products_used.get().lot.product == product


def test_an_expired_lot_is_refused(todays_session, alice, product):
    Lot.objects.create(
        product=product, lot_number="OLD1", expires_on=datetime.date.today() - datetime.timedelta(days=1)
    )
    rechecked(todays_session, alice)
    with pytest.raises(ValidationError, match="expired on"):
        chart(todays_session, alice, products=[charting.ProductLine("OLD1", 1)])
    assert not Chart.objects.filter(session=todays_session).exists()


def test_depth_or_gauge_outside_sane_limits_is_refused(todays_session, alice):
    rechecked(todays_session, alice)
    with pytest.raises(ValidationError) as error:
        chart(todays_session, alice, depth_mm=25, needle_gauge=12)
    assert set(error.value.message_dict) == {"depth_mm", "needle_gauge"}


def test_signing_locks_the_chart_and_completes_the_session(todays_session, alice):
    rechecked(todays_session, alice)
    saved = charting.chart_sign(chart=chart(todays_session, alice), by=alice)
    todays_session.refresh_from_db()
    assert todays_session.status == SessionStatus.COMPLETED
    assert saved.is_signed and saved.signed_by == alice
    saved.refresh_from_db()
    saved.notes = "changed after signing"
    with pytest.raises(ChartLockedError):
        saved.save()
    with pytest.raises(ChartLockedError):
        ChartArea.objects.filter(chart=saved).first().delete()
    with pytest.raises(ChartLockedError):
        chart(todays_session, alice)


def test_corrections_after_signing_are_addenda(todays_session, alice):
    rechecked(todays_session, alice)
    saved = charting.chart_sign(chart=chart(todays_session, alice), by=alice)
    addendum = charting.chart_addendum(chart=saved, text="Volume on the left thigh was 1.5 ml, not 2.", by=alice)
    assert saved.addenda.get() == addendum
    saved.refresh_from_db()
    assert saved.areas.get().volume_ml == 2  # the signed chart itself did not change


def test_the_chart_page_keeps_what_was_typed_on_an_error(alice_client, todays_session, alice, product):
    rechecked(todays_session, alice)
    url = reverse("session_day:chart", args=[todays_session.pk])
    page = alice_client.get(url)
    assert page.status_code == 200
    data = {
        "technique": "nappage",
        "depth_mm": "4.0",
        "needle_gauge": "30",
        "anaesthetic": "none",
        "duration_minutes": "40",
        "notes": "patient tolerated well",
        "action": "save",
        "areas-TOTAL_FORMS": "1",
        "areas-INITIAL_FORMS": "0",
        "areas-0-area": "thighs",
        "areas-0-volume_ml": "2",
        "products-TOTAL_FORMS": "1",
        "products-INITIAL_FORMS": "0",
        "products-0-lot_number": "NEW-9",
        "products-0-volume_ml": "1",
    }
    response = alice_client.post(url, data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Lot NEW-9 is new here: give its product and expiry date." in content
    assert "patient tolerated well" in content and 'value="NEW-9"' in content
    data.update(
        {
            "products-0-product": str(product.pk),
            "products-0-expires_on": (datetime.date.today() + datetime.timedelta(days=60)).isoformat(),
            "action": "sign",
            "confirm_sign": "on",
            "ae_bruising": "on",
            "ae_bruising_severity": "moderate",
        }
    )
    assert alice_client.post(url, data).status_code == 302
    signed = Chart.objects.get(session=todays_session)
    assert signed.is_signed and signed.adverse_events.get().severity == "moderate"
    page = alice_client.get(reverse("desk:patient", args=[todays_session.patient_id])).content.decode()
    assert "Completed" in page


def test_scheduler_cannot_open_the_re_check_or_chart(sam_client, todays_session):
    assert sam_client.get(reverse("session_day:recheck", args=[todays_session.pk])).status_code == 403
    assert sam_client.get(reverse("session_day:chart", args=[todays_session.pk])).status_code == 403


def test_the_re_check_page_runs_and_saves(alice_client, todays_session):
    url = reverse("session_day:recheck", args=[todays_session.pk])
    base = {
        "pregnant": "no",
        "breastfeeding": "no",
        "infection_at_site": "no",
        "feeling_well": "yes",
        "hold_nsaid-hold:ibuprofen": "kept",
        "hold_alcohol-hold": "kept",
    }
    missing = alice_client.post(url, {"action": "check"})
    assert "This field is required" in missing.content.decode()
    checked = alice_client.post(url, {**base, "action": "check"})
    assert checked.context["result"]["verdict"] == "clear"
    assert alice_client.post(url, {**base, "action": "save"}).status_code == 302
    todays_session.refresh_from_db()
    assert todays_session.recheck.outcome == Outcome.CLEAR


def test_a_session_booked_too_late_for_its_holds_is_a_warning_at_the_re_check(todays_session, alice):
    """Booked an hour before: neither the week without ibuprofen nor the day without alcohol
    could be kept. The re-check says so, and each must be acknowledged."""
    TreatmentSession.objects.filter(pk=todays_session.pk).update(timed_at=datetime.datetime.now(datetime.UTC))
    todays_session.refresh_from_db()
    screening = recheck.base_screening(todays_session)
    evaluation = recheck.evaluate(todays_session, screening, recheck.RecheckAnswers(False, False, [], [], False, True))
    late = {f.key for f in evaluation.pending}
    assert late == {"hold-cannot-be-kept:nsaid-hold", "hold-cannot-be-kept:alcohol-hold"}
    with pytest.raises(ValidationError, match="must be acknowledged"):
        recheck.recheck_record(
            session=todays_session, by=alice, evaluation=evaluation, screening=screening, decisions=[]
        )


def _moment(day, hour):
    return localize(datetime.datetime.combine(day, datetime.time(hour)), LONDON)


def test_a_charted_product_with_an_ingredient_the_patient_is_allergic_to_is_refused(clinic, alice, room):
    """The allergy rule runs on what is actually injected: a product's lidocaine meets the
    patient's local-anaesthetic allergy even though nobody planned lidocaine. The rule allows
    no override, so the product is refused and nothing is saved."""
    from mesoclinic.plans.services import plan_activate
    from tests.builders import PatientFactory

    patient = PatientFactory()
    plan = plan_for(patient, alice, "cellulite")
    screened(patient, alice, allergies=["local_anaesthetic"], **covering(plan))
    consented(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    start = later_today(60)
    session = booked_long_ago(session_at(plan, alice, room, start))
    rechecked(
        session, alice, decisions=[{"rule": "allergy-history", "key": "allergy-history", "decision": "acknowledged"}]
    )
    session.refresh_from_db()
    numbing = Product.objects.create(name="Numb Serum", manufacturer="Meso Labs")
    numbing.ingredients.set(Term.objects.filter(kind="ingredient", code__in=["hyaluronic_acid", "lidocaine"]))
    plain = Product.objects.create(name="Plain Serum", manufacturer="Meso Labs")
    plain.ingredients.set(Term.objects.filter(kind="ingredient", code="hyaluronic_acid"))
    expiry = datetime.date.today() + datetime.timedelta(days=90)
    with pytest.raises(ValidationError) as refused:
        chart(session, alice, products=[charting.ProductLine("NS-1", 1, numbing, expiry)])
    assert (
        "Product 1 (Numb Serum (Meso Labs)): it contains Lidocaine and the patient is allergic to Local anaesthetic"
        in str(refused.value)
    )
    assert not Chart.objects.filter(session=session).exists()
    saved = chart(session, alice, products=[charting.ProductLine("PS-1", 1, plain, expiry)])
    assert saved.products_used.get().lot.product == plain
