"""Photos of the farm log: what a phone's camera sends, checked and made safe before it is kept.

A photo is recognised by its content (JPEG, PNG or WebP, as Pillow reads it, whatever its name or the
browser claims), bounded in bytes and pixels, and, unless the farmer keeps where it was taken, stripped of
its location: a JPEG loses its EXIF and XMP segments without being re-encoded (only its orientation is
kept, in a fresh EXIF of one tag), a PNG or WebP carrying metadata is written again without it. The
SHA-256 of the bytes kept is the photo's name, so the same photo sent twice is the same photo.

The phone's page (web/static/offline.js) has shrunk the photo to PHOTO_MAX_SIDE already and sends the
location, when kept, as numbers read from the original's EXIF; an old page or a direct API call may send
a camera original, which is accepted up to PHOTO_MAX_BYTES and made safe here just the same.
"""
import hashlib
import io
import struct
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps

from web.db import ValidationError

PHOTO_MAX_BYTES = 5 * 1024 * 1024  # as for journey-event attachments
PHOTO_MAX_PIXELS = 50_000_000  # a 50-megapixel camera; beyond it a file is more likely a decompression bomb
PHOTO_MAX_SIDE = 1600  # what the phone shrinks a photo to before sending it
PHOTO_THUMBNAIL = 320
PHOTOS_PER_LOG = 6
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

ORIENTATION = 0x0112
GPS_IFD = 0x8825


@dataclass
class PreparedPhoto:
    """A photo checked and made safe, not yet stored."""

    sha256: str
    media_type: str
    data: bytes
    width: int
    height: int
    thumbnail: bytes
    latitude: float | None = None
    longitude: float | None = None


def _refuse(message, field="photos"):
    raise ValidationError(message, {field: message})


def prepare(data, keep_location=False, latitude=None, longitude=None, field="photos"):
    """A PreparedPhoto from uploaded bytes, or ValidationError saying what is wrong with them.

    With ``keep_location`` the photo keeps its EXIF, and its place is ``latitude``/``longitude`` as
    the phone sent them, else as its EXIF GPS says; without, the place is removed from the bytes and
    no coordinates are kept."""
    if not data:
        _refuse(_("The photo is empty."), field)
    if len(data) > PHOTO_MAX_BYTES:
        _refuse(_("The photo is too large (at most %(mb)d MB).", mb=PHOTO_MAX_BYTES // (1024 * 1024)), field)
    image = _open(data, field)
    media_type = PHOTO_TYPES[image.format]
    exif = image.getexif()
    if keep_location:
        if latitude is None and longitude is None:
            latitude, longitude = gps_of(exif)
        kept = data
    else:
        latitude = longitude = None
        kept = _without_location(data, image, exif)
    width, height = image.size
    if exif.get(ORIENTATION) in (5, 6, 7, 8):  # shown turned a quarter
        width, height = height, width
    return PreparedPhoto(sha256=hashlib.sha256(kept).hexdigest(), media_type=media_type, data=kept,
                         width=width, height=height, thumbnail=_thumbnail(image),
                         latitude=latitude, longitude=longitude)


def _open(data, field):
    not_a_photo = _("Only photos can be added (JPEG, PNG or WebP).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in PHOTO_TYPES:
                _refuse(not_a_photo, field)
            if image.width * image.height > PHOTO_MAX_PIXELS:
                _refuse(_("The photo has too many pixels (at most %(mp)d million).",
                          mp=PHOTO_MAX_PIXELS // 1_000_000), field)
            image.load()
    except ValidationError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            struct.error, EOFError):
        _refuse(not_a_photo, field)
    return image


def _thumbnail(image):
    small = ImageOps.exif_transpose(image.copy())
    small.thumbnail((PHOTO_THUMBNAIL, PHOTO_THUMBNAIL))
    if small.mode not in ("RGB", "L"):
        small = small.convert("RGBA")
        background = Image.new("RGB", small.size, (255, 255, 255))
        background.paste(small, mask=small.getchannel("A"))
        small = background
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()


def _without_location(data, image, exif):
    if image.format == "JPEG":
        return _jpeg_without_metadata(data, exif.get(ORIENTATION))
    if not exif and not image.info.get("xmp") and not image.info.get("XML:com.adobe.xmp"):
        return data
    out = io.BytesIO()
    clean = ImageOps.exif_transpose(image)
    if image.format == "PNG":
        clean.save(out, "PNG")
    else:
        clean.save(out, "WEBP", quality=90)
    return out.getvalue()


def _jpeg_without_metadata(data, orientation):
    """The JPEG with its APP1 (EXIF, XMP), APP2 multi-picture and APP13 (IPTC) segments and anything after
    its end left out, the image data untouched; an orientation other than upright comes back in an EXIF
    of that one tag."""
    out = bytearray(data[:2])
    if orientation and orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION] = orientation
        payload = exif.tobytes()
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan: the image data follows to the end
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[position:position + 2]
            position += 2
            continue
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        segment = data[position:position + 2 + length]
        multi_picture = marker == 0xE2 and segment[4:8] == b"MPF\x00"
        if marker not in (0xE1, 0xED) and not multi_picture:
            out += segment
        position += 2 + length
    # The image data ends at the first EOI (entropy-coded data never holds FF D9); what a camera appends
    # after it (the further pictures of a multi-picture file, with EXIF of their own) is left out.
    end = data.find(b"\xff\xd9", position)
    out += data[position:] if end < 0 else data[position:end + 2]
    return bytes(out)


def gps_of(exif):
    """(latitude, longitude) from EXIF's GPS IFD, or (None, None)."""
    try:
        gps = exif.get_ifd(GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None, None
        latitude = _degrees(gps[2]) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        longitude = _degrees(gps[4]) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return round(latitude, 7), round(longitude, 7)


def _degrees(parts):
    degrees, minutes, seconds = (float(p) for p in parts)
    return degrees + minutes / 60 + seconds / 3600

