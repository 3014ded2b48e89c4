"""Where a patient stands, clinically: the one answer every page and service reads.

It is built in layers, each decided once, in the app that owns it:
- screening (screening.selectors): the newest screening, whether it is current, whether it
  defers treatment; the holds and the prescriber's decisions (`preparation`);
- plans (plans.selectors): each plan's current consent;
- sessions (here): open follow-ups of adverse events, and whether a plan may be booked.

`clinical_status(patient)` answers for one patient (the patient page), `clinical_statuses`
for a list (Today, the plans to book) in a fixed number of queries.
"""

import datetime
from dataclasses import dataclass, field
from functools import cached_property

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mesoclinic.core.selectors import clinic_today
from mesoclinic.screening.bilingual import active_language, text
from mesoclinic.screening.selectors import ScreeningStanding, preparation, screening_standing, screening_standings

from .models import AdverseEvent

# A follow-up stays open for two weeks after its date: the clinic calls the patient, and a
# follow-up missed on its day must still show the next time anyone opens the patient.
FOLLOW_UP_OPEN_FOR = datetime.timedelta(days=14)

NOT_ACTIVE = gettext_lazy("Only an active plan can be booked: its screening and consent come first.")
ARCHIVED = gettext_lazy("This patient's record is archived: nothing can be booked on it.")
# Said to the clinic admin too, so it names no clinical reason.
ON_HOLD = gettext_lazy(
    "Treatment is on hold: the practitioner deferred it at the patient's latest screening. "
    "No sessions can be booked until the patient is screened again."
)


@dataclass
class ClinicalStatus:
    patient: object
    screening: ScreeningStanding
    follow_ups: list = field(default_factory=list)  # open AdverseEvents, soonest first
    today: datetime.date | None = None

    @property
    def due_follow_ups(self):
        """Follow-ups whose day has come (within the two weeks they stay open)."""
        return [event for event in self.follow_ups if event.follow_up_on <= self.today]

    @property
    def booking_on_hold(self):
        return self.screening.defers

    def booking_refusal(self, plan) -> str:
        """Why no session of `plan` may be booked now ("" if they may): the plan must be
        active, and a deferral on the patient's newest screening stops booking, even for a
        plan activated before it, until a newer screening lifts it."""
        if getattr(self.patient, "is_archived", False):
            return str(ARCHIVED)
        if not plan.is_active:
            return str(NOT_ACTIVE)
        if self.booking_on_hold:
            return str(ON_HOLD)
        return ""

    @cached_property
    def preparation(self):
        """The holds the patient was given and the prescriber's decisions (one query when read;
        list pages do not read it). None while the screening is not current."""
        return preparation(self.screening.screening) if self.screening.is_current else None

    @property
    def alerts(self):
        """What needs attention before treatment, most serious first, in the words both the
        Today list and the patient page use: [(level, text)]."""
        found = []
        standing = self.screening
        if standing.defers:
            since = date_format(timezone.localtime(standing.deferred_since), "j M")
            found.append(("danger", _("Treatment deferred since %(day)s") % {"day": since}))
        if standing.screening is None:
            found.append(("danger", _("Screening missing")))
        elif not standing.is_current:
            found.append(("danger", _("Screening lapsed")))
        found += [
            ("warning", _("Follow-up due: %(event)s") % {"event": _lower(text(event.type, "label"))})
            for event in self.due_follow_ups
        ]
        return found


def _lower(words):
    """Lower case as the reader's language has it: Turkish "I" is "ı" and "İ" is "i"."""
    if active_language() == "tr":
        words = words.replace("I", "ı").replace("İ", "i")
    return words.lower()


def _open_follow_ups(patient_ids, today):
    events = {}
    for event in (
        AdverseEvent.objects.filter(chart__patient_id__in=patient_ids, follow_up_on__gte=today - FOLLOW_UP_OPEN_FOR)
        .select_related("type", "chart")
        .order_by("follow_up_on", "id")
    ):
        events.setdefault(event.chart.patient_id, []).append(event)
    return events


def clinical_status(patient, now=None, today=None) -> ClinicalStatus:
    """Where `patient` stands: two queries (and one more if `preparation` is read)."""
    today = today or clinic_today()
    return ClinicalStatus(
        patient=patient,
        screening=screening_standing(patient, now),
        follow_ups=_open_follow_ups([patient.pk], today).get(patient.pk, []),
        today=today,
    )


def clinical_statuses(patients, now=None, today=None) -> dict:
    """{patient id: ClinicalStatus} for a list of patients: two queries, however many. `today`:
    the day the list is for (Today's list of another day)."""
    patients = {patient.pk: patient for patient in patients}
    if not patients:
        return {}
    today = today or clinic_today()
    standings = screening_standings(patients.values(), now)
    follow_ups = _open_follow_ups(list(patients), today)
    return {
        pk: ClinicalStatus(patient=patient, screening=standings[pk], follow_ups=follow_ups.get(pk, []), today=today)
        for pk, patient in patients.items()
    }


def booking_refusal(plan) -> str:
    """`ClinicalStatus.booking_refusal` for one plan, as the booking services check it."""
    return ClinicalStatus(patient=plan.patient, screening=screening_standing(plan.patient)).booking_refusal(plan)
