"""A plan's progress on each of its outcome measures, beside what the documents report.

The numbers everything else draws (the progress charts, the report, the clinic page) come from
here, so that a chart, its table and the PDF can never disagree.

- A point is one value at one session that took place: the practitioner's measurement on a
  signed chart, or the patient's own newest score for that session. Points are numbered by the
  sessions that took place (a cancelled session is not session 2), as the patient counts them.
- The baseline is the first point of a measure. The change is (value - baseline) / baseline, in
  per cent; a measure that is itself a judgement of change (GAIS: `from_baseline` False) has
  values but no change.
- Each reference is one document's finding for the plan's protocol and that measure. A change
  figure is turned into the value this patient would reach from their own baseline
  (`target`), so the chart can draw it beside their line at the study's session count.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from mesoclinic.core.selectors import current_clinic, wall_clock
from mesoclinic.outcomes.models import PatientScore
from mesoclinic.plans.models import Better, Finding, OutcomeMeasure, ReportedOutcome
from mesoclinic.screening.knowledge import kept_per_revision
from mesoclinic.treatment_sessions.models import Measurement, SessionStatus, TreatmentSession

ONE_DECIMAL = Decimal("0.1")


def change_percent(baseline, value):
    """The change from `baseline` to `value` in per cent, to one decimal; None from a zero baseline
    (no per cent of nothing)."""
    if baseline is None or value is None or baseline == 0:
        return None
    return ((Decimal(value) - Decimal(baseline)) * 100 / Decimal(baseline)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def is_better(measure, change):
    """True when `change` (per cent, or any signed difference) goes the way the measure wants."""
    if change is None or change == 0:
        return None
    return (change > 0) == (measure.better == Better.HIGHER)


@dataclass(frozen=True)
class Point:
    number: int  # the session's number among those that took place: 1, 2, 3...
    session_id: int
    day: date
    value: Decimal
    change: Decimal | None  # per cent from the baseline; None for the baseline itself
    by_patient: bool = False


@dataclass(frozen=True)
class Reference:
    """One document's finding, as the chart labels it: "basaksehir-2025: -18% after 6 sessions"."""

    reported: ReportedOutcome
    target: Decimal | None  # the value the patient would reach from their baseline, for a change

    @property
    def finding(self):
        return self.reported.finding

    @property
    def value(self):
        return self.reported.value

    @property
    def sessions(self):
        return self.reported.sessions

    @property
    def documents(self):
        return sorted({source["document"] for source in self.reported.sources})

    @property
    def is_caveat(self):
        return self.reported.finding == Finding.NO_BENEFIT


@dataclass
class MeasureProgress:
    measure: OutcomeMeasure
    points: list[Point] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)

    @property
    def baseline(self):
        return self.points[0] if self.points else None

    @property
    def latest(self):
        return self.points[-1] if self.points else None

    @property
    def change(self):
        """The latest change from the baseline in per cent (None with fewer than two points)."""
        if not self.measure.from_baseline or len(self.points) < 2:
            return None
        return self.latest.change

    @property
    def improved(self):
        return is_better(self.measure, self.change)

    @property
    def figures(self):
        """The references with a number to draw (a change or a share)."""
        return [ref for ref in self.references if ref.reported.finding in (Finding.CHANGE, Finding.SHARE)]

    @property
    def caveats(self):
        """Where a document found no benefit: always shown beside the figure (the cautious reading)."""
        return [ref for ref in self.references if ref.is_caveat]


def sessions_done(plan_ids):
    """{plan id: [(session id, day)]} of the sessions that took place, in order: those with a
    signed chart. One query."""
    rows = (
        TreatmentSession.objects.filter(plan_id__in=plan_ids, chart__signed_at__isnull=False)
        .exclude(status__in=[SessionStatus.CANCELLED, SessionStatus.NO_SHOW])
        .order_by("plan_id", "starts_at", "id")
        .values_list("plan_id", "id", "starts_at")
    )
    zone = current_clinic().zone
    done = {}
    for plan_id, session_id, starts_at in rows:
        done.setdefault(plan_id, []).append((session_id, wall_clock(starts_at, zone).date()))
    return done


def progress_for_plans(plans):
    """{plan id: [MeasureProgress]} for `plans`, each with its protocol's measures in order.

    A constant number of queries whatever the number of plans, sessions and values: the
    knowledge base's revision (the measures and the documents' findings are kept per revision),
    the sessions that took place, the measurements, and the patients' scores.
    """
    plans = list(plans)
    if not plans:
        return {}
    plan_ids = [plan.pk for plan in plans]
    by_protocol, reported = kept_per_revision("outcomes.measures", _measures_and_findings)

    done = sessions_done(plan_ids)
    number_of = {}
    for plan_id, sessions in done.items():
        for number, (session_id, day) in enumerate(sessions, start=1):
            number_of[session_id] = (plan_id, number, day)
    values = {}  # (plan id, measure code) -> {session id: (value, by patient)}
    for session_id, code, value in Measurement.objects.filter(
        chart__session_id__in=number_of, measure__isnull=False
    ).values_list("chart__session_id", "measure_id", "value"):
        values.setdefault((number_of[session_id][0], code), {})[session_id] = (value, False)
    # The patient's newest score for a session counts; the practitioner's measurement of the
    # same measure at the same session wins over it (it was taken in the room).
    for session_id, code, value in (
        PatientScore.objects.filter(session_id__in=number_of)
        .order_by("reported_at", "id")
        .values_list("session_id", "measure_id", "value")
    ):
        slot = values.setdefault((number_of[session_id][0], code), {})
        if slot.get(session_id, (None, True))[1]:
            slot[session_id] = (value, True)

    progress = {}
    for plan in plans:
        rows = []
        for measure in by_protocol.get(plan.protocol_id, []):
            found = values.get((plan.pk, measure.code), {})
            ordered = sorted(found.items(), key=lambda item: number_of[item[0]][1])
            points = []
            baseline = ordered[0][1][0] if ordered else None
            for index, (session_id, (value, by_patient)) in enumerate(ordered):
                _plan_id, number, day = number_of[session_id]
                change = change_percent(baseline, value) if measure.from_baseline and index else None
                points.append(Point(number, session_id, day, value, change, by_patient))
            references = [
                Reference(row, _target(measure, row, baseline))
                for row in reported.get((plan.protocol_id, measure.code), [])
            ]
            rows.append(MeasureProgress(measure, points, references))
        progress[plan.pk] = rows
    return progress


def _measures_and_findings():
    """({protocol code: [OutcomeMeasure in order]}, {(protocol, measure): [ReportedOutcome]}):
    knowledge, the same for every patient, so each process keeps it per knowledge revision
    (screening.knowledge.kept_per_revision) instead of reading it for every page."""
    by_protocol = {}
    for measure in sorted(OutcomeMeasure.objects.prefetch_related("protocols"), key=lambda m: (m.position, m.code)):
        for protocol in measure.protocols.all():
            by_protocol.setdefault(protocol.code, []).append(measure)
    reported = {}
    for row in ReportedOutcome.objects.order_by("code"):
        reported.setdefault((row.protocol_id, row.measure_id), []).append(row)
    return by_protocol, reported


def plan_progress(plan):
    """[MeasureProgress] for one plan (see progress_for_plans)."""
    return progress_for_plans([plan])[plan.pk]


def _target(measure, reported, baseline):
    if reported.finding != Finding.CHANGE or baseline is None or not measure.from_baseline:
        return None
    places = Decimal(1).scaleb(-measure.decimals)
    return (Decimal(baseline) * (100 + reported.value) / 100).quantize(places, ROUND_HALF_UP)
