"""The demo clinic's questionnaires: one of each state the clinic sees, and a link to try.

Requests are made without queueing their emails (the demo's history happened before it was
seeded; booking the demo's first sessions sends its own, as booking does), and the answers go
through the real submission, so the engine's findings are real.
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.selectors import clinic_today, current_clinic, wall_clock
from mesoclinic.patients.models import Patient
from mesoclinic.treatment_sessions.models import SessionStatus, TreatmentSession

from . import services
from .models import VALID_FOR, QuestionnaireRequest

NOTHING = {"pregnant": "no", "breastfeeding": "no"}
# family name -> what the patient answered (None: sent, not yet returned).
DEMO = {
    "Clarke": None,  # the demo patient's login shows a questionnaire to fill in
    "Martins": None,
    "Arslan": {
        **NOTHING,
        "medications_other": "Nurofen",
        "allergies_other": "fıstık",
        "goals": "Daha parlak bir cilt.",
    },
    "Bennett": {**NOTHING, "pregnant": "yes", "goals": "Fresher skin before a wedding."},
}


def _complete(given):
    """Every list answered as the pages would post it: what was given, else "none"."""
    complete = dict(given)
    for name in ("conditions", "medications", "allergies"):
        complete.setdefault(name, [])
        complete.setdefault(f"{name}_other", "")
        said = complete[name] or complete[f"{name}_other"].strip()
        complete[f"{name}_none"] = "" if said else "yes"
    return complete


@transaction.atomic
def seed_questionnaires():
    """Make the demo's questionnaires once; return a link to the open one of Sofia Martins (a
    fresh key each run: only its hash is stored) for trying the patient's side."""
    visit_on = clinic_today() + datetime.timedelta(days=10)
    for family, given in DEMO.items():
        patient = Patient.objects.filter(family_name=family).order_by("pk").first()
        if patient is None or patient.questionnaire_responses.exists():
            continue
        # Booking the demo's first sessions may have sent one already (as booking does).
        request = QuestionnaireRequest.objects.open().filter(patient=patient).first()
        if request is None:
            # For the patient's next session, as the clinic would send it, else a visit in 10 days.
            now = timezone.now()
            session = (
                TreatmentSession.objects.filter(patient=patient, status=SessionStatus.SCHEDULED, starts_at__gt=now)
                .order_by("starts_at")
                .first()
            )
            day = wall_clock(session.starts_at, current_clinic().zone).date() if session else visit_on
            request = QuestionnaireRequest.objects.create(
                patient=patient,
                visit_on=day,
                created_at=now,
                expires_at=min(now + VALID_FOR, services.end_of(day)),
            )
        if given is not None:
            services.questionnaire_submit(request=request, given=_complete(given), language=patient.preferred_language)
    sofia = Patient.objects.filter(family_name="Martins").order_by("pk").first()
    request = QuestionnaireRequest.objects.open().filter(patient=sofia).first() if sofia else None
    if request is None:
        return None
    token = services.link_create(request)
    return settings.MESOCLINIC_BASE_URL.rstrip("/") + reverse("questionnaires:link", args=[token])
