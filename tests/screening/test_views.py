import datetime
import re

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core.models import AuditEntry
from mesoclinic.screening.models import Outcome, Screening
from mesoclinic.screening.selectors import screening_standing

pytestmark = pytest.mark.django_db


# Far enough ahead that every hold can be kept, and within the 30 days a screening stays current.
IN_A_MONTH = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()


def form_data(**fields):
    data = {"on_date": IN_A_MONTH, "fitzpatrick_skin_type": "3"}
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
    page = alice_client.post(url, form_data(medications=["aspirin_for_pain"], conditions=["sensitive_skin"])).content
    page = page.decode()
    assert "Caution" in page
    assert "Stop <strong>aspirin for pain or fever (NSAID)</strong> 7 days before the session" in page
    assert 'name="ack_sensitive-skin"' in page
    assert "prep-2023" in page


def test_live_evaluation_keeps_a_typed_condition_it_does_not_know_as_a_warning(alice_client, patient):
    url = reverse("screening:evaluate", args=[patient.pk])
    page = alice_client.post(url, form_data(conditions_other="Epilepsy, OTOİMMÜN HASTALIK")).content.decode()
    assert "Epilepsy: not covered by the rules" in page  # assess it yourself, acknowledged before saving
    assert 'name="ack_unlisted-answer:conditions:epilepsy"' in page
    assert "Autoimmune disease" in page  # the Turkish capitals name a term: the rule fires


def test_an_unknown_planned_ingredient_is_refused_with_a_suggestion(alice_client, patient):
    url = reverse("screening:evaluate", args=[patient.pk])
    page = alice_client.post(url, form_data(ingredients_other="hyaluronic acd")).content.decode()
    assert "Some answers need attention" in page
    assert "Did you mean &quot;Hyaluronic acid&quot;?" in page


def test_saving_needs_every_warning_acknowledged_and_keeps_what_was_typed(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    response = alice_client.post(url, form_data(conditions=["sensitive_skin"], notes="anxious about needles"))
    assert response.status_code == 200
    assert not Screening.objects.exists()
    page = response.content.decode()
    assert "Acknowledge this warning before saving." in page
    assert "anxious about needles" in page
    assert 'value="sensitive_skin" id="id_conditions_' in page and "checked" in page


def test_saving_records_answers_findings_version_decisions_who_and_when(alice_client, alice, patient):
    url = reverse("screening:new", args=[patient.pk])
    response = alice_client.post(
        url,
        form_data(
            conditions=["sensitive_skin"], medications_other="Advil", areas=["face"], **{"ack_sensitive-skin": "on"}
        ),
    )
    screening = Screening.objects.get()
    assert response["Location"] == screening.get_absolute_url()
    assert screening.recorded_by == alice
    assert screening.answers["medications"] == ["ibuprofen"]
    assert screening.outcome == Outcome.CAUTION
    assert screening.rules_version.startswith("kb-")
    assert {"rule": "sensitive-skin", "key": "sensitive-skin", "decision": "acknowledged"} in screening.decisions
    assert any(f["rule"] == "nsaid-hold" and f["hold"]["hours_before"] == 168 for f in screening.findings)
    assert screening.expires_at - screening.recorded_at == datetime.timedelta(days=30)


def test_a_critical_finding_defers_unless_overridden_in_a_way_its_rule_allows(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    clearance = {
        "override_clotting-disorder": "specialist_clearance",
        "override_clotting-disorder_who": "Dr. Ece Kara, haematology",
        "override_clotting-disorder_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
        "override_clotting-disorder_comment": "Mild von Willebrand; letter on file allows superficial treatment.",
    }
    missing = alice_client.post(
        url, form_data(conditions=["clotting_disorder"], **{**clearance, "override_clotting-disorder_who": ""})
    )
    assert "Name who gave the clearance." in missing.content.decode()
    assert "Mild von Willebrand" in missing.content.decode()  # what was typed is kept
    assert not Screening.objects.exists()

    alice_client.post(url, form_data(conditions=["clotting_disorder"]))
    assert Screening.objects.get().outcome == Outcome.DEFERRED

    alice_client.post(url, form_data(conditions=["clotting_disorder"], **clearance))
    latest = Screening.objects.for_patient(patient).first()
    assert latest.outcome == Outcome.OVERRIDDEN
    decision = latest.decision_for("clotting-disorder")
    assert (decision["reason"], decision["cleared_by"]) == ("specialist_clearance", "Dr. Ece Kara, haematology")


def test_pregnancy_offers_no_override_and_a_crafted_one_is_refused(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    page = alice_client.post(reverse("screening:evaluate", args=[patient.pk]), form_data(pregnant="on")).content
    assert b"Cannot be overridden." in page
    assert b'name="override_pregnancy"' not in page
    crafted = form_data(
        pregnant="on", **{"override_pregnancy": "specialist_clearance", "override_pregnancy_comment": "Patient insists"}
    )
    alice_client.post(url, crafted)
    assert Screening.objects.get().outcome == Outcome.DEFERRED  # the crafted override was no decision at all


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
    assert screening_standing(patient).is_current
    later = timezone.now() + datetime.timedelta(days=31)
    assert not screening_standing(patient, now=later).is_current
    patient.date_of_birth = patient.date_of_birth - datetime.timedelta(days=1)
    patient.save()
    status = screening_standing(patient)
    assert not status.is_current
    assert "date of birth" in status.lapsed_because


def test_the_patient_page_shows_the_screening_status_and_holds(alice_client, patient):
    alice_client.post(reverse("screening:new", args=[patient.pk]), form_data(medications=["ibuprofen"]))
    page = alice_client.get(reverse("desk:patient", args=[patient.pk])).content.decode()
    assert "Clear to treat" in page
    assert "Stop ibuprofen 7 days before each session" in page


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
    # session, user, clinic, patient, knowledge-base revision, evaluation items, and the patient's
    # last prescriber decisions (to pre-fill the question about aspirin and warfarin)
    with django_assert_num_queries(7):
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


# --- The prescriber's decisions, unlisted answers, and who is asked about pregnancy ----------


def rx(code, answer="pause", days="5", who="Dr. Selim Kaya"):
    return {f"rx_{code}": answer, f"rx_{code}_days": days, f"rx_{code}_prescriber": who}


def test_the_screening_asks_the_prescribers_decision_for_each_blood_thinner(alice_client, patient):
    page = alice_client.post(
        reverse("screening:evaluate", args=[patient.pk]), form_data(medications=["warfarin", "clopidogrel"])
    ).content.decode()
    assert "The prescriber&#x27;s decision, per medicine" in page or "The prescriber's decision, per medicine" in page
    assert 'name="rx_warfarin"' in page and 'name="rx_clopidogrel"' in page
    assert "Stop <strong>warfarin" not in page


@pytest.mark.parametrize(("days", "error"), [("0", "A pause runs from 1 to 30 days."), ("400", "from 1 to 30 days")])
def test_a_pause_of_no_days_or_of_a_year_is_refused_next_to_the_field(alice_client, patient, days, error):
    url = reverse("screening:new", args=[patient.pk])
    data = form_data(
        medications=["warfarin"], areas=["scalp"], **{"ack_blood-thinners": "on"}, **rx("warfarin", days=days)
    )
    page = alice_client.post(url, data).content.decode()
    assert error in page
    assert 'value="Dr. Selim Kaya"' in page  # what was typed is kept
    assert not Screening.objects.exists()


def test_an_agreed_pause_is_recorded_and_becomes_the_instruction(alice_client, patient):
    from mesoclinic.screening.selectors import patient_instructions

    url = reverse("screening:new", args=[patient.pk])
    data = form_data(medications=["warfarin"], areas=["scalp"], **{"ack_blood-thinners": "on"}, **rx("warfarin"))
    assert alice_client.post(url, data).status_code == 302
    [instruction] = [i for i in patient_instructions(patient) if i.medication == "warfarin"]
    assert (instruction.kind, instruction.hours_before, instruction.prescriber) == ("pause", 120, "Dr. Selim Kaya")


def test_not_yet_asked_is_recorded_and_tells_the_patient_nothing(alice_client, patient):
    from mesoclinic.screening.selectors import patient_instructions, preparation

    url = reverse("screening:new", args=[patient.pk])
    data = form_data(medications=["warfarin"], areas=["scalp"], **{"ack_blood-thinners": "on"})
    assert alice_client.post(url, data).status_code == 302
    assert not [i for i in patient_instructions(patient) if i.medication == "warfarin"]
    assert [q.label for q in preparation(Screening.objects.get()).unanswered] == ["warfarin"]
    page = alice_client.get(reverse("desk:patient", args=[patient.pk])).content.decode()
    assert "Ask the prescriber" in page


def test_the_prescriber_can_answer_later_from_the_plan_or_screening_page(alice_client, patient):
    from mesoclinic.screening.selectors import patient_instructions

    alice_client.post(
        reverse("screening:new", args=[patient.pk]),
        form_data(medications=["warfarin"], areas=["scalp"], **{"ack_blood-thinners": "on"}),
    )
    screening = Screening.objects.get()
    url = reverse("screening:prescriber_decision", args=[screening.pk, "warfarin"])
    refused = alice_client.post(url, {"answer": "pause", "pause_days": "400", "prescriber": "Dr. Kaya"})
    assert refused.status_code == 400
    assert "A pause runs from 1 to 30 days." in refused.content.decode()
    assert 'value="Dr. Kaya"' in refused.content.decode()
    back = reverse("desk:patient", args=[patient.pk])
    saved = alice_client.post(url, {"answer": "pause", "pause_days": "4", "prescriber": "Dr. Kaya", "next": back})
    assert saved["Location"] == back
    [instruction] = [i for i in patient_instructions(patient) if i.medication == "warfarin"]
    assert instruction.hours_before == 96
    # A medicine the screening did not ask about is not a question at all.
    assert (
        alice_client.post(reverse("screening:prescriber_decision", args=[screening.pk, "ibuprofen"])).status_code == 404
    )


def test_an_unlisted_entry_longer_than_200_characters_is_refused_and_kept(alice_client, patient):
    long = "a rare condition " * 13
    page = alice_client.post(
        reverse("screening:new", args=[patient.pk]), form_data(conditions_other=f"Epilepsy, {long}")
    ).content.decode()
    assert "at most 200 characters" in page
    assert long.strip() in page
    assert not Screening.objects.exists()


def test_an_unlisted_answer_is_saved_as_said_once_acknowledged(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    data = form_data(conditions_other="Epilepsy", **{"ack_unlisted-answer:conditions:epilepsy": "on"})
    assert alice_client.post(url, data).status_code == 302
    screening = Screening.objects.get()
    assert screening.answers["unlisted"] == {"conditions": ["Epilepsy"]}
    assert (
        alice_client.get(reverse("screening:new", args=[patient.pk])).context["form"].initial["conditions_other"]
        == "Epilepsy"
    )


@pytest.mark.parametrize(("sex", "asked"), [("male", False), ("female", True), ("unknown", True), ("other", True)])
def test_pregnancy_is_not_asked_of_a_man_but_is_when_sex_is_not_recorded(alice_client, patient, sex, asked):
    patient.sex = sex
    patient.save()
    page = alice_client.get(reverse("screening:new", args=[patient.pk])).content.decode()
    assert ('name="pregnant"' in page) == asked
    assert ('name="trying_to_conceive"' in page) == asked


def test_a_site_override_naming_a_planned_area_is_refused_next_to_the_site(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    data = form_data(
        conditions=["herpes_simplex_active"],
        areas=["face"],
        **{
            "override_active-skin-infection": "site_excluded",
            "override_active-skin-infection_site": "face",
            "override_active-skin-infection_comment": "Cold sore on the lip",
        },
    )
    page = alice_client.post(url, data).content.decode()
    assert "The planned areas include Face: they must exclude the affected site." in page
    assert not Screening.objects.exists()


def test_a_clearance_dated_in_the_future_is_refused(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    future = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    data = form_data(
        conditions=["keloid_tendency"],
        **{
            "override_keloid-tendency": "specialist_clearance",
            "override_keloid-tendency_who": "Dr. Ada Yıldız",
            "override_keloid-tendency_date": future,
            "override_keloid-tendency_comment": "Letter",
        },
    )
    assert "A clearance cannot be dated in the future." in alice_client.post(url, data).content.decode()


def test_a_pregnancy_typed_among_the_conditions_answers_the_pregnancy_question(alice_client, patient):
    page = alice_client.post(
        reverse("screening:evaluate", args=[patient.pk]), form_data(conditions_other="hamileyim")
    ).content.decode()
    assert "Defer treatment" in page and "Pregnancy" in page
    assert "not covered by the rules" not in page


def test_a_medication_typed_among_the_conditions_says_where_it_goes(alice_client, patient):
    page = alice_client.post(
        reverse("screening:evaluate", args=[patient.pk]), form_data(conditions_other="Advil")
    ).content.decode()
    assert "&quot;Advil&quot; is a known term (ibuprofen): put it in medications" in page


@pytest.mark.parametrize(("days", "message"), [(-1, "in the past"), (31, "stays current for 30 days")])
def test_the_planned_date_lies_within_the_screenings_validity(alice_client, patient, days, message):
    """A 17-year-old screened for a date after her birthday would be clear for the sessions
    before it: the planned date must fall in the screening's own 30 days."""
    from mesoclinic.core.selectors import clinic_today

    day = (clinic_today() + datetime.timedelta(days=days)).isoformat()  # the clinic's day, not the server's
    page = alice_client.post(reverse("screening:new", args=[patient.pk]), form_data(on_date=day)).content.decode()
    assert message in page
    assert not Screening.objects.exists()


def test_an_override_about_a_blood_thinner_needs_the_prescribers_decision_first(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    data = form_data(
        medications=["warfarin", "clopidogrel"],
        areas=["face"],
        **{
            "ack_blood-thinners": "on",
            "override_facial-blood-thinner": "specialist_clearance",
            "override_facial-blood-thinner_who": "Dr. Selim Kaya, cardiology",
            "override_facial-blood-thinner_date": datetime.date.today().isoformat(),
            "override_facial-blood-thinner_comment": "Agrees to facial treatment with a pause.",
        },
        **rx("warfarin"),
    )
    page = alice_client.post(url, data).content.decode()
    assert "Record the prescriber&#x27;s decision on clopidogrel before overriding." in page
    assert not Screening.objects.exists()
    assert alice_client.post(url, {**data, **rx("clopidogrel", answer="continue")}).status_code == 302


def test_the_plan_page_sends_what_its_screening_must_cover_and_the_form_ticks_it(alice_client, patient, alice):
    """Screening for a plan: the plan page's link carries its areas, ingredients (its products'
    too) and indication; the form starts with them ticked. The screening app reads no plan."""
    from mesoclinic.plans.models import Product
    from mesoclinic.screening.models import Term
    from tests.builders import plan_for

    plan = plan_for(patient, alice, "hair_loss")
    product = Product.objects.create(name="Numbing", manufacturer="Test")
    product.ingredients.set([Term.objects.get(kind="ingredient", code="lidocaine")])
    plan.products.add(product)
    page = alice_client.get(plan.get_absolute_url()).content.decode()
    link = re.search(r'href="(/patients/\d+/screenings/new/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    form = alice_client.get(link).context["form"]
    assert set(form.initial["areas"]) == {t.code for t in plan.areas.all()}
    assert "lidocaine" in form.initial["ingredients"]
    assert {t.code for t in plan.ingredients.all()} <= set(form.initial["ingredients"])
    assert form.initial["indication"] == "hair_loss"


def test_a_crafted_cover_query_ticks_only_terms_the_vocabulary_knows(alice_client, patient):
    url = reverse("screening:new", args=[patient.pk])
    response = alice_client.get(url, {"areas": ["scalp", "<script>"], "ingredients": "nope", "indication": "x" * 500})
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert initial.get("areas") == ["scalp"] and "ingredients" not in initial and not initial.get("indication")
