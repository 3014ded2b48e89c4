from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from mesoclinic.core.audit import record_view
from mesoclinic.core.models import AuditEntry, Role
from mesoclinic.core.permissions import STAFF, allow, load_or_404

from . import services
from .forms import PatientForm, PatientSearchForm
from .models import Patient
from .selectors import patient_search

PAGE_SIZE = 25


@allow(*STAFF)
def patient_list(request):
    form = PatientSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(patient_search(query), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query}
    if request.htmx and request.htmx.target == "patient-results":
        return render(request, "patients/_results.html", context)
    return render(request, "patients/list.html", context)


@allow(*STAFF)
def patient_create(request):
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, include_notes=include_notes)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(data=form.cleaned_data)
        messages.success(request, f"{patient} was added.")
        return redirect(patient)
    return render(request, "patients/form.html", {"form": form, "patient": None})


@allow(*STAFF, record=True)
def patient_edit(request, pk):
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    include_notes = request.user.is_practitioner
    form = PatientForm(request.POST or None, instance=patient, include_notes=include_notes)
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, data=form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect(patient)
    if request.method == "GET":
        record_view(request, patient, "contact details (edit form)")
    return render(request, "patients/form.html", {"form": form, "patient": patient})


@allow(Role.PRACTITIONER, record=True)
def patient_access_history(request, pk):
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    entries = (
        AuditEntry.objects.for_patient(patient.pk).select_related("actor", "content_type").order_by("-timestamp", "-id")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    record_view(request, patient, "access history")
    return render(request, "patients/access_history.html", {"patient": patient, "page": page})
