import zoneinfo

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", _("Practitioner")
    SCHEDULER = "scheduler", _("Clinic admin")
    PATIENT = "patient", _("Patient")


STAFF_ROLES = (Role.PRACTITIONER, Role.SCHEDULER)


class UserQuerySet(models.QuerySet):
    def practitioners(self):
        return self.filter(role=Role.PRACTITIONER, is_active=True)


class ClinicUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person who signs in. The role decides what they may see.

    A blank role is for technical superusers, who work in the Django admin only.
    """

    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    title = models.CharField(max_length=30, blank=True, help_text="Shown before the name, e.g. Dr.")
    # The language the staff member reads the app in; blank follows the clinic's default.
    # Patients read it in their record's preferred language instead.
    language = models.CharField(
        _("language"),
        max_length=5,
        choices=settings.LANGUAGES,
        blank=True,
        # In the database too: rows written by code that predates the column (older migrations'
        # models, raw inserts) still get "follow the clinic".
        db_default="",
        help_text=_("Blank: the clinic's default language."),
    )

    objects = ClinicUserManager()

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        name = self.get_full_name() or self.username
        return f"{self.title} {name}" if self.title else name

    @property
    def is_practitioner(self):
        return self.role == Role.PRACTITIONER

    @property
    def is_scheduler(self):
        return self.role == Role.SCHEDULER

    @property
    def is_patient_user(self):
        return self.role == Role.PATIENT

    @property
    def is_clinic_staff(self):
        return self.role in STAFF_ROLES


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Istanbul.")


# Türkiye regulates mesotherapy as a traditional and complementary medicine practice: only a
# physician certified for it may perform it, in a health facility the Ministry authorised.
DEFAULT_REGULATORY_NOTICE = (
    "In Türkiye, mesotherapy is regulated by the Ministry of Health as a traditional and complementary "
    "medicine practice (Regulation on Traditional and Complementary Medicine Practices, 2014). It may be "
    "done only by a physician certified for it, in a health facility the Ministry has authorised. You may "
    "ask to see our physician's certificate and our authorisation."
)
DEFAULT_REGULATORY_NOTICE_TR = (
    "Türkiye'de mezoterapi, Sağlık Bakanlığı tarafından Geleneksel ve Tamamlayıcı Tıp Uygulamaları "
    "Yönetmeliği (2014) kapsamında düzenlenen bir uygulamadır. Yalnızca bu uygulama için sertifikası olan "
    "bir hekim tarafından, Bakanlığın izin verdiği bir sağlık kuruluşunda yapılabilir. Hekimimizin "
    "sertifikasını ve kuruluşumuzun iznini görmek isteyebilirsiniz."
)


class Clinic(models.Model):
    """The clinic this installation serves. There is one."""

    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, help_text="Printed on aftercare sheets: whom to call.")
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    timezone = models.CharField(
        max_length=64,
        default="Europe/Istanbul",
        validators=[validate_timezone],
        help_text="All appointments are planned in this zone's wall-clock time.",
    )
    staff_language = models.CharField(
        _("staff language"),
        max_length=5,
        choices=settings.LANGUAGES,
        default="en",
        db_default="en",
        help_text=_("The language of the staff app for users who have not chosen one."),
    )
    # A consent is the document a clinic shows a court: by default the patient draws a signature
    # as well as typing their name. A clinic whose patients cannot draw one turns this off.
    consent_requires_signature = models.BooleanField(
        _("drawn signature required on consent"),
        default=True,
        help_text=_("The patient must draw a signature on the pad before a consent can be signed."),
    )
    # What the law where the clinic practises says about mesotherapy, printed on every consent
    # beside the fact (about the US) that the FDA has not approved it. Each language's own text.
    consent_regulatory_notice = models.TextField(
        _("regulatory notice on consent (English)"),
        blank=True,
        default=DEFAULT_REGULATORY_NOTICE,
        help_text=_(
            "What patients must be told about mesotherapy where the clinic practises. Check it with your lawyer."
        ),
    )
    consent_regulatory_notice_tr = models.TextField(
        _("regulatory notice on consent (Turkish)"),
        blank=True,
        default=DEFAULT_REGULATORY_NOTICE_TR,
        help_text=_("The same notice in Turkish, for patients who read Turkish."),
    )

    def __str__(self):
        return self.name

    def regulatory_notice(self, language):
        """The notice in `language` ('en' or 'tr'); the other language's if that one is empty."""
        if language == "tr":
            return self.consent_regulatory_notice_tr or self.consent_regulatory_notice
        return self.consent_regulatory_notice or self.consent_regulatory_notice_tr

    @cached_property
    def zone(self):
        return zoneinfo.ZoneInfo(self.timezone)

    @classmethod
    def current(cls):
        clinic = cls.objects.order_by("pk").first()
        if clinic is None:
            clinic = cls.objects.create(name="MesoClinic", phone="")
        return clinic


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class TimeRangeMixin(models.Model):
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        abstract = True
        ordering = ["weekday", "starts"]

    def clean(self):
        if self.starts and self.ends and self.ends <= self.starts:
            raise ValidationError({"ends": "Must be after the start."})


class OpeningHours(TimeRangeMixin):
    """When the clinic is open on a weekday; two rows make a lunch break."""

    class Meta(TimeRangeMixin.Meta):
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=models.F("starts")), name="opening_ends_after_start")
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class DateRangeMixin(models.Model):
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="Inclusive.")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True
        ordering = ["starts_on"]

    def clean(self):
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "Cannot be before the first day."})


class Closure(DateRangeMixin):
    """Days the whole clinic is closed: public holidays, refurbishment."""

    class Meta(DateRangeMixin.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="closure_dates_ordered")
        ]

    def __str__(self):
        return f"Closed {self.starts_on}–{self.ends_on} {self.reason}".strip()


class Room(models.Model):
    name = models.CharField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class WorkingHours(TimeRangeMixin):
    practitioner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="working_hours")

    class Meta(TimeRangeMixin.Meta):
        verbose_name_plural = "working hours"
        ordering = ["practitioner", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=models.F("starts")), name="working_ends_after_start")
        ]

    def __str__(self):
        return f"{self.practitioner} {self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Absence(DateRangeMixin):
    practitioner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="absences")

    class Meta(DateRangeMixin.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="absence_dates_ordered")
        ]

    def __str__(self):
        return f"{self.practitioner} away {self.starts_on}–{self.ends_on}"


class AuditImmutableError(Exception):
    """The audit trail is append-only."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("Audit entries cannot be changed.")

    def delete(self):
        raise AuditImmutableError("Audit entries cannot be deleted.")

    def for_patient(self, patient_id):
        return self.filter(patient_id=patient_id)


class AuditEntryManager(LogEntryManager.from_queryset(AuditEntryQuerySet)):
    pass


class AuditEntry(AbstractLogEntry):
    """django-auditlog's entry, plus the patient it concerns.

    auditlog records who changed what and from where; we add `patient_id` so a patient's
    whole access history is one indexed query, and make the table append-only (here, and
    on PostgreSQL with a trigger; see migration 0002).
    """

    # A plain number, not a foreign key: the history must outlive the record it describes.
    patient_id = models.BigIntegerField(null=True, blank=True)
    # auditlog nulls the actor (and keeps actor_email) when a user is deleted, and drops the
    # entries of a deleted content type: both rewrite entries, which the trail refuses. So a
    # user the trail names cannot be deleted (deactivate them: is_active), nor can a content
    # type it names; the refusal comes before any row is touched.
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        blank=True,
        null=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", verbose_name=_("content type")
    )

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["patient_id", "-timestamp"], name="audit_patient_time")]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError("Audit entries cannot be changed.")
        if self.patient_id is None and self.additional_data:
            self.patient_id = self.additional_data.get("patient_id")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("Audit entries cannot be deleted.")

    @property
    def what(self):
        """A line a practitioner can read: 'Viewed screening', 'Changed phone'."""
        data = self.additional_data or {}
        if data.get("summary"):  # an event in its own words (a merge of two records)
            return data["summary"]
        # The entry stores the page's English name; it is read in the reader's language where the
        # catalogue has it (the views mark their page names with gettext_noop).
        if self.action == self.Action.ACCESS:
            page = data.get("page")
            return gettext("Viewed %(page)s") % {"page": gettext(page) if page else self.object_repr}
        label = data.get("label")
        label = gettext(label) if label else self.content_type.name
        if self.action == self.Action.UPDATE and self.changes:
            fields = ", ".join(sorted(self.changes))
            return gettext("Changed %(what)s: %(fields)s") % {"what": label, "fields": fields}
        verb = {
            self.Action.CREATE: gettext("Created %(what)s"),
            self.Action.UPDATE: gettext("Changed %(what)s"),
            self.Action.DELETE: gettext("Deleted %(what)s"),
        }[self.action]
        return verb % {"what": label}
