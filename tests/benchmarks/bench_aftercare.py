"""Aftercare sheets: the HTML sheet (target 50 ms server time) and its PDF (target 500 ms)."""

from mesoclinic.aftercare.models import AftercareSheet
from mesoclinic.core.models import User
from tests.benchmarks.harness import client_for, page_timing


def run(report):
    sheet = AftercareSheet.objects.select_related("patient__user").order_by("pk").first()
    if sheet is None:
        print("  no aftercare sheet in the database: run seed_demo")
        return
    patient_user = sheet.patient.user or User.objects.get(username="practitioner")
    client = client_for(patient_user)
    report.add("aftercare sheet, HTML (patient)", page_timing(client, f"/aftercare/sheets/{sheet.pk}/"), target_ms=50)
    report.add(
        "aftercare sheet, PDF (patient)",
        page_timing(client, f"/aftercare/sheets/{sheet.pk}/pdf/", repeat=10),
        target_ms=500,
    )
    staff = client_for(User.objects.get(username="practitioner"))
    report.add("aftercare sheet, HTML in Turkish (staff)", page_timing(staff, f"/aftercare/sheets/{sheet.pk}/?lang=tr"))
