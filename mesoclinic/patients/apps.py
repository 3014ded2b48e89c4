from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "mesoclinic.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self):
        from mesoclinic.core.audit import track

        from .models import Patient

        track(Patient)
