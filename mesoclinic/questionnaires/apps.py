from django.apps import AppConfig


class QuestionnairesConfig(AppConfig):
    """The pre-visit questionnaire: above the session app (it goes out when a plan's first
    session is booked, through the session app's signal, and its messages through the
    reminders' registry) and below the desk, whose patient page shows the answers to review."""

    name = "mesoclinic.questionnaires"
    label = "questionnaires"
    verbose_name = "Pre-visit questionnaires"

    def ready(self):
        # Imports here, not at the top: models and signals need the app registry ready.
        from mesoclinic.core.audit import track
        from mesoclinic.treatment_sessions.models import ReminderKind
        from mesoclinic.treatment_sessions.reminders.delivery import register_composer, register_sms_link
        from mesoclinic.treatment_sessions.signals import sessions_booked

        from .models import QuestionnaireRequest, QuestionnaireResponse
        from .services import chase_still_wanted, message_context, message_preview, send_for_first_booking

        # The draft changes with every answer the patient gives: the trail records the
        # questionnaire's life (sent, opened, locked, revoked, returned, adopted), not keystrokes.
        track(QuestionnaireRequest, exclude_fields=["draft", "draft_saved_at"])
        track(QuestionnaireResponse)
        for kind in (ReminderKind.QUESTIONNAIRE, ReminderKind.QUESTIONNAIRE_CHASE):
            register_composer(kind, message_context, preview=message_preview, still_wanted=chase_still_wanted)
            register_sms_link(kind, "questionnaires:link")
        sessions_booked.connect(
            lambda sender, plan_id, session_ids, first, **kwargs: (
                send_for_first_booking(session_ids[0]) if first else None
            ),
            weak=False,
            dispatch_uid="questionnaires.send_for_first_booking",
        )
