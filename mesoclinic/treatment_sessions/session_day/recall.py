"""Lot recall: every patient and session that received a product lot.

A manufacturer recalls a lot; the clinic must reach everyone who received it. The lot
number is matched case-insensitively after trimming; exact matches come first, and
partial matches (the number typed short or with a typo around it) are listed apart so
nobody is missed and nobody is mixed up.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from mesoclinic.core.audit import client_ip
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import ProductUse

MIN_PARTIAL_LENGTH = 3  # shorter searches match exactly only: "1" would match every lot
MAX_PARTIAL_ROWS = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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
    return (text or "").strip()


def _uses():
    return ProductUse.objects.select_related(
        "lot__product",
        "chart__session__patient",
        "chart__session__practitioner",
        "chart__session__plan",
    ).order_by("chart__session__starts_at", "chart__session_id", "id")


def lot_recall(lot_text) -> Recall:
    """Every use of the lot numbered `lot_text`, in two queries whatever the number of rows."""
    lot = normalize_lot(lot_text)
    recall = Recall(lot=lot, zone=clinic_zone())
    if not lot:
        return recall
    recall.exact = list(_uses().filter(lot__lot_number__iexact=lot))
    if len(lot) >= MIN_PARTIAL_LENGTH:
        partial = list(
            _uses()
            .filter(lot__lot_number__icontains=lot)
            .exclude(lot__lot_number__iexact=lot)
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
