import pytest

from mesoclinic.aftercare.services import sheet_for
from mesoclinic.core.selectors import clinic_today
from tests.builders import moment, signed_session


@pytest.fixture
def make_sheet(clinic, alice, room):
    """Sheets of sessions an hour apart today (the practitioner cannot be in two places)."""
    made = []

    def make(patient, **options):
        start = moment(clinic_today(), 8 + len(made))
        sheet = sheet_for(signed_session(alice, room, patient, start=start, **options))
        made.append(sheet)
        return sheet

    return make
