from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "mesoclinic.screening"
    label = "screening"
    verbose_name = "Screening and knowledge base"

    def ready(self):
        from mesoclinic.core.audit import track
        from mesoclinic.core.health import register_check

        from . import knowledge, signals
        from .models import PrescriberDecision, Screening

        signals.connect(self)
        register_check("knowledge", knowledge.health_state)
        track(Screening)
        track(PrescriberDecision)
