import pytest

from tests.builders import plan_for


@pytest.fixture
def hair_plan(patient, alice):
    return plan_for(patient, alice, "hair_loss")
