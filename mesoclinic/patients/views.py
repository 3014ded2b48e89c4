from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.dates import MONTHS
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from mesoclinic.core import params
from mesoclinic.core.audit import record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import STAFF, allow, load_or_404

from . import services
from .forms import ArchiveForm, PatientForm, PatientSearchForm, SeenMatchesForm
from .models import Language, Patient
from .selectors import history_page, possible_duplicates, read_page_cursor, record_ids, search_pages


@allow(*STAFF)
def patient_list(request):
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    archived = form.cleaned_data["archived"] if form.is_valid() else False
    page = search_pages(query, include_archived=archived).get_page(params.page(request))
    # The language column, worded once per language rather than once per row.
    languages = {code: str(label) for code, label in Language.choices}
    for patient in page.object_list:
        patient.language_label = languages.get(patient.preferred_language, patient.preferred_language)
    context = {"form": form, "page": page, "query": query, "archived": archived}
    if request.htmx and request.htmx.target == "patient-results":
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@allow(*STAFF)
def patient_create(request):
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, include_notes=include_notes)
    matches = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        matches = possible_duplicates(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
            phone=data["phone"],
        )
        seen = SeenMatchesForm(request.POST)
        passed_over = seen.cleaned_data["seen"] if seen.is_valid() else set()
        # Created once the matches shown were seen and passed over; a new match asks again.
        if not matches or {match.pk for match, _ in matches} <= passed_over:
            patient = services.patient_create(data=data)
            messages.success(request, _("%(name)s was added.") % {"name": patient})
            return redirect(patient)
    context = {
        "form": form,
        "patient": None,
        "matches": matches,
        "match_ids": ",".join(str(match.pk) for match, _ in matches),
    }
    return render(request, "patients/form.html", context)


@allow(*STAFF, record=True)
def patient_edit(request, pk):
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, instance=patient, include_notes=include_notes)
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, data=form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect(patient)
    if request.method == "GET":
        record_view(request, patient, gettext_noop("contact details (edit form)"))
    return render(request, "patients/form.html", {"form": form, "patient": patient})


@allow(Role.PRACTITIONER, record=True)
def patient_access_history(request, pk):
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    # A merged record's history is its own and the duplicates' merged into it (entries are
    # never rewritten to the kept record: they are read by both ids).
    ids = record_ids(patient)
    page = history_page(
        patient,
        before=read_page_cursor(request.GET.get("before")),
        after=read_page_cursor(request.GET.get("after")),
        ids=ids,
    )
    # Each row names its actor's role: worded once per role here, not once per row (Django's
    # get_role_display rebuilds the choices and translates them on every call).
    roles = {code: str(label) for code, label in Role.choices}
    months = {number: str(name) for number, name in MONTHS.items()}
    for entry in page.entries:
        entry.actor_role = roles.get(entry.actor.role, "") if entry.actor else ""
        # "2 December 2026, 14:05:09" as the date filter's "j F Y, H:i:s" writes it, with the
        # month's name translated once per page: the filter was a quarter of the page's time.
        moment = localtime(entry.timestamp)
        entry.when = f"{moment.day} {months[moment.month]} {moment.year}, {moment:%H:%M:%S}"
        entry.when_iso = moment.isoformat()
    record_view(request, patient, gettext_noop("access history"))
    merged = list(Patient.objects.filter(pk__in=ids[1:]).order_by("pk")) if len(ids) > 1 else []
    merged_records = ", ".join(
        _("record #%(pk)s (%(name)s)") % {"pk": other.pk, "name": other.display_name} for other in merged
    )
    context = {"patient": patient, "page": page, "merged": merged, "merged_records": merged_records}
    return render(request, "patients/access_history.html", context)


@allow(Role.PRACTITIONER, record=True)
def patient_archive(request, pk):
    """Confirm, then archive: the record stays, with its history, but is no longer used."""
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    form = ArchiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_archive(patient=patient, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            for field, problems in getattr(error, "error_dict", {"__all__": error.error_list}).items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, _("%(name)s is archived: hidden from search and lists.") % {"name": patient})
            return redirect(patient)
    if request.method == "GET":
        record_view(request, patient, gettext_noop("archive form"))
    return render(request, "patients/archive.html", {"patient": patient, "form": form})


@allow(Role.PRACTITIONER, record=True)
@require_POST
def patient_restore(request, pk):
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    try:
        services.patient_restore(patient=patient, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(name)s is in use again.") % {"name": patient})
    return redirect(patient)
