from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    """Outcomes: whether a course works, against what the documents report.

    Above the session app (it reads the charts' measurements and the photos) and the aftercare
    app (patients give their scores and read their progress report through its link), below the
    desk, whose patient page shows the progress. The plan page, lower down, shows it through the
    plan page's registry of sections (plans.sections)."""

    name = "mesoclinic.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes"

    def ready(self):
        from mesoclinic.core.audit import track

        from . import reports, sections
        from .models import PatientScore

        track(PatientScore)
        sections.connect()  # the progress on the plan page
        reports.connect()  # the progress report's message, through the reminders' registry
