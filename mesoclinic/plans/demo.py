"""The demo clinic's plans and product catalogue (`seed_demo` and tests/builders only).

Made-up products, each with its ingredients, so the allergy check has something to check; and
plans drawn up as the builder would with the protocol's defaults, through `plan_create`.
"""

import base64
import io

from PIL import Image, ImageDraw

from mesoclinic.screening.models import Term

from .forms import PlanForm
from .models import Product, Protocol
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


# name -> (manufacturer, ingredient codes). The names are invented: no real brand is claimed.
PRODUCTS = {
    "HydraGlow Meso": ("Nova Aesthetics", ["hyaluronic_acid", "vitamin_c", "amino_acids"]),
    "Capilla Boost": ("Nova Aesthetics", ["biotin", "d_panthenol", "growth_factors", "zinc"]),
    "LipoContour": ("Meridian Labs", ["phosphatidylcholine", "deoxycholate"]),
    "Lumina Tone": ("Meridian Labs", ["tranexamic_acid", "glutathione", "vitamin_c"]),
    "Relief Meso": ("Meridian Labs", ["piroxicam", "lidocaine"]),
}


def seed_products():
    """Create the demo products, and give any existing one without ingredients its list."""
    terms = {t.code: t for t in Term.objects.filter(kind="ingredient")}
    for name, (maker, codes) in PRODUCTS.items():
        product, _ = Product.objects.get_or_create(name=name, manufacturer=maker)
        if not product.ingredients.exists():
            product.ingredients.set([terms[code] for code in codes])
