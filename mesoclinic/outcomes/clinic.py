"""The clinic's own outcomes: what works (the change its patients reached, beside the documents'
figures) and what harms (how often bruising, nodules and infection followed a product, a lot or
a technique). An aggregate page: no patient is named, and small counts are hidden.

- Effectiveness uses outcomes.progress's definitions, so a plan page and this page agree: points
  are the values at sessions that took place (a signed chart, not cancelled or a no-show),
  numbered as the patient counts them; the practitioner's measurement wins over the patient's
  score for the same session; the baseline is a measure's first point; the change is
  `change_percent(baseline, value)`. Each course counts once, at session N: the documents'
  session count for that protocol and measure, or its latest measured session where the
  documents give none. A score that is itself a judgement (satisfaction, GAIS) is counted as a
  share of courses: satisfied (7 or more of 10) or improved (GAIS 1 to 3), the fixture's own
  definitions (fixtures/outcome_measures.yaml).
- Harms count signed charts: the sessions charted with a product (through its lots' ProductUse
  rows), with a lot, or with a technique, and of those how many had each adverse event.
- Small counts (k-anonymity): a figure built from fewer than SMALLEST_GROUP patients is not
  shown, nor a rate whose numerator is 1 to SMALLEST_GROUP - 1 patients: the clinic admin sees
  this page, and "1 infection with lot X" is a patient they could recognise. Zero is shown.

A constant number of queries whatever the number of plans: numbering the sessions, picking each
course's baseline and its value at N happen in one SQL query (window functions, which both
PostgreSQL and SQLite have); Python only averages one row per course.
"""

import dataclasses
import datetime
import statistics
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from mesoclinic.core.selectors import clinic_today, clinic_zone
from mesoclinic.outcomes.models import ClinicOutcomes, PatientScore
from mesoclinic.outcomes.progress import ONE_DECIMAL, change_percent, is_better
from mesoclinic.plans.models import Finding, OutcomeMeasure, Plan, Protocol, ReportedOutcome, Technique
from mesoclinic.treatment_sessions.models import (
    AdverseEvent,
    AdverseEventType,
    Chart,
    Measurement,
    ProductUse,
    SessionStatus,
    TreatmentSession,
)

# Fewer patients than this in a figure, or 1 to this minus one in a rate's numerator: not shown.
SMALLEST_GROUP = 5

PERIOD_YEAR = "12m"
PERIOD_ALL = "all"
PERIODS = (PERIOD_YEAR, PERIOD_ALL)
YEAR_DAYS = 365

# The adverse events the clinic watches, in this order, and "any event" after them.
WATCHED_EVENTS = ("bruising", "nodules", "infection")
ANY_EVENT = "any"

# A score that is a judgement, read as a share of courses (fixtures/outcome_measures.yaml:
# "7 or more counts as satisfied"; GAIS "1 to 3 counts as improved").
SATISFIED_FROM = Decimal(7)
IMPROVED_UP_TO = Decimal(3)
SHARE_RULES = {
    "satisfaction": ("satisfied", lambda value: value >= SATISFIED_FROM),
    "gais": ("improved", lambda value: value <= IMPROVED_UP_TO),
}

LATEST = None  # the session key of a row measured at each course's latest session
DID_NOT_TAKE_PLACE = (SessionStatus.CANCELLED, SessionStatus.NO_SHOW)


def period_start(period, today=None):
    """The first moment counted for `period`, or None for all time."""
    if period == PERIOD_ALL:
        return None
    first = (today or clinic_today()) - datetime.timedelta(days=YEAR_DAYS)
    return datetime.datetime.combine(first, datetime.time(0)).replace(tzinfo=clinic_zone())


def is_small(patients):
    """True when `patients` is too few to show without pointing at someone (but not zero)."""
    return 0 < patients < SMALLEST_GROUP


def _percent(part, whole, places=ONE_DECIMAL):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(places, ROUND_HALF_UP)


def percent_text(value, *, signed=False):
    """`value` per cent as the reader writes it: "+12.5%" in English, "+%12,5" in Turkish."""
    if value is None:
        return ""
    places = max(0, -value.as_tuple().exponent)
    number = number_format(abs(value) if signed else value, decimal_pos=places)
    # Translators: a percentage; Turkish puts the sign first (%25).
    text = _("%(number)s%%") % {"number": number}
    if signed and value:
        return ("+" if value > 0 else "−") + text
    return text


def _decimal(value):
    # SQLite hands a decimal column back as a float; str() keeps the digits that were typed.
    return value if isinstance(value, Decimal) or value is None else Decimal(str(value))


# --- What works ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentFinding:
    """One document's finding as this page shows it: the figure, the summary and the sources."""

    reported: ReportedOutcome

    @property
    def finding(self):
        return self.reported.finding

    @property
    def value_text(self):
        if self.reported.finding == Finding.CHANGE:
            return percent_text(self.reported.value, signed=True)
        if self.reported.finding == Finding.SHARE:
            return percent_text(self.reported.value)
        return ""

    @property
    def sources(self):
        return [(source["document"], source.get("citation", "")) for source in self.reported.sources]


@dataclass
class Effect:
    """One protocol and measure at one session count: the clinic's courses beside the documents."""

    measure: OutcomeMeasure
    sessions: int | None  # the documents' session count; None: each course's latest session
    figures: list = field(default_factory=list)  # ReportedOutcome rows with a figure or "improved"
    caveats: list = field(default_factory=list)  # ReportedOutcome rows that found no benefit
    values: list = field(default_factory=list)  # per course: the change in % or the score
    patient_ids: set = field(default_factory=set)
    meeting: set = field(default_factory=set)  # patients whose course met the share's rule
    meeting_courses: int = 0
    better_courses: int = 0

    @property
    def kind(self):
        if self.measure.from_baseline:
            return "change"
        return "share" if self.measure.code in SHARE_RULES else "score"

    @property
    def share_word(self):
        return SHARE_RULES[self.measure.code][0] if self.kind == "share" else ""

    @property
    def courses(self):
        return len(self.values)

    @property
    def patients(self):
        return len(self.patient_ids)

    @property
    def hidden(self):
        """Fewer than SMALLEST_GROUP patients: nothing of the clinic's is shown."""
        return self.patients < SMALLEST_GROUP

    @property
    def has_data(self):
        return bool(self.values)

    @property
    def mean(self):
        if not self.values:
            return None
        return (sum(self.values) / len(self.values)).quantize(ONE_DECIMAL, ROUND_HALF_UP)

    @property
    def median(self):
        if not self.values:
            return None
        return Decimal(statistics.median(self.values)).quantize(ONE_DECIMAL, ROUND_HALF_UP)

    @property
    def share(self):
        return _percent(self.meeting_courses, self.courses, Decimal(1))

    @property
    def share_hidden(self):
        return self.hidden or is_small(len(self.meeting))

    @property
    def better_share(self):
        return _percent(self.better_courses, self.courses, Decimal(1))

    @property
    def mean_text(self):
        return percent_text(self.mean, signed=True) if self.kind == "change" else number_format(self.mean)

    @property
    def median_text(self):
        return percent_text(self.median, signed=True) if self.kind == "change" else number_format(self.median)

    @property
    def share_text(self):
        return percent_text(self.share)


@dataclass
class StoredEffect(Effect):
    """An Effect read back from the clinic's kept figures (ClinicOutcomes): its counts, mean and
    median as computed, not each course's value."""

    stored: dict = field(default_factory=dict)

    @property
    def courses(self):
        return self.stored["courses"]

    @property
    def patients(self):
        return self.stored["patients"]

    @property
    def has_data(self):
        return bool(self.courses)

    @property
    def mean(self):
        return _decimal_text(self.stored["mean"])

    @property
    def median(self):
        return _decimal_text(self.stored["median"])

    @property
    def share_hidden(self):
        return self.hidden or is_small(self.stored["meeting_patients"])


def _decimal_text(text):
    return None if text is None else Decimal(text)


def _effect_facts(effect):
    return {
        "courses": effect.courses,
        "patients": effect.patients,
        "mean": None if effect.mean is None else str(effect.mean),
        "median": None if effect.median is None else str(effect.median),
        "meeting_courses": effect.meeting_courses,
        "meeting_patients": len(effect.meeting),
        "better_courses": effect.better_courses,
    }


@dataclass
class ProtocolEffects:
    protocol: Protocol
    effects: list
    courses: int = 0
    patients: int = 0

    @property
    def courses_hidden(self):
        """The course count of fewer than SMALLEST_GROUP patients is not shown either."""
        return self.patients < SMALLEST_GROUP

    @property
    def has_data(self):
        return any(effect.has_data for effect in self.effects)


def _session_keys(reported):
    """The session counts a protocol-measure's rows are read at: each figure's own, and the
    latest session for a figure without one or for words only."""
    figures = [row for row in reported if row.finding != Finding.NO_BENEFIT]
    keys = sorted({row.sessions for row in figures if row.sessions})
    if not keys or any(not row.sessions for row in figures):
        keys.append(LATEST)
    return keys


def _course_rows(since, counts):
    """One row per course, measure and session of interest (session N in `counts`, and the
    course's latest measured session): (protocol, patient, plan, measure, number, nth point,
    latest number, value, baseline). One query."""
    session, chart = TreatmentSession._meta.db_table, Chart._meta.db_table
    measurement, score, plan = Measurement._meta.db_table, PatientScore._meta.db_table, Plan._meta.db_table
    where, params = ["(s.number = s.last_number"], [*DID_NOT_TAKE_PLACE]
    if counts:
        where[0] += f" OR s.number IN ({', '.join(['%s'] * len(counts))})"
        params += counts
    where[0] += ")"
    if since is not None:
        where.append("s.starts_at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(since))
    sql = f"""
        WITH done AS (
            SELECT t.id AS session_id, t.plan_id, t.starts_at,
                   ROW_NUMBER() OVER (PARTITION BY t.plan_id ORDER BY t.starts_at, t.id) AS number
            FROM {session} t JOIN {chart} c ON c.session_id = t.id
            WHERE c.signed_at IS NOT NULL AND t.status NOT IN (%s, %s)
        ),
        measured AS (
            SELECT c.session_id, m.measure_id, m.value,
                   ROW_NUMBER() OVER (PARTITION BY c.session_id, m.measure_id ORDER BY m.id DESC) AS pick
            FROM {measurement} m JOIN {chart} c ON c.id = m.chart_id
            WHERE m.measure_id IS NOT NULL
        ),
        scored AS (
            SELECT p.session_id, p.measure_id, p.value,
                   ROW_NUMBER() OVER (
                       PARTITION BY p.session_id, p.measure_id ORDER BY p.reported_at DESC, p.id DESC
                   ) AS pick
            FROM {score} p
        ),
        point AS (
            SELECT session_id, measure_id, value FROM measured WHERE pick = 1
            UNION ALL
            SELECT o.session_id, o.measure_id, o.value FROM scored o
            WHERE o.pick = 1 AND NOT EXISTS (
                SELECT 1 FROM measured m WHERE m.session_id = o.session_id AND m.measure_id = o.measure_id
            )
        ),
        series AS (
            SELECT d.plan_id, p.measure_id, d.number, d.starts_at, p.value,
                   FIRST_VALUE(p.value) OVER (PARTITION BY d.plan_id, p.measure_id ORDER BY d.number) AS baseline,
                   ROW_NUMBER() OVER (PARTITION BY d.plan_id, p.measure_id ORDER BY d.number) AS nth,
                   MAX(d.number) OVER (PARTITION BY d.plan_id, p.measure_id) AS last_number
            FROM point p JOIN done d ON d.session_id = p.session_id
        )
        SELECT l.protocol_id, l.patient_id, s.plan_id, s.measure_id, s.number, s.nth, s.last_number,
               s.value, s.baseline
        FROM series s JOIN {plan} l ON l.id = s.plan_id
        WHERE {" AND ".join(where)}
    """  # table names come from the models and every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _effects_frame():
    """The protocols, and an Effect for each protocol, measure and session count the documents
    read them at (with the documents' figures), still without the clinic's courses. Three
    queries."""
    protocols = list(Protocol.objects.select_related("indication").prefetch_related("measures").order_by("title"))
    reported = {}
    for row in ReportedOutcome.objects.order_by("code"):
        reported.setdefault((row.protocol_id, row.measure_id), []).append(row)
    effects = {}  # (protocol code, measure code, session key) -> Effect
    for protocol in protocols:
        for measure in sorted(protocol.measures.all(), key=lambda m: (m.position, m.code)):
            rows = reported.get((protocol.code, measure.code), [])
            for key in _session_keys(rows):
                effects[(protocol.code, measure.code, key)] = Effect(
                    measure,
                    key,
                    figures=[DocumentFinding(r) for r in rows if r.finding != Finding.NO_BENEFIT and r.sessions == key],
                    caveats=[DocumentFinding(r) for r in rows if r.finding == Finding.NO_BENEFIT],
                )
    return protocols, effects


def _protocol_groups(protocols, effects, courses, patients):
    """[ProtocolEffects], one per protocol, with its courses and patients counted."""
    result = []
    for protocol in protocols:
        rows = [
            effect
            for (code, _m, _k), effect in effects.items()
            if code == protocol.code and (effect.has_data or effect.figures or effect.caveats)
        ]
        result.append(ProtocolEffects(protocol, rows, courses.get(protocol.code, 0), patients.get(protocol.code, 0)))
    return result


def clinic_effects(since):
    """[ProtocolEffects] for the protocols with measured courses in the period (the endpoint
    session on or after `since`), each with a row per measure and session count. Four queries."""
    protocols, effects = _effects_frame()
    counts = sorted({key for (_p, _m, key) in effects if key is not LATEST})
    courses = {}  # protocol code -> plan ids counted
    patients = {}  # protocol code -> patient ids counted
    for protocol_id, patient_id, plan_id, measure_id, number, nth, last, value, baseline in _course_rows(since, counts):
        keys = [number] if number != last else [number, LATEST]
        for key in keys:
            effect = effects.get((protocol_id, measure_id, key))
            if effect is None:
                continue
            value, baseline = _decimal(value), _decimal(baseline)
            if effect.kind == "change":
                change = change_percent(baseline, value) if nth > 1 else None
                if change is None:
                    continue  # the baseline itself, or a zero baseline: no change to count
                effect.values.append(change)
                effect.better_courses += bool(is_better(effect.measure, change))
            else:
                effect.values.append(value)
                if effect.kind == "share" and SHARE_RULES[measure_id][1](value):
                    effect.meeting_courses += 1
                    effect.meeting.add(patient_id)
            effect.patient_ids.add(patient_id)
            courses.setdefault(protocol_id, set()).add(plan_id)
            patients.setdefault(protocol_id, set()).add(patient_id)
    return _protocol_groups(
        protocols,
        effects,
        {code: len(plans) for code, plans in courses.items()},
        {code: len(ids) for code, ids in patients.items()},
    )


# --- What harms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Sessions with an event out of the sessions charted, and the patients behind them."""

    sessions: int
    of_sessions: int
    patients: int
    patient_ids: frozenset = field(default=frozenset(), repr=False, compare=False)
    withheld: bool = False  # hidden although not small: it would let a hidden cell be worked out

    @property
    def hidden(self):
        return self.withheld or is_small(self.patients)

    @property
    def percent(self):
        return _percent(self.sessions, self.of_sessions)

    @property
    def percent_text(self):
        return percent_text(self.percent)


ROW_NAMED, ROW_TECHNIQUE, ROW_POOLED_SMALL, ROW_POOLED, ROW_LOTS_HIDDEN = (
    "named",
    "technique",
    "pooled-small",
    "pooled",
    "lots-hidden",
)


def row_label(kind, text):
    """A harm row's label in the reader's language: `text` is a product's or lot's name, or a
    technique's code; a pooled row and a product's hidden lots are worded here."""
    if kind == ROW_TECHNIQUE:
        return dict(Technique.choices).get(text, text)
    if kind == ROW_POOLED_SMALL:
        return _("Others (each fewer than %(n)s patients)") % {"n": SMALLEST_GROUP}
    if kind == ROW_POOLED:
        return _("Others (pooled so that no small group can be worked out)")
    if kind == ROW_LOTS_HIDDEN:
        return _("All lots")
    return text


def lots_hidden_note():
    return _("Lots not shown separately: too few patients to tell apart")


@dataclass
class HarmRow:
    label: str
    detail: str
    sessions: int
    patients: int
    rates: list  # [Rate], in the order of harm_columns()
    types: list = field(default_factory=list)  # [AdverseEventType or None for "any"], the same order
    members: list = field(default_factory=list)  # a pooled row: the names pooled into it
    note: str = ""  # instead of the figures: why they are not shown
    charts: frozenset = field(default=frozenset(), repr=False)
    # What the label names (ROW_NAMED: the label itself, a product or a lot; the others are
    # worded when shown, in the reader's language: row_label) and, for a technique, its code.
    kind: str = "named"
    code: str = ""
    member_keys: list = field(default_factory=list)  # a pooled row: (kind, code or label) of each

    @property
    def hidden(self):
        return self.patients < SMALLEST_GROUP

    @property
    def pooled(self):
        return bool(self.members)

    @property
    def labelled(self):
        """[(AdverseEventType or None, Rate)]: for a phone, which reads each rate with its name."""
        return list(zip(self.types, self.rates, strict=False))


def _signed_charts(since):
    charts = Chart.objects.filter(signed_at__isnull=False).exclude(session__status__in=DID_NOT_TAKE_PLACE)
    if since is not None:
        charts = charts.filter(session__starts_at__gte=since)
    return charts


@dataclass(frozen=True)
class _Charted:
    """The period's signed charts: each chart's patient and the event codes recorded on it."""

    patient: dict
    events: dict

    def row(self, label, detail, charts, members=()):
        """A HarmRow for the sessions `charts`, patients counted distinct (a patient in two
        pooled lots counts once)."""
        rates = []
        for code in (*WATCHED_EVENTS, ANY_EVENT):
            had = [c for c in charts if (self.events.get(c) if code == ANY_EVENT else code in self.events.get(c, ()))]
            patients = frozenset(self.patient[c] for c in had)
            rates.append(Rate(len(had), len(charts), len(patients), patients))
        patients = {self.patient[c] for c in charts}
        return HarmRow(
            label, detail, len(charts), len(patients), rates, members=list(members), charts=frozenset(charts)
        )


def _pool(rows, charted, detail=""):
    """Secondary suppression for rows that partition a larger whole (the lots of a product, the
    products or the techniques of all sessions): a shown whole minus the shown rows would give a
    hidden row away, so the hidden rows are pooled into one "Others" row, and while that pool has
    fewer than SMALLEST_GROUP patients the smallest shown rows join it. Returns (shown rows,
    the pooled row or None)."""
    small = [row for row in rows if row.hidden]
    if not small:
        return list(rows), None
    shown = sorted((row for row in rows if not row.hidden), key=lambda r: (r.patients, r.sessions, r.label))
    pooled = list(small)

    def patients():
        return len({charted.patient[c] for row in pooled for c in row.charts})

    while shown and patients() < SMALLEST_GROUP:
        pooled.append(shown.pop(0))
    kind = ROW_POOLED_SMALL if all(row.hidden for row in pooled) else ROW_POOLED
    charts = frozenset().union(*(row.charts for row in pooled))
    pool = charted.row(row_label(kind, ""), detail, charts, members=sorted(row.label for row in pooled))
    pool.kind = kind
    pool.member_keys = [(row.kind, row.code or row.label) for row in pooled]
    kept = {id(row) for row in shown}
    return [row for row in rows if id(row) in kept], pool


def _withhold_complements(rows):
    """Secondary suppression within each column: a whole (a product's row, or all sessions,
    which the techniques add up to) minus the shown cells would give the hidden cells away, so
    while the hidden cells of a column hold 1 to SMALLEST_GROUP - 1 patients between them, the
    smallest shown cell with an event is hidden too."""
    for column in range(len(rows[0].rates) if rows else 0):
        while True:
            hidden = [row.rates[column] for row in rows if row.rates[column].hidden]
            if not is_small(len(frozenset().union(*(rate.patient_ids for rate in hidden)))):
                break
            shown = [row for row in rows if not row.rates[column].hidden and row.rates[column].patients]
            if not shown:
                break
            row = min(shown, key=lambda r: (r.rates[column].patients, r.rates[column].sessions, r.label))
            row.rates[column] = dataclasses.replace(row.rates[column], withheld=True)


def _table(rows, charted, detail=""):
    """Rows pooled and cells withheld so that no hidden figure can be worked out by subtraction."""
    shown, pool = _pool(rows, charted, detail)
    table = shown + ([pool] if pool else [])
    _withhold_complements(table)
    return table


def harm_columns():
    """[(code, AdverseEventType or None for "any")]: the table's columns. One query."""
    types = {t.code: t for t in AdverseEventType.objects.filter(code__in=WATCHED_EVENTS)}
    return [(code, types.get(code)) for code in WATCHED_EVENTS] + [(ANY_EVENT, None)]


def clinic_harms(since):
    """{"products": [HarmRow], "lots": [...], "techniques": [...]}: three queries (the charts,
    the products used on them, their adverse events), counted here so that pooled rows count
    each patient once.

    The products and the techniques each partition the period's sessions, and a product's lots
    partition its row: each table is pooled (_table). Lots are shown for the products shown on
    their own; a product whose lots would all be pooled gets a note instead of a row that would
    only repeat the product's."""
    charts = _signed_charts(since)
    chart_rows = list(charts.values_list("id", "patient_id", "technique"))
    uses = ProductUse.objects.filter(chart__in=charts).values_list(
        "chart_id", "lot_id", "lot__lot_number", "lot__product_id", "lot__product__name", "lot__product__manufacturer"
    )
    events = {}
    for chart_id, code in AdverseEvent.objects.filter(chart__in=charts).values_list("chart_id", "type_id"):
        events.setdefault(chart_id, set()).add(code)
    charted = _Charted({c: patient for c, patient, _t in chart_rows}, events)

    products, lots = {}, {}  # product id -> (name, manufacturer, charts); lot id -> (product id, number, charts)
    for chart_id, lot_id, number, product_id, name, manufacturer in uses:
        products.setdefault(product_id, (name, manufacturer, set()))[2].add(chart_id)
        lots.setdefault(lot_id, (product_id, number, set()))[2].add(chart_id)
    product_rows = {
        pid: charted.row(name, manufacturer, sorted(c))
        for pid, (name, manufacturer, c) in sorted(products.items(), key=lambda item: (item[1][0], item[0]))
    }
    product_table = _table(list(product_rows.values()), charted)

    lot_table = []
    for pid, product in product_rows.items():
        if not any(product is row for row in product_table):
            continue  # pooled with other products: its lots are not shown either
        rows = [
            charted.row(number, product.label, sorted(c))
            for _lot, (owner, number, c) in sorted(lots.items(), key=lambda item: (item[1][1], item[0]))
            if owner == pid
        ]
        shown, pool = _pool(rows, charted, product.label)
        if not shown:
            hidden = HarmRow(row_label(ROW_LOTS_HIDDEN, ""), product.label, 0, 0, [], note=lots_hidden_note())
            hidden.kind = ROW_LOTS_HIDDEN
            lot_table.append(hidden)
            continue
        table = shown + ([pool] if pool else [])
        _withhold_complements(table)
        lot_table.extend(table)

    by_technique = {}
    for chart_id, _patient, technique in chart_rows:
        by_technique.setdefault(technique, []).append(chart_id)
    technique_rows = []
    for code, c in sorted(by_technique.items()):
        row = charted.row(row_label(ROW_TECHNIQUE, code), "", sorted(c))
        row.kind, row.code = ROW_TECHNIQUE, code
        technique_rows.append(row)
    return {"products": product_table, "lots": lot_table, "techniques": _table(technique_rows, charted)}


def clinic_outcomes(period):
    """Everything the clinic page shows for `period` (PERIOD_YEAR or PERIOD_ALL)."""
    since = period_start(period)
    effects = clinic_effects(since)
    columns = harm_columns()
    harms = clinic_harms(since)
    for rows in harms.values():
        for row in rows:
            row.types = [event_type for _code, event_type in columns]
    return {
        "period": period,
        "since": since,
        "effects": [group for group in effects if group.has_data],
        "unmeasured": [group.protocol for group in effects if not group.has_data],
        "harms": harms,
        "columns": columns,
        "smallest_group": SMALLEST_GROUP,
        "largest_hidden": SMALLEST_GROUP - 1,
    }


# --- Kept between requests ---------------------------------------------------------------------
#
# Counting every course and signed chart of ten years takes seconds: a task (outcomes.tasks)
# counts them and keeps the figures the page shows (ClinicOutcomes), and the page reads them
# back with the knowledge base's current words. The figures are the clinic's, not a patient's:
# no id is kept, only what the page shows, already suppressed (SMALLEST_GROUP and the pooling
# and withholding above), so a page built from them hides exactly what a live one hides.


def outcome_facts(outcomes):
    """What clinic_outcomes(period) found, as JSON: counts, means and labels, no patient."""

    def row(harm):
        return {
            "kind": harm.kind,
            "label": harm.code if harm.kind == ROW_TECHNIQUE else harm.label,
            "detail": harm.detail,
            "sessions": harm.sessions,
            "patients": harm.patients,
            "members": [list(key) for key in harm.member_keys],
            "rates": [[rate.sessions, rate.of_sessions, rate.patients, rate.withheld] for rate in harm.rates],
        }

    return {
        "since": outcomes["since"].isoformat() if outcomes["since"] else None,
        "charts": charts_counted(outcomes),
        "protocols": {group.protocol.code: [group.courses, group.patients] for group in outcomes["effects"]},
        "effects": [
            [group.protocol.code, effect.measure.code, effect.sessions, _effect_facts(effect)]
            for group in outcomes["effects"]
            for effect in group.effects
            if effect.has_data
        ],
        "harms": {table: [row(harm) for harm in rows] for table, rows in outcomes["harms"].items()},
    }


def _harm_row(facts):
    kind = facts["kind"]
    rates = [Rate(sessions, of, patients, withheld=withheld) for sessions, of, patients, withheld in facts["rates"]]
    return HarmRow(
        row_label(kind, facts["label"]),
        facts["detail"],
        facts["sessions"],
        facts["patients"],
        rates,
        members=sorted(row_label(member_kind, text) for member_kind, text in facts["members"]),
        note=lots_hidden_note() if kind == ROW_LOTS_HIDDEN else "",
        kind=kind,
        code=facts["label"] if kind == ROW_TECHNIQUE else "",
    )


def outcomes_from_facts(period, facts, computed_at=None):
    """clinic_outcomes(period)'s answer, from outcome_facts kept earlier: the knowledge base
    (protocols, measures, the documents' findings, event types) is read now, in the reader's
    language. Five queries."""
    protocols, effects = _effects_frame()
    for protocol, measure, key, stored in facts["effects"]:
        frame = effects.get((protocol, measure, key))
        if frame is None:
            continue  # the knowledge base changed since: the next count will say
        effects[(protocol, measure, key)] = StoredEffect(
            frame.measure,
            key,
            figures=frame.figures,
            caveats=frame.caveats,
            meeting_courses=stored["meeting_courses"],
            better_courses=stored["better_courses"],
            stored=stored,
        )
    counts = facts["protocols"]
    groups = _protocol_groups(
        protocols,
        effects,
        {code: pair[0] for code, pair in counts.items()},
        {code: pair[1] for code, pair in counts.items()},
    )
    columns = harm_columns()
    harms = {table: [_harm_row(row) for row in rows] for table, rows in facts["harms"].items()}
    for rows in harms.values():
        for row in rows:
            row.types = [event_type for _code, event_type in columns]
    return {
        "period": period,
        "since": datetime.datetime.fromisoformat(facts["since"]) if facts["since"] else None,
        "computed_at": computed_at,
        "effects": [group for group in groups if group.has_data],
        "unmeasured": [group.protocol for group in groups if not group.has_data],
        "harms": harms,
        "columns": columns,
        "smallest_group": SMALLEST_GROUP,
        "largest_hidden": SMALLEST_GROUP - 1,
    }


# The task counts every period this often (settings.CELERY_BEAT_SCHEDULE); the page says when.
CLINIC_OUTCOMES_EVERY = datetime.timedelta(hours=1)
COUNT_TASK = "outcomes.count_clinic_outcomes"


def count_clinic_outcomes(period):
    """Count `period` now and keep its figures (the task's work: seconds on ten years)."""
    return _keep(period, clinic_outcomes(period))


def _keep(period, outcomes):
    kept, _created = ClinicOutcomes.objects.update_or_create(
        period=period, defaults={"computed_at": timezone.now(), "facts": outcome_facts(outcomes)}
    )
    return kept


# A period with fewer signed charts than this is counted on each request (a few milliseconds,
# and the page is never behind); a larger one reads the figures last kept, and says when they
# were counted. 1,700 charts took 140 ms to count (the benchmark's calendar); a chain's ten
# years, a million, take seconds.
COUNT_LIVE_UP_TO = 200


def charts_counted(outcomes):
    """The signed charts behind `outcomes`: the techniques partition them, pooled rows too."""
    return sum(row.sessions for row in outcomes["harms"]["techniques"])


def kept_outcomes(period):
    """The figures kept for `period` (ClinicOutcomes), or None. One query."""
    return ClinicOutcomes.objects.filter(period=period).first()


def is_large(kept):
    """The kept figures are the page's: COUNT_LIVE_UP_TO signed charts or more were counted."""
    return kept is not None and kept.facts.get("charts", 0) >= COUNT_LIVE_UP_TO


def too_large_to_count_now():
    """True when the clinic's signed charts reach COUNT_LIVE_UP_TO: counting them belongs to the
    task, not to a request. One query, reading at most that many rows."""
    return Chart.objects.filter(signed_at__isnull=False)[:COUNT_LIVE_UP_TO].count() >= COUNT_LIVE_UP_TO


def counted_outcomes(period):
    """clinic_outcomes(period) counted now, and kept when it turns out large (the next
    request reads it instead)."""
    outcomes = clinic_outcomes(period)
    if charts_counted(outcomes) >= COUNT_LIVE_UP_TO:
        outcomes["computed_at"] = _keep(period, outcomes).computed_at
    return outcomes
