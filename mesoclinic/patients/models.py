from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.audit import PatientDataMixin


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not stated"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    TURKISH = "tr", "Türkçe"


class PatientQuerySet(models.QuerySet):
    def in_use(self):
        """Records the clinic works with: not archived (an archived record is kept, not used)."""
        return self.filter(archived_at__isnull=True)


class Patient(PatientDataMixin, models.Model):
    """A person the clinic treats: the record every screening, plan and session hangs on.

    Identity and contact details are visible to the clinic admin; `notes` and everything
    in the other apps is clinical and visible to practitioners only.
    """

    audit_patient_field = "pk"

    given_name = models.CharField("given name", max_length=80)
    family_name = models.CharField("family name", max_length=80)
    date_of_birth = models.DateField("date of birth")
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=24, blank=True, help_text="Any format, e.g. +90 532 123 45 67.")
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    preferred_language = models.CharField(
        "preferred language",
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="Aftercare sheets and emails are written in this language.",
    )
    emergency_contact_name = models.CharField("emergency contact", max_length=120, blank=True)
    emergency_contact_phone = models.CharField("emergency contact phone", max_length=24, blank=True)
    notes = models.TextField("clinical notes", blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_record",
        help_text="The patient's own login, for reading their aftercare sheets.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # An archived record is kept with its history but no longer used: hidden from search and
    # lists, no new plans or bookings. A duplicate merged into another record is archived
    # with `merged_into` set; its rows moved there, and its audit entries (which are never
    # changed) are read together with the kept record's through this pointer.
    archived_at = models.DateTimeField("archived", null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    archive_reason = models.CharField("reason for archiving", max_length=200, blank=True, editable=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records", editable=False
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [
            # Trigram indexes for name and phone search are PostgreSQL-only: migration 0002.
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["-updated_at", "-id"], name="patient_recent"),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("desk:patient", args=[self.pk])

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def display_name(self):
        return f"{self.given_name} {self.family_name}"

    def age_on(self, day):
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years

    @property
    def age(self):
        return self.age_on(timezone.localdate())
