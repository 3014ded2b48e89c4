"""What the patient does in the outcomes app: give their scores after a session, and read their
progress report, through the aftercare link of their email (no login; the aftercare app's token
rules: 72 hours, revocable) or through their login ("My aftercare", "My progress").

The patient's pages are in the patient's language (Patient.preferred_language), whoever opens
them: the link is theirs."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.pdf import html_to_pdf
from mesoclinic.core.permissions import EVERYONE, allow, load_or_404
from mesoclinic.plans.models import Plan

from .forms import ScoresForm
from .models import ScoreChannel
from .reports import report_for
from .selectors import newest_scores, patient_measures, reportable_plans, sheet_of_link
from .services import scores_give

SHEETS = AftercareSheet.objects.select_related("patient", "session__plan__protocol", "session__plan__indication")
PLANS = Plan.objects.select_related("patient", "protocol", "indication")


def _link_problem(request, sheet, problem):
    """The aftercare app's own page for a link that no longer opens, in the patient's language."""
    language = sheet.patient.preferred_language if sheet else "en"
    with translation.override(language):
        status = 404 if problem == "unknown" else 410
        return render(request, "aftercare/link_problem.html", {"problem": problem}, status=status)


# --- Scores -------------------------------------------------------------------------------------


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_scores(request, token):
    """ "How are you doing?" from the aftercare link: the scores of the sheet's session."""
    sheet, problem = sheet_of_link(token)
    if problem:
        return _link_problem(request, sheet, problem)
    here = reverse("outcomes:link_scores", args=[token])
    return _scores(request, sheet, ScoreChannel.LINK, here, token=token)


@allow(Role.PATIENT, record=True)
@never_cache
def my_scores(request, pk):
    """The same, signed in: from "My aftercare" or a sheet the patient reads there."""
    sheet = load_or_404(request, SHEETS, pk=pk)
    return _scores(request, sheet, ScoreChannel.LOGIN, reverse("outcomes:my_scores", args=[pk]))


def _scores(request, sheet, channel, here, token=None):
    session, patient = sheet.session, sheet.patient
    language = patient.preferred_language
    measures = patient_measures(session.plan)
    with translation.override(language):
        if request.method == "POST":
            form = ScoresForm(request.POST, measures=measures, language=language)
            if form.is_valid():
                scores_give(patient=patient, session=session, answers=form.answers(), channel=channel)
                # Post, then redirect: a reload of the thank-you page sends nothing again.
                return redirect(f"{here}?done=1")
            newest = newest_scores(session, measures)
        else:
            newest = newest_scores(session, measures)
            form = ScoresForm(measures=measures, language=language, newest=newest)
        done = params.choice(request, "done", ("1",), "") == "1" and bool(newest) and request.method != "POST"
        via = {"via": "email link"} if token else {}
        record_view(request, patient, "patient scores", obj=sheet, **via)
        given = [{"measure": m, "score": newest[m.code]} for m in measures if m.code in newest]
        context = {
            "sheet": sheet,
            "session": session,
            "language": language,
            "form": form,
            "done": done,
            "given": given,
            "token": token,
            "here": here,
        }
        return render(request, "outcomes/patient/scores.html", context)


# --- The progress report ------------------------------------------------------------------------


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_report(request, token):
    """The progress report from the link in its email (the aftercare link of the plan's latest
    sheet), or from any aftercare link of the plan's sheets."""
    sheet, problem = sheet_of_link(token)
    if problem:
        return _link_problem(request, sheet, problem)
    plan = sheet.session.plan
    record_view(request, sheet.patient, "progress report", obj=plan, via="email link")
    pdf_url = reverse("outcomes:link_report_pdf", args=[token])
    return _report_page(request, plan, pdf_url, back=reverse("aftercare:link", args=[token]), token=token)


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_report_pdf(request, token):
    sheet, problem = sheet_of_link(token)
    if problem:
        return _link_problem(request, sheet, problem)
    plan = sheet.session.plan
    record_view(request, sheet.patient, "progress report (PDF)", obj=plan, via="email link")
    return report_pdf_response(plan, sheet.patient.preferred_language)


@allow(Role.PATIENT)
def mine(request):
    """ "My progress": the patient's plans, each with its report."""
    patient = getattr(request.user, "patient_record", None)
    plans = reportable_plans(patient) if patient else []
    return render(request, "outcomes/patient/mine.html", {"patient": patient, "plans": plans})


@allow(Role.PATIENT, record=True)
@never_cache
def my_report(request, pk):
    plan = load_or_404(request, PLANS, pk=pk)
    record_view(request, plan.patient, "progress report", obj=plan)
    pdf_url = reverse("outcomes:my_report_pdf", args=[pk])
    return _report_page(request, plan, pdf_url, back=reverse("outcomes:mine"))


@allow(Role.PATIENT, record=True)
@never_cache
def my_report_pdf(request, pk):
    plan = load_or_404(request, PLANS, pk=pk)
    record_view(request, plan.patient, "progress report (PDF)", obj=plan)
    return report_pdf_response(plan, plan.patient.preferred_language)


def _report_page(request, plan, pdf_url, back, token=None):
    language = plan.patient.preferred_language
    context = {**report_for(plan, language), "pdf_url": pdf_url, "back": back, "token": token, "staff": False}
    with translation.override(language):
        return render(request, "outcomes/report.html", context)


def report_pdf_response(plan, language):
    """The report as a PDF download, in `language`: the same content as the page, print layout."""
    context = report_for(plan, language)
    with translation.override(language):
        html = render_to_string("outcomes/report_print.html", context)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    day = context["made_on"]
    response["Content-Disposition"] = f'attachment; filename="progress-report-{day:%Y-%m-%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
