"""The staff app in Turkish (issue 15, item 5): screening, the knowledge base, the plan builder,
the plan page and protocols, as a Turkish-speaking practitioner reads them. The page words come
from the catalogue, the clinical knowledge (term labels, rule and protocol texts) from the
fixtures' Turkish (`label_tr`, `title_tr`).

These read the project's Turkish catalogue: each asserts words it provides, and that the
English they replace is gone."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from mesoclinic.plans.models import Plan
from mesoclinic.screening.selectors import describe_when, screening_standing
from tests.builders import PatientFactory, consented, covering, plan_for, screened

pytestmark = pytest.mark.django_db

IN_TWO_WEEKS = (datetime.date.today() + datetime.timedelta(days=14)).isoformat()


@pytest.fixture
def turkish_alice(alice, alice_client):
    alice.language = "tr"
    alice.save()
    return alice_client


@pytest.fixture
def ayse(db):
    return PatientFactory(given_name="Ayşe Gülşen", family_name="Öztürk", date_of_birth=datetime.date(1988, 3, 14))


def _page(response):
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "tr"
    return response.content.decode()


def test_the_rules_read_turkish_with_turkish_badges(turkish_alice, clinic):
    page = _page(turkish_alice.get(reverse("screening:knowledge")))
    assert "Bilgi tabanı" in page and "Kurallarda ara" in page and "Kural sürümü" in page
    # The badge is the Turkish word, never an English one that CSS upper-cases to "CRİTİCAL".
    assert "</i> Kritik</span>" in page
    assert "Gebelik" in page  # the pregnancy rule's Turkish title (rules.yaml title_tr)
    for english in ("Search rules", "Critical</span>", "Preparation</span>", "Sources:"):
        assert english not in page


def test_a_template_rule_page_says_when_it_applies_in_turkish(turkish_alice, clinic):
    page = _page(turkish_alice.get(reverse("screening:rule", args=["hold-cannot-be-kept"])))
    assert "seansa kalan süreden daha uzun süre gerektiriyor" in page
    assert "needs more time than is left" not in page
    page = _page(turkish_alice.get(reverse("screening:rule", args=["nsaid-cross-allergy"])))
    assert "planlanan içerikler arasında bu türden başka biri bulunuyor" in page


def test_conditions_are_worded_in_turkish_with_turkish_term_labels(clinic):
    from mesoclinic.screening.knowledge import knowledge_base

    with translation.override("tr"):
        words = describe_when({"any": [{"condition": "autoimmune_disease"}, {"age_below": 18}]}, knowledge_base())
    assert words == "hastalık: Otoimmün hastalık (ya da bu türden biri) veya tedavi tarihinde 18 yaşından küçük"


def test_the_vocabulary_page_finds_a_turkish_label_and_heads_it_in_turkish(turkish_alice, clinic):
    page = _page(turkish_alice.get(reverse("screening:terms"), {"q": "otoimmün"}))
    assert "Hastalıklar" in page and "Otoimmün hastalık" in page and "Terimlerde ve eş anlamlılarda ara" in page
    assert "Conditions" not in page and "Belongs to" not in page


def test_the_screening_form_reads_turkish_tick_boxes_included(turkish_alice, clinic, ayse):
    page = _page(turkish_alice.get(reverse("screening:new", args=[ayse.pk])))
    assert "Tarama: Ayşe Gülşen Öztürk" in page
    assert "Planlanan tedavi tarihi" in page and "Taramayı kaydet" in page and "Değerlendirilmedi" in page
    assert "14 Mart 1988" in page  # the birth date in Turkish words and order
    # The tick boxes carry the terms' Turkish labels, grouped under Turkish class names.
    assert "Otoimmün hastalık" in page and "Çene altı (gıdı bölgesi)" in page
    for english in ("Save screening", "Planned treatment date", "Autoimmune disease", "Not assessed"):
        assert english not in page


def test_live_findings_read_turkish(turkish_alice, clinic, ayse):
    page = _page(
        turkish_alice.post(reverse("screening:evaluate", args=[ayse.pk]), {"on_date": IN_TWO_WEEKS, "pregnant": "on"})
    )
    assert '<div class="verdict-title">Tedaviyi ertele</div>' in page
    assert "</i> Kritik</span>" in page and "Geçersiz kılınamaz." in page and "1 kritik" in page
    # The English source stays beside the translation, on purpose; nothing else is English.
    assert "Cannot be overridden" not in page and "Because:" not in page and "Why, and the sources" not in page


def test_a_refused_answer_is_explained_in_turkish(turkish_alice, clinic, ayse):
    page = _page(
        turkish_alice.post(
            reverse("screening:evaluate", args=[ayse.pk]), {"on_date": IN_TWO_WEEKS, "ingredients_other": "kalsiyum"}
        )
    )
    assert "sözlüğün bildiği bir içerik değil" in page


def test_a_saved_screening_reads_turkish(turkish_alice, alice, clinic, ayse):
    screening = screened(ayse, alice, on_date=IN_TWO_WEEKS, conditions=["lupus"])
    page = _page(turkish_alice.get(screening.get_absolute_url()))
    assert "Yanıtlar" in page and "Tedavi öncesi değerlendirme" in page and "Geçerlilik" in page
    assert "Hastalıklar" in page and "Lupus" in page
    for english in ("Answers", "Pre-treatment evaluation", "Recorded ", "Screen again"):
        assert english not in page


def test_a_lapsed_screening_says_why_in_turkish(alice, clinic, ayse):
    screened(ayse, alice, on_date=IN_TWO_WEEKS)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=400)
    with translation.override("tr"):
        standing = screening_standing(ayse, now=later)
        assert standing.label == "Süresi doldu"
        assert standing.lapsed_because.startswith("süresi ") and "tarihinde doldu" in standing.lapsed_because


def test_the_plan_builder_reads_turkish_with_turkish_protocol_and_terms(turkish_alice, clinic, ayse):
    page = _page(turkish_alice.get(reverse("plans:new", args=[ayse.pk]), {"indication": "hair_loss"}))
    assert "Nereye ve neyle" in page and "Taslak planı kaydet" in page
    assert "Saç dökülmesi (saçlı deri mezoterapisi)" in page  # the protocol's title_tr
    assert "Saçlı deri" in page  # the area's label_tr
    for english in ("Where and with what", "Save draft plan", "Hair loss (scalp mesotherapy)"):
        assert english not in page


def test_flags_beside_the_values_read_turkish(turkish_alice, clinic):
    page = _page(
        turkish_alice.post(
            reverse("plans:flags", args=["skin_rejuvenation"]),
            {"areas": ["face"], "depth_mm": "2.5", "needle_gauge": "27", "sessions_planned": "6", "intervals": "7"},
        )
    )
    assert "27 G, kaynakların tarif ettiği" in page and "1,5 mm&#x27;den derin" in page  # a decimal comma
    assert "is outside" not in page


def test_saving_a_plan_says_so_in_turkish(turkish_alice, clinic, ayse):
    from mesoclinic.plans.forms import PlanForm
    from mesoclinic.plans.selectors import protocol_for

    initial = PlanForm.initial_for(protocol_for("hair_loss"))
    data = {**initial, "intervals": initial["intervals"]}
    response = turkish_alice.post(reverse("plans:new", args=[ayse.pk]) + "?indication=hair_loss", data, follow=True)
    page = _page(response)
    assert Plan.objects.filter(patient=ayse).exists()
    assert "Taslak plan kaydedildi." in page


def test_the_plan_page_and_its_gate_read_turkish(turkish_alice, alice, clinic, ayse):
    plan = plan_for(ayse, alice, "hair_loss")
    page = _page(turkish_alice.get(plan.get_absolute_url()))
    assert "Saç dökülmesi planı: Ayşe Gülşen Öztürk" in page
    assert "Başlamaya hazır mı?" in page and "Hasta bu plan için onam imzalamadı." in page
    assert "Taslak" in page  # the status badge
    for english in ("Ready to start?", "has not signed consent", "Hair loss plan", ">Draft<"):
        assert english not in page
    screened(ayse, alice, **covering(plan, on_date=IN_TWO_WEEKS))
    consented(plan, alice)
    page = _page(turkish_alice.get(plan.get_absolute_url()))
    assert "Planı etkinleştir" in page and "Fotoğraflar: evet." in page


def test_protocols_read_turkish(turkish_alice, clinic):
    page = _page(turkish_alice.get(reverse("plans:protocols")))
    assert "Saç dökülmesi (saçlı deri mezoterapisi)" in page and "Protokoller" in page
    page = _page(turkish_alice.get(reverse("plans:protocol", args=["hair_loss"])))
    assert "Olağan bölgeler" in page and "Minoksidil" in page and "İngilizce kaynak metin" in page
    assert "Usual areas" not in page and "Default spacing" not in page
