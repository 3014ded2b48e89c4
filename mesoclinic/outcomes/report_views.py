"""The practitioner's view of a patient's progress report (from the plan page's card): read it in
the patient's language or the other, download its PDF, and send it to the patient."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow, load_or_404
from mesoclinic.treatment_sessions.models import ReminderChannel
from mesoclinic.treatment_sessions.reminders.channels import address, channels_for

from . import services
from .charts import render as draw
from .patient_views import PLANS, report_pdf_response
from .progress import plan_progress
from .reports import report_for

LANGUAGES = ("en", "tr")
CHANNEL_WORDS = {ReminderChannel.EMAIL: gettext_lazy("email"), ReminderChannel.SMS: gettext_lazy("text message")}


def _language(request, plan):
    """The patient's language unless the practitioner asks for the other (?lang=en|tr)."""
    return params.choice(request, "lang", LANGUAGES, "") or plan.patient.preferred_language


@allow(Role.PRACTITIONER, record=True)
@never_cache
def report_page(request, pk):
    plan = load_or_404(request, PLANS, pk=pk)
    language = _language(request, plan)
    record_view(request, plan.patient, "progress report", obj=plan)
    patient = plan.patient
    context = {
        **report_for(plan, language),
        "staff": True,
        "staff_language": translation.get_language(),
        "pdf_url": reverse("outcomes:report_pdf", args=[pk]) + f"?lang={language}",
        "back": plan.get_absolute_url(),
        "reachable": [str(CHANNEL_WORDS[channel]) for channel in channels_for(patient) if address(patient, channel)],
    }
    with translation.override(language):
        return render(request, "outcomes/report.html", context)


@allow(Role.PRACTITIONER, record=True)
@never_cache
def report_pdf(request, pk):
    plan = load_or_404(request, PLANS, pk=pk)
    language = _language(request, plan)
    record_view(request, plan.patient, "progress report (PDF)", obj=plan)
    return report_pdf_response(plan, language)


@allow(Role.PRACTITIONER, record=True)
@require_POST
def report_send(request, pk):
    """ "Send to the patient": by email and/or text message as they take reminders, in their
    language, with a link through their aftercare link. A double click sends one message."""
    plan = load_or_404(request, PLANS, pk=pk)
    try:
        services.report_send(plan=plan, by=request.user)
    except services.ReportRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            _("The progress report is on its way to %(name)s (the link in it works for 72 hours).")
            % {"name": plan.patient.display_name},
        )
    return redirect(reverse("outcomes:report", args=[pk]))


@allow(Role.PRACTITIONER, record=True)
@never_cache
def chart_picture(request, pk, measure):
    """One measure's progress chart as an SVG picture, in the reader's language: the <img> of
    the plan page's and the patient page's "Progress" (outcomes.sections.charted). A measure
    the plan does not measure, or has no value of yet, has no chart: 404."""
    plan = load_or_404(request, PLANS, pk=pk)
    row = next((row for row in plan_progress(plan) if row.measure.code == measure and row.points), None)
    if row is None:
        raise Http404
    record_view(request, plan.patient, gettext_noop("progress chart"), obj=plan)
    chart = draw(row, sessions_planned=plan.sessions_planned)
    return HttpResponse(chart.svg, content_type="image/svg+xml; charset=utf-8")
