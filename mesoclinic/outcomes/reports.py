"""The patient's progress report: page, PDF, and sending it through the aftercare channel.

`report_for(plan, language)` is what every form of the report prints (the practitioner's page,
the patient's page through their link or login, the PDF): the same numbers as the plan page's
charts (outcomes.progress), in the patient's words. The documents' findings are printed in plain
words with their caveats ALWAYS beside them (where a document found no benefit, the report says
so next to the figure), and a line that results differ from person to person (guide-2024,
"Conclusion"). The aligned before/after photos are shown only while the plan's consent includes
photos (treatment_sessions.photos.selectors.report_pair).
"""

import base64
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from mesoclinic.aftercare.services import link_create
from mesoclinic.core.selectors import current_clinic, wall_clock
from mesoclinic.plans.models import Plan, PlanStatus
from mesoclinic.plans.sections import register_section
from mesoclinic.screening import bilingual
from mesoclinic.treatment_sessions.models import Reminder, ReminderKind, SessionStatus
from mesoclinic.treatment_sessions.photos.alignment import pair_jpegs
from mesoclinic.treatment_sessions.photos.selectors import report_pair
from mesoclinic.treatment_sessions.reminders.delivery import register_composer, register_sms_link

from .charts import render
from .progress import plan_progress, sessions_done
from .selectors import latest_sheet

# guide-2024, "Conclusion": "what works wonderfully for one person may yield different results
# for another. Smaller studies haven't always shown significant benefits ... we need
# larger-scale, long-term studies." Our words, printed on every report.
RESULTS_DIFFER = gettext_lazy(
    "Results differ from person to person: what works well for one person may work differently for "
    "another. Small studies have not always shown a clear benefit, and larger, longer studies are "
    "still needed."
)
RESULTS_DIFFER_SOURCE = {"document": "guide-2024", "citation": "Conclusion"}
PHOTO_WIDTH = 800  # pixels: sharp on a phone and in the PDF's half-page column


@dataclass
class ReportMeasure:
    """One measure of the report: its progress row, its chart, and the documents' words."""

    row: object  # outcomes.progress.MeasureProgress
    chart: object  # outcomes.charts.RenderedChart
    label: str
    findings: list[str] = field(default_factory=list)  # what the documents report, plain words
    caveats: list[str] = field(default_factory=list)  # where a document found no benefit


def _patient_text(reported, language):
    return bilingual.text(reported, "patient_text", language)


def _term_words(term, language):
    return bilingual.text(term, "patient_label", language) or bilingual.text(term, "label", language)


def _photo_pair(plan):
    """{"baseline": data URI, "later": data URI, dates and session numbers} or None: None without
    photo consent (report_pair says), or before two photos of the plan were aligned."""
    pair = report_pair(plan)
    if pair is None:
        return None
    baseline, later = pair_jpegs(pair, max_width=PHOTO_WIDTH)
    zone = current_clinic().zone
    return {
        "baseline": "data:image/jpeg;base64," + base64.b64encode(baseline).decode(),
        "later": "data:image/jpeg;base64," + base64.b64encode(later).decode(),
        "baseline_day": wall_clock(pair.baseline.session.starts_at, zone).date(),
        "later_day": wall_clock(pair.later.session.starts_at, zone).date(),
    }


def report_for(plan, language):
    """Everything the report prints for `plan`, in `language` ("en" or "tr").

    A constant number of queries whatever the number of sessions and values: the progress (see
    outcomes.progress), the sessions done, the next booking, the photo pair."""
    clinic = current_clinic()
    zone = clinic.zone
    with translation.override(language):
        rows = plan_progress(plan)
        done = len(sessions_done([plan.pk]).get(plan.pk, []))
        next_session = (
            plan.sessions.filter(status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now())
            .order_by("starts_at")
            .first()
        )
        measures = []
        for row in rows:
            measures.append(
                ReportMeasure(
                    row=row,
                    chart=render(row, language=language, sessions_planned=plan.sessions_planned, for_patient=True)
                    if row.points
                    else None,
                    label=bilingual.text(row.measure, "label", language),
                    findings=[_patient_text(ref.reported, language) for ref in row.references if not ref.is_caveat],
                    caveats=[_patient_text(ref.reported, language) for ref in row.caveats],
                )
            )
        indication = _term_words(plan.indication, language)
        protocol = bilingual.text(plan.protocol, "title", language)
        return {
            "language": language,
            "plan": plan,
            "patient_name": plan.patient.display_name,
            "clinic": {"name": clinic.name, "phone": clinic.phone, "address": clinic.address},
            "indication": indication,
            # The plan's protocol, unless it is named as the indication is ("Cellulite").
            "protocol": "" if protocol.casefold() == indication.casefold() else protocol,
            "sessions": {
                "planned": plan.sessions_planned,
                "done": done,
                "left": max(plan.sessions_planned - done, 0),
                "next": wall_clock(next_session.starts_at, zone) if next_session else None,
                "finished": plan.status in (PlanStatus.COMPLETED, PlanStatus.STOPPED),
            },
            "measures": measures,
            "measured": [item for item in measures if item.row.points],
            "results_differ": str(RESULTS_DIFFER),
            "results_differ_source": RESULTS_DIFFER_SOURCE,
            "photos": _photo_pair(plan),
            "made_on": wall_clock(timezone.now(), zone).date(),
        }


# --- Sending it: the reminders' registry ------------------------------------------------------


def message_context(reminder):
    """What the progress report's message needs (reminders call this when it goes, under its
    row's lock): a fresh aftercare link to the latest sheet of the plan, opening the report
    (72 hours, revocable, as every aftercare link). A patient whose sheets were all removed
    since gets the way in through their login instead."""
    plan = Plan.objects.get(pk=reminder.details["plan"])
    sheet = latest_sheet(plan)
    base = settings.MESOCLINIC_BASE_URL.rstrip("/")
    has_login = plan.patient.user_id is not None  # only then can they "sign in" to read it later
    if sheet is None:
        return {"link": base + reverse("outcomes:mine"), "through_login": True, "has_login": has_login}
    return {"link": base + reverse("outcomes:link_report", args=[link_create(sheet)]), "has_login": has_login}


def message_preview(reminder):
    """The outbox's preview: it must make no link (a link is a secret made when it is sent)."""
    return {"link": gettext_lazy("[a new link, made when the email is sent]")}


# --- The plan page's card ---------------------------------------------------------------------


def card_context(request, plan):
    """The plan page's "Progress report" card: view, PDF, send. Not for a draft plan (nothing
    done yet). One query: when it was last sent."""
    if plan.status == PlanStatus.DRAFT:
        return None
    last = (
        Reminder.objects.filter(patient_id=plan.patient_id, kind=ReminderKind.PROGRESS_REPORT, details__plan=plan.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    return {"plan": plan, "last": last, "patient_language": plan.patient.preferred_language}


def connect():
    """Called from OutcomesConfig.ready: the plan page's card, and the report's message
    (composer, preview, and the link its text message carries) through the reminders' registry."""
    register_section("progress_report", "outcomes/_report_card.html", card_context)
    register_composer(ReminderKind.PROGRESS_REPORT, message_context, preview=message_preview)
    register_sms_link(ReminderKind.PROGRESS_REPORT, "outcomes:link_report")
