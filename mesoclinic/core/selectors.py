"""Reads every app shares: the clinic, its zone, its today."""

import datetime

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


def clinic_zone():
    # Fresh from the database, not the page cache: a booking must use the zone as it is now.
    return Clinic.current().zone


def clinic_today():
    """Today in the clinic's own time zone: treatment dates are the clinic's dates."""
    return datetime.datetime.now(current_clinic().zone).date()


def wall_clock(moment: datetime.datetime, zone) -> datetime.datetime:
    """The local wall-clock time of an aware moment, as a naive datetime."""
    return moment.astimezone(zone).replace(tzinfo=None)


def day_bounds(first, last=None, zone=None):
    """The clinic days `first` to `last` (inclusive) as [start, end) aware moments."""
    zone = zone or clinic_zone()
    start = datetime.datetime.combine(first, datetime.time(0)).replace(tzinfo=zone)
    end = datetime.datetime.combine((last or first) + datetime.timedelta(days=1), datetime.time(0)).replace(tzinfo=zone)
    return start, end
