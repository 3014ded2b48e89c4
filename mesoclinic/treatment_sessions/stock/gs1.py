"""Reading a product's pack: the GS1 code printed on it, parsed by biip.

A Turkish pack carries the ITS "karekod", a GS1 DataMatrix with the product's GTIN (01), its
serial number (21), its expiry (17, YYMMDD) and its lot (10), in that order on most packs. The
variable-length fields (serial, lot) end with a group separator (GS, byte 0x1d: the FNC1 the
printer encoded) unless they come last. The same fields reach us in several spellings:

- from the tablet camera (zxing): a leading GS for the FNC1 that marks the code as GS1;
- from a handheld scanner: a symbology identifier first ("]d2" for a GS1 DataMatrix, "]Q3" for
  a GS1 QR code, "]C1" for GS1-128);
- typed or pasted by a person: the human-readable form "(01)08690000000012(17)270531(10)HB2611",
  or with GS written out ("<GS>", "␝") where the byte cannot be typed.

A day "00" in the expiry means the last day of that month (GS1 General Specifications); biip
applies it. A plain GTIN (the EAN-13 under the box's barcode) gives the product alone.
"""

import datetime
import re
from dataclasses import dataclass

from biip import ParseConfig, ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.symbology import SymbologyIdentifier
from django.utils.translation import gettext as _

GS = "\x1d"
MAX_LENGTH = 300  # a karekod holds about 60 characters; anything longer is not a pack
# GS as a person or a keyboard-emulating scanner may spell it.
GS_SPELLINGS = re.compile(r"<GS>|\{GS\}|\[GS\]|\u241d", re.IGNORECASE)
CONFIG = ParseConfig(separator_chars=(GS,))
GTIN_LENGTHS = (8, 12, 13, 14)


@dataclass(frozen=True)
class Pack:
    """What the pack's code says. `gtin` is always the 14-digit form ("" when the code has
    none); `expires_on` is None when the code carries no expiry."""

    gtin: str
    lot: str
    expires_on: datetime.date | None
    serial: str = ""


def gtin_forms(gtin):
    """The ways one GTIN may be stored: 14 digits, and the shorter forms it pads (a GTIN-13
    "8690000000012" is "08690000000012"). A catalogue may hold any of them."""
    gtin = gtin.strip()
    if not gtin.isdigit() or len(gtin) not in GTIN_LENGTHS:
        return []
    full = gtin.zfill(14)
    return [full[14 - length :] for length in sorted(GTIN_LENGTHS, reverse=True) if set(full[: 14 - length]) <= {"0"}]


def _clean(text):
    if not isinstance(text, str):
        raise ValueError(_("Scan the pack's code, or type it."))
    if len(text) > MAX_LENGTH:
        raise ValueError(_("This is not a pack's code: it is longer than %(max)s characters.") % {"max": MAX_LENGTH})
    text = GS_SPELLINGS.sub(GS, text)
    # str.strip() takes GS too (it is whitespace to Python): the leading FNC1 the camera reports.
    text = text.strip()
    if text.startswith("]") and len(text) >= 3:
        identifier = SymbologyIdentifier.extract(text)
        text = text[len(identifier) :].strip()
    if not text:
        raise ValueError(_("Scan the pack's code, or type it."))
    return text


def _message(text):
    """The GS1 message in `text`, or None for a bare GTIN."""
    if text.isdigit() and len(text) in GTIN_LENGTHS:
        return None
    if text.startswith("("):
        return GS1Message.parse_hri(text, config=CONFIG)
    if text.lower().startswith(("http://", "https://")):
        return GS1DigitalLinkURI.parse(text, config=CONFIG).as_gs1_message()
    return GS1Message.parse(text, config=CONFIG)


def _bad_check_digit(gtin):
    return ValueError(
        _("The product number (GTIN) %(gtin)s fails its check digit: the code was misread or mistyped.")
        % {"gtin": gtin}
    )


def read_pack(text) -> Pack:
    """The GTIN, lot, expiry and serial number a pack's code carries. ValueError, with a
    sentence for the person scanning, when it is not a GS1 code, when the GTIN's check digit
    is wrong (a misread), when the expiry is not a date, or when it names neither product nor
    lot."""
    text = _clean(text)
    try:
        message = _message(text)
        if message is None:
            gtin = Gtin.parse(text, config=CONFIG)
            return Pack(gtin=gtin.as_gtin_14(), lot="", expires_on=None)
    except ParseError as error:
        if text.isdigit() and len(text) in GTIN_LENGTHS:
            raise _bad_check_digit(text) from error
        raise ValueError(
            _("This code could not be read as a GS1 pack code (product, lot and expiry): type them instead.")
        ) from error
    found = {element.ai.ai: element for element in message.element_strings}
    gtin = found.get("01")
    if gtin is not None and gtin.gtin_error:
        raise _bad_check_digit(gtin.value)
    lot = found.get("10")
    if gtin is None and lot is None:
        raise ValueError(_("This code names neither a product (GTIN) nor a lot: it is not a pack's code."))
    expiry = found.get("17")
    serial = found.get("21")
    return Pack(
        gtin=gtin.gtin.as_gtin_14() if gtin is not None else "",
        lot=lot.value.strip() if lot is not None else "",
        expires_on=expiry.date if expiry is not None else None,
        serial=serial.value if serial is not None else "",
    )
