"""What patients report themselves. The practitioner's measurements are on the chart
(treatment_sessions.Measurement); the measures and the documents' figures are knowledge
(plans.OutcomeMeasure, plans.ReportedOutcome)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.audit import PatientDataMixin


class ScoreChannel(models.TextChoices):
    LINK = "link", _("Aftercare link")
    LOGIN = "login", _("Patient login")


class PatientScore(PatientDataMixin, models.Model):
    """A score the patient gave after a session (satisfaction, pain), through their aftercare link
    or their login. Rows are never changed: a patient who answers again adds a row, and the newest
    for a session and measure is the one that counts (outcomes.progress)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="scores")
    session = models.ForeignKey("treatment_sessions.TreatmentSession", on_delete=models.PROTECT, related_name="scores")
    measure = models.ForeignKey("plans.OutcomeMeasure", on_delete=models.PROTECT, related_name="scores")
    value = models.DecimalField(max_digits=7, decimal_places=2)
    channel = models.CharField(max_length=5, choices=ScoreChannel.choices)
    reported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reported_at", "id"]
        indexes = [models.Index(fields=["session", "measure", "-reported_at"], name="score_newest")]

    def __str__(self):
        return f"{self.measure}: {self.value} (session {self.session_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A patient's score is never changed; a new answer is a new row.")
        super().save(*args, **kwargs)


class ClinicOutcomes(models.Model):
    """The clinic's outcomes page for one period as last counted (outcomes.tasks, every
    CLINIC_OUTCOMES_EVERY): counts, means and rates only, already suppressed, no patient's id.
    Counting ten years of charts takes seconds; reading this row, a millisecond."""

    period = models.CharField(max_length=10, primary_key=True)
    computed_at = models.DateTimeField()
    facts = models.JSONField()

    class Meta:
        verbose_name_plural = "clinic outcomes"

    def __str__(self):
        return f"Clinic outcomes ({self.period}) at {self.computed_at:%Y-%m-%d %H:%M}"
