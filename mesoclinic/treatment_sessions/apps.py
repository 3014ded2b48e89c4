from django.apps import AppConfig


class TreatmentSessionsConfig(AppConfig):
    # Not "sessions": that label belongs to django.contrib.sessions.
    name = "mesoclinic.treatment_sessions"
    label = "treatment_sessions"
    verbose_name = "Sessions and scheduling"

    def ready(self):
        # Imports here, not at the top: models and signals need the app registry ready.
        from mesoclinic.core.audit import track
        from mesoclinic.core.setup_views import register_closing_guard
        from mesoclinic.plans.signals import plan_ended

        from . import tasks  # noqa: F401  (registers the reminder tasks in every process, so

        # a task queued by name runs eagerly when CELERY_TASK_ALWAYS_EAGER says so)
        from .models import Addendum, Chart, Lot, PhotoAlignment, SessionPhoto, SessionSeries, TreatmentSession
        from .scheduling.closures import closing_guard
        from .scheduling.services import cancel_remaining_for_plan

        track(SessionSeries)
        track(TreatmentSession)
        track(Chart)
        track(Addendum)
        # A lot's creation and recall; its quantity is written to the trail by the stock
        # services, with what moved it (a delivery, a count, a signed chart).
        track(Lot, exclude_fields=["on_hand_ml"])
        track(SessionPhoto, exclude_fields=["image"])
        track(PhotoAlignment)  # who lined up which pair, and how
        # Closing days that have sessions booked (clinic setup, in core) asks what to do with them.
        register_closing_guard(closing_guard)
        # A plan that ends takes its sessions still to come off the calendar, in its transaction.
        plan_ended.connect(
            lambda sender, plan, by, reason, **kwargs: cancel_remaining_for_plan(plan=plan, by=by, reason=reason),
            weak=False,
            dispatch_uid="treatment_sessions.cancel_remaining_for_plan",
        )
