"""QR codes for Digital Link URLs (and any other text), as PNG bytes or an SVG string.

Error correction is level Q (about 25% of the symbol can be lost), above the M that
GS1 asks of Digital Link QR codes: labels on crates of fruit get scuffed and wet.
Text is encoded as UTF-8 (byte mode, no ECI); readers detect UTF-8 by its bytes.
"""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.exceptions import DataOverflowError

__all__ = ["ERROR_CORRECTION", "png", "svg"]

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
MAX_BOX_SIZE = 100  # pixels per module; keeps an image from being built far larger than any label


def _qr(data, box_size: int, border: int) -> qrcode.QRCode:
    if not isinstance(data, str):
        raise ValueError(f"QR data must be a string, got {type(data).__name__}")
    if not data:
        raise ValueError("QR data is empty")
    for name, value, low, high in (("box_size", box_size, 1, MAX_BOX_SIZE), ("border", border, 0, 100)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=border)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):  # qrcode 8.2 reports "Invalid version (was 41 ...)"
        raise ValueError(f"QR data is too long ({len(data.encode('utf-8'))} bytes) for a QR code "
                         "at error correction level Q") from None
    return code


def png(data: str, box_size: int = 8, border: int = 4) -> bytes:
    """A PNG of the QR code of ``data``: ``box_size`` pixels a module, ``border`` modules of quiet zone."""
    image = _qr(data, box_size, border).make_image()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def svg(data: str) -> str:
    """A standalone SVG document (one path, with a viewBox and the SVG namespace) of the QR code of ``data``."""
    image = _qr(data, box_size=10, border=4).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
