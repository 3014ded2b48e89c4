import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.formats import date_format

from mesoclinic.screening.instructions import for_session, translate_substance
from mesoclinic.screening.selectors import patient_instructions
from mesoclinic.treatment_sessions.models import (
    Reminder,
    ReminderKind,
    ReminderStatus,
    SessionStatus,
    TreatmentSession,
)

from .models import AftercareSheet, SheetLink


def my_aftercare_context(patient):
    """A patient's own sheets (newest first), their next session and what to stop before it."""
    sheets = list(
        AftercareSheet.objects.filter(patient=patient)
        .select_related("session__plan__indication")
        .order_by("-session__starts_at")
    )
    next_session = (
        TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now())
        .select_related("room")
        .order_by("starts_at")
        .first()
    )
    holds = []
    if next_session:
        for item in for_session(patient_instructions(patient), next_session.starts_at, timezone.now()):
            holds.append(
                {
                    "kind": item.kind,
                    "substance": translate_substance(item.substance),
                    "prescriber": item.prescriber,
                    "is_medicine": item.is_medicine,
                    "from": _when(item.begins(next_session.starts_at)) if item.hours_before else None,
                }
            )
    return {"patient": patient, "sheets": sheets, "next_session": next_session, "holds": holds}


def _when(moment):
    """'Thursday 3 December, 14:00' in the clinic's zone and the page's language."""
    return date_format(timezone.localtime(moment), "l j F, H:i")


@dataclass(frozen=True)
class Delivery:
    """How a sheet reached the patient: the email and the link in it, as staff need to know
    before they resend or revoke ("was it ever sent? does the link still open?")."""

    emailed_at: datetime.datetime | None  # the last email that went out
    email: str  # "sent", "on its way", "not sent" (the last attempt failed) or "never"
    email_problem: str  # why the last attempt failed ("The patient has no email address.")
    link: str  # the newest link: "live", "revoked", "expired" or "none"
    live_until: datetime.datetime | None  # the latest expiry among the links that still open

    @property
    def link_is_live(self):
        return self.link == "live"


def staff_sheets(sheets, now=None):
    """`sheets` (a queryset) for the practitioner's pages, newest session first, each with its
    `delivery` and what the row shows (treatment, session, date, language).

    One query however many sheets there are: the email and link facts are subqueries on each
    row, not a query per sheet (the patient page is pinned at a constant count)."""
    now = now or timezone.now()
    emails = Reminder.objects.filter(session_id=OuterRef("session_id"), kind=ReminderKind.AFTERCARE)
    latest_email = emails.order_by("-created_at", "-id")
    links = SheetLink.objects.filter(sheet_id=OuterRef("pk"))
    newest_link = links.order_by("-created_at", "-id")
    rows = (
        sheets.select_related("session__plan__indication", "patient")
        .annotate(
            _emailed_at=Subquery(emails.filter(status=ReminderStatus.SENT).order_by("-sent_at").values("sent_at")[:1]),
            _email_pending=Exists(emails.filter(status=ReminderStatus.PENDING)),
            _email_status=Subquery(latest_email.values("status")[:1]),
            _email_error=Subquery(latest_email.values("last_error")[:1]),
            _live_until=Subquery(
                links.filter(revoked_at__isnull=True, expires_at__gt=now)
                .order_by("-expires_at")
                .values("expires_at")[:1]
            ),
            _newest_link_revoked=Subquery(newest_link.values("revoked_at")[:1]),
            _newest_link_created=Subquery(newest_link.values("created_at")[:1]),
        )
        .order_by("-session__starts_at", "-pk")
    )
    found = list(rows)
    for sheet in found:
        sheet.delivery = _delivery(sheet)
    return found


def _delivery(sheet):
    if sheet._email_pending:
        email = "on its way"
    elif sheet._email_status in (ReminderStatus.FAILED, ReminderStatus.CANCELLED):
        email = "not sent"
    elif sheet._emailed_at:
        email = "sent"
    else:
        email = "never"  # made before emails were sent (the demo's history), or not yet queued
    if sheet._live_until:
        link = "live"  # at least one link still opens, whatever became of newer ones
    elif sheet._newest_link_created is None:
        link = "none"
    else:
        link = "revoked" if sheet._newest_link_revoked else "expired"
    return Delivery(
        emailed_at=sheet._emailed_at,
        email=email,
        email_problem=(sheet._email_error or "") if email == "not sent" else "",
        link=link,
        live_until=sheet._live_until,
    )


def patient_sheets(patient):
    """The patient's sheets for the practitioner's patient page (one query)."""
    return staff_sheets(AftercareSheet.objects.filter(patient=patient))


def session_sheet(session):
    """The session's sheet for its page, or None while it is being prepared (one query)."""
    found = staff_sheets(AftercareSheet.objects.filter(session=session))
    return found[0] if found else None
