"""Scanning a pack in headless Chromium, as on the tablet: the live camera (Chromium's fake camera
playing a video of a real GS1 DataMatrix), a photo of the code, a handheld scanner typing into
the field. ZXing decodes in the page under the app's CSP; the server parses; the fields fill.

karekod_hg2611.png is a GS1 DataMatrix made with zxing-cpp (gs1=True) of
(01)08691234100011(21)A1B2C3D4E5(17)271117(10)HG-2611: what the ITS karekod of a Turkish
pack carries, read back as 010869123410001121A1B2C3D4E5<GS>1727111710HG-2611.
"""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from mesoclinic.plans.models import Product
from mesoclinic.treatment_sessions.models import Lot
from tests.e2e.conftest import CHROMIUM_FLAGS, chromium_path, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CODE = Path(__file__).with_name("karekod_hg2611.png")


def camera_video(path):
    """A few seconds of the code held before the camera, as Chromium's fake camera plays it
    (YUV4MPEG2, 4:2:0)."""
    width, height, size = 640, 480, 300
    frame = Image.new("RGB", (width, height), (200, 190, 170))  # the cardboard of the box
    frame.paste(Image.open(CODE).convert("RGB").resize((size, size), Image.NEAREST), (170, 90))
    y, cb, cr = frame.convert("YCbCr").split()
    chroma = (width // 2, height // 2)
    data = b"FRAME\n" + y.tobytes() + cb.resize(chroma).tobytes() + cr.resize(chroma).tobytes()
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        out.write(data * 10)
    return path


@pytest.fixture(scope="module")
def camera_browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    video = camera_video(tmp_path_factory.mktemp("camera") / "karekod.y4m")
    flags = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
        yield browser
        browser.close()


@pytest.fixture
def tablet(camera_browser, live_server):
    """The receive form on a tablet held upright (820 x 1180), camera allowed."""
    context = camera_browser.new_context(
        base_url=live_server.url, viewport={"width": 820, "height": 1180}, permissions=["camera"]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"browser console errors: {errors}"  # a CSP violation included


@pytest.fixture
def hydraglow(db):
    return Product.objects.create(
        name="HydraGlow Meso", manufacturer="Nova Aesthetics", unit_ml=Decimal("5"), gtin="08691234100011"
    )


def test_the_camera_reads_the_karekod_and_the_delivery_is_received(tablet, clinic, alice, hydraglow):
    login(tablet, "alice")
    tablet.goto("/stock/receive/")
    tablet.get_by_role("button", name="Scan the pack with the camera").click()
    expect(tablet.locator("#scan-status")).to_contain_text(
        "Read from the pack: HydraGlow Meso (Nova Aesthetics), lot HG-2611, expires 17 Nov 2027."
    )
    expect(tablet.get_by_label("Product")).to_have_value(str(hydraglow.pk))
    expect(tablet.get_by_label("Lot number")).to_have_value("HG-2611")
    expect(tablet.get_by_label("Expiry date")).to_have_value("2027-11-17")
    expect(tablet.locator("#scan-video")).to_be_hidden()  # the camera is off once read
    expect(tablet.get_by_label("Vials or ampoules")).to_be_focused()
    tablet.get_by_label("Vials or ampoules").fill("3")
    tablet.get_by_role("button", name="Receive", exact=True).click()
    expect(tablet.locator(".alert")).to_contain_text(
        "Received 3 × 5 ml of HydraGlow Meso (Nova Aesthetics), lot HG-2611"
    )
    lot = Lot.objects.get()
    assert (lot.lot_number, lot.expires_on, lot.on_hand_ml) == ("HG-2611", datetime.date(2027, 11, 17), Decimal("15"))


def test_a_photo_of_the_code_fills_the_form_too(tablet, clinic, alice, hydraglow):
    login(tablet, "alice")
    tablet.goto("/stock/receive/")
    tablet.locator("#scan-photo").set_input_files(CODE)
    expect(tablet.locator("#scan-status")).to_contain_text("Read from the pack")
    expect(tablet.get_by_label("Lot number")).to_have_value("HG-2611")


def test_a_handheld_scanner_s_code_an_unknown_product_and_a_bad_code_are_said_beside_the_fields(
    tablet, clinic, alice, hydraglow
):
    login(tablet, "alice")
    tablet.goto("/stock/receive/")
    field = tablet.get_by_label("Or the code from a handheld scanner")
    field.fill("(01)08699536090122(17)270500(10)XZ-99")
    field.press("Enter")  # read, not submitted
    expect(tablet.locator("#scan-status")).to_contain_text("No product in the catalogue has the GTIN 08699536090122")
    expect(tablet.locator("#id_product_scan")).to_have_text("Not filled: choose it.")
    expect(tablet.get_by_label("Lot number")).to_have_value("XZ-99")
    expect(tablet.get_by_label("Expiry date")).to_have_value("2027-05-31")  # day 00: the month's end
    field.fill("HB2611")
    tablet.get_by_role("button", name="Read").click()
    expect(tablet.locator("#scan-status")).to_contain_text("could not be read as a GS1 pack code")
    assert not Lot.objects.exists()
