"""Lot recall: every patient and session that received a product lot.

A manufacturer recalls a lot; the clinic must reach everyone who received it. Lot numbers
are compared by their key: capitals, accents and separators ignored, so "hg 2611", "HG2611"
and "HG-2611" are one lot (a recall notice, a box and a chart rarely print it alike); each
is still shown as it was charted. Exact matches come first, and partial matches (the number
typed short or with a typo around it) are listed apart so nobody is missed and nobody is
mixed up.
"""

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from functools import reduce

from django.contrib.contenttypes.models import ContentType
from django.db.models import Value
from django.db.models.functions import Replace, Upper
from django.utils import timezone

from mesoclinic.core.audit import client_ip
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import Lot, ProductUse

MIN_PARTIAL_LENGTH = 3  # shorter keys match exactly only: "1" would match every lot
MAX_PARTIAL_ROWS = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a lot number is printed with between its parts, ignored when comparing. The database
# drops the same characters (`_lot_key_sql`), so both sides of the comparison agree.
LOT_SEPARATORS = (" ", "-", "‐", "–", "—", ".", "/", "_", ":", "#")
_TURKISH_I = str.maketrans({"ı": "I", "i": "I", "İ": "I"})


@dataclass
class Recall:
    lot: str  # the search, trimmed
    exact: list = field(default_factory=list)  # ProductUse rows
    partial: list = field(default_factory=list)
    partial_truncated: bool = False
    zone: object = None

    @property
    def rows(self):
        return [*self.exact, *self.partial]

    @property
    def patients(self):
        """The patients listed, each once, in the order they appear."""
        seen = {}
        for use in self.rows:
            seen.setdefault(use.chart.session.patient_id, use.chart.session.patient)
        return list(seen.values())

    @property
    def exact_patient_count(self):
        return len({use.chart.session.patient_id for use in self.exact})

    @property
    def lots(self):
        """The distinct lots among the exact matches (one number can exist for two products)."""
        return list({use.lot_id: use.lot for use in self.exact}.values())


def normalize_lot(text):
    """The search as typed, trimmed: what the page shows back."""
    return (text or "").strip()


def lot_key(text):
    """A lot number as compared: "hg-2611 " -> "HG2611". Accents and the Turkish dotted and
    dotless i are folded too, for a number typed on a Turkish keyboard."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_TURKISH_I))
    text = "".join(char for char in text if not unicodedata.combining(char)).upper()
    for separator in LOT_SEPARATORS:
        text = text.replace(separator, "")
    return text


def _lot_key_sql(field_name="lot_number"):
    """`lot_key` in SQL, on PostgreSQL and SQLite alike (their UPPER folds ASCII letters; lot
    numbers are printed in ASCII)."""
    return reduce(lambda expression, sep: Replace(expression, Value(sep), Value("")), LOT_SEPARATORS, Upper(field_name))


def _lots(**key_lookup):
    return Lot.objects.annotate(key=_lot_key_sql()).filter(**key_lookup).values("pk")


def _uses():
    return ProductUse.objects.select_related(
        "lot__product",
        "chart__session__patient",
        "chart__session__practitioner",
        "chart__session__plan",
    ).order_by("chart__session__starts_at", "chart__session_id", "id")


def lot_recall(lot_text) -> Recall:
    """Every use of the lot numbered `lot_text`, in two queries whatever the number of rows
    (the lots are found by their key in a subquery of each)."""
    lot = normalize_lot(lot_text)
    recall = Recall(lot=lot, zone=clinic_zone())
    key = lot_key(lot)
    if not key:
        return recall
    recall.exact = list(_uses().filter(lot__in=_lots(key=key)))
    if len(key) >= MIN_PARTIAL_LENGTH:
        partial = list(
            _uses()
            .filter(lot__in=_lots(key__contains=key))
            .exclude(lot__in=_lots(key=key))
            .order_by("lot__lot_number", "chart__session__starts_at", "id")[: MAX_PARTIAL_ROWS + 1]
        )
        recall.partial_truncated = len(partial) > MAX_PARTIAL_ROWS
        recall.partial = partial[:MAX_PARTIAL_ROWS]
    return recall


def record_recall_views(request, recall, page=None):
    """One audit entry per patient listed ("Viewed lot recall ABC123"), in one query."""
    patients = recall.patients
    if not patients:
        return []
    content_type = ContentType.objects.get_for_model(Patient)
    user = request.user if request.user.is_authenticated else None
    page = page or f"lot recall {recall.lot}"
    now = timezone.now()
    entries = [
        AuditEntry(
            content_type=content_type,
            object_pk=str(patient.pk),
            object_id=patient.pk,
            object_repr=str(patient)[:200],
            action=AuditEntry.Action.ACCESS,
            actor=user,
            actor_email=getattr(user, "email", None) or None,
            remote_addr=client_ip(request),
            timestamp=now,
            patient_id=patient.pk,
            additional_data={"page": page, "path": request.path},
        )
        for patient in patients
    ]
    return AuditEntry.objects.bulk_create(entries)


# --- CSV ------------------------------------------------------------------------------------

CSV_HEADER = [
    "Match",
    "Patient",
    "Date of birth",
    "Phone",
    "Session date",
    "Session",
    "Product",
    "Lot",
    "Expires",
    "Volume (ml)",
    "Practitioner",
    "Chart signed",
]


def safe_cell(value):
    """A spreadsheet must not run a cell as a formula: '=HYPERLINK(...)' becomes text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def recall_rows(recall):
    """The table as lists of strings, exact matches first."""
    zone = recall.zone or clinic_zone()
    for label, uses in (("exact", recall.exact), ("partial", recall.partial)):
        for use in uses:
            session = use.chart.session
            yield [
                label,
                session.patient.display_name,
                session.patient.date_of_birth.isoformat(),
                session.patient.phone,
                timezone.localtime(session.starts_at, zone).strftime("%Y-%m-%d %H:%M"),
                f"{session.sequence} of {session.plan.sessions_planned}",
                str(use.lot.product),
                use.lot.lot_number,
                use.lot.expires_on.isoformat(),
                str(use.volume_ml),
                session.practitioner.display_name,
                "yes" if use.chart.is_signed else "no",
            ]


def recall_csv(recall) -> str:
    """UTF-8 text with a byte-order mark, so Excel reads Turkish names correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in recall_rows(recall):
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
