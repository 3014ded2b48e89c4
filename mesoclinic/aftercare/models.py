"""Aftercare: the instructions (cited fixtures), each session's sheet, and links to it.

A sheet is assembled once, when the chart is signed, from what was actually done; it is
stored as it was given, and rendered in the patient's language when it is read.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.audit import PatientDataMixin


class Section(models.TextChoices):
    NORMAL = "normal", "What is normal"
    DO = "do", "Do"
    DONT = "dont", "Do not"
    CALL = "call", "Call us if"
    EVENT = "event", "Noted today"
    GENERAL = "general", "Good to know"


class AftercareInstruction(models.Model):
    """One sentence of advice, in plain English, with the documents it rests on.

    `applies` says when it belongs on a sheet: {"always": true}, or any of
    {"areas": [...]}, {"indications": [...]}, {"ingredients": [...]} (a class matches its
    members), {"skin_type_at_least": 4}, {"adverse_events": [...]}. Text may contain
    {until}: the end of `hours` after the session, in the patient's words and time.
    """

    code = models.SlugField(primary_key=True, max_length=60)
    section = models.CharField(max_length=10, choices=Section.choices)
    text = models.TextField(help_text="English, plain words. Translations live in the locale files.")
    hours = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For {until}: hours after the session.")
    applies = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField(default=100)
    sources = models.JSONField()

    class Meta:
        ordering = ["section", "position", "code"]

    def __str__(self):
        return f"{self.get_section_display()}: {self.text[:60]}"


class AftercareSheet(PatientDataMixin, models.Model):
    """The sheet of one completed session, as it was assembled when the chart was signed."""

    session = models.OneToOneField(
        "treatment_sessions.TreatmentSession", on_delete=models.PROTECT, related_name="aftercare_sheet"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="aftercare_sheets")
    content = models.JSONField()
    generated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-generated_at"]

    def __str__(self):
        return f"Aftercare sheet of {self.session}"

    def get_absolute_url(self):
        return reverse("aftercare:sheet", args=[self.pk])


class SheetLink(models.Model):
    """A link to a sheet sent by email: valid for 72 hours, revocable, and carrying no
    personal data (a random token; only its hash is stored)."""

    sheet = models.ForeignKey(AftercareSheet, on_delete=models.CASCADE, related_name="links")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Link to {self.sheet} until {self.expires_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def digest(token):
        return hashlib.sha256(token.encode()).hexdigest()

    def is_valid(self, now=None):
        return self.revoked_at is None and (now or timezone.now()) < self.expires_at
