"""The clinic's outcomes page, for practitioners and the clinic admin.

An aggregate: no patient is named or linked and no count small enough to point at one is shown
(outcomes.clinic.SMALLEST_GROUP), so opening it reads no one's record and writes no audit entry.
"""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from mesoclinic.core import params
from mesoclinic.core.models import Role
from mesoclinic.core.permissions import allow

from .clinic import PERIOD_YEAR, PERIODS, clinic_outcomes


@allow(Role.PRACTITIONER, Role.SCHEDULER)
@require_GET
def clinic_page(request):
    period = params.choice(request, "period", PERIODS, PERIOD_YEAR)
    return render(request, "outcomes/clinic.html", clinic_outcomes(period))
