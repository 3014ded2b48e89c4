from django.apps import AppConfig


class AftercareConfig(AppConfig):
    name = "mesoclinic.aftercare"
    label = "aftercare"
    verbose_name = "Aftercare"

    def ready(self):
        from mesoclinic.core.audit import track

        from .models import AftercareSheet

        track(AftercareSheet)
