"""Ten years of a clinic chain, for the scale benchmarks (`seed_demo --scale chain|tenth`).

Pages that slow down with history only show it when there is history: 100,000 patients, a
million sessions with their signed charts, 200,000 screenings, ten million audit entries. The
ORM would take hours to write that, so each table group is one `INSERT ... SELECT` over
`generate_series`, computed inside PostgreSQL from a handful of numbers (no rows cross the
wire). PostgreSQL only: the command refuses SQLite.

How the calendar is laid out, so that nothing overlaps (the exclusion constraints hold):
every practitioner keeps a room of their own, and ten years are cut into 65 blocks of eight
weeks. A plan is a "chain": one room, one weekday and hour, eight weekly sessions inside one
block. Within a block each chain has its own (room, weekday, hour), and a patient holds at most
one chain per block, so no practitioner, room or patient is ever in two places at once. Plans
are numbered newest first, so a smaller scale keeps the recent years full (today's calendar
looks the same at every scale) and thins out the old ones... except that every scale keeps
ten years, with fewer rooms: the tenth is a smaller chain, not a shorter one.

Idempotent: each step is one transaction that also records itself in `desk_scale_seed` (a
bookkeeping table of this seeder, not a model: it only says which steps are done and where
their ids start). An aborted run rolls its step back, indexes included, and the next run goes
on from there. Big tables get their secondary indexes and constraints dropped and rebuilt
inside the step's transaction (a bulk build is several times faster than row-by-row upkeep),
so a failure can never leave a table without them.
"""

import datetime
import json
import math
import threading
import time
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from mesoclinic.core.models import Role, Room, User, WorkingHours
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.demo import BULK_EMAIL_DOMAIN, FAMILY, GIVEN
from mesoclinic.patients.models import Patient
from mesoclinic.patients.names import fold_name
from mesoclinic.plans.models import Product, Protocol
from mesoclinic.screening import engine
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.services import outcome_of

# Under the demo's bulk domain, so the demo journeys never take a chain patient for a named one.
EMAIL_DOMAIN = f"chain.{BULK_EMAIL_DOMAIN}"
STATE_TABLE = "desk_scale_seed"
BLOCKS = 65  # ten years of eight-week blocks
SESSIONS_PER_PLAN = 8
SLOTS = [(weekday, hour) for weekday in range(5) for hour in range(9, 18)]  # Mon-Fri, 09:00-17:00
WEEKS_AHEAD = 6  # the calendar is booked this far past the current week
BUSIEST_PLANS = 26  # the busiest patient: a course every other block, 208 sessions
HEAVY_AUDIT_ROWS = 10_000  # the patient whose access history is long, at every scale
BRANCHES = ("Şişli", "Kadıköy", "Beşiktaş", "Ataşehir", "Bakırköy")
DRAWN_BLOCKS = 6  # charts of the last year (and all of the busiest patient's) have drawn points

# product to chart for each protocol, and the practitioner-recorded measure taken at each session
PROTOCOL_PRODUCT = {
    "skin_rejuvenation": "HydraGlow Meso",
    "acne_scars": "HydraGlow Meso",
    "stretch_marks": "HydraGlow Meso",
    "hair_loss": "Capilla Boost",
    "cellulite": "LipoContour",
    "localized_fat": "LipoContour",
    "pigmentation": "Lumina Tone",
    "pain": "Relief Meso",
}


# the injection-map diagram of a protocol's first area (treatment_sessions/session_day/diagrams.py)
DIAGRAMS = {
    "face": "face_front",
    "scalp": "scalp",
    "neck": "neck_decollete",
    "abdomen": "abdomen",
    "arms": "arms",
    "thighs": "thighs",
    "buttocks": "buttocks_hips",
    "knee": "knees",
}


class ScaleRefused(Exception):
    """The database cannot take the scale data (SQLite, or another scale already there)."""


@dataclass(frozen=True)
class Size:
    name: str
    patients: int
    sessions: int
    screenings: int
    audit: int
    photos: int
    rooms: int

    @classmethod
    def of(cls, name, fraction=None):
        """The chain, a tenth of it, or any fraction (the tests seed 1/10,000)."""
        fraction = fraction if fraction is not None else {"chain": 1.0, "tenth": 0.1}[name]
        return cls(
            name=name,
            patients=max(10, round(100_000 * fraction)),
            sessions=max(SESSIONS_PER_PLAN, round(1_000_000 * fraction)),
            screenings=max(2, round(200_000 * fraction)),
            audit=round(10_000_000 * fraction),
            photos=max(1, round(50_000 * fraction)),
            rooms=max(1, math.ceil(45 * fraction)),
        )

    @property
    def chains_per_block(self):
        return self.rooms * len(SLOTS)

    @property
    def plans(self):
        return min(self.sessions // SESSIONS_PER_PLAN, BLOCKS * self.chains_per_block)

    def as_json(self):
        return {
            "name": self.name,
            "patients": self.patients,
            "sessions": self.sessions,
            "screenings": self.screenings,
            "audit": self.audit,
            "photos": self.photos,
            "rooms": self.rooms,
        }


class _Timed:
    """A cursor that notes how long each statement took (seed_demo -v 2 prints the slow ones)."""

    def __init__(self, cursor, say):
        self.cursor, self.say = cursor, say

    def execute(self, sql, params=None):
        began = time.monotonic()
        self.cursor.execute(sql, params)
        took = time.monotonic() - began
        if took >= 1:
            self.say(f"      {took:6.1f} s  {' '.join(sql.split())[:90]}")

    def fetchone(self):
        return self.cursor.fetchone()

    def fetchall(self):
        return self.cursor.fetchall()


def seed_scale(size: Size, stdout=None, verbose=False, parallel=False):
    """Build (or finish building) `size`'s data. Returns the summary (ids to benchmark).
    `parallel`: load the audit trail on a second connection while the rest loads."""
    if connection.vendor != "postgresql":
        raise ScaleRefused(
            f"--scale needs PostgreSQL (this database is {connection.vendor}): it loads millions of rows "
            "with PostgreSQL's bulk SQL. Set DATABASE_URL to a PostgreSQL database."
        )
    say = (lambda text: stdout.write(text)) if stdout else (lambda text: None)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (step text PRIMARY KEY, detail jsonb, done_at timestamptz)"
        )
    state = _state()
    if "done" in state:
        summary = state["done"]
        say(f"Scale data ({summary['size']['name']}) is already here; nothing to do.")
        return summary
    plan = state.get("layout") or _layout(size)
    if plan["size"] != size.as_json():
        raise ScaleRefused(
            f"This database already holds (part of) the {plan['size']['name']} scale; "
            f"--scale {size.name} needs a database of its own."
        )
    todo = [(step, work) for step, work in STEPS if step not in state]
    audit = [(step, work) for step, work in todo if step == "audit"]
    if parallel and audit:
        # The audit trail needs only the patients: it loads on a second connection while the
        # rest loads (PostgreSQL then works on two statements at once). The tests, whose data
        # lives in one uncommitted transaction, run everything on theirs.
        first = ("patients", "audit_months")
        _run_steps([(step, work) for step, work in todo if step in first], plan, say, verbose)
        failures = []
        background = threading.Thread(target=_catching(_run_steps, failures), args=(audit, plan, say, verbose))
        background.start()
        _run_steps([(step, work) for step, work in todo if step not in (*first, "audit")], plan, say, verbose)
        background.join()
        if failures:
            raise failures[0]
    else:
        _run_steps(todo, plan, say, verbose)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    summary = _summary(plan)
    summary["seconds"] = round(time.monotonic() - started, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        _mark(cursor, "done", summary)
    say(f"Scale data ({size.name}) ready in {summary['seconds']:.0f} s.")
    return summary


def _run_steps(steps, plan, say, verbose):
    try:
        for step, work in steps:
            began = time.monotonic()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor = _Timed(cursor, say) if verbose else cursor
                _fast_session(cursor)
                work(cursor, plan)
                _mark(cursor, step, {})
            say(f"  {step}: {time.monotonic() - began:.1f} s")
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()  # the thread's own connection


def _catching(run, failures):
    def wrapped(*args):
        try:
            run(*args)
        except Exception as error:  # handed to the main thread, which raises it
            failures.append(error)

    return wrapped


# --- Bookkeeping ------------------------------------------------------------------------------


def scale_started():
    """Whether any scale data was written here (the demo's own bulk steps then keep off it)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [STATE_TABLE])
        if cursor.fetchone()[0] is None:
            return False
    return bool(_state())


def _state():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT step, detail FROM {STATE_TABLE}")
        # Django hands jsonb back as text on psycopg2
        return {step: json.loads(detail) if isinstance(detail, str) else detail for step, detail in cursor.fetchall()}


def _mark(cursor, step, detail):
    cursor.execute(
        f"INSERT INTO {STATE_TABLE} (step, detail, done_at) VALUES (%s, %s, now()) "
        "ON CONFLICT (step) DO UPDATE SET detail = EXCLUDED.detail, done_at = EXCLUDED.done_at",
        [step, json.dumps(detail)],
    )


def _fast_session(cursor):
    # Room for the index builds and sorts; a lost commit here only means running again.
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL synchronous_commit = off")


def _next_id(cursor, table):
    cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
    return cursor.fetchone()[0]


def _bump_sequence(cursor, table):
    """Rows written with their own ids: the table's identity must continue after them."""
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
    )


class _BulkLoad:
    """Drop a table's secondary indexes and its unique and exclusion constraints, and build them
    again on exit: once over the loaded table, which is what bulk loading wants. Read from the
    catalogue, so it works on whatever the migrations made (a partitioned audit table included);
    inside the step's transaction, so an error puts them all back.

    Foreign keys stay: dropping one would lock the table it points to (the users, the patients),
    and the audit load runs beside the other steps. As a superuser their row-by-row checks are
    switched off for the load (session_replication_role) and each key is checked once, over the
    whole table, on exit; otherwise they check each row as usual."""

    def __init__(self, cursor, *tables):
        self.cursor, self.tables, self.rebuild = cursor, tables, []

    def __enter__(self):
        cursor = self.cursor
        # Foreign-key checks still queued from this transaction's earlier inserts would refuse the
        # ALTER TABLE: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        self.unchecked = bool(cursor.fetchone()[0])
        for table in self.tables:
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'x') AND conparentid = 0",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                "AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            indexes = cursor.fetchall()
            for name, _definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            # Rebuilt in this order: indexes, then unique and exclusion constraints.
            self.rebuild += [definition.replace(" ON ONLY ", " ON ") for _name, definition in indexes]
            self.rebuild += [
                f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints
            ]
        if self.unchecked:
            cursor.execute("SET LOCAL session_replication_role = replica")
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            if self.unchecked:
                self.cursor.execute("SET LOCAL session_replication_role = origin")
                for table in self.tables:
                    _check_foreign_keys(self.cursor, table)
            for statement in self.rebuild:
                self.cursor.execute(statement)
        return False


def _check_foreign_keys(cursor, table):
    """What each foreign key of `table` checks row by row, once over the table: an anti-join."""
    cursor.execute(
        "SELECT c.conname, a.attname, c.confrelid::regclass::text, fa.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND c.conparentid = 0",
        [table],
    )
    for name, column, target, target_column in cursor.fetchall():
        cursor.execute(
            f'SELECT count(*) FROM {table} t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM {target} r WHERE r."{target_column}" = t."{column}")'
        )
        orphans = cursor.fetchone()[0]
        if orphans:
            raise ScaleRefused(f"{orphans} rows of {table} break its foreign key {name} ({column} -> {target}).")


# --- The layout: who works where, and where each table's ids start ----------------------------


def _layout(size):
    """Create the chain's practitioners and rooms, and record the numbers every step uses."""
    practitioners, rooms = _staff_and_rooms(size.rooms)
    scheduler = User.objects.filter(role=Role.SCHEDULER).order_by("pk").first()
    first_practitioner = User.objects.get(pk=practitioners[0][0])
    zone = clinic_zone()
    today = datetime.datetime.now(zone).date()
    end_monday = today - datetime.timedelta(days=today.weekday()) + datetime.timedelta(weeks=WEEKS_AHEAD)
    start_monday = end_monday - datetime.timedelta(weeks=BLOCKS * 8)
    with connection.cursor() as cursor:
        bases = {
            table: _next_id(cursor, table)
            for table in (
                "patients_patient",
                "plans_plan",
                "screening_screening",
                "plans_consent",
                "treatment_sessions_sessionseries",
                "treatment_sessions_treatmentsession",
                "treatment_sessions_chart",
                "treatment_sessions_lot",
                "treatment_sessions_syringe",
            )
        }
    layout = {
        "size": size.as_json(),
        "zone": str(zone),
        "start_monday": start_monday.isoformat(),
        "now": timezone.now().isoformat(),
        "practitioners": practitioners,
        "rooms": rooms,
        "bases": bases,
        "protocols": _protocols(),
        "names": _names(),
        "content_types": {
            "patient": ContentType.objects.get_for_model(Patient).pk,
        },
        "scheduler": scheduler.pk if scheduler else None,
        "scheduler_email": (scheduler or first_practitioner).email,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        _mark(cursor, "layout", layout)
    return layout


def _staff_and_rooms(count):
    """The demo's practitioners first (so `practitioner` has a full calendar), then new ones;
    a new room for each, named after its branch."""
    demo = list(User.objects.practitioners().order_by("pk"))
    practitioners = demo[:count]
    password = make_password(None)  # the chain's own staff cannot sign in: only the demo users can
    for number in range(len(practitioners), count):
        given, family = GIVEN[number % len(GIVEN)], FAMILY[(number * 7) % len(FAMILY)]
        user, created = User.objects.get_or_create(
            username=f"chain.dr{number:02d}",
            defaults={
                "role": Role.PRACTITIONER,
                "title": "Dr.",
                "first_name": given,
                "last_name": family,
                "email": f"dr{number:02d}@{EMAIL_DOMAIN}",
                "password": password,
            },
        )
        if created:
            WorkingHours.objects.bulk_create(
                WorkingHours(practitioner=user, weekday=day, starts=datetime.time(9), ends=datetime.time(18))
                for day in range(5)
            )
        practitioners.append(user)
    rooms = []
    for number in range(count):
        branch = BRANCHES[number * len(BRANCHES) // count]
        room, _ = Room.objects.get_or_create(name=f"{branch} {number % 9 + 1:02d}")
        rooms.append(room.pk)
    return [[user.pk, user.email] for user in practitioners], rooms


def _protocols():
    """Per protocol: its defaults, and the screening a typical adult gets for it (run through the
    real engine once, so the stored findings and verdict are what the rules say)."""
    kb = knowledge_base()
    products = dict(Product.objects.values_list("name", "pk"))
    rows = []
    for protocol in Protocol.objects.select_related("indication").order_by("code"):
        # The default areas; a protocol without any (pain) treats the first area it allows.
        area_terms = list(protocol.default_areas.order_by("code")) or list(protocol.areas.order_by("code")[:1])
        areas = [term.code for term in area_terms] or ["face"]
        ingredients = sorted(protocol.default_ingredients.values_list("code", flat=True))
        data = {
            "date_of_birth": "1985-06-15",
            "on_date": timezone.localdate().isoformat(),
            "areas": areas,
            "ingredients": ingredients,
            "indication": protocol.indication.code,
        }
        parsed = engine.parse_answers(data, kb)
        result = engine.evaluate(parsed, kb)
        if result.verdict == "defer":
            continue  # never for a default protocol and an adult; a deferral would stop the bookings
        decisions = [
            {"rule": f.rule, "key": f.key, "decision": "acknowledged"}
            for f in result.findings
            if f.severity == "warning"
        ]
        answers = parsed.as_json()
        for moving in ("date_of_birth", "on_date"):
            answers.pop(moving, None)
        measure = protocol.measures.filter(recorded_by="practitioner").order_by("position", "code").first()
        product_name = PROTOCOL_PRODUCT.get(protocol.code)
        rows.append(
            {
                "code": protocol.code,
                "indication": protocol.indication_id,
                "technique": protocol.default_technique,
                "depth": str(protocol.default_depth_mm),
                "gauge": protocol.default_gauge,
                "minutes": protocol.default_session_minutes,
                "areas": [term.pk for term in area_terms],
                "diagram": DIAGRAMS.get(areas[0], "face_front"),
                "ingredients": list(protocol.default_ingredients.values_list("pk", flat=True)),
                "answers": answers,
                "findings": [finding.as_json() for finding in result.findings],
                "verdict": result.verdict,
                "outcome": outcome_of(result.findings, decisions),
                "decisions": decisions,
                "rules_version": result.rules_version,
                "product": products.get(product_name) or next(iter(products.values()), None),
                "measure": measure.code if measure else None,
                "measure_kind": measure.label if measure else "",
                "measure_unit": measure.unit if measure else "",
                "measure_low": str(measure.minimum) if measure else "0",
                "measure_high": str(measure.maximum) if measure else "0",
                "measure_better": measure.better if measure else "lower",
            }
        )
    if not rows or any(row["product"] is None for row in rows):
        raise ScaleRefused("The knowledge base and the demo products come first: run load_knowledge and seed_demo.")
    return rows


def _names():
    """Every given and family name pair, with the folded form patient search matches."""
    return [[given, family, fold_name(f"{given} {family}")] for family in FAMILY for given in GIVEN]


# --- The steps ----------------------------------------------------------------------------------
# Each reads the layout's numbers. In SQL, a plan is numbered p (0 = newest), its block
# b = 64 - p / chains, its place in the block q = p % chains: slot q / rooms, room q % rooms.


def _plans_sql(plan):
    """The plans as rows (p, block, room, slot, patient number, protocol number): the one
    place the calendar layout is computed; every step that needs it selects from it."""
    size = plan["size"]
    chains = size["rooms"] * len(SLOTS)
    count = min(size["sessions"] // SESSIONS_PER_PLAN, BLOCKS * chains)
    others = size["patients"] - 1
    busiest_from = BLOCKS - 1 - 2 * (BUSIEST_PLANS - 1)
    # A chain only where its practitioner works that weekday and hour (the demo's Dr. Reeves
    # has no Mondays); numbering runs on past the count to make up for the ones left out.
    return f"""
        SELECT * FROM (
            SELECT p, b, q, q % {size["rooms"]} AS room, q / {size["rooms"]} AS slot,
                   CASE WHEN q = 0 AND b % 2 = 0 AND b >= {busiest_from} THEN 0
                        ELSE 1 + ((q + b::bigint * 7919) % {others}) END AS patient,
                   ((p * 31 + b) % {len(plan["protocols"])}) AS protocol
            FROM (SELECT p, {BLOCKS - 1} - p / {chains} AS b, p % {chains} AS q
                  FROM generate_series(0, {BLOCKS * chains - 1}) AS p) AS numbered
        ) AS l
        WHERE EXISTS (
            SELECT 1 FROM scale_staff s JOIN core_workinghours wh ON wh.practitioner_id = s.user_id
            WHERE s.n = l.room AND wh.weekday = l.slot / {len(SLOTS) // 5}
              AND wh.starts <= make_time(9 + l.slot % {len(SLOTS) // 5}, 0, 0)
              AND wh.ends >= make_time(9 + l.slot % {len(SLOTS) // 5}, 45, 0))
        ORDER BY p LIMIT {count}
    """


def _temp_tables(cursor, plan):
    """Small lookup tables for the steps: protocols, staff, rooms, names, and the plans."""
    cursor.execute("DROP TABLE IF EXISTS scale_protocol, scale_staff, scale_name, scale_plan")
    cursor.execute(
        "CREATE TEMP TABLE scale_protocol (n int PRIMARY KEY, code text, indication bigint, technique text, "
        "depth numeric, gauge int, minutes int, areas bigint[], ingredients bigint[], answers jsonb, "
        "findings jsonb, verdict text, outcome text, decisions jsonb, rules_version text, product bigint, "
        "measure text, measure_kind text, measure_unit text, measure_low numeric, measure_high numeric, "
        "measure_better text, diagram text) ON COMMIT DROP"
    )
    for n, row in enumerate(plan["protocols"]):
        cursor.execute(
            "INSERT INTO scale_protocol VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s)",
            [
                n,
                row["code"],
                row["indication"],
                row["technique"],
                row["depth"],
                row["gauge"],
                row["minutes"],
                row["areas"],
                row["ingredients"],
                json.dumps(row["answers"]),
                json.dumps(row["findings"]),
                row["verdict"],
                row["outcome"],
                json.dumps(row["decisions"]),
                row["rules_version"],
                row["product"],
                row["measure"],
                row["measure_kind"],
                row["measure_unit"],
                row["measure_low"],
                row["measure_high"],
                row["measure_better"],
                row["diagram"],
            ],
        )
    cursor.execute(
        "CREATE TEMP TABLE scale_staff (n int PRIMARY KEY, user_id bigint, email text, room bigint) ON COMMIT DROP"
    )
    cursor.execute(
        "INSERT INTO scale_staff SELECT n - 1, (p->>0)::bigint, p->>1, r FROM "
        "jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS s(p, n) "
        "JOIN unnest(%s::bigint[]) WITH ORDINALITY AS rm(r, m) ON m = n",
        [json.dumps(plan["practitioners"]), plan["rooms"]],
    )
    cursor.execute(
        "CREATE TEMP TABLE scale_name (n int PRIMARY KEY, given text, family text, folded text) ON COMMIT DROP"
    )
    cursor.execute(
        "INSERT INTO scale_name SELECT n - 1, v->>0, v->>1, v->>2 FROM jsonb_array_elements(%s::jsonb) "
        "WITH ORDINALITY AS x(v, n)",
        [json.dumps(plan["names"])],
    )
    cursor.execute("ANALYZE scale_staff")
    cursor.execute(
        f"""CREATE TEMP TABLE scale_plan ON COMMIT DROP AS
        SELECT l.*, {plan["bases"]["plans_plan"]} + l.p AS plan_id,
               {plan["bases"]["patients_patient"]} + l.patient AS patient_id,
               s.user_id AS practitioner_id, s.room AS room_id,
               -- session k starts on block start + k weeks + weekday, at the slot's hour, clinic time
               (DATE '{plan["start_monday"]}' + (l.b * 56 + l.slot / {len(SLOTS) // 5}) * INTERVAL '1 day'
                 + (9 + l.slot % {len(SLOTS) // 5}) * INTERVAL '1 hour') AS first_local
        FROM ({_plans_sql(plan)}) AS l JOIN scale_staff s ON s.n = l.room""",
    )
    cursor.execute("CREATE INDEX ON scale_plan (p)")
    cursor.execute("ANALYZE scale_plan")


# Patient number i's phone and email, as SQL: written by step_patients, and repeated by the
# audit step (which must not read the patients table while the other steps alter it).
PHONE_SQL = "'+905' || lpad(((i * 104729 + 300000000) % 1000000000)::text, 9, '0')"
EMAIL_SQL = f"'p' || i || '@{EMAIL_DOMAIN}'"


def step_patients(cursor, plan):
    """The chain's patients: names from the demo lists, born 1950-2004, half of them Turkish
    speakers; patient 0 is the busiest (and has the long access history)."""
    size, base = plan["size"], plan["bases"]["patients_patient"]
    _temp_tables(cursor, plan)
    with _BulkLoad(cursor, "patients_patient"):
        cursor.execute(
            f"""
            INSERT INTO patients_patient (id, given_name, family_name, date_of_birth, sex, phone, email, address,
                preferred_language, emergency_contact_name, emergency_contact_phone, notes, created_at, updated_at,
                archive_reason, search_name, contact_by)
            SELECT {base} + i, n.given, n.family,
                   DATE '1950-01-01' + ((i * 7919) % 20000)::int,
                   CASE WHEN i % 3 = 2 THEN 'male' ELSE 'female' END,
                   {PHONE_SQL}, {EMAIL_SQL}, '',
                   CASE WHEN i % 2 = 0 THEN 'tr' ELSE 'en' END, 'Next of kin', '+905320000000', '',
                   '{plan["start_monday"]}'::timestamptz + (i::float8 / {size["patients"]}) * (now() - '{plan["start_monday"]}'::timestamptz),
                   '{plan["start_monday"]}'::timestamptz + (i::float8 / {size["patients"]}) * (now() - '{plan["start_monday"]}'::timestamptz),
                   '', n.folded, 'email'
            FROM generate_series(0::bigint, {size["patients"] - 1}) AS i
            JOIN scale_name n ON n.n = (i * 13) % {len(plan["names"])}
            """,
        )
    _bump_sequence(cursor, "patients_patient")


def step_lots(cursor, plan):
    """A lot of each product per quarter, each good for two years from its quarter: the charts
    of a quarter use that quarter's lot (so a recall by lot number finds thousands of sessions).
    Not counted on the shelf (no quantity): those lots were charted before stock was kept."""
    base = plan["bases"]["treatment_sessions_lot"]
    _temp_tables(cursor, plan)
    cursor.execute(
        f"""
        INSERT INTO treatment_sessions_lot (id, product_id, lot_number, expires_on, on_hand_ml, recall_reason)
        SELECT {base} + pr.n * 100 + qn, pr.product,
               upper(left(regexp_replace(pp.name, '[^A-Za-z]', '', 'g'), 2)) || '-'
                 || to_char(quarter, 'YY') || 'Q' || extract(quarter FROM quarter),
               (quarter + INTERVAL '2 years')::date, NULL, ''
        FROM (SELECT DISTINCT ON (product) product, n FROM scale_protocol ORDER BY product, n) AS pr
        JOIN plans_product pp ON pp.id = pr.product
        CROSS JOIN LATERAL (
            SELECT qn, date_trunc('quarter', DATE '{plan["start_monday"]}') + qn * INTERVAL '3 months' AS quarter
            FROM generate_series(0, 43) AS qn) AS q
        """,
    )
    _bump_sequence(cursor, "treatment_sessions_lot")


def step_plans(cursor, plan):
    """Plans of the protocols' defaults, with their areas and ingredients; done when their last
    session is past, active otherwise. Screening and activation times follow the sessions."""
    _temp_tables(cursor, plan)
    zone = plan["zone"]
    with _BulkLoad(cursor, "plans_plan", "plans_plan_areas", "plans_plan_ingredients"):
        cursor.execute(
            f"""
            INSERT INTO plans_plan (id, technique, depth_mm, needle_gauge, session_minutes, sessions_planned,
                intervals, combinations, combination_notes, goals, status, created_at, updated_at, activated_at,
                ended_at, stop_reason, activated_by_id, created_by_id, indication_id, patient_id, screening_id,
                protocol_id)
            SELECT sp.plan_id, pr.technique, pr.depth, pr.gauge, pr.minutes, {SESSIONS_PER_PLAN},
                   '[7, 7, 7, 7, 7, 7, 7]'::jsonb, '[]'::jsonb, '', 'Agreed at the consultation.',
                   CASE WHEN last_end < now() THEN 'completed' ELSE 'active' END,
                   first_at - INTERVAL '7 days', coalesce(CASE WHEN last_end < now() THEN last_end END, first_at),
                   first_at - INTERVAL '7 days' + INTERVAL '1 hour',
                   CASE WHEN last_end < now() THEN last_end END, '',
                   sp.practitioner_id, sp.practitioner_id, pr.indication, sp.patient_id,
                   {plan["bases"]["screening_screening"]} + sp.p, pr.code
            FROM (SELECT *, first_local AT TIME ZONE '{zone}' AS first_at,
                         (first_local + INTERVAL '49 days') AT TIME ZONE '{zone}' + INTERVAL '1 hour' AS last_end
                  FROM scale_plan) AS sp
            JOIN scale_protocol pr ON pr.n = sp.protocol
            """
        )
        cursor.execute(
            "INSERT INTO plans_plan_areas (plan_id, term_id) SELECT sp.plan_id, unnest(pr.areas) "
            "FROM scale_plan sp JOIN scale_protocol pr ON pr.n = sp.protocol"
        )
        cursor.execute(
            "INSERT INTO plans_plan_ingredients (plan_id, term_id) SELECT sp.plan_id, unnest(pr.ingredients) "
            "FROM scale_plan sp JOIN scale_protocol pr ON pr.n = sp.protocol"
        )
        # A plan names its screening: both are written in this one transaction.
        _screenings_and_consents(cursor, plan)
    _bump_sequence(cursor, "plans_plan")


def _screenings_and_consents(cursor, plan):
    """Each plan's consultation screening a week before its first session (the engine's findings
    for its protocol, warnings acknowledged), a second one before session five for three plans
    in five (a screening stays current only 30 days), and the consent signed an hour after it."""
    _temp_tables(cursor, plan)
    size, zone, bases = plan["size"], plan["zone"], plan["bases"]
    plans = min(size["sessions"] // SESSIONS_PER_PLAN, BLOCKS * size["rooms"] * len(SLOTS))
    # ids: the first screenings at base + p (p runs a little past the plan count), then the second
    second_base = bases["screening_screening"] + BLOCKS * size["rooms"] * len(SLOTS)
    extra = max(0, size["screenings"] - plans)
    with _BulkLoad(cursor, "screening_screening", "plans_consent"):
        for when, id_expr, which in (
            ("first_local - INTERVAL '7 days'", f"{bases['screening_screening']} + sp.p", "TRUE"),
            (
                "first_local + INTERVAL '27 days'",
                f"{second_base} + sp.p / 5 * 3 + sp.p % 5",
                f"sp.p % 5 < 3 AND sp.p / 5 * 3 + sp.p % 5 < {extra}",
            ),
        ):
            cursor.execute(
                f"""
                INSERT INTO screening_screening (id, kind, recorded_at, expires_at, answers, findings, verdict,
                    outcome, rules_version, decisions, evaluation, goals, previous_treatments, notes, patient_id,
                    recorded_by_id, based_on_id)
                SELECT {id_expr}, 'consultation', at, at + INTERVAL '30 days',
                       pr.answers || jsonb_build_object('date_of_birth', pt.date_of_birth::text,
                                                        'on_date', (at AT TIME ZONE '{zone}')::date::text),
                       pr.findings, pr.verdict, pr.outcome, pr.rules_version, pr.decisions,
                       '{{"health-history": true}}'::jsonb, 'Agreed at the consultation.', '', '',
                       sp.patient_id, sp.practitioner_id, NULL
                FROM (SELECT *, ({when}) AT TIME ZONE '{zone}' AS at FROM scale_plan) AS sp
                JOIN scale_protocol pr ON pr.n = sp.protocol
                JOIN patients_patient pt ON pt.id = sp.patient_id
                WHERE {which}
                """
            )
        cursor.execute(
            f"""
            INSERT INTO plans_consent (id, document_html, document_sha256, signed_name, confirmed, photo_consent,
                signature_png, signed_at, withdrawn_at, withdrawn_reason, patient_id, withdrawn_recorded_by_id,
                witnessed_by_id, plan_id, language)
            SELECT {bases["plans_consent"]} + sp.p, '<p>Consent to the plan, as signed at the consultation.</p>',
                   md5(sp.p::text) || md5(sp.plan_id::text), pt.given_name || ' ' || pt.family_name, TRUE,
                   sp.p % 4 = 0, NULL,
                   (sp.first_local - INTERVAL '7 days' + INTERVAL '1 hour') AT TIME ZONE '{zone}', NULL, '',
                   sp.patient_id, NULL, sp.practitioner_id, sp.plan_id, pt.preferred_language
            FROM scale_plan sp JOIN patients_patient pt ON pt.id = sp.patient_id
            """
        )
    _bump_sequence(cursor, "screening_screening")
    _bump_sequence(cursor, "plans_consent")


def step_sessions(cursor, plan):
    """Eight weekly sessions per plan: past ones done (one in twenty-five cancelled, one in
    thirty-three a no-show), the rest scheduled. A session that would meet one already booked
    (the demo's own, for the demo practitioners) is left out: the plan has a gap there."""
    _temp_tables(cursor, plan)
    zone, bases = plan["zone"], plan["bases"]
    cursor.execute(
        "CREATE TEMP TABLE scale_busy ON COMMIT DROP AS SELECT practitioner_id, starts_at, ends_at "
        "FROM treatment_sessions_treatmentsession WHERE status <> 'cancelled' "
        "AND practitioner_id IN (SELECT user_id FROM scale_staff)"
    )
    cursor.execute("CREATE INDEX ON scale_busy (practitioner_id, starts_at)")
    with _BulkLoad(cursor, "treatment_sessions_sessionseries", "treatment_sessions_treatmentsession"):
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_sessionseries (id, plan_id, patient_id, created_by_id, created_at)
            SELECT {bases["treatment_sessions_sessionseries"]} + p, plan_id, patient_id,
                   coalesce({plan["scheduler"] or "NULL"}, practitioner_id), (first_local - INTERVAL '7 days') AT TIME ZONE '{zone}'
            FROM scale_plan
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_treatmentsession (id, sequence, starts_at, ends_at, status, change_note,
                created_at, updated_at, patient_id, plan_id, practitioner_id, room_id, series_id, recheck_id, timed_at)
            SELECT {bases["treatment_sessions_treatmentsession"]} + s.p * {SESSIONS_PER_PLAN} + s.k, s.k + 1,
                   s.starts, s.starts + pr.minutes * INTERVAL '1 minute',
                   CASE WHEN s.starts >= now() THEN 'scheduled'
                        WHEN (s.p * 8 + s.k) % 25 = 7 THEN 'cancelled'
                        WHEN (s.p * 8 + s.k) % 33 = 5 THEN 'no_show'
                        ELSE 'completed' END,
                   CASE WHEN s.starts < now() AND (s.p * 8 + s.k) % 25 = 7 THEN 'Patient called to cancel.'
                        ELSE '' END,
                   s.booked, s.booked, s.patient_id, s.plan_id, s.practitioner_id, s.room_id,
                   {bases["treatment_sessions_sessionseries"]} + s.p, NULL, s.booked
            FROM (SELECT sp.*, k, (sp.first_local + k * INTERVAL '7 days') AT TIME ZONE '{zone}' AS starts,
                         (sp.first_local - INTERVAL '7 days') AT TIME ZONE '{zone}' AS booked
                  FROM scale_plan sp CROSS JOIN generate_series(0, {SESSIONS_PER_PLAN - 1}) AS k) AS s
            JOIN scale_protocol pr ON pr.n = s.protocol
            WHERE NOT EXISTS (
                SELECT 1 FROM scale_busy busy WHERE busy.practitioner_id = s.practitioner_id
                AND busy.starts_at < s.starts + pr.minutes * INTERVAL '1 minute' AND busy.ends_at > s.starts)
            """
        )
    _bump_sequence(cursor, "treatment_sessions_sessionseries")
    _bump_sequence(cursor, "treatment_sessions_treatmentsession")


def _chain_sessions(plan):
    """The chain's sessions, with their plan's layout row (for the chart steps)."""
    base = plan["bases"]["treatment_sessions_treatmentsession"]
    return f"""
        (SELECT t.*, (t.id - {base}) AS n, sp.protocol, sp.b
         FROM treatment_sessions_treatmentsession t
         JOIN scale_plan sp ON sp.plan_id = t.plan_id
         WHERE t.id >= {base}) AS t
    """


def step_charts(cursor, plan):
    """A signed chart for every session done, as the session-day page writes it: the plan's
    technique, its areas with volumes, the quarter's lot of the protocol's product, and the
    protocol's measure (improving over the course: outcomes read it); bruising now and then."""
    _temp_tables(cursor, plan)
    bases = plan["bases"]
    chart_id = f"{bases['treatment_sessions_chart']} + t.n"
    lot_base = bases["treatment_sessions_lot"]
    with _BulkLoad(
        cursor,
        "treatment_sessions_chart",
        "treatment_sessions_chartarea",
        "treatment_sessions_productuse",
        "treatment_sessions_measurement",
        "treatment_sessions_adverseevent",
    ):
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_chart (id, technique, depth_mm, needle_gauge, anaesthetic, duration_minutes,
                notes, created_at, signed_at, created_by_id, patient_id, session_id, signed_by_id)
            SELECT {chart_id}, pr.technique, pr.depth, pr.gauge,
                   CASE WHEN t.n % 3 = 0 THEN 'topical' ELSE 'none' END, pr.minutes,
                   CASE WHEN t.n % 7 = 0 THEN 'Tolerated well; patient happy with progress.' ELSE '' END,
                   t.starts_at, t.ends_at, t.practitioner_id, t.patient_id, t.id, t.practitioner_id
            FROM {_chain_sessions(plan)} JOIN scale_protocol pr ON pr.n = t.protocol
            WHERE t.status = 'completed'
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_chartarea (chart_id, area_id, volume_ml)
            SELECT {chart_id}, unnest(pr.areas), 1.5
            FROM {_chain_sessions(plan)} JOIN scale_protocol pr ON pr.n = t.protocol
            WHERE t.status = 'completed'
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_productuse (chart_id, lot_id, volume_ml)
            SELECT {chart_id}, {lot_base} + pl.n * 100
                   + ((extract(year FROM t.starts_at)::int - extract(year FROM DATE '{plan["start_monday"]}')::int) * 4
                      + extract(quarter FROM t.starts_at)::int - extract(quarter FROM DATE '{plan["start_monday"]}')::int),
                   2.0 + (t.n % 3) * 0.5
            FROM {_chain_sessions(plan)}
            JOIN scale_protocol pr ON pr.n = t.protocol
            JOIN (SELECT DISTINCT ON (product) product, n FROM scale_protocol ORDER BY product, n) pl
              ON pl.product = pr.product
            WHERE t.status = 'completed'
            """,
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_measurement (chart_id, measure_id, kind, value, unit)
            SELECT {chart_id}, pr.measure, pr.measure_kind,
                   round(CASE WHEN pr.measure_better = 'higher'
                              THEN pr.measure_low + (pr.measure_high - pr.measure_low) * (0.3 + 0.05 * t.sequence)
                              ELSE pr.measure_high - (pr.measure_high - pr.measure_low) * (0.3 + 0.05 * t.sequence)
                         END, 1),
                   pr.measure_unit
            FROM {_chain_sessions(plan)} JOIN scale_protocol pr ON pr.n = t.protocol
            WHERE t.status = 'completed' AND pr.measure IS NOT NULL
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_adverseevent (chart_id, type_id, severity, notes, follow_up_on)
            SELECT {chart_id}, 'bruising', 'mild', 'Small bruise', (t.starts_at + INTERVAL '7 days')::date
            FROM {_chain_sessions(plan)}
            WHERE t.status = 'completed' AND t.n % 40 = 3
              AND EXISTS (SELECT 1 FROM treatment_sessions_adverseeventtype WHERE code = 'bruising')
            """
        )
    _bump_sequence(cursor, "treatment_sessions_chart")


def step_drawings(cursor, plan):
    """The injection map of the last year's charts (and all of the busiest patient's): one
    syringe of the quarter's lot and five points on the protocol's first area's diagram."""
    _temp_tables(cursor, plan)
    bases = plan["bases"]
    chart_base, syringe_base = bases["treatment_sessions_chart"], bases["treatment_sessions_syringe"]
    busiest = bases["patients_patient"]
    recent = f"(t.b >= {BLOCKS - DRAWN_BLOCKS} OR t.patient_id = {busiest}) AND t.status = 'completed'"
    with _BulkLoad(
        cursor, "treatment_sessions_syringe", "treatment_sessions_syringecomponent", "treatment_sessions_injectionpoint"
    ):
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_syringe (id, chart_id, label)
            SELECT {syringe_base} + t.n, {chart_base} + t.n, 'A' FROM {_chain_sessions(plan)} WHERE {recent}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_syringecomponent (syringe_id, lot_id, percent)
            SELECT {syringe_base} + t.n, pu.lot_id, 100
            FROM {_chain_sessions(plan)}
            JOIN treatment_sessions_productuse pu ON pu.chart_id = {chart_base} + t.n
            WHERE {recent}
            """
        )
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_injectionpoint (chart_id, syringe_id, diagram, area_id, shape, x, y, outline,
                depth_mm, technique, needle_gauge, volume_ml, position)
            SELECT {chart_base} + t.n, {syringe_base} + t.n,
                   pr.diagram, pr.areas[1], 'point', 30 + k * 8, 40 + (k % 2) * 10, '[]'::jsonb, pr.depth, pr.technique, pr.gauge,
                   0.1, k
            FROM {_chain_sessions(plan)}
            JOIN scale_protocol pr ON pr.n = t.protocol
            CROSS JOIN generate_series(0, 4) AS k
            WHERE {recent}
            """
        )
    _bump_sequence(cursor, "treatment_sessions_syringe")


def step_photos(cursor, plan):
    """Before photos of one done session in sixteen, newest first (the files are not needed: the pages read
    the rows; width and height are stored so nothing opens the image)."""
    _temp_tables(cursor, plan)
    size = plan["size"]
    with _BulkLoad(cursor, "treatment_sessions_sessionphoto"):
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_sessionphoto (kind, image, width, height, caption, uploaded_at, patient_id,
                session_id, uploaded_by_id, area_id)
            SELECT 'before', 'photos/scale/' || t.id || '.jpg', 1600, 1200, '', t.starts_at + INTERVAL '5 minutes',
                   t.patient_id, t.id, t.practitioner_id, pr.areas[1]
            FROM {_chain_sessions(plan)} JOIN scale_protocol pr ON pr.n = t.protocol
            WHERE t.status = 'completed'
            ORDER BY t.n % 16, t.id DESC LIMIT {size["photos"]}
            """
        )


def step_reminders(cursor, plan):
    """The appointment reminder (the day before, by email) of every session of the last year
    and the weeks booked ahead: sent for the past, due for the future, cancelled with the
    session. Older reminders were cleared out of the outbox long ago."""
    _temp_tables(cursor, plan)
    with _BulkLoad(cursor, "treatment_sessions_reminder"):
        cursor.execute(
            f"""
            INSERT INTO treatment_sessions_reminder (key, kind, due_at, status, details, subject, recipient,
                enqueued_at, sent_at, attempts, last_error, created_at, patient_id, session_id, channel)
            SELECT 'appointment:' || t.id || ':' || to_char(t.starts_at AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MI'),
                   'appointment', t.starts_at - INTERVAL '1 day',
                   CASE WHEN t.status = 'cancelled' THEN 'cancelled'
                        WHEN t.starts_at - INTERVAL '1 day' < now() THEN 'sent' ELSE 'pending' END,
                   '{{}}'::jsonb, '',
                   CASE WHEN t.starts_at - INTERVAL '1 day' < now() AND t.status <> 'cancelled' THEN pt.email ELSE '' END,
                   CASE WHEN t.starts_at - INTERVAL '1 day' < now() AND t.status <> 'cancelled'
                        THEN t.starts_at - INTERVAL '1 day' END,
                   CASE WHEN t.starts_at - INTERVAL '1 day' < now() AND t.status <> 'cancelled'
                        THEN t.starts_at - INTERVAL '1 day' + INTERVAL '1 minute' END,
                   CASE WHEN t.starts_at - INTERVAL '1 day' < now() AND t.status <> 'cancelled' THEN 1 ELSE 0 END,
                   '', t.created_at, t.patient_id, t.id, 'email'
            FROM {_chain_sessions(plan)} JOIN patients_patient pt ON pt.id = t.patient_id
            WHERE t.b >= {BLOCKS - DRAWN_BLOCKS - 1}
            """
        )


def step_audit(cursor, plan):
    """Ten years of the audit trail: seven entries in ten are pages read (the patient record,
    the screening form, the front desk's contact page), three are changes to the record; each
    names its patient. Patient 0 (the busiest) has 10,000 more, spread evenly among them.
    Written to `core_auditentry` by name, in time order: a partitioned trail routes each row
    to its month."""
    _temp_tables(cursor, plan)
    size, base = plan["size"], plan["bases"]["patients_patient"]
    patient_type = plan["content_types"]["patient"]
    scheduler = plan["scheduler"] or plan["practitioners"][0][0]
    total = size["audit"] + HEAVY_AUDIT_ROWS
    cursor.execute("CREATE TEMP TABLE scale_desk ON COMMIT DROP AS SELECT %s::text AS email", [plan["scheduler_email"]])
    # What each entry says about its patient, worked out once per patient rather than per entry,
    # from the same formulas as step_patients: this step runs beside the others, which drop and
    # add foreign keys to the patients and users tables; a read of either would hold them up.
    cursor.execute(
        f"""CREATE TEMP TABLE scale_audit_patient ON COMMIT DROP AS
        SELECT {base} + i AS id, ({base} + i)::text AS pk, n.given || ' ' || n.family AS repr,
               jsonb_build_object('page', 'patient record', 'path', '/patients/' || {base} + i || '/') AS record,
               jsonb_build_object('page', 'screening form', 'path', '/patients/' || {base} + i || '/screenings/new/')
                 AS screening,
               jsonb_build_object('page', 'contact details and appointments', 'path', '/patients/' || {base} + i || '/')
                 AS contact,
               jsonb_build_object('phone', jsonb_build_array({PHONE_SQL}, {PHONE_SQL})) AS phone,
               jsonb_build_object('email', jsonb_build_array({EMAIL_SQL}, {EMAIL_SQL})) AS email,
               jsonb_build_object('patient_id', {base} + i) AS concerns
        FROM generate_series(0::bigint, {size["patients"] - 1}) AS i
        JOIN scale_name n ON n.n = (i * 13) % {len(plan["names"])}"""
    )
    cursor.execute("ALTER TABLE scale_audit_patient ADD PRIMARY KEY (id)")
    cursor.execute(
        "CREATE TEMP TABLE scale_address ON COMMIT DROP AS "
        "SELECT n, ('10.20.' || (n % 5) || '.' || (n % 200 + 1))::inet AS address FROM generate_series(0, 999) AS n"
    )
    with _BulkLoad(cursor, "core_auditentry"):
        cursor.execute(
            f"""
            INSERT INTO core_auditentry (object_pk, object_id, object_repr, serialized_data, action, changes_text,
                changes, cid, remote_addr, remote_port, "timestamp", additional_data, actor_email, patient_id, actor_id,
                content_type_id)
            SELECT pt.pk, pt.id, pt.repr, NULL, CASE WHEN a.kind < 7 THEN 3 ELSE 1 END, '',
                   CASE WHEN a.kind < 7 THEN NULL WHEN a.kind = 7 THEN pt.phone WHEN a.kind = 8 THEN pt.email
                        ELSE '{{"contact_by": ["email", "sms"]}}'::jsonb END,
                   NULL, ad.address, NULL,
                   '{plan["start_monday"]}'::timestamptz + (a.i::float8 / {total}) * (now() - '{plan["start_monday"]}'::timestamptz),
                   CASE WHEN a.kind < 4 THEN pt.record WHEN a.kind < 6 THEN pt.screening WHEN a.kind < 7 THEN pt.contact
                        ELSE pt.concerns END,
                   CASE WHEN a.kind IN (6, 9) THEN desk.email ELSE s.email END,
                   pt.id, CASE WHEN a.kind IN (6, 9) THEN {scheduler} ELSE s.user_id END, {patient_type}
            FROM (SELECT i, (i * 7) % 10 AS kind,
                         -- the busiest patient's share, spread evenly: exactly {HEAVY_AUDIT_ROWS} rows
                         CASE WHEN (i + 1) * {HEAVY_AUDIT_ROWS} / {total} > i * {HEAVY_AUDIT_ROWS} / {total} THEN {base}
                              ELSE {base} + (i * 2654435761) % {size["patients"]} END AS patient_id
                  FROM generate_series(0::bigint, {total - 1}) AS i) AS a
            JOIN scale_audit_patient pt ON pt.id = a.patient_id
            JOIN scale_address ad ON ad.n = a.i % 1000
            JOIN scale_staff s ON s.n = a.i % {size["rooms"]}
            CROSS JOIN scale_desk desk
            """
        )


def step_audit_months(cursor, plan):
    """A trail partitioned by year or month (core migration 0008) gets its partitions for the ten
    years first, through its own function, as a clinic that kept years of audit has them; otherwise
    they would all land in the default partition, and stay there. A step of its own, before
    the others: a new partition takes a lock on the users table (its foreign key), which the
    audit load, running beside the other steps, must not hold."""
    for function, step in (("core_auditentry_add_year", "1 year"), ("core_auditentry_add_month", "1 month")):
        cursor.execute("SELECT to_regprocedure(%s) IS NOT NULL", [f"{function}(date)"])
        if cursor.fetchone()[0]:
            cursor.execute(
                f"SELECT {function}(day::date) FROM generate_series("
                f"date_trunc('{step.split()[1]}', DATE '{plan['start_monday']}'), now(), INTERVAL '{step}') AS day"
            )
            return


STEPS = (
    ("patients", step_patients),
    ("audit_months", step_audit_months),
    ("lots", step_lots),
    ("plans", step_plans),
    ("sessions", step_sessions),
    ("charts", step_charts),
    ("drawings", step_drawings),
    ("photos", step_photos),
    ("reminders", step_reminders),
    ("audit", step_audit),
)


# --- What the benchmarks need to know ------------------------------------------------------------


def _summary(plan):
    """The ids the benchmarks and the other helpers open: the busiest patient (also the one
    with the long access history), the demo practitioner's week, a lot with many sessions."""
    busiest = plan["bases"]["patients_patient"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM treatment_sessions_treatmentsession WHERE patient_id = %s", [busiest])
        busiest_sessions = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM core_auditentry WHERE patient_id = %s", [busiest])
        busiest_audit = cursor.fetchone()[0]
        cursor.execute(
            "SELECT l.lot_number, count(*) FROM treatment_sessions_productuse pu "
            "JOIN treatment_sessions_lot l ON l.id = pu.lot_id WHERE l.id >= %s "
            "GROUP BY l.lot_number ORDER BY count(*) DESC, l.lot_number LIMIT 1",
            [plan["bases"]["treatment_sessions_lot"]],
        )
        lot = cursor.fetchone() or ("", 0)
        cursor.execute(
            "SELECT family_name, count(*) FROM patients_patient WHERE id >= %s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
            [busiest],
        )
        common = cursor.fetchone() or ("", 0)
    zone = plan["zone"]
    today = datetime.datetime.now(clinic_zone()).date()
    monday = today - datetime.timedelta(days=today.weekday())
    return {
        "size": plan["size"],
        "busiest_patient": busiest,
        "busiest_patient_sessions": busiest_sessions,
        "audit_patient": busiest,
        "audit_patient_rows": busiest_audit,
        "practitioner": plan["practitioners"][0][0],
        "busiest_week": monday.isoformat(),
        "busy_day": today.isoformat(),
        "recall_lot": lot[0],
        "recall_lot_sessions": lot[1],
        "common_family_name": common[0],
        "zone": zone,
    }
