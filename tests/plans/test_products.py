"""The product catalogue: each product with its ingredients, its form and strength, its unit, the
maker's most per session, the GTIN on its pack (check digit verified, stored as GTIN-14) and a
reorder level; errors beside the fields, what was typed kept. The demo catalogue has them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from mesoclinic.plans.demo import PRODUCTS, seed_products
from mesoclinic.plans.forms import ProductForm, gtin_problem
from mesoclinic.plans.models import Product
from mesoclinic.screening.models import Term

pytestmark = pytest.mark.django_db


def values(**changes):
    data = {
        "name": "Glow Serum",
        "manufacturer": "Meso Labs",
        "ingredients": [Term.objects.get(kind="ingredient", code="hyaluronic_acid").pk],
        "form": "vial",
        "concentration": "hyaluronic acid 20 mg/ml",
        "unit_ml": "5",
        "max_ml_per_session": "",
        "gtin": "",
        "reorder_ml": "20",
        "notes": "",
        "is_active": "on",
    }
    data.update(changes)
    return data


def form_for(instance=None, **changes):
    form = ProductForm(values(**changes), instance=instance)
    form.is_valid()
    return form


# --- GTIN --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("8691234100011", "08691234100011"),  # EAN-13 under the Türkiye prefix, as under the barcode
        ("869 1234 10001 1", "08691234100011"),  # spaced as printed
        ("08691234100011", "08691234100011"),  # GTIN-14, as the DataMatrix carries it
        ("96385074", "00000096385074"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("1-0869123-41000-7", "10869123410007"),  # GTIN-14 of a case (indicator digit 1)
    ],
)
def test_a_valid_gtin_is_stored_as_gtin_14(typed, stored):
    form = form_for(gtin=typed)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["gtin"] == stored and len(stored) == 14


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("8691234100012", "check digit"),  # the last digit mistyped
        ("8691234100101", "check digit"),  # two digits swapped (…011 -> …101)
        ("6891234100011", "check digit"),  # the first two swapped
        ("869123410001", "check digit"),  # a 12-digit number whose last digit is no check digit
        ("86912341000", "this one has 11"),
        ("869123410001123", "this one has 15"),
        ("8691234IOOO11", "digits only"),  # letters I and O for 1 and 0
        ("869²234100011", "digits only"),  # a digit to Python, not to a scanner
        ("00000000000000", "zeros"),
    ],
)
def test_a_wrong_gtin_is_refused_in_words(typed, words):
    form = form_for(gtin=typed)
    assert not form.is_valid()
    assert words in " ".join(form.errors["gtin"])


def test_the_check_digit_message_does_not_say_which_digit_would_fit():
    """Told "it should be 1", one changes the last digit and keeps the digit that was mistyped."""
    problem = gtin_problem("8691234100012")
    assert "1" not in problem and "mistyped or two were swapped" in problem


def test_a_gtin_is_one_products(clinic):
    Product.objects.create(name="HydraGlow Meso", manufacturer="Nova Aesthetics", gtin="08691234100011")
    form = form_for(gtin="869-1234-10001-1")
    assert not form.is_valid()
    assert form.errors["gtin"] == ["This GTIN is already that of HydraGlow Meso (Nova Aesthetics)."]


def test_a_product_keeps_its_own_gtin_when_saved_again(clinic):
    product = Product.objects.create(name="Glow Serum", manufacturer="Meso Labs", gtin="08691234100011")
    form = form_for(instance=product, gtin="08691234100011", concentration="hyaluronic acid 18 mg/ml")
    assert form.is_valid(), form.errors
    assert form.save().concentration == "hyaluronic acid 18 mg/ml"


def test_no_gtin_is_allowed_and_many_products_have_none(clinic):
    Product.objects.create(name="Other", gtin="")
    form = form_for(gtin="   ")
    assert form.is_valid(), form.errors
    assert form.save().gtin == ""


# --- The other fields --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed", "words"),
    [
        ("unit_ml", "0", "greater than or equal to 0.01"),
        ("unit_ml", "5000", "less than or equal to 1000"),
        ("max_ml_per_session", "0", "greater than or equal to 0.01"),
        ("max_ml_per_session", "250", "less than or equal to 100"),
        ("reorder_ml", "-1", "greater than or equal to 0"),
        ("unit_ml", "2.555", "no more than 2 decimal places"),
        ("form", "pill", "Select a valid choice"),
    ],
)
def test_values_no_maker_states_are_refused(field, typed, words):
    form = form_for(**{field: typed})
    assert not form.is_valid()
    assert words in " ".join(form.errors[field])


def test_the_same_product_from_the_same_maker_once(clinic):
    Product.objects.create(name="Glow Serum", manufacturer="Meso Labs")
    form = form_for()
    assert form.errors == {"name": ["The catalogue already has this product from this manufacturer."]}
    assert form_for(manufacturer="Other Labs").is_valid()


def test_a_new_product_with_everything(alice_client):
    response = alice_client.post(
        reverse("plans:product_new"),
        values(gtin="8691234100028", max_ml_per_session="2.5", form="ampoule", unit_ml="2"),
    )
    assert response.status_code == 302 and response["Location"] == reverse("plans:products")
    product = Product.objects.get(name="Glow Serum")
    assert product.form == "ampoule" and product.concentration == "hyaluronic acid 20 mg/ml"
    assert (product.unit_ml, product.max_ml_per_session, product.reorder_ml) == (
        Decimal("2"),
        Decimal("2.5"),
        Decimal("20"),
    )
    assert product.gtin == "08691234100028"
    assert [t.code for t in product.ingredients.all()] == ["hyaluronic_acid"]


def test_errors_show_beside_their_fields_and_what_was_typed_stays(alice_client):
    response = alice_client.post(
        reverse("plans:product_new"),
        values(gtin="8691234100012", max_ml_per_session="0", concentration="HA 20 mg/ml"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert not Product.objects.exists()
    gtin_input = page.index('name="gtin"')
    assert 'value="8691234100012"' in page[gtin_input - 300 : gtin_input + 300]
    gtin_error = page.index("does not fit the digits before it")
    assert page.index('id="id_gtin"') < gtin_error < page.index('name="notes"')
    assert 'value="HA 20 mg/ml"' in page and 'value="0"' in page
    assert "Ensure this value is greater than or equal to 0.01." in page
    assert 'aria-invalid="true"' in page


def test_editing_shows_the_stored_values(alice_client, clinic):
    product = Product.objects.create(
        name="Relief Meso",
        manufacturer="Meridian Labs",
        form="ampoule",
        concentration="piroxicam 10 mg/ml",
        unit_ml=Decimal("2"),
        max_ml_per_session=Decimal("2"),
        gtin="08691234100059",
        reorder_ml=Decimal("6"),
    )
    page = alice_client.get(reverse("plans:product_edit", args=[product.pk])).content.decode()
    assert 'value="08691234100059"' in page and 'value="piroxicam 10 mg/ml"' in page
    assert '<option value="ampoule" selected>' in page


def test_the_product_list_shows_form_strength_unit_limit_gtin_and_reorder_level(
    alice_client, clinic, django_assert_max_num_queries
):
    seed_products()
    with django_assert_max_num_queries(12):
        page = alice_client.get(reverse("plans:products")).content.decode()
    relief = page[page.index("Relief Meso") :]
    relief = relief[: relief.index("</tr>")]
    for shown in ("Ampoule", "piroxicam 10 mg/ml, lidocaine 20 mg/ml", "2 ml", "08691234100059", "6 ml"):
        assert shown in relief, shown
    capilla = page[page.index("Capilla Boost") :]
    capilla = capilla[: capilla.index("</tr>")]
    assert "none stated" in capilla  # a hair cocktail's maker states no limit: none is invented


def test_the_product_list_queries_do_not_grow_with_the_catalogue(alice_client, clinic, django_assert_num_queries):
    seed_products()
    alice_client.get(reverse("plans:products"))  # warm the caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as five:
        alice_client.get(reverse("plans:products"))
    for n in range(20):
        Product.objects.create(name=f"Extra {n}", gtin="")
    with django_assert_num_queries(len(five.captured_queries)):
        alice_client.get(reverse("plans:products"))


# --- The demo catalogue ------------------------------------------------------------------------


def test_the_demo_products_have_a_makers_details_and_valid_gtins(clinic):
    seed_products()
    products = {p.name: p for p in Product.objects.prefetch_related("ingredients")}
    assert set(products) == set(PRODUCTS)
    for name, product in products.items():
        assert product.ingredients.exists(), name
        assert product.form and product.unit_ml and product.reorder_ml is not None, name
        assert product.gtin.startswith("0869") and gtin_problem(product.gtin) == "", name
    assert len({p.gtin for p in products.values()}) == len(products)
    # A limit only where a maker of such a product states one.
    assert products["LipoContour"].max_ml_per_session == Decimal("10")
    assert products["Relief Meso"].max_ml_per_session == Decimal("2")
    assert products["HydraGlow Meso"].max_ml_per_session is None
    assert products["Capilla Boost"].max_ml_per_session is None and products["Capilla Boost"].concentration == ""


def test_seeding_again_keeps_what_the_clinic_changed(clinic):
    seed_products()
    Product.objects.filter(name="LipoContour").update(reorder_ml=Decimal("40"), concentration="as the new leaflet")
    Product.objects.filter(name="Lumina Tone").update(gtin="")
    seed_products()
    lipo = Product.objects.get(name="LipoContour")
    assert lipo.reorder_ml == Decimal("40") and lipo.concentration == "as the new leaflet"
    assert Product.objects.get(name="Lumina Tone").gtin == "08691234100042"  # what was missing comes back
    assert Product.objects.count() == len(PRODUCTS)
