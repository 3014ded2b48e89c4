from django.shortcuts import render

from mesoclinic.core.audit import record_view
from mesoclinic.core.permissions import STAFF, allow, load_or_404
from mesoclinic.patients.models import Patient

from .selectors import practitioner_record, scheduler_record


@allow(*STAFF, record=True)
def patient_record(request, pk):
    """The patient's page: the practitioner's whole record, or the clinic admin's share of it."""
    patient = load_or_404(request, Patient.objects.all(), pk=pk)
    if request.user.is_practitioner:
        record_view(request, patient, "patient record")
        return render(request, "desk/patient.html", {"patient": patient, **practitioner_record(patient)})
    record_view(request, patient, "contact details and appointments")
    return render(request, "desk/patient_scheduler.html", {"patient": patient, **scheduler_record(patient)})
