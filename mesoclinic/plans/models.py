"""Treatment plans, the protocols they start from, and the patient's consent.

Protocols, the ingredient catalogue and consent clauses are clinical knowledge: fixtures
drawn from the source documents, cited like the screening rules. Products are the clinic's
own catalogue.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.core.audit import PatientDataMixin
from mesoclinic.patients.models import Language

from . import limits


class Technique(models.TextChoices):
    NAPPAGE = "nappage", _("Nappage (many superficial injections)")
    PAPULE = "papule", _("Papule (small intradermal blebs)")
    POINT_BY_POINT = "point_by_point", _("Point by point (deeper single points)")
    MESOGUN = "mesogun", _("Mesogun (automatic, controlled depth and dose)")
    NEEDLE_FREE = "needle_free", _("Needle-free (electroporation; less penetration)")


class CombinationTreatment(models.TextChoices):
    MICRONEEDLING = "microneedling", _("Microneedling")
    LASER = "laser", _("Laser therapy")
    MINOXIDIL = "minoxidil", _("Minoxidil")
    DUTASTERIDE = "dutasteride", _("Dutasteride")


class Protocol(models.Model):
    """The usual way to treat one indication, as the documents describe it (fixtures/protocols.yaml).

    `spacing` is a list of phases, e.g. [{"intervals": 3, "days": 7}, {"intervals": 2, "days": 14},
    {"days": 28}]: the first three gaps between sessions are a week, the next two a fortnight,
    and the rest four weeks. The last phase may omit "intervals" and then repeats.
    """

    code = models.SlugField(primary_key=True, max_length=40)
    indication = models.OneToOneField(
        "screening.Term", on_delete=models.PROTECT, related_name="protocol", limit_choices_to={"kind": "indication"}
    )
    title = models.CharField(max_length=120)
    summary = models.TextField(help_text="What the treatment aims at, in plain words.")
    # For Turkish-speaking staff (screening.bilingual.text picks the language; blank: the English).
    title_tr = models.CharField("title (Turkish)", max_length=120, blank=True)
    summary_tr = models.TextField("summary (Turkish)", blank=True)
    areas = models.ManyToManyField("screening.Term", related_name="+", limit_choices_to={"kind": "area"})
    default_areas = models.ManyToManyField(
        "screening.Term", related_name="+", blank=True, limit_choices_to={"kind": "area"}
    )
    ingredients = models.ManyToManyField("screening.Term", related_name="+", limit_choices_to={"kind": "ingredient"})
    default_ingredients = models.ManyToManyField(
        "screening.Term", related_name="+", blank=True, limit_choices_to={"kind": "ingredient"}
    )
    techniques = models.JSONField(help_text="Technique codes used for this indication.")
    default_technique = models.CharField(max_length=20, choices=Technique.choices)
    depth_min_mm = models.DecimalField(max_digits=3, decimal_places=1)
    depth_max_mm = models.DecimalField(max_digits=3, decimal_places=1)
    default_depth_mm = models.DecimalField(max_digits=3, decimal_places=1)
    gauge_min = models.PositiveSmallIntegerField()
    gauge_max = models.PositiveSmallIntegerField()
    default_gauge = models.PositiveSmallIntegerField()
    session_minutes_min = models.PositiveSmallIntegerField()
    session_minutes_max = models.PositiveSmallIntegerField()
    default_session_minutes = models.PositiveSmallIntegerField()
    sessions_min = models.PositiveSmallIntegerField()
    sessions_max = models.PositiveSmallIntegerField()
    default_sessions = models.PositiveSmallIntegerField()
    spacing = models.JSONField(help_text="Phases of the gaps between sessions (see the class docstring).")
    min_interval_days = models.PositiveSmallIntegerField(help_text="Sessions closer than this are flagged.")
    max_interval_days = models.PositiveSmallIntegerField(help_text="Gaps longer than this are flagged.")
    combinations = models.JSONField(
        default=list, blank=True, help_text="Combination treatments the documents describe."
    )
    evidence = models.TextField(blank=True, help_text="What the cited studies found, with their session counts.")
    sources = models.JSONField(help_text='[{"document": "guide-2024", "citation": "section"}]')

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("plans:protocol", args=[self.code])

    def clean(self):
        problems = limits.protocol_problems(self)
        if problems:
            raise ValidationError(problems)

    @cached_property
    def usual_area_codes(self):
        return [term.code for term in self.areas.all()]

    @cached_property
    def usual_ingredient_codes(self):
        return [term.code for term in self.ingredients.all()]

    def default_intervals(self, sessions):
        """The gaps (in days) between `sessions` sessions, following the phases."""
        return limits.intervals_from_phases(self.spacing, sessions)


class Better(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class RecordedBy(models.TextChoices):
    PRACTITIONER = "practitioner", _("The practitioner, on the chart")
    PATIENT = "patient", _("The patient, or the practitioner on the chart")


class OutcomeMeasure(models.Model):
    """Something measured to see whether a course works (fixtures/outcome_measures.yaml).

    `minimum`/`maximum` are the sensible range: a value outside it is refused as a typing slip.
    `from_baseline`: progress is the change from the first value (elasticity, MASI); False for a
    scale that is itself a judgement of change (the Global Aesthetic Improvement Scale).
    """

    code = models.SlugField(primary_key=True, max_length=40)
    label = models.CharField(max_length=120)
    label_tr = models.CharField("label (Turkish)", max_length=120, blank=True)
    unit = models.CharField(max_length=30, blank=True, help_text="As printed after the number: cm, µm, points.")
    unit_tr = models.CharField("unit (Turkish)", max_length=30, blank=True)
    how = models.TextField(help_text="How to measure it so that sessions compare.")
    how_tr = models.TextField("how (Turkish)", blank=True)
    minimum = models.DecimalField(max_digits=7, decimal_places=2)
    maximum = models.DecimalField(max_digits=7, decimal_places=2)
    decimals = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(2)])
    better = models.CharField(max_length=6, choices=Better.choices)
    from_baseline = models.BooleanField(default=True)
    recorded_by = models.CharField(max_length=12, choices=RecordedBy.choices, default=RecordedBy.PRACTITIONER)
    # The patient's own wording, for a score they give through their aftercare link.
    patient_question = models.CharField(max_length=200, blank=True)
    patient_question_tr = models.CharField("patient question (Turkish)", max_length=200, blank=True)
    protocols = models.ManyToManyField(Protocol, related_name="measures", blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    sources = models.JSONField(help_text='[{"document": "guide-2024", "citation": "section"}]')

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.label

    def clean(self):
        if self.minimum is not None and self.maximum is not None and self.minimum >= self.maximum:
            raise ValidationError({"maximum": "The maximum must be above the minimum."})
        if self.recorded_by == RecordedBy.PATIENT and not self.patient_question:
            raise ValidationError({"patient_question": "A score the patient gives needs the question they read."})

    @property
    def step(self):
        return {0: "1", 1: "0.1", 2: "0.01"}[self.decimals]


class Finding(models.TextChoices):
    CHANGE = "change", _("A change from baseline, in per cent")
    SHARE = "share", _("A share of patients, in per cent")
    IMPROVED = "improved", _("Improved, with no figure given")
    NO_BENEFIT = "no_benefit", _("No benefit found")


class ReportedOutcome(models.Model):
    """What one document reports a course achieved on one measure (fixtures/outcome_measures.yaml).

    `value` is the change in per cent (negative: it went down) for CHANGE, the share of patients
    for SHARE, and empty for IMPROVED and NO_BENEFIT, which the documents give in words only.
    Where documents disagree both rows exist: the progress chart shows the figure and the caveat.
    """

    code = models.SlugField(primary_key=True, max_length=60)
    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="reported_outcomes")
    measure = models.ForeignKey(OutcomeMeasure, on_delete=models.CASCADE, related_name="reported")
    finding = models.CharField(max_length=10, choices=Finding.choices)
    value = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    sessions = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Sessions the study gave, if said.")
    study_year = models.PositiveSmallIntegerField(null=True, blank=True)
    summary = models.TextField(help_text="What the document reports, for staff, in our words.")
    summary_tr = models.TextField("summary (Turkish)", blank=True)
    patient_text = models.TextField(help_text="The same in plain words, for the patient's progress report.")
    patient_text_tr = models.TextField("patient text (Turkish)", blank=True)
    sources = models.JSONField(help_text='[{"document": "basaksehir-2025", "citation": "section"}]')

    class Meta:
        ordering = ["protocol", "measure", "code"]

    def __str__(self):
        return f"{self.protocol}: {self.measure} ({self.get_finding_display()})"

    def clean(self):
        numeric = self.finding in (Finding.CHANGE, Finding.SHARE)
        if numeric and self.value is None:
            raise ValidationError({"value": "A change or a share needs its figure."})
        if not numeric and self.value is not None:
            raise ValidationError({"value": "The documents give this finding in words; leave the figure empty."})


class IngredientInfo(models.Model):
    """The catalogue entry of an ingredient: what it is used for (fixtures/ingredients.yaml)."""

    term = models.OneToOneField(
        "screening.Term",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="catalogue",
        limit_choices_to={"kind": "ingredient"},
    )
    plain_name = models.CharField(max_length=120, help_text="What a patient would understand.")
    indications = models.ManyToManyField("screening.Term", related_name="+", limit_choices_to={"kind": "indication"})
    notes = models.TextField(blank=True)
    sources = models.JSONField()

    class Meta:
        verbose_name = "ingredient"
        ordering = ["term__label"]

    def __str__(self):
        return self.term.label


class ProductForm(models.TextChoices):
    VIAL = "vial", _("Vial")
    AMPOULE = "ampoule", _("Ampoule")
    PREFILLED_SYRINGE = "prefilled_syringe", _("Prefilled syringe")
    CARTRIDGE = "cartridge", _("Cartridge")
    OTHER = "other", pgettext_lazy("product form", "Other")


class Product(models.Model):
    """A product the clinic stocks: a brand's cocktail, with its ingredients, its form and
    strength as the maker states them, and the most the maker allows in one session."""

    name = models.CharField(max_length=120)
    manufacturer = models.CharField(max_length=120, blank=True)
    ingredients = models.ManyToManyField(
        "screening.Term", related_name="products", limit_choices_to={"kind": "ingredient"}
    )
    form = models.CharField(max_length=20, choices=ProductForm.choices, blank=True)
    concentration = models.CharField(
        max_length=120, blank=True, help_text='As the maker states it, e.g. "hyaluronic acid 20 mg/ml".'
    )
    unit_ml = models.DecimalField(
        "volume of one unit (ml)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="One vial or ampoule.",
    )
    max_ml_per_session = models.DecimalField(
        "most per session (ml)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Only where the maker states one: charting more is flagged.",
    )
    gtin = models.CharField(
        "GTIN", max_length=14, blank=True, help_text="The trade item number on the pack (the barcode's product part)."
    )
    reorder_ml = models.DecimalField(
        "reorder level (ml)",
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The stock list flags the product when less than this is on hand.",
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "manufacturer"], name="product_unique_name"),
            models.UniqueConstraint(fields=["gtin"], condition=~models.Q(gtin=""), name="product_unique_gtin"),
        ]

    def __str__(self):
        return f"{self.name} ({self.manufacturer})" if self.manufacturer else self.name


class ConsentClause(models.Model):
    """A paragraph of the consent document, cited (fixtures/consent.yaml).

    Clauses without indications apply to every plan. Each carries its Turkish beside the English
    (`heading_tr`, `text_tr`), in the fixture: a consent is a legal document the patient signs,
    so its wording is reviewed and versioned with the clause itself rather than left to a
    message catalogue, where a fuzzy entry would quietly print English.
    """

    code = models.SlugField(primary_key=True, max_length=60)
    heading = models.CharField(max_length=160)
    text = models.TextField()
    heading_tr = models.CharField("heading (Turkish)", max_length=160, blank=True)
    text_tr = models.TextField("text (Turkish)", blank=True)
    indications = models.ManyToManyField(
        "screening.Term", related_name="+", blank=True, limit_choices_to={"kind": "indication"}
    )
    position = models.PositiveSmallIntegerField(default=100)
    sources = models.JSONField()

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.heading

    def has_language(self, language):
        return language == "en" or (language == "tr" and bool(self.heading_tr and self.text_tr))

    def heading_in(self, language):
        return self.heading_tr if language == "tr" and self.heading_tr else self.heading

    def text_in(self, language):
        return self.text_tr if language == "tr" and self.text_tr else self.text


class PlanStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("plan status", "Draft")
    ACTIVE = "active", pgettext_lazy("plan status", "Active")
    COMPLETED = "completed", pgettext_lazy("plan status", "Completed")
    STOPPED = "stopped", pgettext_lazy("plan status", "Stopped")


class PlanQuerySet(models.QuerySet):
    def for_patient(self, patient):
        return self.filter(patient=patient).order_by("-created_at", "-id")

    def active(self):
        return self.filter(status=PlanStatus.ACTIVE)


class Plan(PatientDataMixin, models.Model):
    """What to treat, where, with what, how deep, how many sessions and how far apart.

    Its status changes only through services (plan_activate, plan_stop, ...): activation
    is gated on a current screening that covers the plan, and on signed consent.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="plans")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="plans")
    indication = models.ForeignKey(
        "screening.Term", on_delete=models.PROTECT, related_name="+", limit_choices_to={"kind": "indication"}
    )
    areas = models.ManyToManyField("screening.Term", related_name="+", limit_choices_to={"kind": "area"})
    ingredients = models.ManyToManyField("screening.Term", related_name="+", limit_choices_to={"kind": "ingredient"})
    products = models.ManyToManyField(Product, related_name="plans", blank=True)
    technique = models.CharField(max_length=20, choices=Technique.choices)
    depth_mm = models.DecimalField(
        "depth (mm)",
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(limits.SANE_DEPTH_MM[0]), MaxValueValidator(limits.SANE_DEPTH_MM[1])],
    )
    needle_gauge = models.PositiveSmallIntegerField(
        "needle gauge (G)",
        validators=[MinValueValidator(limits.SANE_GAUGE[0]), MaxValueValidator(limits.SANE_GAUGE[1])],
    )
    session_minutes = models.PositiveSmallIntegerField(
        "session length (minutes)",
        validators=[MinValueValidator(limits.SANE_MINUTES[0]), MaxValueValidator(limits.SANE_MINUTES[1])],
    )
    sessions_planned = models.PositiveSmallIntegerField(
        "number of sessions",
        validators=[MinValueValidator(limits.SANE_SESSIONS[0]), MaxValueValidator(limits.SANE_SESSIONS[1])],
    )
    intervals = models.JSONField(help_text="Days between consecutive sessions.")
    combinations = models.JSONField(default=list, blank=True)
    combination_notes = models.CharField(max_length=300, blank=True)
    goals = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    screening = models.ForeignKey(
        "screening.Screening",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plans",
        help_text="The screening the plan was activated on.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.TextField(blank=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "status"], name="plan_patient_status"),
            # The plans to book (scheduling.selectors.plans_to_book): the active ones, the longest
            # waiting first, without reading ten years of finished plans.
            models.Index(
                fields=["activated_at", "id"], name="plan_active_waiting", condition=models.Q(status="active")
            ),
        ]

    def __str__(self):
        return f"{self.indication.label} plan ({self.get_status_display().lower()})"

    def get_absolute_url(self):
        return reverse("plans:detail", args=[self.pk])

    @property
    def is_draft(self):
        return self.status == PlanStatus.DRAFT

    @property
    def is_active(self):
        return self.status == PlanStatus.ACTIVE

    @property
    def minimum_spacing_days(self):
        return self.protocol.min_interval_days


def fingerprint(document_html: str) -> str:
    """A consent document's fingerprint: stored with the consent, and sent back by the signing
    page so a document that changed while it was open is not signed."""
    return hashlib.sha256(document_html.encode()).hexdigest()


class ConsentQuerySet(models.QuerySet):
    def standing(self):
        """Consents not withdrawn, newest first: a plan's current consent is the first of its
        own (plans.selectors.current_consent); the one definition of "current"."""
        return self.filter(withdrawn_at__isnull=True).order_by("-signed_at", "-id")


class Consent(PatientDataMixin, models.Model):
    """The patient's signed consent to a plan, stored as it was shown and never changed.

    Only withdrawal may be added later, once; withdrawing stops the plan.
    """

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="consents")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consents")
    document_html = models.TextField(help_text="The consent document exactly as the patient read it.")
    document_sha256 = models.CharField(max_length=64)
    signed_name = models.CharField(max_length=160)
    confirmed = models.BooleanField(help_text="The patient ticked that they read and understood it.")
    photo_consent = models.BooleanField(help_text="A separate choice: photos for the clinical record.")
    signature_png = models.BinaryField(null=True, blank=True, editable=False)
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="The language of the document the patient read and signed.",
    )
    signed_at = models.DateTimeField(default=timezone.now)
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    objects = ConsentQuerySet.as_manager()

    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    withdrawn_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    WITHDRAWAL_FIELDS = ("withdrawn_at", "withdrawn_reason", "withdrawn_recorded_by")

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self):
        return f"Consent signed {self.signed_at:%Y-%m-%d} by {self.signed_name}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            stored = Consent.objects.get(pk=self.pk)
            changed = [
                f.name
                for f in self._meta.concrete_fields
                if f.name not in self.WITHDRAWAL_FIELDS and getattr(stored, f.attname) != getattr(self, f.attname)
            ]
            if changed or stored.withdrawn_at is not None:
                raise ValidationError("A signed consent cannot be changed; only withdrawn, once.")
        else:
            self.document_sha256 = fingerprint(self.document_html)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("plans:consent_detail", args=[self.pk])

    @property
    def is_withdrawn(self):
        return self.withdrawn_at is not None

    @property
    def is_intact(self):
        """The stored document still matches the fingerprint taken when it was signed."""
        return hashlib.sha256(self.document_html.encode()).hexdigest() == self.document_sha256
