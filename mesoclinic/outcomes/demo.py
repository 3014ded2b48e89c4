"""Demo outcomes: measurement series on the demo's past sessions, the patients' own scores, the
adverse events the clinic page counts, and a baseline and a later face photo to align.

Only `seed_demo` calls this, after the journeys and the stock. Past sessions are written as they
happened (as treatment_sessions.demo writes them: booking and the day's re-check refuse the
past), each chart signed with what was measured on it. The series follow what the documents
report, without doing better than them:

- skin rejuvenation: elasticity up by about a fifth over 4-6 sessions (basaksehir-2025 reports
  the rise), wrinkle depth down only a little (guide-2024 found no clear benefit on wrinkles);
  one session not measured ("at chosen sessions");
- cellulite: the ultrasound irregularity falls (basaksehir-2025), the thigh circumference barely
  moves (guide-2024: no benefit on circumference);
- hair loss: thicker shafts and less shedding (basaksehir-2025);
- pain: the patient's own pain score falls, joint function rises (basaksehir-2025, guide-2024).

Idempotent: a course is written for a patient who has no plan of its protocol yet; Emma's charts
get their values only while they have none; the photos only while her session has none.
"""

import datetime
import io
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.core.models import Room
from mesoclinic.core.selectors import clinic_zone
from mesoclinic.outcomes.models import PatientScore, ScoreChannel
from mesoclinic.patients.models import Language, Patient, Sex
from mesoclinic.plans import services as plan_services
from mesoclinic.plans.demo import protocol_plan, signed_consent
from mesoclinic.plans.models import OutcomeMeasure, PlanStatus, Product
from mesoclinic.screening.demo import scripted_screening
from mesoclinic.screening.models import Term
from mesoclinic.treatment_sessions.demo import session_as_it_happened
from mesoclinic.treatment_sessions.models import (
    AdverseEvent,
    AdverseEventType,
    Chart,
    ChartArea,
    Lot,
    Measurement,
    PhotoAlignment,
    PhotoKind,
    ProductUse,
    SessionSeries,
    SessionStatus,
    TreatmentSession,
)
from mesoclinic.treatment_sessions.photos.services import alignment_record, photos_upload
from mesoclinic.treatment_sessions.scheduling import slots


@dataclass(frozen=True)
class Course:
    """A past course: who, what, and per session what was measured (an empty dict: a session
    where nothing was measured), the patient's own scores and the adverse events charted."""

    patient: tuple  # given, family, born, sex, language
    protocol: str
    product: str
    lot: str
    technique: str
    series: list
    scores: list = field(default_factory=list)  # per session: {measure: value} the patient gave
    events: dict = field(default_factory=dict)  # session number -> [(type, severity, notes)]
    areas: tuple = ()  # the plan's areas when the protocol has none of its own (pain)
    photos: bool = False


def _skin(elasticity, wrinkles, skip=None):
    """A skin rejuvenation series: elasticity (R2) and wrinkle depth (µm) per session, GAIS at
    the last; `skip`: the session not measured."""
    series = []
    for number, (r2, depth) in enumerate(zip(elasticity, wrinkles, strict=True), start=1):
        series.append({} if number == skip else {"skin_elasticity": r2, "wrinkle_depth": depth})
    series[-1]["gais"] = "2"
    return series


BRUISE = [("bruising", "mild", "Small bruise at the lateral cheek; settled by the next visit.")]
REDNESS = [("redness", "mild", "Redness for about two hours.")]
SWELLING = [("swelling", "mild", "Puffiness at the injection points, gone next morning.")]

COURSES = (
    Course(
        ("Olivia", "Bennett", datetime.date(1990, 4, 21), Sex.FEMALE, Language.ENGLISH),
        "skin_rejuvenation",
        "HydraGlow Meso",
        "HG-2611",
        "nappage",
        # +22% elasticity over six sessions, the fourth not measured; wrinkle depth -7%.
        _skin(["0.41", "0.43", "0.45", None, "0.48", "0.50"], ["182", "179", "176", None, "172", "170"], skip=4),
        scores=[{}, {"satisfaction": "7"}, {"satisfaction": "8"}, {}, {"satisfaction": "8"}, {"satisfaction": "9"}],
        events={1: BRUISE, 3: REDNESS},
        photos=True,
    ),
    Course(
        ("Can", "Şahin", datetime.date(1986, 2, 11), Sex.MALE, Language.TURKISH),
        "hair_loss",
        "Capilla Boost",
        "CB-1140",
        "point_by_point",
        [
            {"hair_diameter": "61", "hair_shedding": "128"},
            {"hair_diameter": "62", "hair_shedding": "117"},
            {"hair_diameter": "63", "hair_shedding": "104"},
            {"hair_diameter": "65", "hair_shedding": "96"},
            {"hair_diameter": "67", "hair_shedding": "85"},
            {"hair_diameter": "68", "hair_shedding": "79", "gais": "3"},
        ],
        scores=[{}, {}, {"satisfaction": "6"}, {}, {"satisfaction": "7"}, {"satisfaction": "8"}],
        events={2: [("pain", "mild", "Scalp tender for a day.")]},
    ),
    Course(
        ("Derya", "Kaya", datetime.date(1982, 8, 3), Sex.FEMALE, Language.TURKISH),
        "cellulite",
        "LipoContour",
        "LC-0932",
        "point_by_point",
        [
            {
                "skin_irregularity": "3.2",
                "cellulite_grade": "9",
                "circumference_thigh": "58.4",
                "circumference_hips": "101.5",
            },
            {"skin_irregularity": "3.1", "circumference_thigh": "58.5"},
            {"skin_irregularity": "2.9", "cellulite_grade": "8", "circumference_thigh": "58.3"},
            {"skin_irregularity": "2.8", "circumference_thigh": "58.4"},
            {
                "skin_irregularity": "2.6",
                "cellulite_grade": "8",
                "circumference_thigh": "58.2",
                "circumference_hips": "101.2",
            },
            {"skin_irregularity": "2.5", "circumference_thigh": "58.3"},
            {"skin_irregularity": "2.4", "cellulite_grade": "7", "circumference_thigh": "58.1", "gais": "3"},
        ],
        scores=[{}, {}, {"satisfaction": "6"}, {}, {}, {"satisfaction": "7"}, {"satisfaction": "7"}],
        events={1: SWELLING, 2: BRUISE, 5: SWELLING},
    ),
    Course(
        ("Orhan", "Çelik", datetime.date(1961, 10, 14), Sex.MALE, Language.TURKISH),
        "pain",
        "Relief Meso",
        "RM-3305",
        "point_by_point",
        [
            {"function_score": "52"},
            {"function_score": "56"},
            {"function_score": "61"},
            {"function_score": "64"},
            {"function_score": "66"},
            {"function_score": "69"},
        ],
        scores=[
            {"pain_score": "7"},
            {"pain_score": "6"},
            {"pain_score": "6", "satisfaction": "6"},
            {"pain_score": "4"},
            {"pain_score": "4", "satisfaction": "8"},
            {"pain_score": "3", "satisfaction": "8"},
        ],
        events={1: [("pain", "mild", "Ache at the knee after the session, eased the same evening.")]},
        areas=("knee",),
    ),
    Course(
        ("Murat", "Aydın", datetime.date(1977, 1, 29), Sex.MALE, Language.TURKISH),
        "hair_loss",
        "Capilla Boost",
        "CB-1140",
        "mesogun",
        [
            {"hair_diameter": "58", "hair_shedding": "150"},
            {"hair_diameter": "58", "hair_shedding": "141"},
            {},
            {"hair_diameter": "60", "hair_shedding": "126"},
        ],
        scores=[{}, {"satisfaction": "5"}, {}, {"satisfaction": "6"}],
        events={1: REDNESS},
    ),
)

# More skin rejuvenation courses on the same lot and technique: the clinic page's cell for
# HydraGlow HG-2611 by nappage reaches more than five patients; the other cells stay small.
COHORT = (
    ("Pınar", "Doğan", datetime.date(1985, 6, 12), Sex.FEMALE, Language.TURKISH),
    ("Lale", "Yıldız", datetime.date(1979, 3, 8), Sex.FEMALE, Language.TURKISH),
    ("Grace", "Hall", datetime.date(1983, 11, 2), Sex.FEMALE, Language.ENGLISH),
    ("Amelia", "Wright", datetime.date(1992, 9, 25), Sex.FEMALE, Language.ENGLISH),
    ("İrem", "Koç", datetime.date(1988, 12, 30), Sex.FEMALE, Language.TURKISH),
)


def _cohort_course(index, person):
    """Four or five sessions, elasticity up 18-24% from a baseline of 0.38-0.46."""
    sessions = 4 + index % 2
    baseline = Decimal("0.38") + Decimal("0.02") * index
    rise = Decimal("0.18") + Decimal("0.015") * index
    elasticity = [
        str((baseline * (1 + rise * step / (sessions - 1))).quantize(Decimal("0.01"))) for step in range(sessions)
    ]
    wrinkles = [str(190 - 10 * index - 3 * step) for step in range(sessions)]
    return Course(
        person,
        "skin_rejuvenation",
        "HydraGlow Meso",
        "HG-2702" if index == 2 else "HG-2611",
        "nappage" if index != 2 else "papule",
        _skin(elasticity, wrinkles),
        scores=[{}] * (sessions - 1) + [{"satisfaction": str(7 + index % 3)}],
        events={1: BRUISE} if index != 3 else {2: BRUISE, 3: REDNESS},
    )


# Emma (treatment_sessions.demo: three past skin rejuvenation sessions) measured at each.
EMMA = [
    {"skin_elasticity": "0.46", "wrinkle_depth": "168"},
    {"skin_elasticity": "0.49"},
    {"skin_elasticity": "0.51", "wrinkle_depth": "164"},
]
EMMA_SCORES = [{}, {"satisfaction": "8"}, {"satisfaction": "9"}]


def seed_outcomes(practitioner):
    """The demo's outcome data (once). Returns the number of courses written now."""
    measures = {measure.code: measure for measure in OutcomeMeasure.objects.all()}
    if not measures:
        return 0  # the knowledge is not loaded (load_knowledge): nothing to measure against
    _emma(practitioner, measures)
    room = Room.objects.filter(is_active=True).order_by("-name").first()
    written = 0
    courses = list(COURSES) + [_cohort_course(index, person) for index, person in enumerate(COHORT)]
    for hour, course in enumerate(courses, start=8):
        if _course(course, practitioner, room, measures, hour=hour):
            written += 1
    return written


def _emma(practitioner, measures):
    """Values on Emma's past charts (signed as the journeys wrote them, without any), her scores."""
    patient = Patient.objects.filter(given_name="Emma", family_name="Clarke").first()
    if patient is None:
        return
    charts = list(
        Chart.objects.filter(patient=patient, signed_at__isnull=False, session__plan__protocol="skin_rejuvenation")
        .select_related("session")
        .order_by("session__starts_at")
    )
    if not charts or Measurement.objects.filter(chart__in=charts).exists():
        return
    with transaction.atomic():
        for chart, values, scores in zip(charts, EMMA, EMMA_SCORES, strict=False):
            # Rows of a signed chart are locked (LockedWithChart.save); these are what was
            # measured when it was charted, written with the history as the journeys write it.
            Measurement.objects.bulk_create(_measurements(chart, values, measures))
            _scores(chart.session, scores, measures)


def _person(person):
    given, family, born, sex, language = person
    patient, _ = Patient.objects.get_or_create(
        given_name=given,
        family_name=family,
        date_of_birth=born,
        defaults={
            "sex": sex,
            "preferred_language": language,
            "phone": f"+90532{born:%y%m%d}{len(given)}",
            "email": f"{given}.{family}@example.com".translate(str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")).lower(),
            "emergency_contact_name": "Next of kin",
            "emergency_contact_phone": "+905320000000",
        },
    )
    return patient


def _course(course, practitioner, room, measures, *, hour):
    patient = _person(course.patient)
    if patient.plans.filter(protocol_id=course.protocol).exists():
        return False
    with transaction.atomic():
        overrides = {"areas": list(course.areas)} if course.areas else {}
        plan = protocol_plan(patient, practitioner, course.protocol, goals="Agreed at the consultation.", **overrides)
        scripted_screening(
            patient,
            practitioner,
            {
                "areas": [t.code for t in plan.areas.all()],
                "ingredients": [t.code for t in plan.ingredients.all()],
                "indication": plan.indication.code,
                "fitzpatrick_skin_type": 3,
            },
            evaluation={"health-history": True},
            goals="Demo patient",
        )
        signed_consent(plan, practitioner, document_html="<p>Consent recorded for the demo.</p>", photo=True)
        plan = plan_services.plan_activate(plan=plan, by=practitioner)
        sessions = _past_sessions(plan, course, practitioner, room, hour)
        lot = _lot(course)
        for session, values, scores in zip(
            sessions, course.series, course.scores or [{}] * len(sessions), strict=False
        ):
            chart = _signed_chart(session, practitioner, course, lot, values, measures)
            _scores(chart.session, scores, measures)
        if len(sessions) >= plan.sessions_planned:
            plan_services.plan_complete(plan=plan, by=practitioner)
    if course.photos and plan.status != PlanStatus.DRAFT:
        _photos(sessions[0], sessions[-2], practitioner)
    return True


def _past_sessions(plan, course, practitioner, room, hour):
    """The course's sessions at the plan's spacing, the last one a fortnight ago, on Thursdays
    at `hour` (each course its own hour, so none overlaps another or the journeys' Tuesdays)."""
    zone = clinic_zone()
    count = len(course.series)
    spacing = [0, *plan.intervals][:count]
    days = [sum(spacing[: n + 1]) for n in range(count)]
    today = datetime.datetime.now(zone).date()
    last = today - datetime.timedelta(days=14)
    first = last - datetime.timedelta(days=days[-1])
    first -= datetime.timedelta(days=(first.weekday() - 3) % 7)  # the Thursday on or before
    series = SessionSeries.objects.create(plan=plan, patient=plan.patient, created_by=practitioner)
    duration = datetime.timedelta(minutes=plan.session_minutes)
    return [
        session_as_it_happened(
            series,
            practitioner,
            room,
            _free_start(practitioner, room, first + datetime.timedelta(days=day), hour, duration, zone),
            duration,
            number,
            SessionStatus.COMPLETED,
        )
        for number, day in enumerate(days, start=1)
    ]


def _free_start(practitioner, room, day, hour, duration, zone):
    """`hour` on `day`, or the next hour (then the next day) when the practitioner or the room is
    already busy: a database seeded with the scale calendar first (`make bench`) has sessions at
    every slot, and the database refuses overlaps."""
    for offset in range(0, 24 * 14):
        moment = datetime.datetime.combine(day, datetime.time(hour)) + datetime.timedelta(hours=offset)
        if not 8 <= moment.hour <= 18:
            continue
        start = slots.localize(moment, zone)
        busy = (
            TreatmentSession.objects.filter(starts_at__lt=start + duration, ends_at__gt=start)
            .filter(Q(practitioner=practitioner) | Q(room=room))
            .exists()
        )
        if not busy:
            return start
    raise RuntimeError(f"No free hour for a demo session within two weeks of {day}")


def _lot(course):
    product = Product.objects.filter(name=course.product).first()
    if product is None:
        product, _ = Product.objects.get_or_create(name=course.product, manufacturer="Demo")
    lot = Lot.objects.filter(product=product, lot_number=course.lot).first()
    return lot or Lot.objects.create(
        product=product, lot_number=course.lot, expires_on=timezone.localdate() + datetime.timedelta(days=365)
    )


def _measurements(chart, values, measures):
    return [
        Measurement(chart=chart, measure=measures[code], kind=measures[code].label, value=Decimal(value), unit=measures[code].unit)
        for code, value in values.items()
        if value is not None and code in measures
    ]  # fmt: skip


def _signed_chart(session, practitioner, course, lot, values, measures):
    plan = session.plan
    chart = Chart.objects.create(
        session=session,
        patient=session.patient,
        technique=course.technique,
        depth_mm=plan.depth_mm,
        needle_gauge=plan.needle_gauge,
        duration_minutes=plan.session_minutes,
        created_by=practitioner,
    )
    areas = list(plan.areas.all()) or list(Term.objects.filter(kind="area", code__in=course.areas))
    ChartArea.objects.bulk_create(ChartArea(chart=chart, area=term, volume_ml=Decimal("1.0")) for term in areas)
    ProductUse.objects.create(chart=chart, lot=lot, volume_ml=Decimal("1.0") * max(len(areas), 1))
    AdverseEvent.objects.bulk_create(
        AdverseEvent(
            chart=chart,
            type=AdverseEventType.objects.get(code=code),
            severity=severity,
            follow_up_on=session.starts_at.date() + datetime.timedelta(days=7),
            notes=notes,
        )
        for code, severity, notes in course.events.get(session.sequence, [])
    )
    Measurement.objects.bulk_create(_measurements(chart, values, measures))
    chart.signed_at, chart.signed_by = session.ends_at, practitioner
    chart.save(update_fields=["signed_at", "signed_by"])
    return chart


def _scores(session, scores, measures):
    """The patient's own scores for a session, given through their aftercare link two days on."""
    reported = min(session.ends_at + datetime.timedelta(days=2), timezone.now())
    PatientScore.objects.bulk_create(
        PatientScore(
            patient_id=session.patient_id,
            session=session,
            measure=measures[code],
            value=Decimal(value),
            channel=ScoreChannel.LINK,
            reported_at=reported,
        )
        for code, value in scores.items()
        if code in measures
    )


# --- Photos ------------------------------------------------------------------------------------


def _photos(baseline_session, later_session, practitioner):
    """A baseline and a later face photo, stored through the photos service (metadata stripped,
    the consent checked): drawn, not of anyone. The later one is turned, scaled, shifted and a
    little brighter, as a second photo taken by hand is, so that aligning them can be tried."""
    if not baseline_session.photos.exists():
        face = Term.objects.filter(kind="area", code="face").first()
        area = face if face and baseline_session.plan.areas.filter(pk=face.pk).exists() else None
        for session, kind, image in (
            (baseline_session, PhotoKind.BEFORE, face_image()),
            (later_session, PhotoKind.AFTER, face_image(**LATER_FACE)),
        ):
            upload = SimpleUploadedFile("face.jpg", image, content_type="image/jpeg")
            photos_upload(session=session, files=[upload], kind=kind, caption="Face, front", area=area, by=practitioner)
    baseline, later = baseline_session.photos.first(), later_session.photos.first()
    if baseline and later and not PhotoAlignment.objects.filter(baseline=baseline, later=later).exists():
        # Lined up on the eyes and the nose, as a practitioner would click them, so that the
        # progress report shows the aligned pair.
        alignment_record(
            baseline=baseline,
            later=later,
            baseline_points=face_landmarks(),
            later_points=face_landmarks(**{k: v for k, v in LATER_FACE.items() if k != "brighter"}),
            by=practitioner,
        )


# The later demo photo: turned, scaled, shifted and brighter, as a photo taken by hand a month on.
LATER_FACE = {"rotate": 4, "scale": 1.06, "shift": (28, -18), "brighter": 1.08}


def face_landmarks(*, rotate=0.0, scale=1.0, shift=(0, 0), size=(900, 1100)):
    """The centres of the eyes and the tip of the nose on face_image(...) drawn with these
    settings: the rotation about the centre (counter-clockwise on screen), then the shift, then
    the scale about the centre, as face_image applies them."""
    width, height = size
    cx, cy = width // 2, height // 2
    turn = math.radians(rotate)
    points = []
    for x, y in ((cx - 115, cy - 64), (cx + 115, cy - 64), (cx, cy + 95)):
        dx, dy = x - cx, y - cy
        rx, ry = dx * math.cos(turn) + dy * math.sin(turn), -dx * math.sin(turn) + dy * math.cos(turn)
        points.append([round(cx + scale * (rx + shift[0]), 1), round(cy + scale * (ry + shift[1]), 1)])
    return points


def face_image(*, rotate=0.0, scale=1.0, shift=(0, 0), brighter=1.0, size=(900, 1100)) -> bytes:
    """A simple face-like figure (JPEG bytes): an oval face with clearly visible eyes, brows,
    nose and mouth on a plain backdrop, for trying the photo alignment."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

    width, height = size
    image = Image.new("RGB", size, (196, 205, 214))
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, height // 2
    draw.rectangle([0, int(height * 0.82), width, height], fill=(120, 132, 150))  # shoulders
    draw.ellipse([cx - 120, cy + 230, cx + 120, cy + 420], fill=(224, 182, 152))  # neck
    draw.ellipse([cx - 270, cy - 360, cx + 270, cy + 330], fill=(232, 190, 160), outline=(190, 140, 115), width=4)
    draw.chord([cx - 285, cy - 400, cx + 285, cy - 60], 180, 360, fill=(70, 50, 40))  # hair
    for side in (-1, 1):
        ex = cx + side * 115
        draw.ellipse([ex - 62, cy - 95, ex + 62, cy - 35], fill=(250, 250, 248), outline=(90, 60, 50), width=3)
        draw.ellipse([ex - 24, cy - 88, ex + 24, cy - 42], fill=(78, 104, 70))
        draw.ellipse([ex - 10, cy - 74, ex + 10, cy - 54], fill=(15, 15, 15))
        draw.line([ex - 70, cy - 135, ex, cy - 150, ex + 70, cy - 132], fill=(70, 50, 40), width=12, joint="curve")
        draw.ellipse([ex - 55, cy + 60, ex + 35, cy + 120], fill=(236, 170, 150))  # cheek
    draw.polygon([(cx, cy - 30), (cx - 42, cy + 95), (cx + 42, cy + 95)], fill=(214, 166, 138))  # nose
    draw.ellipse([cx - 40, cy + 80, cx - 12, cy + 100], fill=(120, 70, 60))
    draw.ellipse([cx + 12, cy + 80, cx + 40, cy + 100], fill=(120, 70, 60))
    draw.chord([cx - 90, cy + 140, cx + 90, cy + 230], 0, 180, fill=(176, 82, 86))  # mouth
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    if rotate or scale != 1.0 or shift != (0, 0):
        image = image.rotate(
            rotate, resample=Image.BICUBIC, center=(cx, cy), translate=shift, fillcolor=(196, 205, 214)
        )
        if scale != 1.0:
            grown = image.resize((int(width * scale), int(height * scale)), Image.LANCZOS)
            left, top = (grown.width - width) // 2, (grown.height - height) // 2
            image = grown.crop((left, top, left + width, top + height))
    if brighter != 1.0:
        image = ImageEnhance.Brightness(image).enhance(brighter)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()
