"""The outcome measures and the documents' figures are knowledge: cited, consistent, complete."""

import pytest
from django.core.exceptions import ValidationError

from mesoclinic.plans.models import Finding, OutcomeMeasure, Protocol, RecordedBy, ReportedOutcome
from mesoclinic.screening.knowledge import untranslated
from mesoclinic.screening.models import SourceDocument

pytestmark = pytest.mark.django_db


def test_every_protocol_tracks_at_least_one_measure_and_every_measure_is_tracked():
    for protocol in Protocol.objects.prefetch_related("measures"):
        assert protocol.measures.exists(), protocol.code
    assert not OutcomeMeasure.objects.filter(protocols=None).exists()


def test_the_issue_s_measures_are_all_there():
    # elasticity, wrinkle depth, hair diameter and shedding, cellulite grade, MASI, pain 0-10 and a
    # function score, circumference at named sites, GAIS, patient satisfaction
    codes = set(OutcomeMeasure.objects.values_list("code", flat=True))
    assert {
        "skin_elasticity",
        "wrinkle_depth",
        "hair_diameter",
        "hair_shedding",
        "cellulite_grade",
        "masi",
        "pain_score",
        "function_score",
        "gais",
        "satisfaction",
    } <= codes
    assert len([code for code in codes if code.startswith("circumference_")]) >= 3


def test_every_measure_and_finding_cites_the_documents():
    keys = set(SourceDocument.objects.values_list("key", flat=True))
    for row in [*OutcomeMeasure.objects.all(), *ReportedOutcome.objects.all()]:
        assert row.sources, row.pk
        assert {source["document"] for source in row.sources} <= keys, row.pk
        assert all(source["citation"].strip() for source in row.sources), row.pk


def test_ranges_are_sensible_and_patient_scores_have_their_question():
    for measure in OutcomeMeasure.objects.all():
        measure.full_clean()  # minimum below maximum; a patient's score has its question
        assert measure.minimum >= 0, measure.code
        if measure.recorded_by == RecordedBy.PATIENT:
            assert measure.patient_question_tr, measure.code


def test_each_finding_is_about_a_measure_its_protocol_tracks_and_has_a_figure_only_when_numeric():
    for row in ReportedOutcome.objects.select_related("protocol", "measure"):
        row.full_clean()
        assert row.protocol.measures.filter(pk=row.measure_id).exists(), row.code


def test_the_figures_agree_with_the_protocols_evidence_text():
    """The protocol's evidence paragraph (protocols.yaml) and the findings (outcome_measures.yaml)
    were written from the same document passages: the figures and session counts must match."""
    for row in ReportedOutcome.objects.filter(finding=Finding.CHANGE).select_related("protocol"):
        evidence = row.protocol.evidence
        assert f"{abs(row.value).normalize():f}%" in evidence, row.code
        if row.sessions:
            words = {5: "five", 6: "six", 8: "eight"}
            assert words[row.sessions] in evidence.lower(), row.code


def test_where_the_documents_disagree_both_readings_are_kept():
    # guide-2024 found no benefit for wrinkles and thigh size; basaksehir-2025 reports -18% wrinkles.
    wrinkles = ReportedOutcome.objects.filter(protocol="skin_rejuvenation", measure="wrinkle_depth")
    assert {row.finding for row in wrinkles} == {Finding.CHANGE, Finding.NO_BENEFIT}
    assert ReportedOutcome.objects.filter(measure="circumference_thigh", finding=Finding.NO_BENEFIT).count() == 2


def test_a_figure_without_a_number_is_refused():
    row = ReportedOutcome.objects.get(code="masi_basaksehir")
    row.value = None
    with pytest.raises(ValidationError, match="needs its figure"):
        row.full_clean()


def test_every_outcome_text_has_its_turkish():
    missing = [line for line in untranslated("tr") if "Outcome" in line]
    assert missing == []
