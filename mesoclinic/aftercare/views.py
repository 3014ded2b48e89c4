from django.shortcuts import render

from mesoclinic.core.permissions import patient_required


@patient_required
def my_aftercare(request):
    patient = getattr(request.user, "patient_record", None)
    return render(request, "aftercare/mine.html", {"patient": patient, "sheets": []})
