from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "mesoclinic.plans"
    label = "plans"
    verbose_name = "Treatment plans and consent"

    def ready(self):
        from mesoclinic.core.audit import track

        from .models import Consent, Plan

        track(Plan)
        track(Consent, exclude_fields=["signature_png", "document_html"])
