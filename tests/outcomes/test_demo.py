"""The demo's outcomes (mesoclinic/outcomes/demo.py, called by seed_demo): measured courses that
give the progress charts real-looking series, the patients' own scores, adverse events for the
clinic page, and a baseline and later face photo stored through the photos service. Idempotent."""

import io
from collections import defaultdict

import pytest
from django.core.management import call_command
from PIL import Image

from mesoclinic.core.models import User
from mesoclinic.outcomes import demo
from mesoclinic.outcomes.models import PatientScore
from mesoclinic.outcomes.progress import plan_progress
from mesoclinic.plans.models import Plan
from mesoclinic.treatment_sessions.models import AdverseEvent, Chart, Measurement, SessionPhoto, TreatmentSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db):
    call_command("seed_demo", verbosity=0)
    return User.objects.get(username="practitioner")


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Plan, TreatmentSession, Chart, Measurement, PatientScore, AdverseEvent, SessionPhoto)
    }


def test_running_the_outcomes_part_again_adds_nothing(seeded):
    first = counts()
    assert first["Measurement"] > 80 and first["PatientScore"] > 20 and first["SessionPhoto"] == 2
    assert demo.seed_outcomes(practitioner=seeded) == 0
    assert counts() == first
    call_command("seed_demo", verbosity=0)
    assert counts() == first


def progress_of(given, protocol):
    plan = Plan.objects.get(patient__given_name=given, protocol_id=protocol)
    return {row.measure.code: row for row in plan_progress(plan)}


def test_the_skin_course_rises_toward_a_fifth_with_one_session_not_measured(seeded):
    progress = progress_of("Olivia", "skin_rejuvenation")
    elasticity = progress["skin_elasticity"]
    assert [p.number for p in elasticity.points] == [1, 2, 3, 5, 6]  # the fourth was not measured
    assert 20 <= elasticity.change <= 25 and elasticity.improved
    wrinkles = progress["wrinkle_depth"]
    assert -10 < wrinkles.change < 0 and wrinkles.improved  # a little only
    satisfaction = progress["satisfaction"]
    assert satisfaction.points and all(p.by_patient for p in satisfaction.points)


def test_emmas_journey_charts_carry_her_values(seeded):
    elasticity = progress_of("Emma", "skin_rejuvenation")["skin_elasticity"]
    assert [str(p.value) for p in elasticity.points] == ["0.46", "0.49", "0.51"]


def test_cellulite_irregularity_falls_while_the_circumference_barely_moves(seeded):
    progress = progress_of("Derya", "cellulite")
    assert progress["skin_irregularity"].change <= -20
    assert abs(progress["circumference_thigh"].change) < 1  # guide-2024's caveat, as it happens
    assert progress["circumference_thigh"].caveats  # and the page says so beside it


def test_hair_and_pain_courses(seeded):
    hair = progress_of("Can", "hair_loss")
    assert hair["hair_diameter"].improved and hair["hair_shedding"].improved
    pain = progress_of("Orhan", "pain")["pain_score"]
    values = [p.value for p in pain.points]
    assert all(p.by_patient for p in pain.points) and values[-1] < values[0]
    assert values == sorted(values, reverse=True)


def test_adverse_events_give_one_cell_above_five_patients_and_smaller_ones(seeded):
    cells = defaultdict(set)
    for event in AdverseEvent.objects.select_related("chart"):
        for use in event.chart.products_used.select_related("lot"):
            cells[(use.lot.lot_number, event.chart.technique, event.type_id)].add(event.chart.patient_id)
    sizes = {cell: len(patients) for cell, patients in cells.items()}
    assert sizes[("HG-2611", "nappage", "bruising")] > 5
    assert sum(1 for size in sizes.values() if size < 5) >= 5
    assert len({lot for lot, _technique, _type in sizes}) >= 4 and len({t for _l, t, _e in sizes}) >= 3


def test_the_face_photos_are_stored_through_the_photos_service(seeded):
    before, after = SessionPhoto.objects.order_by("session__starts_at")
    assert before.session.plan_id == after.session.plan_id and before.session.starts_at < after.session.starts_at
    assert (before.kind, after.kind) == ("before", "after")
    assert before.area.code == after.area.code == "face"
    for photo in (before, after):
        with photo.image.open("rb") as stored, Image.open(io.BytesIO(stored.read())) as image:
            assert image.format == "JPEG" and not image.getexif()  # re-encoded, no metadata
    assert before.session.plan.consents.filter(photo_consent=True).exists()


def test_the_later_face_is_moved_and_brighter():
    still = Image.open(io.BytesIO(demo.face_image())).convert("L")
    moved = Image.open(io.BytesIO(demo.face_image(rotate=4, scale=1.06, shift=(28, -18), brighter=1.08))).convert("L")
    assert still.size == moved.size
    mean = sum(still.getdata()) / (still.width * still.height)
    assert sum(moved.getdata()) / (moved.width * moved.height) > mean
    diff = sum(abs(a - b) for a, b in zip(still.getdata(), moved.getdata(), strict=True))
    assert diff / (still.width * still.height) > 5  # not the same picture
