"""The demo clinic's plans and product catalogue (`seed_demo` and tests/builders only).

Made-up products, each with its ingredients, so the allergy check has something to check, and
with a form, strength, unit, GTIN and reorder level as a maker's leaflet and a pack give them; and
plans drawn up as the builder would with the protocol's defaults, through `plan_create`.
"""

import base64
import io
from dataclasses import dataclass
from decimal import Decimal

from PIL import Image, ImageDraw

from mesoclinic.screening.models import Term

from .forms import PlanForm
from .models import Product, ProductForm, Protocol
from .services import consent_sign, plan_create


def protocol_plan(patient, by, indication="hair_loss", **overrides):
    """A draft plan for `indication` with its protocol's defaults, changed by `overrides`."""
    protocol = Protocol.objects.get(code=indication)
    values = PlanForm.initial_for(protocol)
    values["intervals"] = protocol.default_intervals(protocol.default_sessions)
    values.update(overrides)
    values["areas"] = list(Term.objects.filter(kind="area", code__in=values["areas"]))
    values["ingredients"] = list(Term.objects.filter(kind="ingredient", code__in=values["ingredients"]))
    return plan_create(patient=patient, protocol=protocol, values=values, created_by=by)


def demo_signature():
    """A drawn signature as the pad sends it (a PNG data URL): a few strokes, made up."""
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(20, 70), (60, 20), (90, 75), (130, 30), (170, 70), (210, 40), (280, 60)], fill="#101828", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def signed_consent(plan, by, document_html="<p>document</p>", photo=True):
    """The patient's consent to `plan`, signed with their name (and a drawn signature, which the
    clinic requires by default) and witnessed by `by`."""
    return consent_sign(
        plan=plan,
        document_html=document_html,
        signed_name=plan.patient.display_name,
        confirmed=True,
        photo_consent=photo,
        witnessed_by=by,
        signature=demo_signature(),
    )


@dataclass(frozen=True)
class DemoProduct:
    """A made-up product as its maker's leaflet would describe it. `max_ml_per_session` only
    where a maker of such a product states one (a lipolytic's, a piroxicam ampoule's daily dose);
    a skin or hair cocktail's maker usually states none, and none is invented."""

    manufacturer: str
    ingredients: tuple
    form: str
    concentration: str
    unit_ml: Decimal
    max_ml_per_session: Decimal | None
    gtin: str  # GTIN-14 of an EAN-13 under the Türkiye prefix 869, its check digit valid
    reorder_ml: Decimal


# The names, makers and GTINs are invented: no real brand or company is claimed.
PRODUCTS = {
    "HydraGlow Meso": DemoProduct(
        "Nova Aesthetics",
        ("hyaluronic_acid", "vitamin_c", "amino_acids"),
        ProductForm.VIAL,
        "non-cross-linked hyaluronic acid 10 mg/ml",
        Decimal("5"),
        None,
        "08691234100011",
        Decimal("20"),
    ),
    "Capilla Boost": DemoProduct(
        "Nova Aesthetics",
        ("biotin", "d_panthenol", "growth_factors", "zinc"),
        ProductForm.VIAL,
        "",  # a cocktail whose maker gives no single strength
        Decimal("5"),
        None,
        "08691234100028",
        Decimal("20"),
    ),
    "LipoContour": DemoProduct(
        "Meridian Labs",
        ("phosphatidylcholine", "deoxycholate"),
        ProductForm.AMPOULE,
        "phosphatidylcholine 50 mg/ml, sodium deoxycholate 42 mg/ml",
        Decimal("5"),
        Decimal("10"),
        "08691234100035",
        Decimal("25"),
    ),
    "Lumina Tone": DemoProduct(
        "Meridian Labs",
        ("tranexamic_acid", "glutathione", "vitamin_c"),
        ProductForm.AMPOULE,
        "tranexamic acid 4 mg/ml",
        Decimal("5"),
        None,
        "08691234100042",
        Decimal("15"),
    ),
    "Relief Meso": DemoProduct(
        "Meridian Labs",
        ("piroxicam", "lidocaine"),
        ProductForm.AMPOULE,
        "piroxicam 10 mg/ml, lidocaine 20 mg/ml",
        Decimal("2"),
        Decimal("2"),  # 20 mg of piroxicam: the day's most
        "08691234100059",
        Decimal("6"),
    ),
}
CATALOGUE_FIELDS = ("form", "concentration", "unit_ml", "max_ml_per_session", "gtin", "reorder_ml")


def seed_products():
    """Create the demo products, and give an existing one what it lacks (its ingredients, its
    form, strength, unit, limit, GTIN, reorder level) without changing what the clinic set."""
    terms = {t.code: t for t in Term.objects.filter(kind="ingredient")}
    for name, demo in PRODUCTS.items():
        product, _ = Product.objects.get_or_create(name=name, manufacturer=demo.manufacturer)
        if not product.ingredients.exists():
            product.ingredients.set([terms[code] for code in demo.ingredients])
        missing = [
            f for f in CATALOGUE_FIELDS if getattr(product, f) in ("", None) and getattr(demo, f) not in ("", None)
        ]
        for field in missing:
            setattr(product, field, getattr(demo, field))
        if missing:
            product.save(update_fields=missing)
