"""Sessions on the calendar, the series they belong to, and what happens at each.

A session is stored as aware datetimes (UTC in the database). Series are planned in the
clinic's wall-clock time, so a weekly 10:00 stays 10:00 across daylight-saving changes.
On PostgreSQL, exclusion constraints refuse overlapping sessions for the same
practitioner, room or patient (migration 0002); on SQLite the services check the same rule.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.audit import PatientDataMixin


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Cancelled sessions free their slot; every other status keeps it.
OCCUPYING = (SessionStatus.SCHEDULED, SessionStatus.COMPLETED, SessionStatus.NO_SHOW)


class SessionSeries(PatientDataMixin, models.Model):
    """The sessions booked together for one plan. Removing it never removes its sessions."""

    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="series")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="series")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "session series"
        ordering = ["-created_at"]

    def __str__(self):
        return f"Series of {self.plan}"


class TreatmentSessionQuerySet(models.QuerySet):
    def occupying(self):
        return self.filter(status__in=OCCUPYING)

    def overlapping(self, starts_at, ends_at):
        return self.occupying().filter(starts_at__lt=ends_at, ends_at__gt=starts_at)

    def between(self, start, end):
        return self.filter(starts_at__lt=end, ends_at__gt=start)

    def upcoming(self, now=None):
        return self.filter(status=SessionStatus.SCHEDULED, starts_at__gte=now or timezone.now()).order_by("starts_at")


class TreatmentSession(PatientDataMixin, models.Model):
    series = models.ForeignKey(SessionSeries, on_delete=models.PROTECT, related_name="sessions")
    plan = models.ForeignKey("plans.Plan", on_delete=models.PROTECT, related_name="sessions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="sessions")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions")
    room = models.ForeignKey("core.Room", on_delete=models.PROTECT, related_name="sessions")
    sequence = models.PositiveSmallIntegerField(help_text="Session number within the plan: 1 of 8, 2 of 8...")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED)
    change_note = models.CharField(
        max_length=200, blank=True, help_text="Why it last changed (kept in the audit trail)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TreatmentSessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["practitioner", "starts_at"], name="session_practitioner_time"),
            models.Index(fields=["room", "starts_at"], name="session_room_time"),
            models.Index(fields=["patient", "starts_at"], name="session_patient_time"),
            models.Index(fields=["status", "starts_at"], name="session_status_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self):
        return f"Session {self.sequence} of {self.patient} on {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("treatment_sessions:session", args=[self.pk])

    @property
    def duration(self):
        return self.ends_at - self.starts_at

    @property
    def is_scheduled(self):
        return self.status == SessionStatus.SCHEDULED


def plan_progress(plans):
    """{plan id: sessions completed} for several plans in one query."""
    rows = (
        TreatmentSession.objects.filter(plan__in=plans, status=SessionStatus.COMPLETED)
        .values("plan")
        .annotate(done=Count("id"))
    )
    return {row["plan"]: row["done"] for row in rows}


class CalendarFeed(models.Model):
    """A private iCalendar feed URL for one practitioner. Only a hash of its token is kept."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Calendar feed of {self.owner}"

    @staticmethod
    def digest(token):
        return hashlib.sha256(token.encode()).hexdigest()
