from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mesoclinic.core import params
from mesoclinic.core.audit import client_ip, record_view
from mesoclinic.core.models import Role
from mesoclinic.core.pdf import html_to_pdf
from mesoclinic.core.permissions import EVERYONE, allow, load_or_404

from . import services
from .models import AftercareSheet
from .render import sheet_words
from .selectors import my_aftercare_context, session_sheet

LANGUAGES = ("en", "tr")


@allow(Role.PATIENT)
def my_aftercare(request):
    patient = getattr(request.user, "patient_record", None)
    context = my_aftercare_context(patient) if patient else {"patient": None, "sheets": []}
    return render(request, "aftercare/mine.html", context)


def _sheet_for_user(request, pk):
    """Patients reach only their own sheets (anything else is a 404); practitioners any."""
    return load_or_404(request, AftercareSheet.objects.select_related("patient", "session"), pk=pk)


def _language(request, sheet):
    wanted = params.choice(request, "lang", LANGUAGES, "")
    if request.user.is_authenticated and request.user.role == Role.PRACTITIONER and wanted in LANGUAGES:
        return wanted
    return sheet.patient.preferred_language


@allow(Role.PATIENT, Role.PRACTITIONER, record=True)
@never_cache
def sheet_page(request, pk):
    sheet = _sheet_for_user(request, pk)
    language = _language(request, sheet)
    record_view(request, sheet.patient, "aftercare sheet", obj=sheet)
    context = _context(request, sheet, language)
    if context["staff"]:
        # How the sheet reached the patient, with Resend and Revoke, in the staff's language
        # (the sheet itself is in the patient's).
        context.update(staff_sheet=session_sheet(sheet.session), staff_language=translation.get_language())
    context["print_on_open"] = request.GET.get("print") == "1"  # "Print" on the patient page
    with translation.override(language):
        return render(request, "aftercare/sheet.html", context)


@allow(Role.PATIENT, Role.PRACTITIONER, record=True)
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


@allow(*EVERYONE, anonymous=True)
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


@allow(*EVERYONE, anonymous=True)
@never_cache
def link_pdf(request, token):
    link, problem = _link_or_problem(request, token)
    if problem:
        return problem
    record_view(request, link.sheet.patient, "aftercare sheet (PDF)", obj=link.sheet, via="email link")
    return _pdf(link.sheet, link.sheet.patient.preferred_language)


def _back(request, sheet):
    """Where the practitioner came from (the patient page, the session page), or the sheet."""
    back = request.POST.get("next", "")
    on_this_site = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if on_this_site and back.startswith("/") and len(back) <= 2000:  # a path, never a host
        return back
    return sheet.get_absolute_url()


@allow(Role.PRACTITIONER, record=True)
@require_POST
def revoke_links(request, pk):
    """The emailed links stop working at once (the page asks first: aftercare/_staff_sheet.html)."""
    sheet = load_or_404(request, AftercareSheet.objects.select_related("session"), pk=pk)
    count = services.links_revoke(sheet=sheet, by=request.user, remote_addr=client_ip(request))
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d emailed link switched off. The patient can still sign in to read the sheet.",
                "%(count)d emailed links switched off. The patient can still sign in to read the sheet.",
                count,
            )
            % {"count": count},
        )
    else:
        messages.info(request, _("No emailed link of this sheet was still working: nothing to switch off."))
    return redirect(_back(request, sheet))


@allow(Role.PRACTITIONER, record=True)
@require_POST
def resend_link(request, pk):
    """Email the patient a fresh 72-hour link to the sheet."""
    sheet = load_or_404(request, AftercareSheet.objects.select_related("patient", "session"), pk=pk)
    try:
        services.sheet_resend(sheet=sheet, by=request.user, remote_addr=client_ip(request))
    except services.ResendRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            _("A fresh link to the sheet is on its way to %(email)s (valid for 72 hours).")
            % {"email": sheet.patient.email},
        )
    return redirect(_back(request, sheet))
