"""Reads of patients: search as the front desk types it, and records that may be the same person."""

import datetime
import re

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
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


def patient_history(patient):
    """The record's access history, newest first: merged records' entries included."""
    return (
        AuditEntry.objects.filter(patient_id__in=record_ids(patient))
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-id")
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
