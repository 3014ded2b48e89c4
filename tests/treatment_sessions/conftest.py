import pytest

from tests.builders import active_plan


@pytest.fixture
def cellulite_plan(clinic, alice):
    return active_plan(alice, "cellulite")
