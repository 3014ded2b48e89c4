from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "mesoclinic.screening"
    label = "screening"
    verbose_name = "Screening and knowledge base"

    def ready(self):
        from mesoclinic.core.audit import track

        from . import signals
        from .models import PrescriberDecision, Screening

        signals.connect(self)
        track(Screening)
        track(PrescriberDecision)
