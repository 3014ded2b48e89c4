"""Reads of patients: search as the front desk types it."""

import datetime
import re

from django.db.models import Q

from .models import Patient

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
    """One word of the query: a date of birth, part of a phone number, or part of a name."""
    day = parse_date(token)
    if day is not None:
        return Q(date_of_birth=day)
    if PHONE_TOKEN.match(token) and len(phone_digits(token)) >= 4:
        return Q(phone__contains=phone_digits(token))
    # icontains compiles to UPPER(col) LIKE UPPER(%s) on PostgreSQL, which the trigram
    # indexes on UPPER(given_name) and UPPER(family_name) serve.
    return Q(given_name__icontains=token) | Q(family_name__icontains=token)


def patient_search(query=""):
    """Patients matching every word of `query`, most recently updated first."""
    patients = Patient.objects.order_by("-updated_at", "-id")
    for token in _tokenize(query):
        patients = patients.filter(_token_filter(token))
    return patients


def _tokenize(query):
    query = (query or "").strip()
    if not query:
        return []
    # A phone number typed with spaces ("0532 123 45 67") is one token, not four.
    if PHONE_TOKEN.match(query):
        return [query]
    return query.split()
