import datetime
from decimal import Decimal

import pytest

from mesoclinic.plans.models import Product
from mesoclinic.plans.services import plan_activate
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions import charting
from mesoclinic.treatment_sessions.models import AdverseEventType
from mesoclinic.treatment_sessions.scheduling import localize
from tests.plans.conftest import covering, make_plan, screen_patient, sign
from tests.treatment_sessions.conftest import session_at
from tests.treatment_sessions.test_session_day import check


def signed_session(
    alice,
    room,
    patient,
    indication="skin_rejuvenation",
    areas=("face",),
    events=(),
    skin=2,
    medications=(),
    next_in_days=14,
    start=None,
):
    """A completed, charted and signed session, with the plan's next session booked."""
    import zoneinfo

    from mesoclinic.screening.selectors import clinic_today

    plan = make_plan(patient, alice, indication, areas=list(areas))
    screen_patient(patient, alice, fitzpatrick_skin_type=skin, medications=list(medications), **covering(plan))
    sign(plan, alice)
    plan = plan_activate(plan=plan, by=alice)
    zone = zoneinfo.ZoneInfo("Europe/London")
    start = start or localize(datetime.datetime.combine(clinic_today(), datetime.time(12, 0)), zone)
    session = session_at(plan, alice, room, start)
    if next_in_days:
        session_at(plan, alice, room, start + datetime.timedelta(days=next_in_days), sequence=2, series=session.series)
    check(session, alice, decisions=[])
    session.refresh_from_db()
    product, _ = Product.objects.get_or_create(name="Hydra Boost", manufacturer="Meso Labs")
    chart = charting.chart_save(
        session=session,
        by=alice,
        values={
            "technique": "nappage",
            "depth_mm": Decimal("1.0"),
            "needle_gauge": 32,
            "anaesthetic": "none",
            "duration_minutes": 40,
            "notes": "",
        },
        areas=[(Term.objects.get(kind="area", code=code), Decimal("1.5")) for code in areas],
        products=[
            charting.ProductLine("HB-1", Decimal("2"), product, datetime.date.today() + datetime.timedelta(days=300))
        ],
        events=[(AdverseEventType.objects.get(code=code), "mild", None, "") for code in events],
        measurements=[],
    )
    charting.chart_sign(chart=chart, by=alice)
    session.refresh_from_db()
    return session


@pytest.fixture
def make_sheet(clinic, alice, room):
    """Sheets of sessions an hour apart today (the practitioner cannot be in two places)."""
    import zoneinfo

    from mesoclinic.aftercare.services import sheet_for
    from mesoclinic.screening.selectors import clinic_today

    made = []

    def make(patient, **options):
        zone = zoneinfo.ZoneInfo("Europe/London")
        start = localize(datetime.datetime.combine(clinic_today(), datetime.time(8 + len(made), 0)), zone)
        sheet = sheet_for(signed_session(alice, room, patient, start=start, **options))
        made.append(sheet)
        return sheet

    return make
