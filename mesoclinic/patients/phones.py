"""Phone numbers: stored as E.164 (+905321234567), shown formatted (+90 532 123 45 67).

People type a number the way they say it: "0532 123 45 67", "+90 532 1234567", "5321234567",
"0044 7700 900123". A number typed without its country code belongs to the clinic's country
(`MESOCLINIC_PHONE_REGION`, by default the country of the clinic's time zone: Europe/Istanbul
is TR), unless it is no number there and is one of `MESOCLINIC_PHONE_OTHER_REGIONS` (by default
GB: a Turkish clinic's British patients type 07700 900123).
"""

import functools
import re
from importlib import resources

import phonenumbers
from django.conf import settings

from mesoclinic.core.selectors import current_clinic

FALLBACK_REGION = "TR"
_FORMAT = phonenumbers.PhoneNumberFormat


class PhoneNumberError(ValueError):
    """What was typed is no phone number in any region the clinic expects."""


@functools.lru_cache(maxsize=64)
def region_of_zone(zone_name):
    """The country (ISO 3166 code) of a time zone, from the tz database's zone.tab."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in table.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#") and parts[2] == zone_name:
            return parts[0]
    return ""


def clinic_region():
    configured = (getattr(settings, "MESOCLINIC_PHONE_REGION", "") or "").strip().upper()
    if configured:
        return configured
    return region_of_zone(current_clinic().timezone) or FALLBACK_REGION


def regions():
    """The regions a number typed without its country code is read in, the clinic's first."""
    first = clinic_region()
    others = [r.strip().upper() for r in getattr(settings, "MESOCLINIC_PHONE_OTHER_REGIONS", ["GB"]) if r.strip()]
    return [first, *[r for r in others if r != first]]


def _fits_region(region, number):
    """The national number has the shape of a number in `region` (phonenumbers' validity is
    stricter: it refuses reserved ranges such as the UK's 07700 900xxx)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    pattern = metadata.general_desc.national_number_pattern if metadata else None
    national = str(number.national_number)
    return bool(pattern and re.fullmatch(pattern, national))


def parse(text, region_list=None):
    """The number `text` names, as a phonenumbers object; PhoneNumberError if it names none.

    Typed with its country code ("+44 …", "0044 …"), any possible number is taken as typed.
    Without one, the first region (the clinic's first) where it is a valid number, else the
    first where it has the shape of one."""
    text = (text or "").strip()
    region_list = region_list or regions()
    international = text.startswith("+") or re.sub(r"[\s().-]", "", text).startswith("00")
    candidates = []
    for region in [region_list[0]] if international else region_list:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            candidates.append((region, number))
    if international and candidates:
        return candidates[0][1]
    # A real number is valid where it was allocated; only a number valid nowhere (a reserved
    # range such as the UK's 07700 900xxx) falls back to the shape of a region's numbers.
    for test in (lambda region, n: phonenumbers.is_valid_number(n), _fits_region):
        for region, number in candidates:
            if test(region, number):
                return number
    raise PhoneNumberError(text)


def to_e164(text, region_list=None):
    """'0532 123 45 67' -> '+905321234567'; "" stays ""; PhoneNumberError if no number."""
    if not (text or "").strip():
        return ""
    return phonenumbers.format_number(parse(text, region_list), _FORMAT.E164)


def formatted(stored):
    """How a stored number is shown: '+90 532 123 45 67'. Anything unparsable as it was."""
    if not stored:
        return ""
    try:
        number = phonenumbers.parse(stored, None if stored.startswith("+") else FALLBACK_REGION)
    except phonenumbers.NumberParseException:
        return stored
    return phonenumbers.format_number(number, _FORMAT.INTERNATIONAL)


def search_digits(text):
    """The digits of a (part of a) phone number to look for inside stored E.164 numbers:
    a trunk or international prefix of zeros is dropped, so "0532 123" finds +90532123…
    and "0044 7700" finds +447700…"""
    return re.sub(r"\D", "", text or "").lstrip("0")
