"""The `screen` command, exactly as contracts.md §1 describes it."""

import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from mesoclinic.screening.models import Screening

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

# A month ahead, so that every preparation hold can be kept (see the test for today below).
IN_A_MONTH = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
CONTRACT_EXAMPLE = {
    "date_of_birth": "1988-03-14",
    "on_date": IN_A_MONTH,
    "pregnant": False,
    "breastfeeding": False,
    "conditions": ["eczema"],
    "medications": ["ibuprofen"],
    "allergies": ["lidocaine"],
    "fitzpatrick_skin_type": 3,
    "areas": ["face", "neck"],
    "indication": "skin_rejuvenation",
    "ingredients": ["hyaluronic_acid", "vitamin_c", "lidocaine"],
}


def run(tmp_path, document, *extra):
    path = tmp_path / "answers.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("screen", str(path), *extra, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_the_contract_example_is_deferred_for_the_lidocaine_allergy(tmp_path):
    code, out, err = run(tmp_path, CONTRACT_EXAMPLE)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert set(result) == {"verdict", "findings", "rules_version"}
    assert result["verdict"] == "defer"
    by_rule = {f["rule"]: f for f in result["findings"]}
    assert by_rule["ingredient-allergy"]["severity"] == "critical"
    assert by_rule["nsaid-hold"]["hold"] == {"substance": "ibuprofen (NSAID)", "hours_before": 168}
    assert by_rule["chronic-skin-condition"]["severity"] == "critical"
    for finding in result["findings"]:
        assert {"rule", "severity", "title", "detail", "action", "hold", "sources"} <= set(finding)
        assert finding["sources"] and all(set(s) == {"document", "citation"} for s in finding["sources"])


def test_a_hold_that_cannot_be_kept_before_on_date_is_a_warning_not_preparation(tmp_path):
    in_three_days = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    code, out, _ = run(tmp_path, {**CONTRACT_EXAMPLE, "on_date": in_three_days})
    assert code == 0
    by_key = {f["key"]: f for f in json.loads(out)["findings"]}
    assert "nsaid-hold" not in by_key  # no 7-day stop is offered as preparation for a session in 3 days
    late = by_key["hold-cannot-be-kept:nsaid-hold"]
    assert late["severity"] == "warning"
    assert late["hold"] is None
    assert late["unkeepable_hold"] == {"rule": "nsaid-hold", "substance": "ibuprofen (NSAID)", "hours_before": 168}
    assert "7 days" in late["detail"]
    # The 24 hours without alcohol still fit in three days.
    assert by_key["alcohol-hold"]["hold"] == {"substance": "alcohol", "hours_before": 24}


def test_a_batch_gives_one_result_per_input_in_order(tmp_path):
    batch = [{"date_of_birth": "1990-01-01", "pregnant": True}, {"date_of_birth": "1990-01-01"}, CONTRACT_EXAMPLE]
    code, out, _ = run(tmp_path, batch)
    assert code == 0
    # The second has no on_date: it is today, too late for even the 24 hours without alcohol.
    assert [r["verdict"] for r in json.loads(out)] == ["defer", "caution", "defer"]
    assert [f["key"] for f in json.loads(out)[1]["findings"]] == ["hold-cannot-be-kept:alcohol-hold"]


def test_bad_input_exits_2_with_one_line_per_problem_and_nothing_on_stdout(tmp_path):
    batch = [
        {"date_of_birth": "1990-01-01", "conditions": ["ecezma"]},
        {"on_date": "2026-01-01", "fitzpatrick_skin_type": 9, "smoker": True},
    ]
    code, out, err = run(tmp_path, batch)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert lines == [
        "[0] conditions[0]: unknown condition term; did you mean 'eczema'? (see `screen --vocabulary`) (got 'ecezma')",
        "[1] smoker: unknown field (got True)",
        "[1] date_of_birth: is required (YYYY-MM-DD) (got None)",
        "[1] fitzpatrick_skin_type: must be a whole number from 1 to 6 (got 9)",
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "input: not valid JSON"),
        ('"a string"', "(answers): expected a JSON object"),
        ('{"date_of_birth": "14/03/1988"}', "date_of_birth: is not a date in the form YYYY-MM-DD"),
        ('{"date_of_birth": "2027-01-01", "on_date": "2026-12-01"}', "date_of_birth: is after on_date"),
    ],
)
def test_malformed_input_is_refused(tmp_path, document, message):
    code, out, err = run(tmp_path, document)
    assert code == 2
    assert out == ""
    assert message in err


def test_a_missing_file_is_refused(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("screen", str(tmp_path / "nope.json"), stdout=out, stderr=err)
    assert exit_.value.code == 2
    assert "cannot read the file" in err.getvalue()


def test_vocabulary_lists_the_accepted_terms_with_their_classes(tmp_path):
    out = io.StringIO()
    call_command("screen", "--vocabulary", stdout=out)
    vocabulary = json.loads(out.getvalue())
    assert "lupus" in vocabulary["conditions"]
    assert "autoimmune_disease" in vocabulary["conditions"]["lupus"]["classes"]
    assert "nsaid" in vocabulary["medications"]["ibuprofen"]["classes"]
    assert "lidocaine" in vocabulary["allergies"] and "lidocaine" in vocabulary["ingredients"]
    assert set(vocabulary["indications"]) >= {"skin_rejuvenation", "hair_loss", "cellulite", "pain"}
    assert vocabulary["rules_version"].startswith("kb-")


def test_the_command_writes_nothing(tmp_path):
    run(tmp_path, CONTRACT_EXAMPLE)
    assert not Screening.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_as_a_real_process_it_exits_with_status_2(tmp_path):
    from tests.core.test_worker import database_url

    path = tmp_path / "bad.json"
    path.write_text('{"date_of_birth": "1988-03-14", "areas": ["elbow"]}')
    env = {**os.environ, "DATABASE_URL": database_url()}
    bad = subprocess.run(
        [sys.executable, "manage.py", "screen", str(path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "areas[0]" in bad.stderr and "'elbow'" in bad.stderr
    good = subprocess.run(
        [sys.executable, "manage.py", "screen", "-"],
        cwd=ROOT,
        env=env,
        input=json.dumps(CONTRACT_EXAMPLE),
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["verdict"] == "defer"
