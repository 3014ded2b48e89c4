"""Sessions on the calendar, the series they belong to, and what happens at each.

A session is stored as aware datetimes (UTC in the database). Series are planned in the
clinic's wall-clock time, so a weekly 10:00 stays 10:00 across daylight-saving changes.
On PostgreSQL, exclusion constraints refuse overlapping sessions for the same
practitioner, room or patient (migration 0002); on SQLite the services check the same rule.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.core.audit import PatientDataMixin
from mesoclinic.plans.models import Technique


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


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
    recheck = models.OneToOneField(
        "screening.Screening",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="session",
        help_text="The re-check on the day (a screening of kind recheck).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    timed_at = models.DateTimeField(
        default=timezone.now,
        help_text="When the session got its current time (booked or last moved): the patient's preparation counts from here.",
    )

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
            # A live session (any status but cancelled: a no-show used its place) has a number
            # of its own within the plan; scheduling.services renumbers them in time order.
            models.UniqueConstraint(
                fields=["plan", "sequence"],
                condition=~Q(status=SessionStatus.CANCELLED),
                name="session_number_once_per_plan",
            ),
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


# --- The day of the session: re-check, chart, photos, lots --------------------------------


class ChartLockedError(Exception):
    """A signed chart is never changed; corrections are addenda."""


class Anaesthetic(models.TextChoices):
    NONE = "none", _("None")
    TOPICAL = "topical", _("Topical anaesthetic cream")
    IN_COCKTAIL = "in_cocktail", _("Local anaesthetic in the cocktail")


class Chart(PatientDataMixin, models.Model):
    """What was actually done at a session. Signing locks it."""

    session = models.OneToOneField(TreatmentSession, on_delete=models.PROTECT, related_name="chart")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="charts")
    technique = models.CharField(max_length=20, choices=Technique.choices)
    depth_mm = models.DecimalField("depth (mm)", max_digits=3, decimal_places=1)
    needle_gauge = models.PositiveSmallIntegerField("needle gauge (G)")
    anaesthetic = models.CharField(max_length=12, choices=Anaesthetic.choices, default=Anaesthetic.NONE)
    duration_minutes = models.PositiveSmallIntegerField("duration (minutes)")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self):
        return f"Chart of {self.session}"

    def save(self, *args, **kwargs):
        if not self._state.adding and Chart.objects.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise ChartLockedError("This chart is signed; add an addendum instead.")
        super().save(*args, **kwargs)

    @property
    def is_signed(self):
        return self.signed_at is not None


class LockedWithChart(models.Model):
    """Rows of a chart (areas, products, events, measurements) lock when the chart is signed."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if Chart.objects.filter(pk=self.chart_id, signed_at__isnull=False).exists():
            raise ChartLockedError("This chart is signed; add an addendum instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Chart.objects.filter(pk=self.chart_id, signed_at__isnull=False).exists():
            raise ChartLockedError("This chart is signed; add an addendum instead.")
        return super().delete(*args, **kwargs)


class ChartArea(LockedWithChart):
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="areas")
    area = models.ForeignKey(
        "screening.Term", on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": "area"}
    )
    volume_ml = models.DecimalField("volume (ml)", max_digits=4, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chart", "area"], name="chart_area_once")]

    def __str__(self):
        return f"{self.area} {self.volume_ml} ml"


class Lot(models.Model):
    """A batch of a product, as printed on the box: its number and expiry date, and how much of
    it is on the shelf.

    `on_hand_ml` is counted from the deliveries received (stock/): a lot first typed at a chart,
    before the clinic counted stock, has none (`None`: not counted) and is used as before. The
    database refuses a negative quantity, so two charts signed at once cannot both take the last
    millilitre. A recalled lot may not be charted again."""

    product = models.ForeignKey("plans.Product", on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=60)
    expires_on = models.DateField()
    on_hand_ml = models.DecimalField(
        "on hand (ml)", max_digits=9, decimal_places=2, null=True, blank=True, help_text="Empty: not counted."
    )
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["product", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="lot_unique_per_product"),
            models.CheckConstraint(
                condition=Q(on_hand_ml__gte=0) | Q(on_hand_ml__isnull=True), name="lot_stock_never_negative"
            ),
        ]
        indexes = [models.Index(fields=["lot_number"], name="lot_number")]

    def __str__(self):
        return f"{self.product} lot {self.lot_number} (exp. {self.expires_on:%Y-%m-%d})"


class StockMovementKind(models.TextChoices):
    RECEIVED = "received", _("Received")
    USED = "used", _("Used at a session")
    ADJUSTED = "adjusted", _("Counted and corrected")
    DISCARDED = "discarded", _("Discarded")


class StockMovement(models.Model):
    """One change to a lot's quantity, never edited: the stock's own history (who received a
    delivery from which supplier, which signed chart took how much)."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=10, choices=StockMovementKind.choices)
    change_ml = models.DecimalField(max_digits=9, decimal_places=2)
    on_hand_after_ml = models.DecimalField(max_digits=9, decimal_places=2)
    units = models.PositiveIntegerField(null=True, blank=True, help_text="Vials or ampoules received.")
    supplier = models.CharField(max_length=120, blank=True)
    chart = models.ForeignKey("Chart", null=True, blank=True, on_delete=models.PROTECT, related_name="stock_movements")
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lot", "-at"], name="stock_movement_lot_recent")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.change_ml:+} ml of {self.lot}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("A stock movement is history: record a correction instead.")
        super().save(*args, **kwargs)


class Syringe(LockedWithChart):
    """A mixture prepared once at a session and used for many points: its products, each from a
    lot, in proportions that add up to 100 %."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="syringes")
    label = models.CharField(max_length=20, help_text='How the practitioner calls it, e.g. "A".')

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["chart", "label"], name="syringe_label_once")]

    def __str__(self):
        return f"Syringe {self.label}"


class SyringeComponent(LockedWithChart):
    syringe = models.ForeignKey(Syringe, on_delete=models.CASCADE, related_name="components")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="syringe_uses")
    percent = models.DecimalField(max_digits=5, decimal_places=2, help_text="Share of the syringe's volume.")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(percent__gt=0) & Q(percent__lte=100), name="syringe_share_sensible"),
        ]

    @property
    def chart_id(self):
        return self.syringe.chart_id

    def __str__(self):
        return f"{self.lot} {self.percent} %"


class PointShape(models.TextChoices):
    POINT = "point", _("Point")
    ZONE = "zone", _("Zone (painted area)")


class InjectionPoint(LockedWithChart):
    """Where one injection (or one painted zone, for nappage) went on a diagram: coordinates in
    the diagram's own units (0-100 across and down), from which syringe, how deep, how."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="points")
    syringe = models.ForeignKey(Syringe, on_delete=models.PROTECT, related_name="points")
    diagram = models.CharField(max_length=30, help_text="The diagram's code, e.g. face_front.")
    area = models.ForeignKey(
        "screening.Term", on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": "area"}
    )
    shape = models.CharField(max_length=5, choices=PointShape.choices, default=PointShape.POINT)
    x = models.DecimalField(max_digits=5, decimal_places=2)
    y = models.DecimalField(max_digits=5, decimal_places=2)
    outline = models.JSONField(default=list, blank=True, help_text="A zone's outline: [[x, y], ...].")
    depth_mm = models.DecimalField("depth (mm)", max_digits=3, decimal_places=1)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    needle_gauge = models.PositiveSmallIntegerField("needle gauge (G)", null=True, blank=True)
    volume_ml = models.DecimalField("volume (ml)", max_digits=5, decimal_places=3)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(x__gte=0, x__lte=100, y__gte=0, y__lte=100), name="point_inside_its_diagram"
            ),
            models.CheckConstraint(condition=Q(volume_ml__gt=0), name="point_volume_positive"),
        ]

    def __str__(self):
        return f"{self.get_shape_display()} on {self.area}: {self.volume_ml} ml"


class ProductUse(LockedWithChart):
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="products_used")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="uses")
    volume_ml = models.DecimalField("volume (ml)", max_digits=4, decimal_places=2)

    def __str__(self):
        return f"{self.lot} {self.volume_ml} ml"


class AdverseEventType(models.Model):
    """A coded side effect, drawn from the documents (fixtures/adverse_events.yaml)."""

    code = models.SlugField(primary_key=True, max_length=40)
    label = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    # For Turkish-speaking staff (screening.bilingual.text picks the language; blank: the English).
    label_tr = models.CharField("label (Turkish)", max_length=80, blank=True)
    description_tr = models.TextField("description (Turkish)", blank=True)
    follow_up_days = models.PositiveSmallIntegerField(default=2, help_text="When to follow up by default.")
    position = models.PositiveSmallIntegerField(default=100)
    sources = models.JSONField()

    class Meta:
        ordering = ["position", "label"]

    def __str__(self):
        return self.label


class AdverseSeverity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class AdverseEvent(LockedWithChart):
    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="adverse_events")
    type = models.ForeignKey(AdverseEventType, on_delete=models.PROTECT, related_name="events")
    severity = models.CharField(max_length=10, choices=AdverseSeverity.choices)
    notes = models.CharField(max_length=300, blank=True)
    follow_up_on = models.DateField("follow up on", null=True, blank=True)

    class Meta:
        ordering = ["id"]
        # The open follow-ups (treatment_sessions.status, on Today and the patient page) are
        # the recent ones: read from here, not from every adverse event of ten years.
        indexes = [
            models.Index(
                fields=["follow_up_on"], name="adverse_event_follow_up", condition=Q(follow_up_on__isnull=False)
            )
        ]

    def __str__(self):
        return f"{self.type} ({self.get_severity_display().lower()})"


class Measurement(LockedWithChart):
    """One value measured at a session. `measure` is the outcome measure it belongs to (its range
    was checked on the chart); empty for the practitioner's own "other" measurement, which only
    `kind` names. A plan's first measured session is its baseline (outcomes.progress)."""

    chart = models.ForeignKey(Chart, on_delete=models.CASCADE, related_name="measurements")
    measure = models.ForeignKey(
        "plans.OutcomeMeasure", null=True, blank=True, on_delete=models.PROTECT, related_name="measurements"
    )
    kind = models.CharField(max_length=120, help_text="What was measured, e.g. thigh circumference.")
    value = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=20, blank=True)

    def __str__(self):
        return f"{self.kind}: {self.value} {self.unit}".strip()


class Addendum(models.Model):
    """A correction or later note on a signed chart; the chart itself stays as signed."""

    chart = models.ForeignKey(Chart, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "addenda"

    def __str__(self):
        return f"Addendum to {self.chart} by {self.author}"

    def get_additional_data(self):
        return {"patient_id": self.chart.patient_id, "label": "chart addendum"}


class PhotoKind(models.TextChoices):
    BEFORE = "before", pgettext_lazy("photos before the treatment", "Before")
    AFTER = "after", pgettext_lazy("photos after the treatment", "After")


def photo_path(instance, filename):
    # A random name: the file name must not carry the patient's identity.
    return f"photos/{timezone.now():%Y/%m}/{secrets.token_hex(16)}.jpg"


class SessionPhoto(PatientDataMixin, models.Model):
    """A clinical photo, stripped of metadata, stored outside the static folders."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="photos")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=10, choices=PhotoKind.choices)
    image = models.ImageField(upload_to=photo_path, width_field="width", height_field="height")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    caption = models.CharField(max_length=120, blank=True)
    # The area photographed: a later photo is compared with a baseline of the same area, and the
    # camera shows the previous photo of that area faintly so the angle repeats.
    area = models.ForeignKey(
        "screening.Term",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "area"},
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self):
        return f"{self.get_kind_display()} photo of session {self.session.sequence}"


class PhotoAlignment(PatientDataMixin, models.Model):
    """How a later photo lines up with a baseline photo of the same area (photos.alignment).

    The practitioner clicks the same two or three landmarks (the eyes, the nose tip) on each
    photo, in pixels of the stored images; the similarity transform that maps the later photo's
    landmarks onto the baseline's is kept with its fit, so the aligned pair is redrawn the same
    way every time. A new alignment of the same pair replaces the old one in use (newest wins).
    """

    baseline = models.ForeignKey(SessionPhoto, on_delete=models.PROTECT, related_name="+")
    later = models.ForeignKey(SessionPhoto, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    baseline_points = models.JSONField(help_text="[[x, y], ...] in the baseline photo's pixels.")
    later_points = models.JSONField(help_text="The same landmarks, in the same order, on the later photo.")
    scale = models.FloatField()
    rotation_degrees = models.FloatField()
    shift_x = models.FloatField()
    shift_y = models.FloatField()
    residual_px = models.FloatField(help_text="Mean distance left between matched landmarks after aligning.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["baseline", "later", "-created_at"], name="alignment_pair")]

    def __str__(self):
        return f"Alignment of photo {self.later_id} onto {self.baseline_id}"


# --- Reminders -------------------------------------------------------------------------------


class ReminderKind(models.TextChoices):
    HOLD = "hold", "Preparation reminder"
    APPOINTMENT = "appointment", "Appointment reminder"
    FOLLOW_UP = "follow_up", "Follow-up after the session"
    AFTERCARE = "aftercare", "Aftercare sheet"
    CHANGE = "change", "Appointment moved or cancelled"
    QUESTIONNAIRE = "questionnaire", "Pre-visit questionnaire"
    QUESTIONNAIRE_CHASE = "questionnaire_chase", "Questionnaire not yet returned"
    RECALL = "recall", "Product recall notice"
    PROGRESS_REPORT = "progress_report", "Progress report"


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Due"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Not sent"


class ReminderChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"


class Reminder(PatientDataMixin, models.Model):
    """A message to a patient, stored as a row with its due time and sent once.

    `key` is unique: the same reminder is never created twice, and a session moved to a new
    time gets new keys (the old reminders are cancelled, the sent ones stay as history).
    """

    key = models.CharField(max_length=200, unique=True)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="reminders")
    session = models.ForeignKey(
        TreatmentSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    details = models.JSONField(default=dict, blank=True, help_text="What the message needs: the hold, a link...")
    subject = models.CharField(max_length=200, blank=True)
    # One row per channel: a reminder the patient takes by email and SMS is two rows (the SMS
    # row's key is the email row's and "+sms"), each locked, sent and marked on its own.
    channel = models.CharField(max_length=5, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL)
    recipient = models.CharField(max_length=254, blank=True, help_text="The email address or phone it went to.")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="reminder_due"),
            # The outbox's history, newest first (reminders.selectors.reminder_history): all of
            # it, and one status of it, read a page along these instead of sorting every row.
            models.Index(
                models.functions.Coalesce("sent_at", "due_at").desc(),
                models.F("id").desc(),
                name="reminder_history",
                condition=Q(status__in=[ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.CANCELLED]),
            ),
            models.Index(
                models.F("status"),
                models.functions.Coalesce("sent_at", "due_at").desc(),
                models.F("id").desc(),
                name="reminder_history_status",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.patient} due {self.due_at:%Y-%m-%d %H:%M}"
