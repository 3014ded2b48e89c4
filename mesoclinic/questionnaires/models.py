"""The pre-visit questionnaire: sent to a patient, answered at home, reviewed and adopted.

Three records, each with one job:

- `QuestionnaireRequest`: the questionnaire the clinic sent for one visit. It holds the
  patient's answers while they are still filling it in (`draft`, saved as they go, so they can
  come back), how long it can be opened, and the date-of-birth lock.
- `QuestionnaireLink`: a key to a request, sent in one email or text message. Only its hash is
  stored, so the secret exists only in the message; a reminder sends a fresh key to the same
  request, and the patient's answers are where they left them. No personal data is in the URL.
- `QuestionnaireResponse`: what the patient sent, with the engine's findings for it. Never
  changed afterwards, except to record, once, the screening that adopted it.
"""

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mesoclinic.core.audit import PatientDataMixin

VALID_FOR = datetime.timedelta(days=7)
MAX_DATE_OF_BIRTH_TRIES = 5


class RequestQuerySet(models.QuerySet):
    def open(self, now=None):
        """Still to be answered: not sent back, not revoked, not expired, not locked."""
        now = now or timezone.now()
        return self.filter(response__isnull=True, revoked_at__isnull=True, locked_at__isnull=True, expires_at__gt=now)


class QuestionnaireRequest(PatientDataMixin, models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaires")
    session = models.ForeignKey(
        "treatment_sessions.TreatmentSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="questionnaires",
        help_text="The appointment it prepares for, if it was sent for one.",
    )
    visit_on = models.DateField(help_text="The day of the visit: age and preparation are worked out for it.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who sent it; empty when it went automatically with a booking.",
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    failed_checks = models.PositiveSmallIntegerField(default=0, help_text="Wrong dates of birth in a row.")
    locked_at = models.DateTimeField(null=True, blank=True)
    draft = models.JSONField(default=dict, blank=True, help_text="The answers so far, as the patient gave them.")
    draft_saved_at = models.DateTimeField(null=True, blank=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="questionnaire_patient_recent")]

    def __str__(self):
        return f"Questionnaire for the visit of {self.visit_on:%Y-%m-%d}"

    def problem(self, now=None):
        """Why it cannot be answered now ("" if it can): answered, revoked, locked or expired."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.locked_at is not None:
            return "locked"
        if hasattr(self, "response"):
            return "answered"
        if now >= self.expires_at:
            return "expired"
        return ""

    @property
    def tries_left(self):
        return max(MAX_DATE_OF_BIRTH_TRIES - self.failed_checks, 0)


class QuestionnaireLink(models.Model):
    request = models.ForeignKey(QuestionnaireRequest, on_delete=models.CASCADE, related_name="links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Link to {self.request}"

    @staticmethod
    def digest(token):
        return hashlib.sha256(token.encode()).hexdigest()


class PatientMessage(models.TextChoices):
    THANKS = "thanks", _("Thank you: the clinic will review the answers")
    CALL = "call", _("Please call the clinic before the appointment")


class QuestionnaireResponse(PatientDataMixin, models.Model):
    request = models.OneToOneField(QuestionnaireRequest, on_delete=models.PROTECT, related_name="response")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaire_responses")
    submitted_at = models.DateTimeField(default=timezone.now)
    language = models.CharField(max_length=5, help_text="The language the patient answered in.")
    given = models.JSONField(help_text="The answers as the patient gave them, free text included.")
    answers = models.JSONField(help_text="The answers as the engine read them (the screen contract's shape).")
    goals = models.TextField(blank=True)
    previous_treatments = models.TextField(blank=True)
    findings = models.JSONField()
    verdict = models.CharField(max_length=10)
    rules_version = models.CharField(max_length=40)
    patient_message = models.CharField(max_length=10, choices=PatientMessage.choices)
    instructions = models.JSONField(default=list, help_text="The preparation the patient was shown.")
    adopted_screening = models.OneToOneField(
        "screening.Screening", null=True, blank=True, on_delete=models.PROTECT, related_name="questionnaire"
    )
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    ADOPTION = ("adopted_screening", "adopted_at", "adopted_by")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["patient", "-submitted_at"], name="questionnaire_response_recent")]

    def __str__(self):
        return f"Questionnaire answered on {self.submitted_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        """What the patient sent is never changed; only its adoption is recorded, once."""
        if not self._state.adding and set(kwargs.get("update_fields") or ()) - set(self.ADOPTION):
            raise ValidationError("A returned questionnaire cannot be changed.")
        if not self._state.adding and not kwargs.get("update_fields"):
            raise ValidationError("A returned questionnaire cannot be changed.")
        super().save(*args, **kwargs)

    @property
    def recorded_at(self):
        """For screening.instructions, which reads a screening's findings and when they were given."""
        return self.submitted_at

    @property
    def consultation(self):
        return self

    @property
    def is_adopted(self):
        return self.adopted_screening_id is not None
