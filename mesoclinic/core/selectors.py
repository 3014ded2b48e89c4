from django.core.cache import cache

from .models import Clinic

CLINIC_CACHE_KEY = "core:clinic"


def current_clinic():
    """The clinic, cached briefly: every page shows its name and phone."""
    clinic = cache.get(CLINIC_CACHE_KEY)
    if clinic is None:
        clinic = Clinic.current()
        cache.set(CLINIC_CACHE_KEY, clinic, 300)
    return clinic
