"""The CAP data model shared by the XML and JSON readers: the dataclasses, the CAP value sets,
``CapError`` and the checks both readers use (size bound, date-times, coordinates).

Private to ``weather``: other code uses ``weather.cap``.
"""
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field

MAX_BYTES = 5 * 1024 * 1024

CAP_NAMESPACES = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
    "http://www.incident.com/cap/1.0": "1.0",
    "urn:oasis:names:tc:emergency:cap:1.0": "1.0",  # seen in the wild, not the standard's
}
ATOM_NS = "http://www.w3.org/2005/Atom"
DEFAULT_LANGUAGE = "en-US"

STATUS_VALUES = {"Actual", "Exercise", "System", "Test", "Draft"}
MSG_TYPE_VALUES = {"Alert", "Update", "Cancel", "Ack", "Error"}
SCOPE_VALUES = {"Public", "Restricted", "Private"}
CATEGORY_VALUES = {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                   "CBRNE", "Other"}
RESPONSE_VALUES = {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
URGENCY_VALUES = {"Immediate", "Expected", "Future", "Past", "Unknown"}
SEVERITY_VALUES = {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
CERTAINTY_VALUES = {"Observed", "Likely", "Possible", "Unlikely", "Unknown", "Very Likely"}  # last: CAP 1.0

_DECLARATION = re.compile(rb"""^(\s*<\?xml\b[^>]*?\bencoding\s*=\s*["'])([A-Za-z0-9._:\-]+)(["'])""")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
                       re.ASCII)
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$", re.ASCII)


class CapError(ValueError):
    """The input is not a usable CAP document. ``field`` names the element at fault, if any."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclass
class Area:
    desc: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # closed (lat, lon) rings, >= 4 points
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # (lat, lon, radius_km)
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)
    altitude: float | None = None
    ceiling: float | None = None


@dataclass
class Resource:
    desc: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    digest: str | None = None


@dataclass
class Info:
    language: str = DEFAULT_LANGUAGE
    categories: list[str] = field(default_factory=list)
    event: str = ""
    response_types: list[str] = field(default_factory=list)
    urgency: str = ""
    severity: str = ""
    certainty: str = ""
    audience: str | None = None
    event_codes: list[tuple[str, str]] = field(default_factory=list)
    effective: dt.datetime | None = None  # timezone-aware, with the offset the sender used
    onset: dt.datetime | None = None
    expires: dt.datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: list[tuple[str, str]] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    areas: list[Area] = field(default_factory=list)


@dataclass
class CapAlert:
    version: str  # "1.0", "1.1" or "1.2"
    identifier: str
    sender: str
    sent: dt.datetime  # timezone-aware, with the offset the sender used
    status: str
    msg_type: str
    source: str | None = None
    scope: str = "Public"  # required in CAP; the parser always sets it from the message
    restriction: str | None = None
    addresses: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    note: str | None = None
    references: list[tuple[str, str, str]] = field(default_factory=list)  # (sender, identifier, sent)
    incidents: list[str] = field(default_factory=list)
    infos: list[Info] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # non-fatal problems, e.g. a polygon dropped


@dataclass
class Parsed:
    alerts: list[CapAlert] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # CAP documents an Atom/RSS index points to
    problems: list[str] = field(default_factory=list)  # embedded alerts skipped (envelopes, feeds), and why


# ---------------------------------------------------------------------------------------------
# Input checks shared by the readers


def _bounded_bytes(data):
    if isinstance(data, str):
        if len(data) > MAX_BYTES:
            raise CapError(f"document too large ({len(data)} characters; limit {MAX_BYTES} bytes)")
        data = data.encode("utf-8")
        match = _DECLARATION.match(data)
        if match:  # the text is UTF-8 now, whatever the declaration says
            data = match.group(1) + b"UTF-8" + match.group(3) + data[match.end():]
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise CapError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_BYTES:
        raise CapError(f"document too large ({len(data)} bytes; limit {MAX_BYTES})")
    if not data.strip():
        raise CapError("empty document")
    return data



_HTML = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b",
                   re.I | re.S)


def _refuse_html(raw):
    """An error or login page served with 200 (a proxy, a portal, a moved feed) is named as such."""
    if _HTML.match(raw[:4096]):
        raise CapError("the feed returned HTML, not CAP")


def _load_json(data):
    raw = _bounded_bytes(data)
    _refuse_html(raw)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise CapError(f"not JSON: {e}") from None


def _parse_datetime(text, name):
    match = _DATETIME.match(text.strip())
    if not match:
        raise CapError(f"<{name}> is not a CAP date-time: {text.strip()!r}", field=name)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise CapError(f"<{name}> has no UTC offset: {text.strip()!r}", field=name)
    if zone == "Z":
        tz = dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset >= dt.timedelta(hours=24):
            raise CapError(f"<{name}> has an impossible UTC offset: {text.strip()!r}", field=name)
        tz = dt.timezone.utc if not offset else dt.timezone(sign * offset)
    micro = int(round(float(fraction) * 1_000_000)) if fraction else 0
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                           min(micro, 999_999), tzinfo=tz)
    except ValueError as e:
        raise CapError(f"<{name}> is not a valid date-time: {text.strip()!r} ({e})", field=name) from None


def _point(token):
    """A "lat,lon" WGS 84 pair, as CAP writes polygon and circle points."""
    lat_text, sep, lon_text = token.partition(",")
    if not sep or not _NUMBER.match(lat_text) or not _NUMBER.match(lon_text):
        raise ValueError(f"{token!r} is not a 'lat,lon' pair of numbers")
    return _checked(float(lat_text), float(lon_text))


def _checked(lat, lon):
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"({lat}, {lon}) is not a number pair")
    if not -90 <= lat <= 90:
        raise ValueError(f"latitude {lat} out of [-90, 90]")
    if not -180 <= lon <= 180:
        raise ValueError(f"longitude {lon} out of [-180, 180]")
    return lat, lon


def _check_ring(points):
    if len(points) < 4:
        raise ValueError(f"{len(points)} points, at least 4 needed")
    if points[0] != points[-1]:
        raise ValueError("first and last points differ (not closed)")
    return points



def _check_value(value, allowed, name, where, problems):
    if value not in allowed:
        problems.append(f"{where}: <{name}> {value!r} is not a CAP value")
