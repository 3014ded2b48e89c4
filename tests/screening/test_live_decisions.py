"""The live findings panel renders back every decision it is sent (issue 14, item 8).

The screening page re-renders its findings after each answer, posting the whole form: the
ticks, override reasons and the prescriber's answers made so far come back as they were sent,
without the "before saving" errors (nothing is being saved yet). The browser side of the race
(a reload that started before the tick) is tests/e2e/test_acknowledge_e2e.py.
"""

import datetime
import re

import pytest
from django.urls import reverse

from mesoclinic.screening.models import PrescriberAnswer
from tests.builders import screened

pytestmark = pytest.mark.django_db

IN_THREE_WEEKS = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
A_WEEK_AGO = (datetime.date.today() - datetime.timedelta(days=7)).isoformat()


def live(client, patient, **fields):
    data = {"on_date": IN_THREE_WEEKS, "fitzpatrick_skin_type": "3", **fields}
    response = client.post(reverse("screening:evaluate", args=[patient.pk]), data)
    assert response.status_code == 200
    return response.content.decode()


def control(page, name):
    """The tag of the control named `name` (a select with its options)."""
    found = re.search(rf'<select[^>]*name="{re.escape(name)}".*?</select>', page, re.S) or re.search(
        rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page
    )
    assert found, f"no control {name}"
    return found.group(0)


def ticked(page, name):
    return " checked" in control(page, name)


def chosen(page, name):
    selected = re.search(r'<option value="([^"]*)" selected>', control(page, name))
    return selected.group(1) if selected else None


def value(page, name):
    return re.search(r'value="([^"]*)"', control(page, name)).group(1)


def test_a_tick_sent_with_the_answers_comes_back_ticked_and_unsent_comes_back_unticked(alice_client, patient):
    answers = {"conditions": ["sensitive_skin", "bruises_easily"], "areas": ["face"]}
    page = live(alice_client, patient, **answers, **{"ack_sensitive-skin": "on"})
    assert ticked(page, "ack_sensitive-skin")
    assert not ticked(page, "ack_bruises-easily")
    assert "Acknowledge this warning before saving." not in page  # not saving yet


def test_a_tick_sent_as_false_comes_back_unticked_as_saving_would_read_it(alice_client, patient):
    page = live(alice_client, patient, conditions=["sensitive_skin"], **{"ack_sensitive-skin": "false"})
    assert not ticked(page, "ack_sensitive-skin")


def test_an_override_by_an_excluded_site_comes_back_with_its_site_and_note(alice_client, patient):
    page = live(
        alice_client,
        patient,
        conditions=["active_skin_infection"],
        areas=["face"],
        **{
            "override_active-skin-infection": "site_excluded",
            "override_active-skin-infection_site": "legs",
            "override_active-skin-infection_comment": "Left shin only; the face is clear",
        },
    )
    assert chosen(page, "override_active-skin-infection") == "site_excluded"
    assert chosen(page, "override_active-skin-infection_site") == "legs"
    assert value(page, "override_active-skin-infection_comment") == "Left shin only; the face is clear"


def test_a_specialist_clearance_comes_back_with_who_and_when(alice_client, patient):
    page = live(
        alice_client,
        patient,
        conditions=["clotting_disorder"],
        **{
            "override_clotting-disorder": "specialist_clearance",
            "override_clotting-disorder_who": "Dr. Ayşe Öztürk, haematology",
            "override_clotting-disorder_date": A_WEEK_AGO,
            "override_clotting-disorder_comment": "Letter on file: von Willebrand type 1, mild",
        },
    )
    assert chosen(page, "override_clotting-disorder") == "specialist_clearance"
    assert value(page, "override_clotting-disorder_who") == "Dr. Ayşe Öztürk, haematology"
    assert value(page, "override_clotting-disorder_date") == A_WEEK_AGO
    assert "Letter on file: von Willebrand type 1, mild" in page


def test_the_prescribers_answer_being_given_wins_over_the_one_recorded_last_time(alice_client, alice, patient):
    screened(patient, alice, medications=["warfarin"], prescriber={"warfarin": ("pause", 5, "Dr. Selim Kaya")})
    before = live(alice_client, patient, medications=["warfarin"])
    assert chosen(before, "rx_warfarin") == PrescriberAnswer.PAUSE  # pre-filled from last time

    page = live(
        alice_client,
        patient,
        medications=["warfarin"],
        rx_warfarin="continue",
        rx_warfarin_days="",
        rx_warfarin_prescriber="Dr. Can Demir",
    )
    assert chosen(page, "rx_warfarin") == PrescriberAnswer.CONTINUE
    assert value(page, "rx_warfarin_prescriber") == "Dr. Can Demir"
    assert value(page, "rx_warfarin_days") == ""


def test_a_decision_on_a_finding_that_has_gone_is_not_shown(alice_client, patient):
    page = live(alice_client, patient, conditions=[], **{"ack_sensitive-skin": "on"})
    assert 'name="ack_sensitive-skin"' not in page


def test_the_summary_above_the_answers_comes_with_each_live_update(alice_client, patient):
    page = live(alice_client, patient, conditions=["sensitive_skin", "clotting_disorder"])
    summary = re.search(r'<span id="findings-summary-status"[^>]*>.*?</span>\s*</span>', page, re.S).group(0)
    assert 'hx-swap-oob="true"' in summary
    assert "Defer treatment" in summary
    assert "1 critical · 1 warning · " in re.sub(r"\s+", " ", summary)


def test_a_refused_save_says_how_many_warnings_still_wait_for_their_tick(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    data = {
        "on_date": IN_THREE_WEEKS,
        "conditions": ["sensitive_skin", "bruises_easily"],
        "areas": ["face"],
        "ack_bruises-easily": "on",
    }
    page = alice_client.post(url, data).content.decode()
    link = re.search(r'<a class="findings-jump".*?</a>', page, re.S).group(0)
    assert re.sub(r"<[^>]+>|\s+", " ", link).split() == ["Go", "to", "findings", "(", "1", "to", "decide)"]
    assert 'href="#findings-panel"' in link
    assert 'id="findings-panel"' in page and 'href="#answers"' in page  # and back again
