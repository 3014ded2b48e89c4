"""The demo clinic's product catalogue: made-up products, each with its ingredients, so the
allergy check has something to check (`seed_demo` only)."""

from mesoclinic.screening.models import Term

from .models import Product

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
