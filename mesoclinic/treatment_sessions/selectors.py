"""Reads for scheduling and the calendar, each in a fixed number of queries."""

import datetime

from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary
from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Func
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import wall_clock

from .models import SessionStatus, TreatmentSession


class _TimeRange(Func):
    """A session's time as PostgreSQL's range, written as the no-overlap constraints write it
    (migration 0002), so that a query with it can use their GiST indexes."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def sessions_during(sessions, start, end):
    """The sessions of `sessions` that take any part of [start, end).

    "Starts before the end and ends after the start" reads the whole history before `end`
    through a (practitioner, starts_at) index: ten years of it for one week. On PostgreSQL the
    same question is asked as an overlap of ranges, which the GiST indexes of the no-overlap
    constraints answer directly; they leave cancelled sessions out, so the index serves only
    a query that leaves them out too (`status <> 'cancelled'`, or the occupying statuses).
    """
    if connection.vendor != "postgresql":
        return sessions.filter(starts_at__lt=end, ends_at__gt=start)
    return sessions.alias(time_range=_TimeRange("starts_at", "ends_at", RangeBoundary())).filter(
        time_range__overlap=DateTimeTZRange(start, end, "[)")
    )


def sessions_of_patient(patient):
    """The patient's sessions with their charts' lots and adverse events, in four queries."""
    return list(
        TreatmentSession.objects.filter(patient=patient)
        .select_related("practitioner", "room", "plan__indication", "chart")
        .prefetch_related("chart__products_used__lot__product", "chart__adverse_events__type")
        .order_by("starts_at")
    )


# --- A session's history ----------------------------------------------------------------------

# The order a change's lines are told in, whatever order the database keeps its fields in
# (PostgreSQL's jsonb sorts keys, SQLite keeps them as written): what changed, then why.
# "day_check" is the re-check field's name in entries written before it was renamed.
FIELD_ORDER = {"status": 0, "starts_at": 1, "recheck": 2, "day_check": 2, "change_note": 99}
# Fields that follow from the others and would only repeat them.
SILENT_FIELDS = {"ends_at", "updated_at"}


def session_history(session, zone):
    """The session's changes in words: who, when, from what to what (views are left out)."""
    entries = (
        AuditEntry.objects.filter(content_type__model="treatmentsession", object_id=session.pk)
        .exclude(action=AuditEntry.Action.ACCESS)
        .select_related("actor")
        .order_by("timestamp", "id")
    )
    rows = []
    for entry in entries:
        if entry.action == AuditEntry.Action.CREATE:
            lines = [_("Booked")]
        else:
            changes = sorted((entry.changes or {}).items(), key=lambda item: FIELD_ORDER.get(item[0], 50))
            lines = [line for field, (old, new) in changes if (line := _change_line(field, old, new, zone))]
        if lines:
            rows.append({"timestamp": entry.timestamp, "actor": entry.actor, "lines": lines})
    return rows


def _change_line(field, old, new, zone):
    if field in SILENT_FIELDS:
        return ""
    if field == "starts_at":
        return _("Moved from %(old)s to %(new)s") % {"old": _local(old, zone), "new": _local(new, zone)}
    if field in ("recheck", "day_check"):
        return _("Re-check recorded")
    if field == "change_note":
        # The note says what this change was; the one before is history.
        return _("Note: %(note)s") % {"note": new} if new else ""
    if field == "status":
        return _("Status: %(old)s → %(new)s") % {"old": _status_label(old), "new": _status_label(new)}
    return f"{field.replace('_', ' ').capitalize()}: {old or '—'} → {new or '—'}"


def _status_label(value):
    """'no_show' -> 'No-show': the words the page uses, not the stored code."""
    return SessionStatus(value).label if value in SessionStatus.values else (value or "—")


def _local(value, zone):
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return value
    if moment.tzinfo is None:  # django-auditlog stores aware times as naive UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return date_format(wall_clock(moment, zone), "D d M H:i")
