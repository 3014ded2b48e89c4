"""The re-check has one name: screenings recorded as "day_check" become "recheck", and the
session's field is renamed without losing which screening it points to."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)
# The patient as it was then too: a later patients migration adds columns the old model lacks.
BEFORE = [
    ("patients", "0002_search_indexes"),
    ("screening", "0002_rule_policy_prescriber_decisions"),
    ("treatment_sessions", "0005_session_timed_at"),
]
AFTER = [("screening", "0003_recheck_kind"), ("treatment_sessions", "0006_recheck_name")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _leaf():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_day_checks_become_rechecks_and_back():
    old = _migrate(BEFORE)
    try:
        User = old.get_model("core", "User")
        Patient = old.get_model("patients", "Patient")
        Screening = old.get_model("screening", "Screening")
        by = User.objects.create(username="mig", role="practitioner")
        patient = Patient.objects.create(
            given_name="Mig", family_name="Ration", date_of_birth=datetime.date(1990, 1, 1), sex="female"
        )
        now = timezone.now()
        fields = {"patient": patient, "recorded_by": by, "answers": {}, "findings": [], "verdict": "clear"}
        fields |= {"outcome": "clear", "rules_version": "v", "decisions": [], "evaluation": {}}
        consultation = Screening.objects.create(kind="consultation", expires_at=now, **fields)
        check = Screening.objects.create(kind="day_check", based_on=consultation, expires_at=now, **fields)

        new = _migrate(AFTER)
        kinds = dict(new.get_model("screening", "Screening").objects.values_list("pk", "kind"))
        assert kinds == {consultation.pk: "consultation", check.pk: "recheck"}
        columns = {
            c.name
            for c in connection.introspection.get_table_description(
                connection.cursor(), "treatment_sessions_treatmentsession"
            )
        }
        assert "recheck_id" in columns and "day_check_id" not in columns

        old = _migrate(BEFORE)
        kinds = dict(old.get_model("screening", "Screening").objects.values_list("pk", "kind"))
        assert kinds[check.pk] == "day_check"
    finally:
        _migrate(_leaf())
