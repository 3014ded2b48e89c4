"""Lot recall: every patient and session that received a product lot.

A manufacturer recalls a lot; the clinic must reach everyone who received it. Lot numbers
are compared by their key: capitals, accents and separators ignored, so "hg 2611", "HG2611"
and "HG-2611" are one lot (a recall notice, a box and a chart rarely print it alike); each
is still shown as it was charted. Exact matches come first, and partial matches (the number
typed short or with a typo around it) are listed apart so nobody is missed and nobody is
mixed up.

Where a chart has an injection map, the lot is followed down to the points: a point's syringe
holds the lot at some percent, so the point took its volume times that share of the lot, and
the practitioner reads which points of which diagram, in which area, took how much. A chart
without a map (charted by volumes only, or before there were maps) is listed by its product
row as before, marked as having no map.

A recalled lot is marked so (when, why, by whom: audited; stock then refuses it), and the
patients who received it are reached: a contact list, and one notice per patient through the
outbox, in their language, by the channels they take messages by. The text message says only
"please call the clinic about your treatment on ...": a lock screen shows it.
"""

import csv
import io
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Count, Exists, F, Min, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat, Replace, Upper
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, ngettext

from mesoclinic.core.audit import client_ip, record_change
from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.patients.models import ContactBy, Patient
from mesoclinic.patients.selectors import page_cursor
from mesoclinic.screening import bilingual
from mesoclinic.treatment_sessions.models import (
    Chart,
    InjectionPoint,
    Lot,
    PointShape,
    ProductUse,
    Reminder,
    ReminderKind,
)
from mesoclinic.treatment_sessions.reminders.channels import channels_for, lead_channel
from mesoclinic.treatment_sessions.reminders.services import enqueue

from . import diagrams

MIN_PARTIAL_LENGTH = 3  # shorter keys match exactly only: "1" would match every lot
MAX_PARTIAL_ROWS = 500
RECALL_PAGE_SIZE = 50  # uses a page: a lot used ten thousand times is read a page at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a lot number is printed with between its parts, ignored when comparing. The database
# drops the same characters (`_lot_key_sql`), so both sides of the comparison agree.
LOT_SEPARATORS = (" ", "-", "‐", "–", "—", ".", "/", "_", ":", "#")
_TURKISH_I = str.maketrans({"ı": "I", "i": "I", "İ": "I"})
ML = Decimal("0.001")  # a point's share of a lot, to the thousandth: 60 % of 0.05 ml is 0.030 ml


@dataclass(frozen=True)
class PointShare:
    """One charted point (or painted zone) whose syringe held the lot: how much of it went there."""

    number: int  # as the chart's map shows it, "Point 4" (InjectionPoint.position, mapping.py)
    diagram: str
    area: object  # the area Term
    shape: str
    syringe: str
    volume_ml: Decimal  # the point's whole volume
    percent: Decimal  # the lot's share of the syringe

    @property
    def lot_ml(self):
        return (self.volume_ml * self.percent / 100).quantize(ML)


@dataclass
class PointGroup:
    """The points of one area of one diagram that took the lot: "Face (front), forehead: 1-3, 7"."""

    diagram: str
    area: object
    numbers: list = field(default_factory=list)
    lot_ml: Decimal = Decimal("0.000")
    zones: int = 0

    @property
    def diagram_title(self):
        return diagram_title(self.diagram)

    @property
    def area_label(self):
        return bilingual.text(self.area, "label")

    @property
    def numbers_text(self):
        return number_ranges(self.numbers)


def diagram_title(code):
    """The diagram's name in the reader's language; its code for one no longer drawn."""
    found = diagrams.DIAGRAMS.get(code)
    return str(found.title) if found else code


def number_ranges(numbers):
    """[1, 2, 3, 7, 9, 10] -> "1–3, 7, 9–10": point numbers as a practitioner reads them."""
    runs = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def group_points(points):
    """A use's points by diagram and area, in the order the diagrams and areas were first met."""
    groups = {}
    for point in points:
        group = groups.setdefault((point.diagram, point.area.pk), PointGroup(point.diagram, point.area))
        group.numbers.append(point.number)
        group.lot_ml += point.lot_ml
        group.zones += point.shape == PointShape.ZONE
    return list(groups.values())


@dataclass
class Recall:
    lot: str  # the search, trimmed
    exact: list = field(default_factory=list)  # ProductUse rows, each with its `points`
    partial: list = field(default_factory=list)
    partial_truncated: bool = False
    zone: object = None
    lots: list = field(default_factory=list)  # every lot numbered so, used or not (exact key)
    # Paged (the page, not the export): `exact` is one page, and these are the whole lot's.
    paged: bool = False
    earlier: str | None = None  # cursors of the pages beside this one (page_cursor), or None
    later: str | None = None
    use_total: int | None = None
    map_only: list = field(default_factory=list)  # charts whose map took the lot, no product row: all
    patient_total: int | None = None

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
        if self.patient_total is not None:
            return self.patient_total
        return len({use.chart.session.patient_id for use in self.exact})

    @property
    def exact_use_count(self):
        return len(self.exact) if self.use_total is None else self.use_total


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


CHART_RELATIONS = ("chart__session__patient", "chart__session__practitioner", "chart__session__plan")


def _uses():
    return ProductUse.objects.select_related("lot__product", *CHART_RELATIONS).order_by(
        "chart__session__starts_at", "chart__session_id", "id"
    )


def _points(lots):
    """Every point whose syringe holds one of `lots` (a subquery of lot pks), with the lot and
    its share: one query, however many points."""
    return (
        InjectionPoint.objects.filter(syringe__components__lot__in=lots)
        .annotate(
            lot_pk=F("syringe__components__lot"),
            percent=F("syringe__components__percent"),
            syringe_label=F("syringe__label"),
        )
        .select_related("area")
        .order_by("chart_id", "position", "pk")
    )


def _with_points(uses, lots, *, complete=True, only_listed=False):
    """`uses` with each its points (`use.points`, `use.point_groups`; none: a chart without a
    map), and, when `uses` are all there are (`complete`), a row for each chart whose map took
    one of `lots` but has no product row of it (not saved, its volume the points' sum), in
    session order."""
    shares = defaultdict(list)
    points = _points(lots)
    if only_listed:  # a page: the points of its charts only, not the whole lot's
        points = points.filter(chart_id__in={use.chart_id for use in uses})
    for point in points:
        shares[(point.chart_id, point.lot_pk)].append(_share(point))
    for use in uses:
        use.points = shares.pop((use.chart_id, use.lot_id), [])
    if complete:
        uses = [*uses, *_unlisted_uses(shares)]
    for use in uses:
        use.point_groups = group_points(use.points)
        use.points_ml = sum((point.lot_ml for point in use.points), Decimal("0.000"))
    return sorted(uses, key=lambda use: (use.chart.session.starts_at, use.chart.session_id, use.pk or 0))


def _unlisted_uses(shares):
    """Rows for the maps left in `shares`: two queries, and only when there are some."""
    if not shares:
        return []
    charts = Chart.objects.select_related(*(name.removeprefix("chart__") for name in CHART_RELATIONS)).in_bulk(
        {chart_id for chart_id, _ in shares}
    )
    lots = Lot.objects.select_related("product").in_bulk({lot_id for _, lot_id in shares})
    made = []
    for (chart_id, lot_id), points in shares.items():
        use = ProductUse(chart=charts[chart_id], lot=lots[lot_id], volume_ml=sum(p.lot_ml for p in points))
        use.points = points
        made.append(use)
    return made


def lot_recall(lot_text) -> Recall:
    """Every use of the lot numbered `lot_text`, down to the points of each map, in a fixed
    number of queries whatever the number of patients and points (the lots are found by their
    key in a subquery of each)."""
    lot = normalize_lot(lot_text)
    recall = Recall(lot=lot, zone=clinic_zone())
    key = lot_key(lot)
    if not key:
        return recall
    exact = _lots(key=key)
    recall.lots = list(
        Lot.objects.filter(pk__in=exact).select_related("product").order_by("product__name", "lot_number", "pk")
    )
    recall.exact = _with_points(list(_uses().filter(lot__in=exact)), exact)
    if len(key) >= MIN_PARTIAL_LENGTH:
        _add_partial(recall, key, exact)
    return recall


def _unlisted_points(lots):
    """The points of `lots` on charts with no product row of their lot (a map saved without its
    volumes): rare, so read for the whole lot on every page, and in SQL, not by loading the lot."""
    has_row = ProductUse.objects.filter(chart_id=OuterRef("chart_id"), lot_id=OuterRef("syringe__components__lot"))
    return _points(lots).exclude(Exists(has_row))


def lot_recall_page(lot_text, *, before=None, after=None, size=RECALL_PAGE_SIZE) -> Recall:
    """`lot_recall` for the page: one page of the exact uses in session order (keyset on the
    session's time: `_session_order_page`), with the points of that page's charts only, and the
    whole lot's totals counted in SQL, so the page costs the same at ten uses or ten thousand.
    Charts whose map took the lot without a product row are listed on the newest page. The
    partial matches stay as `lot_recall` lists them (capped at MAX_PARTIAL_ROWS)."""
    lot = normalize_lot(lot_text)
    recall = Recall(lot=lot, zone=clinic_zone(), paged=True, use_total=0, patient_total=0)
    key = lot_key(lot)
    if not key:
        return recall
    recall.lots = list(
        Lot.objects.filter(pk__in=_lots(key=key))
        .select_related("product")
        .order_by("product__name", "lot_number", "pk")
    )
    # The lots' ids, not their key's subquery: PostgreSQL misjudges the key and would join every
    # use of every lot before keeping this one's; with the ids it reads them by the lot's index.
    exact = [lot.pk for lot in recall.lots]
    uses = _uses().filter(lot__in=exact).annotate(session_starts=F("chart__session__starts_at"))
    rows, recall.earlier, recall.later = _session_order_page(uses, before=before, after=after, size=size)
    listed = _with_points(rows, exact, complete=False, only_listed=True)
    shares = defaultdict(list)
    for point in _unlisted_points(exact):
        shares[(point.chart_id, point.lot_pk)].append(_share(point))
    unlisted = recall.map_only = _unlisted_uses(shares)
    for use in unlisted:
        use.point_groups = group_points(use.points)
        use.points_ml = sum((point.lot_ml for point in use.points), Decimal("0.000"))
    first_page = before is None and after is None
    shown = [*listed, *(unlisted if first_page else [])]
    recall.exact = sorted(shown, key=lambda use: (use.chart.session.starts_at, use.chart.session_id, use.pk or 0))
    totals = ProductUse.objects.filter(lot__in=exact).aggregate(
        uses=Count("pk"), patients=Count("chart__session__patient", distinct=True)
    )
    recall.use_total = totals["uses"] + len(unlisted)
    recall.patient_total = totals["patients"]
    if unlisted:  # patients reached only through a map: counted once, with those of the rows
        others = {use.chart.session.patient_id for use in unlisted}
        counted = set(
            ProductUse.objects.filter(lot__in=exact, chart__session__patient__in=others).values_list(
                "chart__session__patient", flat=True
            )
        )
        recall.patient_total += len(others - counted)
    if len(key) >= MIN_PARTIAL_LENGTH:
        _add_partial(recall, key, exact)
    return recall


def _session_order_page(uses, *, before=None, after=None, size=RECALL_PAGE_SIZE):
    """(rows, earlier, later): the `size` uses just after `after` (or just before `before`, or
    the first ones) in session order, oldest first as the page has always listed them, and the
    cursors (patients.selectors.page_cursor) of the pages beside, None where there is none.
    Keyset paging on (session time, id): `size + 1` rows read, no OFFSET, no COUNT."""
    if before is not None:
        moment, pk = before
        found = list(
            uses.filter(session_starts__lte=moment)
            .filter(Q(session_starts__lt=moment) | Q(pk__lt=pk))
            .order_by("-session_starts", "-pk")[: size + 1]
        )
        if found:
            rows = found[:size][::-1]
            earlier = page_cursor(rows[0].session_starts, rows[0].pk) if len(found) > size else None
            return rows, earlier, page_cursor(rows[-1].session_starts, rows[-1].pk)
        after = None  # nothing before any more (an old address): the first page
    ordered = uses.order_by("session_starts", "pk")
    if after is not None:
        moment, pk = after
        ordered = ordered.filter(session_starts__gte=moment).filter(Q(session_starts__gt=moment) | Q(pk__gt=pk))
    found = list(ordered[: size + 1])
    if not found and after is not None:  # nothing after any more: the first page
        return _session_order_page(uses, size=size)
    rows = found[:size]
    later = page_cursor(rows[-1].session_starts, rows[-1].pk) if len(found) > size else None
    earlier = page_cursor(rows[0].session_starts, rows[0].pk) if after is not None and rows else None
    return rows, earlier, later


def _share(point):
    return PointShare(
        number=point.position,
        diagram=point.diagram,
        area=point.area,
        shape=point.shape,
        syringe=point.syringe_label,
        volume_ml=point.volume_ml,
        percent=point.percent,
    )


def _add_partial(recall, key, exact):
    near = _lots(key__contains=key).exclude(pk__in=exact)
    partial = list(
        _uses()
        .filter(lot__in=near)
        .order_by("lot__lot_number", "chart__session__starts_at", "id")[: MAX_PARTIAL_ROWS + 1]
    )
    recall.partial_truncated = len(partial) > MAX_PARTIAL_ROWS
    partial = _with_points(partial[:MAX_PARTIAL_ROWS], near, complete=not recall.partial_truncated)
    recall.partial = sorted(partial, key=lambda use: use.lot.lot_number)  # stable: by lot, then date


def record_recall_views(request, recall, page=None, patients=None):
    """One audit entry per patient listed ("Viewed lot recall ABC123"), in one query."""
    patients = recall.patients if patients is None else patients
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


# --- Who to contact ------------------------------------------------------------------------


@dataclass
class Contact:
    """A patient who received the lot: when, and the recall notice sent to them (its rows, one
    per channel), if any."""

    patient: Patient
    zone: object  # the clinic's, read once for the whole list
    sessions: list = field(default_factory=list)
    notices: list = field(default_factory=list)

    @property
    def treated_on(self):
        """The days the patient was treated with the lot, in the clinic's zone."""
        return sorted({timezone.localtime(session.starts_at, self.zone).date() for session in self.sessions})

    @property
    def channels(self):
        return channels_for(self.patient)

    @property
    def prefers(self):
        """How the patient takes messages, in words; a record saved without a choice takes email
        (reminders.channels), and says so."""
        if self.patient.contact_by in ContactBy.values:
            return ContactBy(self.patient.contact_by).label
        return gettext("Email (no choice recorded)")

    @property
    def notified(self):
        return bool(self.notices)


@dataclass
class LotContacts:
    """The patients to contact about one lot, and whether its notice went."""

    lot: Lot
    contacts: list = field(default_factory=list)

    @property
    def to_notify(self):
        """Who a notice would go to now: not yet notified, and a record in use (an archived one
        is listed, for a call, but not messaged)."""
        return [c for c in self.contacts if not c.notified and not c.patient.is_archived]

    @property
    def notified(self):
        return [c for c in self.contacts if c.notified]

    @property
    def notice_sent_at(self):
        return min((n.created_at for c in self.contacts for n in c.notices), default=None)

    # What the page's contact card says and its button acts on: the whole lot's (a paged card
    # holds only its page's patients, and `lot_contacts_page` sets these from SQL).
    @property
    def patient_count(self):
        return len(self.contacts)

    @property
    def to_notify_count(self):
        return len(self.to_notify)

    @property
    def notified_count(self):
        return len(self.notified)


@dataclass
class LotContactsPage(LotContacts):
    """One lot's contact card on a page: the page's patients, and the whole lot's counts."""

    patient_count: int = 0
    to_notify_count: int = 0
    notified_count: int = 0
    notice_sent_at: object = None


def notice_key(lot, patient):
    """The recall notice's reminder key: one per lot and patient, ever (the key is unique)."""
    return f"recall:{lot.pk}:{patient.pk}"


def _contacts(lots, uses, zone):
    """The patients of `uses`, grouped by lot in the order of `lots`, each patient once."""
    by_lot = {lot.pk: LotContacts(lot) for lot in lots}
    seen = {}
    for use in uses:
        if use.lot_id not in by_lot:
            continue
        session = use.chart.session
        contact = seen.get((use.lot_id, session.patient_id))
        if contact is None:
            contact = seen[(use.lot_id, session.patient_id)] = Contact(session.patient, zone)
            by_lot[use.lot_id].contacts.append(contact)
        if session not in contact.sessions:
            contact.sessions.append(session)
    return [group for group in by_lot.values() if group.contacts], seen


def _attach_notices(seen):
    """Each contact's notice rows: one query for every lot."""
    if not seen:
        return
    keys = {f"recall:{lot_id}:{patient_id}": contact for (lot_id, patient_id), contact in seen.items()}
    rows = Reminder.objects.filter(kind=ReminderKind.RECALL, patient_id__in={p for _, p in seen}).order_by("pk")
    for reminder in rows:
        contact = keys.get(reminder.key.split("+", 1)[0])  # a second channel's copy: "<key>+sms"
        if contact is not None:
            contact.notices.append(reminder)


def recall_contacts(recall):
    """The contact list of the exact matches, lot by lot (one number may be two products'):
    the patients, their addresses and channels, and the notices sent. One query."""
    groups, seen = _contacts(recall.lots, recall.exact, recall.zone or clinic_zone())
    _attach_notices(seen)
    return groups


def recall_contacts_page(recall):
    """The contact cards of a page (`lot_recall_page`): the patients of the page's uses, each
    with every day they had the lot (not only this page's), and, per lot, how many patients
    received it, have been notified, and would be notified now, counted in SQL over the whole
    lot: the button says and sends the whole lot's notice (`recall_notices_send`)."""
    patients = {use.chart.session.patient_id for use in recall.exact}
    lot_pks = [lot.pk for lot in recall.lots]
    uses = list(_uses().filter(lot__in=lot_pks, chart__session__patient__in=patients)) if patients else []
    uses += [use for use in recall.exact if use.pk is None]  # the map-only rows (the first page's)
    groups, seen = _contacts(recall.lots, uses, recall.zone or clinic_zone())
    _attach_notices(seen)
    by_lot = {group.lot.pk: group for group in groups}
    pages = []
    for lot in recall.lots:
        counts = _lot_counts(lot, {u.chart.session.patient_id for u in recall.map_only if u.lot_id == lot.pk})
        if not counts["patients"]:
            continue
        group = by_lot.get(lot.pk)
        pages.append(
            LotContactsPage(
                lot,
                contacts=group.contacts if group else [],
                patient_count=counts["patients"],
                to_notify_count=counts["to_notify"],
                notified_count=counts["notified"],
                notice_sent_at=counts["sent_at"],
            )
        )
    return pages


def _lot_counts(lot, map_only=()):
    """The lot's patients, those notified (the notice's lead row: its key is the patient's) and
    those to notify (not notified, record in use), and when the first notice went: two queries."""
    notice = Reminder.objects.filter(
        kind=ReminderKind.RECALL,
        key=Concat(Value(f"recall:{lot.pk}:"), Cast(OuterRef("pk"), CharField()), output_field=CharField()),
    )
    # Those reached only through a map (no product row) are known from the page (`map_only`):
    # an OR of two subqueries here would make PostgreSQL scan every patient.
    received = Q(pk__in=ProductUse.objects.filter(lot=lot).values("chart__session__patient"))
    if map_only:
        received |= Q(pk__in=map_only)
    counts = (
        Patient.objects.filter(received)
        .annotate(is_notified=Exists(notice))
        .aggregate(
            patients=Count("pk"),
            notified=Count("pk", filter=Q(is_notified=True)),
            to_notify=Count("pk", filter=Q(is_notified=False, archived_at__isnull=True)),
        )
    )
    counts["sent_at"] = Reminder.objects.filter(
        kind=ReminderKind.RECALL, key__startswith=f"recall:{lot.pk}:"
    ).aggregate(first=Min("created_at"))["first"]
    return counts


def lot_contacts(lot):
    """The contact list of one lot (a lot pk, not a search)."""
    lots = Lot.objects.filter(pk=lot.pk).values("pk")
    groups, seen = _contacts([lot], _with_points(list(_uses().filter(lot__in=lots)), lots), clinic_zone())
    _attach_notices(seen)
    return groups[0] if groups else LotContacts(lot)


# --- Marking a lot recalled, and the notices -----------------------------------------------


class RecallRefused(ValidationError):
    """Already done (a second click, a stale tab): said in words, nothing changed."""


class RecallAction(forms.Form):
    """What a POST on the recall page asks: mark a lot recalled, or send its notice."""

    RECALL, NOTIFY = "recall", "notify"

    action = forms.ChoiceField(choices=[(RECALL, RECALL), (NOTIFY, NOTIFY)])
    lot_id = forms.ModelChoiceField(queryset=Lot.objects.select_related("product"))


class LotRecallForm(forms.Form):
    """The practitioner marks a lot recalled from the maker's notice: why, and that they mean it
    (stock refuses the lot from then on, for every chart)."""

    reason = forms.CharField(
        label=gettext_lazy("Reason, as the recall notice gives it"),
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": gettext_lazy("Say why the lot is recalled, as the maker's notice says.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("Mark this lot recalled: it can no longer be charted or used from stock."),
        error_messages={"required": gettext_lazy("Tick the box to confirm the recall.")},
    )


@transaction.atomic
def lot_mark_recalled(*, lot, reason, by, now=None) -> Lot:
    """Mark `lot` recalled, once: the lot row is locked, so two practitioners marking it at once
    make one recall. Audited as a change of the lot, with who and why."""
    reason = " ".join((reason or "").split())[:300]
    if not reason:
        raise ValidationError({"reason": gettext("Say why the lot is recalled, as the maker's notice says.")})
    locked = Lot.objects.select_for_update().select_related("product").get(pk=lot.pk)
    if locked.recalled_at is not None:
        raise RecallRefused(
            gettext("Lot %(lot)s was already marked recalled on %(day)s.")
            % {"lot": locked.lot_number, "day": _day(locked.recalled_at)}
        )
    locked.recalled_at, locked.recall_reason = now or timezone.now(), reason
    # An update, not save(): the lot's stock columns are the stock's to write, and this entry is
    # the recall's record whether or not the lot's saves are audited.
    Lot.objects.filter(pk=locked.pk).update(recalled_at=locked.recalled_at, recall_reason=reason)
    record_change(locked, {"recalled": ["", locked.recalled_at.isoformat()], "recall reason": ["", reason]}, actor=by)
    return locked


def _day(moment):
    return f"{timezone.localtime(moment, clinic_zone()):%Y-%m-%d}"


@transaction.atomic
def recall_notices_send(*, lot, by, now=None) -> list:
    """Queue the recall notice for every patient who received `lot` and has none yet: one
    message per patient (its lead row; delivery adds the second channel for a patient who takes
    both), in their language, at once, through the outbox. A second request finds them all
    notified and is refused in words; the lot is locked while the rows are made, so two at once
    make one notice each. Each notice is audited on the patient's record."""
    locked = Lot.objects.select_for_update().select_related("product").get(pk=lot.pk)
    if locked.recalled_at is None:
        raise ValidationError(gettext("Mark the lot recalled first: the notice tells patients about a recall."))
    group = lot_contacts(locked)
    if not group.to_notify:
        if group.notified:
            raise RecallRefused(
                ngettext(
                    "The recall notice for lot %(lot)s was already sent, on %(day)s, to %(count)d patient: "
                    "it is in the outbox.",
                    "The recall notice for lot %(lot)s was already sent, on %(day)s, to %(count)d patients: "
                    "their messages are in the outbox.",
                    len(group.notified),
                )
                % {"lot": locked.lot_number, "day": _day(group.notice_sent_at), "count": len(group.notified)}
            )
        raise ValidationError(gettext("No patient in use received this lot: there is nobody to notify."))
    now = now or timezone.now()
    made = []
    for contact in group.to_notify:
        reminder = Reminder.objects.create(
            key=notice_key(locked, contact.patient),
            patient=contact.patient,
            session=None,  # the notice is the lot's: a session's own reminders are kept in step with it
            kind=ReminderKind.RECALL,
            channel=lead_channel(contact.patient),
            due_at=now,
            enqueued_at=now,
            details=notice_details(locked, contact),
        )
        record_change(
            reminder,
            {"recall notice": ["", f"lot {locked.lot_number} of {locked.product}, by {reminder.channel}"]},
            actor=by,
        )
        made.append(reminder)
    for reminder in made:
        transaction.on_commit(lambda pk=reminder.pk: enqueue(pk))
    return made


def notice_details(lot, contact):
    """What the notice's email and text message need, kept with the row: the lot as it was
    charted and the days of treatment (the outbox previews the row with these)."""
    days = [day.isoformat() for day in contact.treated_on]
    return {"lot": lot.pk, "lot_number": lot.lot_number, "product": str(lot.product), "treated_on": days}


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
    "Points",
    "Lot in the points (ml)",
]
CONTACTS_HEADER = [
    "Patient",
    "Date of birth",
    "Email",
    "Phone",
    "Prefers",
    "Language",
    "Product",
    "Lot",
    "Treated on",
    "Recall notice",
    "Record",
]


def safe_cell(value):
    """A spreadsheet must not run a cell as a formula: '=HYPERLINK(...)' becomes text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def points_text(use):
    """ "Face (front), Forehead: 1–3, 7 (0.120 ml); ..." or "no map"."""
    if not use.points:
        return "no map"
    return "; ".join(
        f"{group.diagram_title}, {group.area_label}: {group.numbers_text} ({group.lot_ml} ml)"
        for group in use.point_groups
    )


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
                points_text(use),
                str(use.points_ml) if use.points else "",
            ]


def _csv(header, rows):
    """UTF-8 text with a byte-order mark, so Excel reads Turkish names correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def recall_csv(recall) -> str:
    with translation.override("en"):  # the header is English: so are the diagrams and areas
        return _csv(CSV_HEADER, list(recall_rows(recall)))


def _notice_text(contact):
    if not contact.notices:
        return "archived record: not messaged" if contact.patient.is_archived else "not sent"
    return "; ".join(f"{n.get_channel_display().lower()} {n.get_status_display().lower()}" for n in contact.notices)


def contact_rows(groups):
    for group in groups:
        for contact in group.contacts:
            patient = contact.patient
            yield [
                patient.display_name,
                patient.date_of_birth.isoformat(),
                patient.email,
                patient.phone,
                contact.prefers,
                patient.get_preferred_language_display(),
                str(group.lot.product),
                group.lot.lot_number,
                " ".join(day.isoformat() for day in contact.treated_on),
                _notice_text(contact),
                "archived" if patient.is_archived else "in use",
            ]


def contacts_csv(groups) -> str:
    with translation.override("en"):
        return _csv(CONTACTS_HEADER, list(contact_rows(groups)))
