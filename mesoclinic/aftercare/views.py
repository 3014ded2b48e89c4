from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.pdf import html_to_pdf
from mesoclinic.core.permissions import patient_for_staff, patient_required

from . import services
from .models import AftercareSheet
from .render import sheet_words
from .selectors import my_aftercare_context

LANGUAGES = ("en", "tr")


@patient_required
def my_aftercare(request):
    patient = getattr(request.user, "patient_record", None)
    context = my_aftercare_context(patient) if patient else {"patient": None, "sheets": []}
    return render(request, "aftercare/mine.html", context)


def _sheet_for_user(request, pk):
    """Patients reach only their own sheets (anything else is a 404); practitioners any."""
    sheet = get_object_or_404(AftercareSheet.objects.select_related("patient", "session"), pk=pk)
    if request.user.role == Role.PATIENT:
        if sheet.patient.user_id != request.user.pk:
            raise Http404
    else:
        patient_for_staff(request, sheet.patient_id, roles=(Role.PRACTITIONER,))
    return sheet


def _language(request, sheet):
    wanted = request.GET.get("lang", "")
    if request.user.is_authenticated and request.user.role == Role.PRACTITIONER and wanted in LANGUAGES:
        return wanted
    return sheet.patient.preferred_language


@login_required
@never_cache
def sheet_page(request, pk):
    sheet = _sheet_for_user(request, pk)
    language = _language(request, sheet)
    record_view(request, sheet.patient, "aftercare sheet", obj=sheet)
    with translation.override(language):
        return render(request, "aftercare/sheet.html", _context(request, sheet, language))


@login_required
@never_cache
def sheet_pdf(request, pk):
    sheet = _sheet_for_user(request, pk)
    language = _language(request, sheet)
    record_view(request, sheet.patient, "aftercare sheet (PDF)", obj=sheet)
    return _pdf(sheet, language)


def _context(request, sheet, language, token=None):
    staff = request.user.is_authenticated and request.user.role == Role.PRACTITIONER
    return {"sheet": sheet, "words": sheet_words(sheet, language), "staff": staff, "token": token, "language": language}


def _pdf(sheet, language):
    with translation.override(language):
        html = render_to_string(
            "aftercare/sheet_print.html", {"words": sheet_words(sheet, language), "language": language}
        )
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="aftercare-{sheet.session.starts_at:%Y-%m-%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _link_or_problem(request, token):
    link, problem = services.link_lookup(token)
    if problem:
        language = link.sheet.patient.preferred_language if link else "en"
        with translation.override(language):
            status = 404 if problem == "unknown" else 410
            return None, render(request, "aftercare/link_problem.html", {"problem": problem}, status=status)
    return link, None


@never_cache
def link_page(request, token):
    """The link from the email: no login, valid 72 hours, nothing personal in the URL."""
    link, problem = _link_or_problem(request, token)
    if problem:
        return problem
    sheet = link.sheet
    language = sheet.patient.preferred_language
    record_view(request, sheet.patient, "aftercare sheet", obj=sheet, via="email link")
    with translation.override(language):
        return render(request, "aftercare/sheet.html", _context(request, sheet, language, token=token))


@never_cache
def link_pdf(request, token):
    link, problem = _link_or_problem(request, token)
    if problem:
        return problem
    record_view(request, link.sheet.patient, "aftercare sheet (PDF)", obj=link.sheet, via="email link")
    return _pdf(link.sheet, link.sheet.patient.preferred_language)


@login_required
@require_POST
def revoke_links(request, pk):
    sheet = get_object_or_404(AftercareSheet, pk=pk)
    patient_for_staff(request, sheet.patient_id, roles=(Role.PRACTITIONER,))
    count = services.links_revoke(sheet=sheet, by=request.user)
    messages.success(
        request, f"{count} link{'s' if count != 1 else ''} revoked. The patient can still log in to read the sheet."
    )
    return redirect(sheet)
