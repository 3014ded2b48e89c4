import contextlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.core.audit import PatientDataMixin

from . import phones
from .names import fold_name


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", pgettext_lazy("sex", "Other")
    UNKNOWN = "unknown", _("Not stated")


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    TURKISH = "tr", "Türkçe"


class ContactBy(models.TextChoices):
    """How reminders and aftercare links reach the patient."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")
    BOTH = "both", _("Email and text message")


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
    # Stored as E.164 (+905321234567) whatever way it was typed; shown with `phone_display`.
    phone = models.CharField(max_length=24, blank=True, help_text="Any format, e.g. 0532 123 45 67 or +44 7700 900123.")
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    preferred_language = models.CharField(
        "preferred language",
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="Aftercare sheets and emails are written in this language.",
    )
    # Blank when nobody chose: clean() (every form and service save) then picks email where there
    # is an address, else a text message where there is a phone; a row saved blank otherwise
    # (a bulk import) is sent email.
    contact_by = models.CharField(
        _("send reminders by"),
        max_length=5,
        choices=ContactBy.choices,
        blank=True,
        help_text=_("Reminders and aftercare links. Text messages go to the phone number above."),
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
    # The name folded as the front desk types it ("ayse gulsen ozturk"): search matches this,
    # through a trigram index on PostgreSQL (migration 0004), so "ozturk" and "YILMAZ" find
    # Öztürk and Yılmaz. Kept by save() and by `refresh_search_name` for bulk inserts.
    search_name = models.CharField(max_length=200, blank=True, editable=False)
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

    def clean(self):
        # Whatever way the number reached us (a form, the admin), it is kept as E.164; a form
        # has already refused what is no number, so anything left unparsable stays as typed.
        for field in ("phone", "emergency_contact_phone"):
            with contextlib.suppress(phones.PhoneNumberError):
                setattr(self, field, phones.to_e164(getattr(self, field)))
        self.clean_contact_by()

    def clean_contact_by(self):
        """A channel is chosen only where it has an address to go to (the error sits beside the
        choice); left blank, it is email where there is an address, else a text message."""
        if not self.contact_by:
            self.contact_by = ContactBy.SMS if self.phone and not self.email else ContactBy.EMAIL
        if self.contact_by in (ContactBy.SMS, ContactBy.BOTH) and not self.phone:
            raise ValidationError({"contact_by": _("Add a phone number to send text messages, or choose email.")})
        if self.contact_by == ContactBy.BOTH and not self.email:
            raise ValidationError({"contact_by": _("Add an email address to send both, or choose text message.")})
        if self.contact_by == ContactBy.EMAIL and not self.email and self.phone:
            raise ValidationError({"contact_by": _("There is no email address: add one, or choose text message.")})

    def save(self, *args, **kwargs):
        self.refresh_search_name()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"given_name", "family_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def refresh_search_name(self):
        self.search_name = fold_name(f"{self.given_name} {self.family_name}")[:200]
        return self

    def get_absolute_url(self):
        return reverse("desk:patient", args=[self.pk])

    @property
    def is_archived(self):
        return self.archived_at is not None

    @property
    def display_name(self):
        return f"{self.given_name} {self.family_name}"

    @property
    def phone_display(self):
        return phones.formatted(self.phone)

    @property
    def emergency_contact_phone_display(self):
        return phones.formatted(self.emergency_contact_phone)

    def age_on(self, day):
        years = day.year - self.date_of_birth.year
        if (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day):
            years -= 1
        return years

    @property
    def age(self):
        return self.age_on(timezone.localdate())
