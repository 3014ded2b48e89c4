"""The knowledge base (documents, vocabulary, rules) and the screenings recorded with it.

The knowledge base is data, loaded from fixtures/ and editable in the admin. Every rule
cites the documents it rests on. Any change bumps `KnowledgeState.revision`, which tells
every process to reload its compiled copy (see knowledge.py).
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mesoclinic.core.audit import PatientDataMixin


class SourceDocument(models.Model):
    """One of the documents the clinical knowledge is drawn from (see fixtures/sources.yaml)."""

    key = models.SlugField(primary_key=True, max_length=40, help_text="Citation key, e.g. guide-2024.")
    title = models.CharField(max_length=300)
    author = models.CharField(max_length=200, blank=True)
    year = models.PositiveSmallIntegerField()
    publication = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True, help_text="What the document is, in a sentence or two.")

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key

    def get_absolute_url(self):
        return reverse("screening:source", args=[self.key])


class TermKind(models.TextChoices):
    CONDITION = "condition", _("Condition")
    MEDICATION = "medication", _("Medication")
    INGREDIENT = "ingredient", _("Ingredient")
    ALLERGEN = "allergen", _("Other allergen")
    AREA = "area", _("Area")
    INDICATION = "indication", _("Indication")


class TermManager(models.Manager):
    def get_by_natural_key(self, kind, code):
        return self.get(kind=kind, code=code)


class Term(models.Model):
    """A word of the vocabulary: a condition, medication, ingredient, area or indication.

    Terms form classes through `parents`: lupus is an autoimmune disease, ibuprofen an NSAID.
    A rule about a class fires for every member. Codes are unique within a kind only:
    minoxidil is both a medication a patient takes and an ingredient of a cocktail.
    """

    kind = models.CharField(max_length=12, choices=TermKind.choices)
    code = models.SlugField(max_length=60, allow_unicode=False)
    label = models.CharField(max_length=120)
    label_tr = models.CharField(
        "label (Turkish)", max_length=120, blank=True, help_text="Shown to Turkish-speaking staff; blank: the English."
    )
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    synonyms = models.JSONField(default=list, blank=True, help_text="Other words that mean this term.")
    description = models.TextField(blank=True)
    is_selectable = models.BooleanField(
        default=True, help_text="Offered as a tick box on the screening form (classes usually are too)."
    )
    # How the pre-visit questionnaire asks a patient about the term, in their own words. Blank:
    # the label, which is already plain for most terms ("Eczema", "Ibuprofen").
    patient_label = models.CharField(
        "label for patients", max_length=160, blank=True, help_text='Plain words, e.g. "A cold sore now".'
    )
    patient_label_tr = models.CharField("label for patients (Turkish)", max_length=160, blank=True)
    patient_hint = models.CharField(
        "examples for patients",
        max_length=200,
        blank=True,
        help_text='What helps a patient recognise it, e.g. "Nurofen, Advil, Brufen".',
    )
    patient_hint_tr = models.CharField("examples for patients (Turkish)", max_length=200, blank=True)
    ask_patient = models.BooleanField(
        "asked in the pre-visit questionnaire",
        default=True,
        help_text="Off for what only the practitioner judges (deep wrinkles, a poorly controlled diabetes).",
    )

    objects = TermManager()

    class Meta:
        ordering = ["kind", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="term_unique_code_per_kind")]

    def __str__(self):
        return self.label

    def natural_key(self):
        return (self.kind, self.code)

    def get_absolute_url(self):
        return reverse("screening:term", args=[self.kind, self.code])

    def clean(self):
        if not isinstance(self.synonyms, list) or not all(isinstance(s, str) for s in self.synonyms):
            raise ValidationError({"synonyms": 'A list of words, e.g. ["Advil", "Nurofen"].'})


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical: defer treatment")
    WARNING = "warning", _("Warning: practitioner decides")
    INFO = "info", _("Preparation or note")


class Rule(models.Model):
    """What the engine checks. `when` is a small condition language (see engine.py).

    `sources` is a list of {"document": key, "citation": section}; every rule cites at
    least one document, and the loader refuses a rule whose document does not exist.
    """

    code = models.SlugField(primary_key=True, max_length=60)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=160)
    detail = models.TextField(help_text="Why this matters, in our own words.")
    action = models.TextField(help_text="What the practitioner should do.")
    # The same texts in Turkish, for Turkish-speaking staff (knowledge's `text()` picks the
    # language). English stays the source: a blank Turkish text shows the English.
    title_tr = models.CharField("title (Turkish)", max_length=160, blank=True)
    detail_tr = models.TextField("detail (Turkish)", blank=True)
    action_tr = models.TextField("action (Turkish)", blank=True)
    when = models.JSONField(help_text='When the rule fires, e.g. {"condition": "autoimmune_disease"}.')
    hold_substance = models.CharField(max_length=120, blank=True, help_text="What the patient must stop, if anything.")
    hold_substance_tr = models.CharField("hold substance (Turkish)", max_length=120, blank=True)
    hold_hours = models.PositiveIntegerField(null=True, blank=True, help_text="How long before the session.")
    sources = models.JSONField(help_text='[{"document": "guide-2024", "citation": "section name"}]')
    position = models.PositiveSmallIntegerField(default=100, help_text="Order within its severity.")
    override_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text='A critical rule only: how it may be overridden, e.g. ["specialist_clearance"]. Empty: never.',
    )
    prescriber_decides = models.BooleanField(
        default=False,
        help_text="Its medicines are paused only with the prescribing doctor's agreement: never an automatic hold.",
    )

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("screening:rule", args=[self.code])

    def clean(self):
        if bool(self.hold_substance) != (self.hold_hours is not None):
            raise ValidationError("A hold needs both a substance and the hours before the session.")
        from .knowledge import validate_rule_fields

        validate_rule_fields(self)


# The screening answers a patient can give at home, in the pre-visit questionnaire (the
# questionnaires app words each one; an evaluation step names which of them it asks).
PATIENT_ANSWERS = (
    "pregnant",
    "breastfeeding",
    "conditions",
    "medications",
    "allergies",
    "fitzpatrick_skin_type",
    "indication",
    "areas",
    "goals",
    "previous_treatments",
)


class EvaluationItem(models.Model):
    """A step of the pre-treatment evaluation the practitioner ticks off (cited)."""

    code = models.SlugField(primary_key=True, max_length=60)
    label = models.CharField(max_length=200)
    help_text = models.TextField(blank=True)
    label_tr = models.CharField("label (Turkish)", max_length=200, blank=True)
    help_text_tr = models.TextField("help text (Turkish)", blank=True)
    sources = models.JSONField()
    position = models.PositiveSmallIntegerField(default=100)
    # The pre-visit questionnaire is built from these steps: a step that names answers here
    # becomes a screen the patient fills in at home, titled in the patient's words.
    patient_asks = models.JSONField(
        default=list,
        blank=True,
        help_text='The screening answers the patient gives for this step at home, e.g. ["conditions", "medications"].',
    )
    patient_title = models.CharField("title for patients", max_length=120, blank=True)
    patient_title_tr = models.CharField("title for patients (Turkish)", max_length=120, blank=True)
    patient_intro = models.TextField("introduction for patients", blank=True)
    patient_intro_tr = models.TextField("introduction for patients (Turkish)", blank=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self):
        return self.label

    def clean(self):
        asks = self.patient_asks
        if not isinstance(asks, list) or any(name not in PATIENT_ANSWERS for name in asks):
            raise ValidationError({"patient_asks": f"A list of answers from: {', '.join(PATIENT_ANSWERS)}."})
        if asks and not self.patient_title:
            raise ValidationError({"patient_title": "A step asked at home needs a title for patients."})


class KnowledgeState(models.Model):
    """One row. Its revision goes up whenever any knowledge-base row changes."""

    revision = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"knowledge base revision {self.revision}"


class Verdict(models.TextChoices):
    CLEAR = "clear", pgettext_lazy("screening verdict", "Clear")
    CAUTION = "caution", pgettext_lazy("screening verdict", "Caution")
    DEFER = "defer", pgettext_lazy("screening verdict", "Defer")


class Outcome(models.TextChoices):
    """What the practitioner may do after this screening, overrides taken into account."""

    CLEAR = "clear", _("Clear to treat")
    CAUTION = "caution", _("Treat with care (warnings acknowledged)")
    OVERRIDDEN = "overridden", _("Cleared by override")
    DEFERRED = "deferred", _("Deferred")


class OverrideReason(models.TextChoices):
    """How a critical finding may be overridden. Each critical rule names the reasons it
    allows (fixtures/rules.yaml); pregnancy, breastfeeding, age and an allergy to the cocktail
    allow none. The last three were offered before every rule stated its own policy and are
    kept only so that screenings recorded with them still read in words."""

    SPECIALIST_CLEARANCE = "specialist_clearance", _("Specialist clearance on file")
    SITE_EXCLUDED = "site_excluded", _("The planned areas exclude the affected site")
    CONDITION_RESOLVED = "condition_resolved", _("Condition resolved or controlled (no longer offered)")
    NOT_APPLICABLE = "not_applicable_to_area", _("Does not apply to the planned area (no longer offered)")
    ENTERED_IN_ERROR = "entered_in_error", _("Answer entered in error (no longer offered)")


class ScreeningKind(models.TextChoices):
    CONSULTATION = "consultation", _("Screening")
    RECHECK = "recheck", _("Re-check on the day")


class ScreeningQuerySet(models.QuerySet):
    def for_patient(self, patient):
        return self.filter(patient=patient).order_by("-recorded_at", "-id")


class Screening(PatientDataMixin, models.Model):
    """A screening as it was recorded: answers, findings, the rules version, who and when.

    Never edited afterwards: a correction is a new screening. The newest screening of a
    patient supersedes the older ones.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="screenings")
    kind = models.CharField(max_length=20, choices=ScreeningKind.choices, default=ScreeningKind.CONSULTATION)
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A re-check on the day: the consultation screening it re-ran.",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answers = models.JSONField(help_text="The answers as the engine read them (vocabulary codes).")
    findings = models.JSONField(help_text="The engine's findings, as shown to the practitioner.")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    rules_version = models.CharField(max_length=40)
    decisions = models.JSONField(
        default=list, help_text="Acknowledged warnings and overridden critical findings, with reasons."
    )
    evaluation = models.JSONField(default=dict, help_text="The pre-treatment evaluation steps done.")
    goals = models.TextField("reasons for treatment", blank=True)
    previous_treatments = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["patient", "-recorded_at"], name="screening_patient_recent")]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.recorded_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("screening:detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A recorded screening cannot be changed; record a new one.")
        if self.expires_at is None:
            self.expires_at = self.recorded_at + datetime.timedelta(days=settings.SCREENING_VALID_DAYS)
        super().save(*args, **kwargs)

    @property
    def is_deferred(self):
        return self.outcome == Outcome.DEFERRED

    @property
    def consultation(self):
        """The consultation this screening stands for: itself, or the one a re-check re-ran."""
        return self.based_on if self.kind == ScreeningKind.RECHECK and self.based_on_id else self

    def decision_for(self, key):
        """The decision on the finding `key` (a finding's key is its rule unless the rule is a
        template filled in several times, such as an unlisted answer)."""
        return next((d for d in self.decisions if d.get("key", d["rule"]) == key), None)


class PrescriberAnswer(models.TextChoices):
    NOT_ASKED = "not_asked", _("Not yet asked")
    PAUSE = "pause", _("Agreed to pause")
    CONTINUE = "continue", _("Continue as prescribed")


class PrescriberDecision(PatientDataMixin, models.Model):
    """What the prescribing doctor decided about one medicine only they may pause.

    Anticoagulants, antiplatelets, prescribed aspirin and immunosuppressants are never stopped
    on the app's say-so (no document gives an interval, and stopping one carries its own risk):
    the practitioner asks the prescriber and records the answer here. Only an agreed pause
    becomes an instruction to the patient, worded "as agreed with Dr X".

    Rows are never changed: a later answer is a new row, and the newest for a medicine and
    consultation screening stands. It belongs to a consultation screening, so a new screening
    starts from a fresh question (pre-filled with the last answer).
    """

    PAUSE_DAYS = (1, 30)

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="prescriber_decisions")
    screening = models.ForeignKey(Screening, on_delete=models.PROTECT, related_name="prescriber_decisions")
    medication = models.SlugField(max_length=60, help_text="The medication's vocabulary code.")
    medication_label = models.CharField(max_length=120)
    answer = models.CharField(max_length=12, choices=PrescriberAnswer.choices)
    pause_days = models.PositiveSmallIntegerField(null=True, blank=True)
    prescriber = models.CharField(max_length=120, blank=True, help_text="Who decided, e.g. Dr. Kaya, cardiology.")
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["screening", "medication", "-recorded_at"], name="prescriber_decision_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(answer="pause") | models.Q(pause_days__gte=1, pause_days__lte=30),
                name="prescriber_pause_days_sensible",
            ),
        ]

    def __str__(self):
        return f"{self.medication_label}: {self.get_answer_display().lower()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A recorded prescriber decision cannot be changed; record a new one.")
        super().save(*args, **kwargs)

    @property
    def hours_before(self):
        return self.pause_days * 24 if self.answer == PrescriberAnswer.PAUSE else None
