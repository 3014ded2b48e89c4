"""Reads for the day of a session: the practitioner's list, the session's day, the chart's
starting values. Each in a fixed number of queries."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from mesoclinic.core.selectors import clinic_zone, day_bounds, wall_clock
from mesoclinic.plans.limits import plan_flags
from mesoclinic.plans.selectors import current_consents
from mesoclinic.treatment_sessions.models import Chart, SessionStatus, TreatmentSession
from mesoclinic.treatment_sessions.status import clinical_statuses

from .charting import saved_chart_warnings
from .recheck import clinic_date, is_for_the_day, may_chart, recheck_refusal, session_date


def today_rows(practitioner, day):
    """The practitioner's sessions on `day`, in time order, each with what needs attention:
    the patient's alerts (treatment_sessions.status, as the patient page shows them), then what
    this session still needs. Four queries, however many sessions."""
    zone = clinic_zone()
    start, end = day_bounds(day, zone=zone)
    sessions = list(
        TreatmentSession.objects.filter(practitioner=practitioner, starts_at__gte=start, starts_at__lt=end)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("patient", "room", "plan__indication", "recheck")
        .prefetch_related("plan__areas")
        .order_by("starts_at")
    )
    statuses = clinical_statuses({s.patient for s in sessions}, today=day)
    consents = current_consents(s.plan_id for s in sessions)
    rows = []
    for session in sessions:
        badges = list(statuses[session.patient_id].alerts)
        if session.plan_id not in consents:
            badges.append(("danger", _("Consent missing")))
        # A re-check of another day (the session was moved since) does not count for this one.
        if session.status == SessionStatus.SCHEDULED and not (
            session.recheck_id and clinic_date(session.recheck.recorded_at, zone) == session_date(session, zone)
        ):
            badges.append(("info", _("Holds to confirm (re-check)")))
        rows.append(
            {
                "session": session,
                "local_start": wall_clock(session.starts_at, zone),
                "local_end": wall_clock(session.ends_at, zone),
                "badges": badges,
            }
        )
    return rows


def session_day_summary(session):
    """What the session page shows a practitioner about the day: re-check, chart, addenda.
    A re-check of another day is history, not this session's re-check."""
    chart = getattr(session, "chart", None) if hasattr(session, "chart") else None
    allowed, reason = may_chart(session)
    on_the_day = is_for_the_day(session)
    context = {
        "recheck": session.recheck if on_the_day else None,
        "earlier_recheck": session.recheck if session.recheck and not on_the_day else None,
        "recheck_refusal": recheck_refusal(session),
        "session_date": session_date(session),
        "may_chart": allowed,
        "chart_blocked_reason": reason,
        "chart": chart,
    }
    if chart is not None:
        context.update(
            chart_areas=list(chart.areas.select_related("area")),
            chart_products=list(chart.products_used.select_related("lot__product")),
            chart_events=list(chart.adverse_events.select_related("type")),
            chart_measurements=list(chart.measurements.all()),
            chart_addenda=list(chart.addenda.select_related("author")),
            chart_warnings=saved_chart_warnings(chart),
        )
    return context


def chart_measures(plan):
    """The protocol's outcome measures typed as numbers; photos are taken in the photo section."""
    return [m for m in plan.protocol.outcome_measures if "photo" not in m.casefold()]


@dataclass(frozen=True)
class ChartInitial:
    """What the chart's forms start from: the plan's values for a new chart, the draft's own."""

    chart: dict
    areas: list
    products: list
    events: dict
    measurements: dict


def _previous_chart(session):
    """The plan's last signed chart before this session: a series usually repeats it."""
    return (
        Chart.objects.filter(
            session__plan=session.plan, signed_at__isnull=False, session__starts_at__lt=session.starts_at
        )
        .order_by("-session__starts_at")
        .first()
    )


def _how(chart):
    """A chart's technique, depth, needle, duration and anaesthetic, as the form takes them."""
    fields = ("technique", "depth_mm", "needle_gauge", "duration_minutes", "anaesthetic")
    return {name: getattr(chart, name) for name in fields}


def _area_rows(chart):
    return [{"area": a.area.code, "volume_ml": a.volume_ml} for a in chart.areas.select_related("area")] + [{}]


def _product_rows(chart, in_date_on=None):
    """The chart's lots as the form takes them (and a free row); with `in_date_on`, only lots
    still in date that day."""
    return [
        {
            "lot_number": u.lot.lot_number,
            "product": u.lot.product_id,
            "expires_on": u.lot.expires_on,
            "volume_ml": u.volume_ml,
        }
        for u in chart.products_used.select_related("lot")
        if in_date_on is None or u.lot.expires_on is None or u.lot.expires_on >= in_date_on
    ] + [{}]


def _repeat(previous, session):
    """A new chart that starts from the previous session's (areas, volumes, lots still in date
    on this session's day): the practitioner changes what differs instead of typing it all."""
    return ChartInitial(
        chart=_how(previous),
        areas=_area_rows(previous),
        products=_product_rows(previous, in_date_on=session_date(session)),
        events={},
        measurements={},
    )


def chart_initial(session, chart) -> ChartInitial:
    plan = session.plan
    if chart is None and (previous := _previous_chart(session)) is not None:
        return _repeat(previous, session)
    if chart is None:
        return ChartInitial(
            chart={
                "technique": plan.technique,
                "depth_mm": plan.depth_mm,
                "needle_gauge": plan.needle_gauge,
                "duration_minutes": plan.session_minutes,
                "anaesthetic": "none",
            },
            areas=[{"area": t.code} for t in plan.areas.all()] + [{}],
            products=[{"product": p.pk} for p in plan.products.all()] + [{}, {}],
            events={},
            measurements={},
        )
    events = {}
    for event in chart.adverse_events.select_related("type"):
        code = event.type_id
        events.update(
            {
                f"ae_{code}": True,
                f"ae_{code}_severity": event.severity,
                f"ae_{code}_follow_up": event.follow_up_on,
                f"ae_{code}_notes": event.notes,
            }
        )
    measures = chart_measures(plan)
    measured = {}
    for item in chart.measurements.all():
        if item.kind in measures:
            index = measures.index(item.kind)
            measured.update({f"m_{index}": item.value, f"m_{index}_unit": item.unit})
        else:
            measured.update({"other_kind": item.kind, "other_value": item.value, "other_unit": item.unit})
    return ChartInitial(
        chart={**_how(chart), "notes": chart.notes},
        areas=_area_rows(chart),
        products=_product_rows(chart),
        events=events,
        measurements=measured,
    )


def chart_flags(session, values):
    """The protocol's limits the chart's technique, depth or needle go beyond (warnings)."""
    plan = session.plan
    try:
        depth = Decimal(str(values.get("depth_mm"))) if values.get("depth_mm") is not None else None
    except ArithmeticError:
        depth = None
    gauge = values.get("needle_gauge")
    flags = plan_flags(
        protocol=plan.protocol,
        areas=[t.code for t in plan.areas.all()],
        ingredients=[t.code for t in plan.ingredients.all()],
        technique=values.get("technique"),
        depth_mm=depth,
        needle_gauge=gauge if isinstance(gauge, int) else None,
        session_minutes=None,
        sessions=None,
        intervals=[],
    )
    return [flag for flag in flags if flag.field in ("depth_mm", "needle_gauge", "technique")]
