from django.apps import AppConfig


class AftercareConfig(AppConfig):
    name = "mesoclinic.aftercare"
    label = "aftercare"
    verbose_name = "Aftercare"

    def ready(self):
        # Imports here, not at the top: models and signals need the app registry ready.
        from mesoclinic.core.audit import track
        from mesoclinic.treatment_sessions.models import ReminderKind
        from mesoclinic.treatment_sessions.reminders.delivery import register_composer
        from mesoclinic.treatment_sessions.signals import chart_signed

        from .models import AftercareSheet
        from .services import email_context
        from .tasks import queue_sheet

        track(AftercareSheet)
        # Aftercare sits above the session app: it listens to a signed chart and adds the
        # sheet's link to its email; the session app never imports aftercare.
        chart_signed.connect(
            lambda sender, session_id, **kwargs: queue_sheet(session_id),
            weak=False,
            dispatch_uid="aftercare.queue_sheet",
        )
        register_composer(ReminderKind.AFTERCARE, email_context)
