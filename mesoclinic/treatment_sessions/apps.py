from django.apps import AppConfig


class TreatmentSessionsConfig(AppConfig):
    # Not "sessions": that label belongs to django.contrib.sessions.
    name = "mesoclinic.treatment_sessions"
    label = "treatment_sessions"
    verbose_name = "Sessions and scheduling"

    def ready(self):
        from mesoclinic.core.audit import track

        from .models import Addendum, Chart, SessionPhoto, SessionSeries, TreatmentSession

        track(SessionSeries)
        track(TreatmentSession)
        track(Chart)
        track(Addendum)
        track(SessionPhoto, exclude_fields=["image"])
