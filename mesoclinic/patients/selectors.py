"""Reads of patients: search as the front desk types it, and records that may be the same person."""

import datetime
import re
from dataclasses import dataclass
from functools import cached_property

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from mesoclinic.core.models import AuditEntry

from . import phones
from .models import Patient
from .names import fold_name

__all__ = ["fold_name", "patient_search", "phone_key", "possible_duplicates"]

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
PHONE_TOKEN = re.compile(r"^\+?[\d\s().-]{4,}$")


def parse_date(text):
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def phone_digits(text):
    return re.sub(r"\D", "", text)


def _token_filter(token):
    """One word of the query: a date of birth, part of a phone number, or part of a name.
    None for a word with nothing to search by (punctuation alone)."""
    day = parse_date(token)
    if day is not None:
        return Q(date_of_birth=day)
    if PHONE_TOKEN.match(token) and len(phone_digits(token)) >= 4:
        # Stored numbers are E.164: "0532 123 45 67", "+90 532 1234567" and "5321234567" all
        # lie inside +905321234567 once the zeros of a trunk or "00" prefix are dropped. The
        # trigram index on phone (migration 0002) serves the LIKE.
        return Q(phone__contains=phones.search_digits(token) or phone_digits(token))
    # search_name holds the folded name; the trigram index on it (migration 0004) serves the
    # LIKE '%ozturk%' that contains compiles to, on PostgreSQL.
    folded = fold_name(token)
    return Q(search_name__contains=folded) if folded else None


def patient_search(query="", include_archived=False):
    """Patients matching every word of `query`, most recently updated first. Names match
    ignoring case, accents and Turkish letters ("ozturk", "YILMAZ"); phones in any format.
    Archived records are left out unless asked for."""
    patients = Patient.objects.order_by("-updated_at", "-id")
    if not include_archived:
        patients = patients.in_use()
    for token in _tokenize(query):
        wanted = _token_filter(token)
        if wanted is not None:
            patients = patients.filter(wanted)
    return patients


SEARCH_PAGE_SIZE = 25
# A search counts its matches up to this many: past it the list says "more than 200" and asks
# for more of the name. Counting every "Yılmaz" of a chain would cost more than finding the
# first 25, and grow with the clinic; this count reads at most 201 rows.
SEARCH_COUNTED = 200


class BoundedPaginator(Paginator):
    """A Paginator that counts at most `counted` + 1 rows, and pages through the first `counted`
    only (so OFFSET skips at most that many). `more` is True when there were more."""

    def __init__(self, object_list, per_page, counted=SEARCH_COUNTED):
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def found(self):
        # No ORDER BY in the count: the first rows the trigram index gives will do.
        return self.object_list.order_by()[: self.counted + 1].count()

    @cached_property
    def count(self):
        return min(self.found, self.counted)

    @property
    def more(self):
        return self.found > self.counted


def search_pages(query="", *, include_archived=False, size=SEARCH_PAGE_SIZE):
    """patient_search in pages of `size`, newest first along the index on (updated_at, id) (or,
    for a rare name, from the trigram index): two queries a page, LIMIT/OFFSET bounded."""
    return BoundedPaginator(patient_search(query, include_archived=include_archived), size)


def _tokenize(query):
    query = (query or "").strip()
    if not query:
        return []
    # A phone number typed with spaces ("0532 123 45 67") is one token, not four.
    if PHONE_TOKEN.match(query):
        return [query]
    return query.split()


# --- Records that may be the same person -----------------------------------------------------

# A national number's last ten digits: 0532 123 45 67, +90 532 123 45 67 and 5321234567 are
# one phone; so are 07700 900123 and +44 7700 900123.
PHONE_KEY_DIGITS = 10


def phone_key(text):
    """The digits that identify a phone number, whatever prefix it was typed with."""
    digits = phone_digits(text or "")
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= PHONE_KEY_DIGITS else digits


def possible_duplicates(*, given_name, family_name, date_of_birth=None, phone="", exclude_pk=None, limit=10):
    """Records in use that may be this person: the same name (folded; given and family names
    also matched the other way round) and date of birth, or the same phone number.
    Each comes with why it matched: [(patient, ["same name and date of birth", ...])]."""
    name = fold_name(f"{given_name} {family_name}")
    swapped = fold_name(f"{family_name} {given_name}")
    key = phone_key(phone)
    wanted = Q()
    if date_of_birth is not None:
        wanted |= Q(date_of_birth=date_of_birth)
    if len(key) >= 6:
        wanted |= Q(phone__endswith=key)
    if not wanted:
        return []
    candidates = Patient.objects.in_use().filter(wanted).order_by("-updated_at", "-id")
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    found = []
    # Dates of birth are shared by few; the names are compared here, folded, not in SQL.
    for candidate in candidates[:200]:
        reasons = []
        same_day = date_of_birth is not None and candidate.date_of_birth == date_of_birth
        if same_day and fold_name(candidate.display_name) in (name, swapped):
            reasons.append(gettext("same name and date of birth"))
        if len(key) >= 6 and phone_key(candidate.phone) == key:
            reasons.append(gettext("same phone number"))
        if reasons:
            found.append((candidate, reasons))
        if len(found) >= limit:
            break
    return found


def duplicates_of(patient):
    """`possible_duplicates` of a record already saved (for the merge page)."""
    return possible_duplicates(
        given_name=patient.given_name,
        family_name=patient.family_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone,
        exclude_pk=patient.pk,
    )


def record_ids(patient):
    """The ids whose audit entries are this record's history: its own, and those of every
    record merged into it (a merge repoints earlier merges to the record kept)."""
    return [patient.pk, *Patient.objects.filter(merged_into=patient).values_list("pk", flat=True)]


def patient_history(patient, ids=None):
    """The record's access history, newest first: merged records' entries included."""
    ids = record_ids(patient) if ids is None else ids
    # One record (the usual case) is `patient_id = %s`: the index on (patient_id, timestamp
    # DESC) then hands the entries over newest first, and a page stops after its rows.
    mine = Q(patient_id=ids[0]) if len(ids) == 1 else Q(patient_id__in=ids)
    return AuditEntry.objects.filter(mine).select_related("actor", "content_type").order_by("-timestamp", "-id")


HISTORY_PAGE_SIZE = 50
_CURSOR = re.compile(r"^([0-9]{1,18})\.([0-9]{1,18})$")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def page_cursor(moment, pk):
    """Where a page of a newest-first list starts or ends, for the address: "<µs since 1970>.<id>"."""
    delta = moment - _EPOCH
    return f"{(delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds}.{pk}"


def read_page_cursor(text):
    """(moment, id) from page_cursor's text; None for anything else (the newest page)."""
    match = _CURSOR.match(text or "")
    if not match:
        return None
    try:
        return _EPOCH + datetime.timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        return None


@dataclass(frozen=True)
class NewestFirstPage:
    """One page of a newest-first list: its rows, and where the pages beside it start (None:
    there is none)."""

    rows: list
    newer: str | None
    older: str | None

    @property
    def entries(self):
        return self.rows


def newest_first_page(rows, *, time_field, before=None, after=None, size=HISTORY_PAGE_SIZE, window=None):
    """The rows just older than `before` (or just newer than `after`), or the newest ones, of a
    queryset ordered by (`time_field`, id) descending.

    Keyset paging: each page reads `size + 1` rows along an index on (..., `time_field`), so a
    page costs the same with ten or ten million rows, and no COUNT(*) is made (the page says
    "newer" and "older", not "page 3 of 200"). The bound on the time alone is repeated so that
    PostgreSQL can use it as the index range; the pair (time, id) breaks ties within it.

    With `window` (a timedelta) a page looks no further back than that from where it starts,
    so that a table partitioned by time is planned and read in its latest partitions only, not
    in every one of ten years; a page the window cut short says "older" from the window's
    start. Only a window with nothing in it reads further back, in one more query."""
    if after is not None:
        moment, pk = after
        newer = list(
            rows.filter(**{f"{time_field}__gte": moment})
            .filter(Q(**{f"{time_field}__gt": moment}) | Q(pk__gt=pk))
            .order_by(time_field, "pk")[: size + 1]
        )
        if not newer:  # nothing newer any more (an old address): the newest page
            return newest_first_page(rows, time_field=time_field, size=size, window=window)
        more_newer, page = len(newer) > size, newer[:size][::-1]
        more_older = True
        older_from = None
    else:
        if before is not None:
            moment, pk = before
            rows = rows.filter(**{f"{time_field}__lte": moment}).filter(
                Q(**{f"{time_field}__lt": moment}) | Q(pk__lt=pk)
            )
        ordered = rows.order_by(f"-{time_field}", "-pk")
        page, older_from = [], None
        if window is not None:
            since = (before[0] if before is not None else timezone.now()) - window
            page = list(ordered.filter(**{f"{time_field}__gte": since})[: size + 1])
            older_from = since if page else None
        if not page:
            page = list(ordered[: size + 1])
        more_older, page = len(page) > size, page[:size]
        more_newer = before is not None and bool(page)
        if more_older:
            older_from = None

    def cursor(row):
        return page_cursor(getattr(row, time_field), row.pk)

    older = cursor(page[-1]) if more_older else None
    if older_from is not None:
        older = page_cursor(older_from, 0)  # everything before the window's start
    newer = cursor(page[0]) if more_newer else None
    if before is not None and not page:  # nothing older: back to where this page started
        newer = page_cursor(*before)
    return NewestFirstPage(rows=page, newer=newer, older=older)


# The access history looks back a year at a time (newest_first_page's window): the audit table
# is partitioned by time (core migration 0008), and PostgreSQL plans a query over every
# partition it cannot rule out; bounded to a year, it plans two and reads the newest.
HISTORY_WINDOW = datetime.timedelta(days=366)


def history_page(patient, *, before=None, after=None, ids=None):
    """A page of the record's access history (newest_first_page), merged records' included."""
    return newest_first_page(
        patient_history(patient, ids), time_field="timestamp", before=before, after=after, window=HISTORY_WINDOW
    )


CONTACT_FIELDS = ("email", "phone")


def contact_changes(patient, limit=3):
    """The latest changes of the patient's email or phone, from the audit trail, newest first:
    [(entry, ["email", "phone"])]. A clinic admin could otherwise redirect clinical emails
    unseen; the patient page shows who changed them, and when."""
    entries = (
        AuditEntry.objects.filter(
            patient_id=patient.pk,
            content_type=ContentType.objects.get_for_model(Patient),
            action=AuditEntry.Action.UPDATE,
        )
        .filter(Q(changes__has_key="email") | Q(changes__has_key="phone"))
        .select_related("actor")
        .order_by("-timestamp", "-id")[:limit]
    )
    return [(entry, [name for name in CONTACT_FIELDS if name in (entry.changes or {})]) for entry in entries]
