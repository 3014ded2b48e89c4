from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "mesoclinic.plans"
    label = "plans"
    verbose_name = "Treatment plans and consent"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from mesoclinic.core.audit import track
        from mesoclinic.screening.signals import knowledge_changed

        from .models import Consent, OutcomeMeasure, Plan, Protocol, ReportedOutcome

        track(Plan)
        track(Consent, exclude_fields=["signature_png", "document_html"])
        # The protocols, their measures and the documents' findings are knowledge: a change
        # moves the knowledge base's revision, and every process rebuilds what it kept of them
        # (outcomes.progress keeps the measures per revision).
        for model in (Protocol, OutcomeMeasure, ReportedOutcome):
            post_save.connect(knowledge_changed, sender=model, dispatch_uid=f"kb-save-{model.__name__}")
            post_delete.connect(knowledge_changed, sender=model, dispatch_uid=f"kb-delete-{model.__name__}")
        m2m_changed.connect(
            knowledge_changed, sender=OutcomeMeasure.protocols.through, dispatch_uid="kb-measure-protocols"
        )
