from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import AuditEntry, Role
from mesoclinic.core.permissions import patient_for_staff, staff_required

from . import services
from .forms import PatientForm, PatientSearchForm
from .selectors import hub_context, patient_search, scheduler_hub_context

PAGE_SIZE = 25


@staff_required
def patient_list(request):
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(patient_search(query), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query}
    if request.htmx and request.htmx.target == "patient-results":
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@staff_required
def patient_create(request):
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, include_notes=include_notes)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(data=form.cleaned_data)
        messages.success(request, f"{patient} was added.")
        return redirect(patient)
    return render(request, "patients/form.html", {"form": form, "patient": None})


@login_required
def patient_edit(request, pk):
    patient = patient_for_staff(request, pk)
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, instance=patient, include_notes=include_notes)
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, data=form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect(patient)
    if request.method == "GET":
        record_view(request, patient, "contact details (edit form)")
    return render(request, "patients/form.html", {"form": form, "patient": patient})


@login_required
def patient_detail(request, pk):
    patient = patient_for_staff(request, pk)
    if request.user.is_practitioner:
        record_view(request, patient, "patient record")
        return render(request, "patients/detail.html", {"patient": patient, **hub_context(patient)})
    record_view(request, patient, "contact details and appointments")
    return render(request, "patients/detail_scheduler.html", {"patient": patient, **scheduler_hub_context(patient)})


@login_required
def patient_access_history(request, pk):
    patient = patient_for_staff(request, pk, roles=(Role.PRACTITIONER,))
    entries = (
        AuditEntry.objects.for_patient(patient.pk).select_related("actor", "content_type").order_by("-timestamp", "-id")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    record_view(request, patient, "access history")
    return render(request, "patients/access_history.html", {"patient": patient, "page": page})
