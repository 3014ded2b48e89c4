import datetime
import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.screening.selectors import screening_status

pytestmark = pytest.mark.django_db


def form_data(**fields):
    data = {"on_date": "2026-12-01", "fitzpatrick_skin_type": "3"}
    data.update(fields)
    return data


def test_practitioner_opens_the_screening_form_scheduler_and_patient_cannot(
    alice_client, sam_client, pat_client, patient
):
    url = reverse("screening:new", args=[patient.pk])
    assert alice_client.get(url).status_code == 200
    assert sam_client.get(url).status_code == 403
    assert pat_client.get(url).status_code == 404


def test_live_evaluation_shows_the_findings_for_the_answers_so_far(alice_client, patient):
    url = reverse("screening:evaluate", args=[patient.pk])
    page = alice_client.post(url, form_data(medications=["aspirin"], conditions=["eczema"])).content.decode()
    assert "Caution" in page
    assert "Stop <strong>aspirin (NSAID)</strong> 7 days before the session" in page
    assert 'name="ack_chronic-skin-condition"' in page
    assert "guide-2024" in page


def test_live_evaluation_refuses_a_typed_term_it_does_not_know(alice_client, patient):
    url = reverse("screening:evaluate", args=[patient.pk])
    page = alice_client.post(url, form_data(conditions_other="ecezma")).content.decode()
    assert "Some answers need attention" in page
    assert "&quot;ecezma&quot; is not in the vocabulary. Did you mean &quot;Eczema&quot;?" in page


def test_saving_needs_every_warning_acknowledged_and_keeps_what_was_typed(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    response = alice_client.post(url, form_data(conditions=["eczema"], notes="anxious about needles"))
    assert response.status_code == 200
    assert not Screening.objects.exists()
    page = response.content.decode()
    assert "Acknowledge this warning before saving." in page
    assert "anxious about needles" in page
    assert 'value="eczema" id="id_conditions_' in page and "checked" in page


def test_saving_records_answers_findings_version_decisions_who_and_when(alice_client, alice, patient):
    url = reverse("screening:new", args=[patient.pk])
    response = alice_client.post(
        url,
        form_data(
            conditions=["eczema"], medications_other="Advil", areas=["face"], **{"ack_chronic-skin-condition": "on"}
        ),
    )
    screening = Screening.objects.get()
    assert response["Location"] == screening.get_absolute_url()
    assert screening.recorded_by == alice
    assert screening.answers["medications"] == ["ibuprofen"]
    assert screening.outcome == Outcome.CAUTION
    assert screening.rules_version.startswith("kb-")
    assert {"rule": "chronic-skin-condition", "decision": "acknowledged"} in screening.decisions
    assert any(f["rule"] == "nsaid-hold" and f["hold"]["hours_before"] == 168 for f in screening.findings)
    assert screening.expires_at - screening.recorded_at == datetime.timedelta(days=30)


def test_a_critical_finding_defers_unless_overridden_with_a_coded_reason_and_a_comment(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    missing_comment = alice_client.post(url, form_data(pregnant="on", **{"override_pregnancy": "entered_in_error"}))
    assert "Say why: an override needs a comment." in missing_comment.content.decode()
    assert not Screening.objects.exists()

    alice_client.post(url, form_data(pregnant="on"))
    assert Screening.objects.get().outcome == Outcome.DEFERRED

    alice_client.post(
        url,
        form_data(
            pregnant="on",
            **{"override_pregnancy": "entered_in_error", "override_pregnancy_comment": "Patient misread the question."},
        ),
    )
    latest = Screening.objects.for_patient(patient).first()
    assert latest.outcome == Outcome.OVERRIDDEN
    assert latest.decision_for("pregnancy")["reason"] == "entered_in_error"


def test_a_recorded_screening_is_never_edited(alice_client, patient):
    alice_client.post(reverse("screening:new", args=[patient.pk]), form_data())
    screening = Screening.objects.get()
    screening.notes = "changed later"
    with pytest.raises(ValidationError):
        screening.save()


def test_the_next_screening_is_prefilled_from_the_previous_one(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    alice_client.post(url, form_data(medications=["retinol"], areas=["scalp"], goals="thicker hair"))
    form = alice_client.get(url).context["form"]
    assert form.initial["medications"] == ["retinol"]
    assert form.initial["areas"] == ["scalp"]
    assert form.initial["goals"] == "thicker hair"


def test_the_prefilled_answers_are_ticked_boxes_with_their_labels(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    alice_client.post(url, form_data(medications=["retinol"], areas=["scalp"]))
    page = alice_client.get(url).content.decode()
    ticked = re.findall(
        r'<input class="form-check-input" type="checkbox" name="(\w+)" value="(\w+)" id="([\w-]+)" checked>', page
    )
    assert {(name, value) for name, value, _ in ticked} >= {("medications", "retinol"), ("areas", "scalp")}
    for *_, box_id in ticked:
        assert f'<label class="form-check-label" for="{box_id}">' in page
    assert 'value="face" id="id_areas_5">' in page  # not ticked, and numbered as Django numbers them


def test_a_screening_lapses_after_the_configured_days_and_when_the_birth_date_changes(alice_client, patient):
    alice_client.post(reverse("screening:new", args=[patient.pk]), form_data())
    assert screening_status(patient).is_current
    later = timezone.now() + datetime.timedelta(days=31)
    assert not screening_status(patient, now=later).is_current
    patient.date_of_birth = patient.date_of_birth - datetime.timedelta(days=1)
    patient.save()
    status = screening_status(patient)
    assert not status.is_current
    assert "date of birth" in status.lapsed_because


def test_the_patient_page_shows_the_screening_status_and_holds(alice_client, patient):
    alice_client.post(reverse("screening:new", args=[patient.pk]), form_data(medications=["ibuprofen"]))
    page = alice_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Clear to treat" in page
    assert "Stop ibuprofen (NSAID) 7 days before each session" in page


def test_viewing_a_screening_is_in_the_audit_trail(alice_client, alice, patient):
    alice_client.post(reverse("screening:new", args=[patient.pk]), form_data())
    screening = Screening.objects.get()
    alice_client.get(screening.get_absolute_url())
    entry = AuditEntry.objects.for_patient(patient.pk).filter(action=AuditEntry.Action.ACCESS).first()
    assert entry.actor == alice
    assert entry.what.startswith("Viewed screening of")


@pytest.mark.parametrize("terms", [[], ["eczema", "lupus", "diabetes", "keloid_tendency", "bruises_easily"]])
def test_live_evaluation_query_count_does_not_grow_with_the_answers(
    alice_client, patient, django_assert_num_queries, terms
):
    url = reverse("screening:evaluate", args=[patient.pk])
    alice_client.post(url, form_data())  # warm the knowledge-base cache
    cache.clear()
    # session, user, clinic, patient, knowledge-base revision, evaluation items
    with django_assert_num_queries(6):
        alice_client.post(url, form_data(conditions=terms, medications=["aspirin", "warfarin"]))


def test_knowledge_base_pages_for_practitioners_only(alice_client, sam_client):
    assert sam_client.get(reverse("screening:knowledge")).status_code == 403
    index = alice_client.get(reverse("screening:knowledge"), {"q": "lupus"}).content.decode()
    assert "Autoimmune disease" in index
    rule = alice_client.get(reverse("screening:rule", args=["autoimmune-disease"])).content.decode()
    assert "basaksehir-2025" in rule and "Lupus" in rule
    term = alice_client.get(reverse("screening:term", args=["medication", "ibuprofen"])).content.decode()
    assert "NSAID" in term and "Stop NSAIDs" in term
    source = alice_client.get(reverse("screening:source", args=["face-2023"])).content.decode()
    assert "Mesotherapy for face" in source
    assert alice_client.get(reverse("screening:rule", args=["no-such-rule"])).status_code == 404
