from django.core.cache import cache

from .models import Clinic
from .navigation import navigation_for


def current_clinic():
    """The clinic, cached briefly: every page shows its name and phone."""
    clinic = cache.get("core:clinic")
    if clinic is None:
        clinic = Clinic.current()
        cache.set("core:clinic", clinic, 300)
    return clinic


def clinic(request):
    return {
        "clinic": current_clinic(),
        "navigation": navigation_for(request),
    }
