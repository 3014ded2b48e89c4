from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_noop, ngettext

from mesoclinic.core import params
from mesoclinic.core.audit import client_ip, record_view
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.patients.forms import PatientSearchForm
from mesoclinic.patients.models import Patient
from mesoclinic.patients.selectors import contact_changes, duplicates_of, patient_search
from mesoclinic.questionnaires.forms import send_form

from . import services
from .selectors import practitioner_record, scheduler_record


@allow(*STAFF, record=True)
def patient_record(request, pk):
    """The patient's page: the practitioner's whole record, or the clinic admin's share of it."""
    patient = load_or_404(request, Patient.objects.select_related("merged_into", "archived_by"), pk=pk)
    changes = contact_changes(patient)
    # The recent history by default; "Show the whole history" asks for all of it.
    whole = params.choice(request, "history", ("all",)) == "all"
    if request.user.is_practitioner:
        record_view(request, patient, gettext_noop("patient record"))
        context = {
            "patient": patient,
            "contact_changes": changes,
            "clinical": True,
            **practitioner_record(patient, whole),
        }
        template = "desk/patient.html"
    else:
        record_view(request, patient, gettext_noop("contact details and appointments"))
        context = {
            "patient": patient,
            "contact_changes": changes,
            "clinical": False,
            **scheduler_record(patient, whole),
        }
        template = "desk/patient_scheduler.html"
    # "Send questionnaire": the one refused a moment ago, with what was typed and why, or a fresh one.
    open_one = context["questionnaires"].open
    context["questionnaire_form"] = send_form(request, patient, context["visit_day"], open_one.pk if open_one else "")
    return render(request, template, context)


@allow(Role.PRACTITIONER, record=True)
def merge_choose(request, pk):
    """Which record is the same person as this one? The likely duplicates, and a search."""
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    found = list(patient_search(query).exclude(pk=patient.pk)[:20]) if query else []
    record_view(request, patient, gettext_noop("merge: choose the duplicate"))
    context = {"patient": patient, "likely": duplicates_of(patient), "form": form, "query": query, "found": found}
    return render(request, "desk/merge_choose.html", context)


@allow(Role.PRACTITIONER, record=True)
def merge_confirm(request, pk, duplicate_pk):
    """Both records side by side; on POST, `duplicate_pk` is merged into `pk` (kept)."""
    kept = load_or_404(request, Patient.objects.all(), pk=pk)
    duplicate = load_or_404(request, Patient.objects.all(), pk=duplicate_pk)
    problems = services.merge_problems(duplicate, kept)
    if request.method == "POST":
        try:
            result = services.patient_merge(
                duplicate=duplicate, kept=kept, by=request.user, remote_addr=client_ip(request)
            )
        except ValidationError as error:
            problems = error.messages
        else:
            moved = sum(result.moved.values())
            messages.success(
                request,
                ngettext(
                    "Merged: {count} row moved from record #{pk}, which is now archived.",
                    "Merged: {count} rows moved from record #{pk}, which is now archived.",
                    moved,
                ).format(count=moved, pk=duplicate.pk),
            )
            return redirect(result.kept)
    else:
        record_view(request, kept, gettext_noop("merge: compare records"), other=duplicate.pk)
        record_view(request, duplicate, gettext_noop("merge: compare records"), other=kept.pk)
    kept_rows, duplicate_rows = services.row_counts(kept), services.row_counts(duplicate)
    context = {
        "kept": kept,
        "duplicate": duplicate,
        "problems": problems,
        "rows": [(what, count, duplicate_rows[what]) for what, count in kept_rows.items()],
    }
    return render(request, "desk/merge_confirm.html", context)
