from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "mesoclinic.patients"
    label = "patients"
    verbose_name = "Patients"

    def ready(self):
        from mesoclinic.core.audit import track

        from . import tasks  # noqa: F401  (registers the contact notice task in every process)
        from .models import Patient

        track(Patient)
