"""QR codes: what trace.qr draws, a real decoder (zxing-cpp) reads back. No database."""
import io
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from trace import digital_link, qr

SVG_NS = "{http://www.w3.org/2000/svg}"
LINK = digital_link.build("https://trace.example.cn", gtin="6901028075763", lot="XF2026/11%A", serial="0001")


def decode(png_bytes):
    image = Image.open(io.BytesIO(png_bytes))
    assert image.format == "PNG"
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, results
    return results[0]


@pytest.mark.parametrize("data", [
    LINK,
    digital_link.build("https://trace.example.cn", batch_code="XF2026A1"),
    "信丰脐橙 · 批次 XF2026A1 · 江西省赣州市信丰县 https://trace.example.cn/t/XF2026A1",
    "南丰蜜桔",
])
def test_png_decodes_to_the_same_text(data):
    result = decode(qr.png(data))
    assert result.valid
    assert result.text == data
    assert result.bytes == data.encode("utf-8")
    # Level Q, above the M that GS1 asks of Digital Link QR codes.
    assert result.ec_level == "Q"


def test_digital_link_round_trip_through_the_qr_code():
    assert digital_link.parse(decode(qr.png(LINK)).text) == digital_link.parse(LINK)


@pytest.mark.parametrize("box_size, border", [(1, 0), (4, 4), (8, 4), (12, 6)])
def test_png_size_follows_box_size_and_border(box_size, border):
    image = Image.open(io.BytesIO(qr.png(LINK, box_size=box_size, border=border)))
    modules = image.width // box_size - 2 * border
    assert image.width == image.height == (modules + 2 * border) * box_size
    assert (modules - 17) % 4 == 0 and 21 <= modules <= 177  # a QR version 1-40 is 17 + 4v modules wide
    if border >= 1 and box_size >= 2:
        assert decode(qr.png(LINK, box_size=box_size, border=border)).text == LINK


def test_png_quiet_zone_is_white():
    image = Image.open(io.BytesIO(qr.png(LINK, box_size=8, border=4))).convert("L")
    width = image.width
    edge = [image.getpixel((x, y)) for x in range(width) for y in range(32)]
    edge += [image.getpixel((x, y)) for x in range(32) for y in range(width)]
    assert set(edge) == {255}


def test_svg_is_a_standalone_svg_document():
    text = qr.svg(LINK)
    assert isinstance(text, str)
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    view_box = root.get("viewBox")
    assert view_box
    x, y, width, height = (float(v) for v in view_box.split())
    assert (x, y) == (0, 0) and width == height > 0
    paths = root.findall(f"{SVG_NS}path")
    assert len(paths) == 1 and paths[0].get("d")


def test_svg_of_chinese_text():
    root = ET.fromstring(qr.svg("信丰脐橙"))
    assert root.get("viewBox")


@pytest.mark.parametrize("render", [qr.png, qr.svg])
@pytest.mark.parametrize("data, message", [
    ("", "empty"),
    (None, "must be a string"),
    (b"https://trace.example.cn/t/ABCD", "must be a string"),
    ("x" * 5000, "too long"),
])
def test_bad_data(render, data, message):
    with pytest.raises(ValueError, match=message):
        render(data)


@pytest.mark.parametrize("kwargs", [dict(box_size=0), dict(box_size=101), dict(border=-1), dict(box_size=2.5),
                                    dict(box_size=True), dict(border="4")])
def test_bad_sizes(kwargs):
    with pytest.raises(ValueError, match="must be a whole number"):
        qr.png(LINK, **kwargs)
