"""Aftercare sheets: assembled when a chart is signed, from what was actually done.

The sheet is stored as English sentences with their times; it is translated into the
patient's language when read (all text goes through Django's translation machinery).
"""

import datetime
import secrets

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mesoclinic.core.models import AuditEntry
from mesoclinic.core.selectors import current_clinic, wall_clock
from mesoclinic.plans.models import IngredientInfo
from mesoclinic.screening.instructions import for_session
from mesoclinic.screening.knowledge import knowledge_base
from mesoclinic.screening.selectors import patient_instructions, screening_standing
from mesoclinic.treatment_sessions.models import (
    Chart,
    PointShape,
    Reminder,
    ReminderKind,
    ReminderStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.reminders.channels import address, channels_for
from mesoclinic.treatment_sessions.reminders.services import enqueue
from mesoclinic.treatment_sessions.session_day.diagrams import DIAGRAMS

from .models import AftercareInstruction, AftercareSheet, Section, SheetLink

LINK_VALID = datetime.timedelta(hours=72)


def applies(rule, context):
    """Does an instruction's `applies` condition hold for this session?"""
    if rule.get("always"):
        return True
    checks = []
    if "areas" in rule:
        checks.append(bool(set(rule["areas"]) & context["areas"]))
    if "indications" in rule:
        checks.append(context["indication"] in rule["indications"])
    if "ingredients" in rule:
        checks.append(bool(set(rule["ingredients"]) & context["ingredients"]))
    if "skin_type_at_least" in rule:
        checks.append((context["skin_type"] or 0) >= rule["skin_type_at_least"])
    if "adverse_events" in rule:
        checks.append(bool(set(rule["adverse_events"]) & context["events"]))
    return any(checks)


def _with_classes(kind, codes, kb):
    found = set()
    for code in codes:
        info = kb.terms.get((kind, code))
        found |= info.ancestors if info else {code}
    return found


def sheet_context(session):
    """What the instructions are chosen by: treated areas, indication, ingredients (with
    their classes: a lipolytic's advice for phosphatidylcholine), skin type, events."""
    kb = knowledge_base()
    chart = session.chart
    screening = screening_standing(session.patient).screening
    answers = screening.answers if screening else {}
    return {
        "areas": _with_classes("area", [a.area.code for a in chart.areas.all()], kb),
        "indication": session.plan.indication.code,
        "ingredients": _with_classes("ingredient", [t.code for t in session.plan.ingredients.all()], kb),
        "skin_type": answers.get("fitzpatrick_skin_type"),
        "events": {event.type_id for event in chart.adverse_events.all()},
    }


def _place(value):
    return round(float(value), 1)


def sheet_map(chart):
    """Where the patient was treated, for the sheet's simplified map: per diagram, a dot for each
    point and the outline of each painted zone. Nothing else: no volumes, lots, depths or
    needles (the patient needs to know where, and the chart keeps the rest). Kept in the sheet
    with the rest of what was done; the drawing itself comes from the diagram when it is read."""
    marked = {}
    for point in chart.points.order_by("position", "id"):
        entry = marked.setdefault(point.diagram, {"dots": [], "zones": []})
        if point.shape == PointShape.ZONE and point.outline:
            entry["zones"].append([[_place(x), _place(y)] for x, y in point.outline])
        else:
            entry["dots"].append([_place(point.x), _place(point.y)])
    order = [code for code in DIAGRAMS if code in marked] + sorted(set(marked) - set(DIAGRAMS))
    with translation.override("en"):  # stored in English, as the sheet's other words are
        return [
            {
                "diagram": code,
                "title": str(DIAGRAMS[code].title) if code in DIAGRAMS else code,
                **marked[code],
            }
            for code in order
        ]


def sheet_build(session):
    """The sheet's content: who, when, what was done, and the advice that applies."""
    clinic = current_clinic()
    chart = session.chart
    context = sheet_context(session)
    finished = chart.signed_at and max(
        session.ends_at, session.starts_at + datetime.timedelta(minutes=chart.duration_minutes)
    )
    ended = finished or session.ends_at
    sections = {section: [] for section in Section.values}
    sources = []
    for instruction in AftercareInstruction.objects.all():
        if not applies(instruction.applies, context):
            continue
        until = (ended + datetime.timedelta(hours=instruction.hours)).isoformat() if instruction.hours else None
        sections[instruction.section].append({"code": instruction.code, "text": instruction.text, "until": until})
        sources += [s for s in instruction.sources if s not in sources]
    events = [
        {
            "label": event.type.label,
            "severity": event.severity,
            "follow_up_on": event.follow_up_on.isoformat() if event.follow_up_on else None,
        }
        for event in chart.adverse_events.select_related("type")
    ]
    next_session = (
        session.plan.sessions.filter(status="scheduled", starts_at__gt=session.starts_at).order_by("starts_at").first()
    )
    holds = []
    if next_session:
        instructions = for_session(patient_instructions(session.patient), next_session.starts_at, timezone.now())
        holds = [
            {**item.as_json(), "from": item.begins(next_session.starts_at).isoformat() if item.hours_before else None}
            for item in instructions
        ]
    plain = dict(
        IngredientInfo.objects.filter(term__in=session.plan.ingredients.all()).values_list("term__code", "plain_name")
    )
    return {
        "clinic": {"name": clinic.name, "phone": clinic.phone, "address": clinic.address, "timezone": clinic.timezone},
        "patient": session.patient.display_name,
        "practitioner": session.practitioner.display_name,
        "session": {
            "starts_at": session.starts_at.isoformat(),
            "ended_at": ended.isoformat(),
            "sequence": session.sequence,
            "of": session.plan.sessions_planned,
        },
        "indication": session.plan.indication.label,
        "areas": [a.area.label for a in chart.areas.select_related("area")],
        "products": sorted({use.lot.product.name for use in chart.products_used.select_related("lot__product")}),
        "map": sheet_map(chart),
        "ingredients": [plain.get(t.code, t.label) for t in session.plan.ingredients.all()],
        "sections": sections,
        "events": events,
        "next_session": next_session.starts_at.isoformat() if next_session else None,
        "holds": holds,
        "sources": sources,
    }


@transaction.atomic
def sheet_for(session) -> AftercareSheet:
    """The session's sheet, made once (a second call returns the same sheet)."""
    sheet = AftercareSheet.objects.filter(session=session).first()
    if sheet is None:
        sheet = AftercareSheet.objects.create(session=session, patient=session.patient, content=sheet_build(session))
    return sheet


def session_completed(*, session_id):
    """A chart was signed: make the sheet, and email the patient a link (after commit).
    Safe to run twice (the task may be retried, the sweep may queue it again)."""
    with transaction.atomic():
        session = TreatmentSession.objects.select_related("patient", "plan__indication", "practitioner", "chart").get(
            pk=session_id
        )
        sheet = sheet_for(session)
        reminder, created = Reminder.objects.get_or_create(
            key=f"aftercare:{session.pk}",
            defaults={
                "patient": session.patient,
                "session": session,
                "kind": ReminderKind.AFTERCARE,
                "due_at": timezone.now(),
                "details": {"sheet": sheet.pk},
            },
        )
        if created:
            transaction.on_commit(lambda: enqueue(reminder.pk))
    return sheet


def link_create(sheet, now=None) -> str:
    """A fresh link for the patient; the token itself is only ever in the email."""
    token = secrets.token_urlsafe(32)
    now = now or timezone.now()
    SheetLink.objects.create(
        sheet=sheet, token_sha256=SheetLink.digest(token), created_at=now, expires_at=now + LINK_VALID
    )
    return token


@transaction.atomic
def links_revoke(*, sheet, by, remote_addr=None) -> int:
    """Switch off every emailed link to the sheet: each then answers "this link was switched
    off". The patient can still sign in to read it. Recorded in the patient's history."""
    count = SheetLink.objects.filter(sheet=sheet, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by
    )
    if count:
        _record_link_event(
            sheet,
            by=by,
            remote_addr=remote_addr,
            changes={"emailed links": [f"{count} live", "revoked"]},
            summary=f"Revoked {count} emailed link{'s' if count != 1 else ''} to the aftercare sheet of {_which(sheet)}",
        )
    return count


class ResendRefused(Exception):
    """The sheet cannot be emailed now; the message says why, in words for the practitioner."""


def sheet_resend(*, sheet, by, remote_addr=None):
    """Email the patient a fresh link to the sheet (the patient lost the email, or it went to
    an address since corrected). The email is a reminder row like the first one, so it goes
    out through the same worker, outbox and retries; its link is made when it is sent.

    Earlier links are left as they are: revoke them first if the first email went astray.
    A second click while the first email is still on its way sends nothing more."""
    with transaction.atomic():
        # The sheet's row is the lock: two clicks at once queue one email.
        sheet = AftercareSheet.objects.select_for_update().select_related("patient", "session").get(pk=sheet.pk)
        patient = sheet.patient
        if not any(address(patient, channel) for channel in channels_for(patient)):
            raise ResendRefused(_("The patient has no email address: add one to the record, then resend."))
        waiting = Reminder.objects.filter(
            session_id=sheet.session_id, kind=ReminderKind.AFTERCARE, status=ReminderStatus.PENDING
        )
        if waiting.exists():
            raise ResendRefused(_("An email with a link to this sheet is already on its way."))
        now = timezone.now()
        reminder = Reminder.objects.create(
            key=f"aftercare:{sheet.session_id}:resent:{now:%Y%m%dT%H%M%S.%f}",
            patient=patient,
            session=sheet.session,
            kind=ReminderKind.AFTERCARE,
            due_at=now,
            enqueued_at=now,  # handed over below: the sweep leaves it alone unless that fails
            details={"sheet": sheet.pk, "resent_by": by.pk},
        )
        _record_link_event(
            sheet,
            by=by,
            remote_addr=remote_addr,
            changes={"aftercare email": ["", f"resent to {patient.email}"]},
            summary=f"Resent the aftercare sheet of {_which(sheet)} to {patient.email} (a fresh 72-hour link)",
        )
        transaction.on_commit(lambda: enqueue(reminder.pk))
    return reminder


def _which(sheet):
    """'session 2 (24.11.2026)': the day in the clinic's zone, as the patient page shows it."""
    return f"session {sheet.session.sequence} ({wall_clock(sheet.session.starts_at, current_clinic().zone):%d.%m.%Y})"


def _record_link_event(sheet, *, by, remote_addr, changes, summary):
    """The sheet's links and emails are not model changes auditlog sees (a bulk update, a
    reminder row): the event is written to the trail in its own words, as a merge is."""
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(AftercareSheet),
        object_pk=str(sheet.pk),
        object_id=sheet.pk,
        object_repr=str(sheet)[:200],
        action=AuditEntry.Action.UPDATE,
        changes=changes,
        actor=by,
        actor_email=getattr(by, "email", None) or None,
        remote_addr=remote_addr,
        patient_id=sheet.patient_id,
        additional_data={"label": "aftercare sheet", "summary": summary},
    )


def link_lookup(token):
    """(link, problem): the link a token names, or why it cannot be used."""
    if not token or len(token) > 100:
        return None, "unknown"
    link = SheetLink.objects.select_related("sheet__patient").filter(token_sha256=SheetLink.digest(token)).first()
    if link is None:
        return None, "unknown"
    if link.revoked_at is not None:
        return link, "revoked"
    if timezone.now() >= link.expires_at:
        return link, "expired"
    return link, ""


def sessions_without_sheet(since, until):
    """Sessions whose chart was signed between `since` and `until` and whose sheet was never
    made (the task could not be queued, or failed every retry): the sweep queues them again."""
    return list(
        Chart.objects.filter(
            signed_at__gte=since, signed_at__lt=until, session__aftercare_sheet__isnull=True
        ).values_list("session_id", flat=True)
    )


def email_context(reminder):
    """The aftercare email's link: a fresh one each time the email goes, so its token exists
    only in the email (reminders call this through the composer registered in apps.py)."""
    token = link_create(AftercareSheet.objects.get(pk=reminder.details["sheet"]))
    return {"link": settings.MESOCLINIC_BASE_URL.rstrip("/") + reverse("aftercare:link", args=[token])}
