"""The pack's code, as the camera, a handheld scanner or a person gives it: the GS1 parser (biip)
reads product, lot, expiry and serial, and refuses what is not a pack's code."""

import datetime

import pytest

from mesoclinic.treatment_sessions.stock.gs1 import GS, Pack, gtin_forms, read_pack

# A Turkish GTIN-13 (prefix 869, GS1 Türkiye) with its check digit, as the ITS karekod carries
# it in 14 digits.
GTIN = "08699536090122"
# The ITS karekod's order: (01) GTIN, (21) serial, GS, (17) expiry, (10) lot.
KAREKOD = f"01{GTIN}21ABC123456789{GS}17270531" + "10HB2611"
EXPECTED = Pack(gtin=GTIN, lot="HB2611", expires_on=datetime.date(2027, 5, 31), serial="ABC123456789")


@pytest.mark.parametrize(
    "text",
    [
        KAREKOD,  # as a handheld scanner sends it without a symbology identifier
        f"]d2{KAREKOD}",  # with the GS1 DataMatrix symbology identifier
        f"{GS}{KAREKOD}",  # from the camera (zxing): the leading FNC1 as a GS
        f"]d2{GS}{KAREKOD}",
        f"  {KAREKOD}\n",  # pasted with whitespace around it
        "(01)08699536090122(21)ABC123456789(17)270531(10)HB2611",  # the human-readable form
        KAREKOD.replace(GS, "<GS>"),  # GS written out where the byte cannot be typed
        KAREKOD.replace(GS, "\u241d"),
    ],
    ids=["plain", "symbology", "camera", "symbology-and-fnc1", "whitespace", "parentheses", "gs-text", "gs-symbol"],
)
def test_the_karekod_in_each_spelling_gives_gtin_serial_expiry_and_lot(text):
    assert read_pack(text) == EXPECTED


def test_fields_in_another_order_and_the_lot_in_the_middle_end_at_the_separator():
    text = f"]d201{GTIN}10HB-2611{GS}1728020021XYZ"  # lot before expiry; day 00; serial last
    assert read_pack(text) == Pack(
        gtin=GTIN, lot="HB-2611", expires_on=datetime.date(2028, 2, 29), serial="XYZ"
    )  # 00 is the month's last day, in a leap year


@pytest.mark.parametrize(
    ("expiry", "day"),
    [
        ("270500", datetime.date(2027, 5, 31)),
        ("270400", datetime.date(2027, 4, 30)),
        ("270200", datetime.date(2027, 2, 28)),
    ],
)
def test_a_day_00_in_the_expiry_is_the_end_of_that_month(expiry, day):
    assert read_pack(f"01{GTIN}17{expiry}10L1").expires_on == day


def test_a_gs1_qr_code_and_a_digital_link_read_the_same():
    assert read_pack(f"]Q301{GTIN}17270531" + "10HB2611").lot == "HB2611"
    link = read_pack(f"https://id.gs1.org/01/{GTIN}/10/HB2611?17=270531")
    assert (link.gtin, link.lot, link.expires_on) == (GTIN, "HB2611", datetime.date(2027, 5, 31))


def test_a_plain_ean13_gives_the_product_alone():
    assert read_pack("8699536090122") == Pack(gtin=GTIN, lot="", expires_on=None)


@pytest.mark.parametrize(
    "text",
    [
        f"01{GTIN[:-1]}3" + "17270531" + "10HB2611",  # the GTIN's last digit misread
        "(01)08699536090123(17)270531(10)HB2611",
        "8699536090123",
    ],
)
def test_a_gtin_with_a_wrong_check_digit_is_refused_as_a_misread(text):
    with pytest.raises(ValueError, match="fails its check digit"):
        read_pack(text)


@pytest.mark.parametrize(
    "text",
    [
        f"01{GTIN}17271331" + "10HB2611",  # month 13
        f"01{GTIN}17270230" + "10HB2611",  # 30 February
        "HB2611",  # a lot number typed into the code field
        "hello world",
        "01123",  # cut short
        "]d2",
    ],
)
def test_what_is_not_a_gs1_pack_code_is_refused_with_a_sentence(text):
    with pytest.raises(ValueError, match=r"could not be read as a GS1 pack code|Scan the pack"):
        read_pack(text)


@pytest.mark.parametrize("text", ["", "   ", GS, None, 42])
def test_nothing_to_read_asks_for_the_code(text):
    with pytest.raises(ValueError, match="Scan the pack's code"):
        read_pack(text)


def test_a_code_with_neither_product_nor_lot_is_refused():
    with pytest.raises(ValueError, match="neither a product"):
        read_pack("17270531" + "21SERIAL")


def test_an_endless_code_is_refused_before_parsing():
    with pytest.raises(ValueError, match="longer than 300"):
        read_pack("01" + "9" * 5000)


def test_a_gtin_is_looked_up_in_each_length_it_may_be_stored_in():
    assert gtin_forms("8699536090122") == [GTIN, "8699536090122"]
    assert gtin_forms(GTIN) == [GTIN, "8699536090122"]
    assert gtin_forms("00012345678905") == ["00012345678905", "0012345678905", "012345678905"]
    assert gtin_forms("abc") == [] and gtin_forms("123") == []
