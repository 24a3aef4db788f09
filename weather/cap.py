"""Read weather-bureau warnings: OASIS CAP 1.2, 1.1 and 1.0, and the envelopes they come in.

* ``parse_document(data)``: a CAP ``<alert>``, an EDXL-DE envelope holding any number of CAP
  alerts, or an Atom/RSS index feed. Returns ``Parsed(alerts, links, problems)``: ``links``
  are the CAP documents an index points to (to be fetched by the caller), ``alerts`` the
  alerts found in the document itself (an envelope's, or CAP embedded in a feed entry's
  content), ``problems`` the embedded alerts that could not be read and were skipped.
  The ``cap:`` summary elements of index entries (NWS, MeteoAlarm) are not turned into
  alerts: they are incomplete; the linked documents are the alerts.
* ``parse_alert(data)``: exactly one alert, else ``CapError``.
* ``parse_nws_geojson(data)``: the US NWS alerts API (api.weather.gov) GeoJSON, a
  FeatureCollection or a single Feature, mapped onto the same dataclasses.
* ``to_json(alert)`` / ``from_json(d)``: a JSON-safe dict (datetimes as ISO 8601 with their
  offset) and back; ``from_json(to_json(a)) == a``.

Safety. Input is untrusted bytes from the network. Anything over ``MAX_BYTES`` is refused
before it is parsed; XML goes through defusedxml with DTDs forbidden, so entity expansion
("billion laughs"), external entities and external DTDs all end in ``CapError``, as does a
body that is not well-formed XML. No network or file access ever happens while parsing.

Encodings. The encoding declared in the XML prolog is honoured: UTF-8, UTF-16, ISO-8859-1 and
US-ASCII are read by expat itself; any other codec Python knows (windows-1252, GBK/GB2312 -
read as their superset GB18030 -, Big5, ...) is decoded here first. A ``str`` is accepted too.

Leniency and strictness (CAP 1.2 section 3 is the reference):

* A missing or empty REQUIRED element raises ``CapError`` naming it, everywhere: in
  ``<alert>`` identifier, sender, sent, status, msgType, scope; in ``<info>`` category,
  event, urgency, severity, certainty; in ``<area>`` areaDesc. Infos and areas with missing
  parts are NOT dropped: dropping an area would widen where a warning applies and dropping
  an info would silently lose a language or a severity band, so a broken message is refused
  as a whole and the feed's error shows it. (Inside an EDXL-DE envelope or a feed, a broken
  embedded alert is skipped and named in ``Parsed.problems``; the others are kept.)
* A date must be an xs:dateTime with a UTC offset ("-00:00" means UTC; "Z" is accepted);
  a malformed date or one without offset raises ``CapError`` naming the element, since
  guessing the zone of ``expires`` would be worse than refusing it.
* A malformed ``<polygon>`` (fewer than 4 points, first point not equal to the last,
  coordinates out of range or not numbers) or ``<circle>`` is dropped and reported in
  ``CapAlert.problems``; the alert and the area are kept. An empty ``<polygon/>`` (common
  in NWS CAP 1.1) is treated as absent.
* A missing namespace is read as CAP 1.2 with a problem noted; values outside the CAP
  enumerations are kept as sent and noted; unknown elements (XML signatures, ...) are
  ignored. ``<language>`` defaults to "en-US" as the standard says.
* CAP 1.0 wrote ``<eventCode>``, ``<geocode>`` and ``<parameter>`` as "valueName=value"
  text; those become the same ``(valueName, value)`` pairs as the 1.1/1.2 sub-elements.

Whitespace. Every value is stripped; names, codes and titles (event, headline, areaDesc,
senderName, ...) also have inner runs of whitespace collapsed to one space, while free text
(description, instruction, note, contact) keeps its line breaks. Polygon and circle points
may be separated by any whitespace, and "lat, lon" with spaces is read as "lat,lon".

``addresses`` and ``incidents`` are lists split like the standard says (space-separated,
double quotes around entries with spaces); ``references`` are ``(sender, identifier, sent)``
triples with ``sent`` kept as text.
"""
import codecs
import dataclasses
import datetime as dt
import json
import logging
import math
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

__all__ = ["CAP_NAMESPACES", "MAX_BYTES", "Area", "CapAlert", "CapError", "Info", "Parsed", "Resource", "from_json",
           "parse_alert", "parse_document", "parse_nws_geojson", "to_json"]

log = logging.getLogger(__name__)

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

# Encodings expat reads by itself; anything else is decoded with Python's codecs first.
_EXPAT_ENCODINGS = {"utf-8", "utf-16", "iso-8859-1", "us-ascii"}
# Chinese feeds often declare GB2312 but use GBK characters; GB18030 is a superset of both.
_WIDER_CODEC = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030"}
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
# Entry points


def parse_document(data):
    """Parse a CAP alert, an EDXL-DE envelope or an Atom/RSS index (bytes or str) into ``Parsed``."""
    root = _load_xml(data)
    ns, local = _split(root.tag)
    if local == "alert" and (ns in CAP_NAMESPACES or ns == ""):
        return Parsed(alerts=[_read_alert(root)])
    if local == "alert":
        raise CapError(f"<alert> in unknown namespace {ns!r}: not CAP 1.0, 1.1 or 1.2")
    found = _Found()
    if local == "EDXLDistribution":
        found.embedded(root)
        for obj in _descendants(root, "nonXMLContent"):
            mime = _opt(obj, "mimeType") or ""
            uri = _opt(obj, "uri")
            if uri and "cap" in mime.lower():
                found.link(uri)
    elif ns == ATOM_NS and local in ("feed", "entry"):
        _read_atom(root, found)
    elif local in ("rss", "RDF"):
        _read_rss(root, found)
    else:
        found.embedded(root)
        if not found.alerts and not found.errors:
            raise CapError(f"not a CAP alert, EDXL-DE envelope or Atom/RSS feed: the root element is <{local}>")
    return found.result()


def parse_alert(data):
    """Exactly one CAP alert (a bare ``<alert>``, or an envelope holding only one), else ``CapError``."""
    parsed = parse_document(data)
    if len(parsed.alerts) != 1:
        detail = f" (an index of {len(parsed.links)} links to CAP documents)" if parsed.links else ""
        if parsed.problems:
            detail += f"; {'; '.join(parsed.problems)}"
        raise CapError(f"expected exactly one CAP alert, found {len(parsed.alerts)}{detail}")
    return parsed.alerts[0]


def parse_nws_geojson(data):
    """The NWS alerts API's GeoJSON (a FeatureCollection or one Feature; JSON-LD ``@graph`` too).

    Mapping: ``properties.id`` -> identifier (else the feature id's last path part), sender,
    sent, status, messageType -> msg_type, scope "Public" (the API leaves it out; NWS alerts
    are public), references[] -> (sender, identifier, sent); one Info in "en-US" with
    category, event, response, urgency, severity, certainty, eventCode{} and parameters{}
    flattened into pairs (plus ("ends", ...) when the API gives an event end), effective,
    onset, expires, senderName, headline, description, instruction; one Area with areaDesc,
    every geocode list (SAME, UGC, ...) as pairs and the geometry's exterior rings
    (Polygon, MultiPolygon, GeometryCollection) as (lat, lon) polygons. A missing required
    property raises ``CapError`` naming it; in a FeatureCollection a broken feature is
    skipped and logged, unless none can be read.
    """
    obj = _load_json(data)
    if not isinstance(obj, dict):
        raise CapError("not NWS alerts GeoJSON: expected a JSON object")
    if obj.get("type") == "FeatureCollection":
        features, single = obj.get("features"), False
        if not isinstance(features, list):
            raise CapError("FeatureCollection without a features list", field="features")
    elif obj.get("type") == "Feature":
        features, single = [obj], True
    elif isinstance(obj.get("@graph"), list):
        features, single = [{"properties": item, "geometry": item.get("geometry")} for item in obj["@graph"]], False
    elif isinstance(obj.get("properties"), dict):
        features, single = [obj], True
    else:
        raise CapError("not NWS alerts GeoJSON: neither a FeatureCollection nor a Feature")
    alerts, errors = [], []
    for index, feature in enumerate(features):
        try:
            alerts.append(_read_nws_feature(feature))
        except CapError as e:
            if single:
                raise
            errors.append(e)
            log.warning("NWS GeoJSON feature %d skipped: %s", index, e)
    if errors and not alerts:
        raise errors[0]
    return alerts


def to_json(alert):
    """The alert as a JSON-safe dict: tuples become lists, datetimes ISO 8601 strings with offset."""
    return _jsonable(dataclasses.asdict(alert))


def from_json(d):
    """Rebuild a ``CapAlert`` from ``to_json``'s dict."""
    try:
        return CapAlert(
            version=d["version"], identifier=d["identifier"], sender=d["sender"], sent=_from_iso(d["sent"], "sent"),
            status=d["status"], msg_type=d["msg_type"], scope=d["scope"], source=d.get("source"),
            restriction=d.get("restriction"), addresses=list(d.get("addresses") or []),
            codes=list(d.get("codes") or []), note=d.get("note"),
            references=[tuple(r) for r in d.get("references") or []],
            incidents=list(d.get("incidents") or []),
            infos=[_info_from_json(i) for i in d.get("infos") or []],
            problems=list(d.get("problems") or []),
        )
    except (KeyError, TypeError, AttributeError) as e:
        raise CapError(f"not a CAP alert in to_json form: {e!r}") from None


# ---------------------------------------------------------------------------------------------
# XML loading


def _load_xml(data):
    raw = _bounded_bytes(data)
    raw = _transcode(raw)
    if len(raw) > MAX_BYTES:
        raise CapError(f"document too large once decoded ({len(raw)} bytes; limit {MAX_BYTES})")
    try:
        return safe_et.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise CapError("DTDs are not allowed in CAP documents (refused: entity expansion and external "
                       "entities are attack vectors)") from None
    except EntitiesForbidden:
        raise CapError("entity declarations are not allowed in CAP documents") from None
    except ExternalReferenceForbidden:
        raise CapError("external references are not allowed in CAP documents") from None
    except DefusedXmlException as e:
        raise CapError(f"refused unsafe XML: {e}") from None
    except ParseError as e:
        raise CapError(f"not well-formed XML: {e}") from None
    except (ValueError, LookupError) as e:  # e.g. an encoding expat cannot use
        raise CapError(f"cannot read the XML: {e}") from None


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


def _transcode(raw):
    """Decode encodings expat does not know; return UTF-8 bytes with the declaration rewritten."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw  # UTF-16 with a byte-order mark: expat reads it
    body = raw[3:] if raw[:3] == codecs.BOM_UTF8 else raw
    match = _DECLARATION.match(body)
    if not match:
        return raw
    declared = match.group(2).decode("ascii").lower()
    if declared in _EXPAT_ENCODINGS:
        return raw
    try:
        codec = codecs.lookup(_WIDER_CODEC.get(declared, declared)).name
    except LookupError:
        raise CapError(f"unknown character encoding {match.group(2).decode('ascii')!r} in the XML declaration",
                       field="encoding") from None
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as e:
        raise CapError(f"the document is not valid {match.group(2).decode('ascii')}: {e.reason} at byte {e.start}",
                       field="encoding") from None
    utf8 = text.encode("utf-8")
    match = _DECLARATION.match(utf8)
    return match.group(1) + b"UTF-8" + match.group(3) + utf8[match.end():]


def _load_json(data):
    raw = _bounded_bytes(data)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise CapError(f"not JSON: {e}") from None


# ---------------------------------------------------------------------------------------------
# Element helpers


def _split(tag):
    if isinstance(tag, str) and tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag if isinstance(tag, str) else ""


def _kids(parent, name):
    """Direct children called ``name`` in the parent's namespace or in none."""
    ns = _split(parent.tag)[0]
    return [child for child in parent if _split(child.tag)[1] == name and _split(child.tag)[0] in (ns, "")]


def _descendants(root, name):
    return [el for el in root.iter() if _split(el.tag)[1] == name]


def _text(el):
    return "".join(el.itertext()).strip() if el is not None else ""


def _line(text):
    """Runs of whitespace (line breaks, indentation) as one space: for names, codes and titles."""
    return " ".join(text.split())


def _opt(parent, name, keep_lines=False):
    """Optional element text, stripped; inner whitespace collapsed unless ``keep_lines`` (free text)."""
    found = _kids(parent, name)
    value = _text(found[0]) if found else ""
    return (value if keep_lines else _line(value)) or None


def _req(parent, name, where=""):
    found = _kids(parent, name)
    if not found:
        raise CapError(f"missing required element <{name}>{where}", field=name)
    value = _line(_text(found[0]))
    if not value:
        raise CapError(f"empty required element <{name}>{where}", field=name)
    return value


def _all_text(parent, name):
    return [value for value in (_line(_text(el)) for el in _kids(parent, name)) if value]


def _pairs(parent, name):
    """``(valueName, value)`` pairs of the ``name`` children (CAP 1.1/1.2 sub-elements or 1.0 "a=b")."""
    pairs = []
    for el in _kids(parent, name):
        subs = [child for child in el if _split(child.tag)[1] in ("valueName", "value")]
        if subs:
            pending = None
            for child in subs:
                if _split(child.tag)[1] == "valueName":
                    if pending is not None:
                        pairs.append((pending, ""))
                    pending = _line(_text(child))
                else:
                    pairs.append((pending or "", _text(child)))
                    pending = None
            if pending is not None:
                pairs.append((pending, ""))
        else:
            text = _text(el)
            if text:
                key, sep, value = text.partition("=")
                pairs.append((key.strip(), value.strip()) if sep else ("", text))
    return pairs


def _split_quoted(text):
    """CAP's space-separated lists in which entries with spaces are in double quotes."""
    if not text:
        return []
    return [quoted if quoted else bare for quoted, bare in re.findall(r'"([^"]*)"|(\S+)', text)
            if (quoted or bare)]


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


def _opt_datetime(parent, name):
    text = _opt(parent, name)
    return _parse_datetime(text, name) if text else None


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


def _parse_polygon(text):
    tokens = re.sub(r"\s*,\s*", ",", text.strip()).split()
    return _check_ring([_point(token) for token in tokens])


def _parse_circle(text):
    tokens = re.sub(r"\s*,\s*", ",", text.strip()).split()
    if len(tokens) != 2:
        raise ValueError("expected 'lat,lon radius'")
    lat, lon = _point(tokens[0])
    radius = float(tokens[1]) if _NUMBER.match(tokens[1]) else -1.0
    if radius < 0:
        raise ValueError(f"radius {tokens[1]!r} is not a distance")
    return lat, lon, radius


def _opt_float(parent, name, where, problems):
    text = _opt(parent, name)
    if text is None:
        return None
    try:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError
        return value
    except ValueError:
        problems.append(f"{where}: <{name}> {text!r} is not a number; ignored")
        return None


def _check_value(value, allowed, name, where, problems):
    if value not in allowed:
        problems.append(f"{where}: <{name}> {value!r} is not a CAP value")


# ---------------------------------------------------------------------------------------------
# CAP alert


def _read_alert(el):
    problems = []
    ns = _split(el.tag)[0]
    if ns:
        version = CAP_NAMESPACES[ns]
    else:
        version = "1.2"
        problems.append("alert has no XML namespace; read as CAP 1.2")
    identifier = _req(el, "identifier")
    sender = _req(el, "sender")
    sent = _parse_datetime(_req(el, "sent"), "sent")
    status = _req(el, "status")
    msg_type = _req(el, "msgType")
    scope = _req(el, "scope")
    for name in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        if len(_kids(el, name)) > 1:
            problems.append(f"alert: more than one <{name}>; the first was used")
    _check_value(status, STATUS_VALUES, "status", "alert", problems)
    _check_value(msg_type, MSG_TYPE_VALUES, "msgType", "alert", problems)
    _check_value(scope, SCOPE_VALUES, "scope", "alert", problems)
    restriction = _opt(el, "restriction")
    addresses = _split_quoted(_opt(el, "addresses", keep_lines=True))
    if scope == "Restricted" and not restriction:
        problems.append("alert: scope Restricted without <restriction>")
    if scope == "Private" and not addresses:
        problems.append("alert: scope Private without <addresses>")
    references = _read_references(_opt(el, "references", keep_lines=True), problems)
    if msg_type in ("Update", "Cancel", "Ack", "Error") and not references:
        problems.append(f"alert: msgType {msg_type} without <references>")
    infos = [_read_info(info, f"info[{index}]", problems) for index, info in enumerate(_kids(el, "info"))]
    return CapAlert(
        version=version, identifier=identifier, sender=sender, sent=sent, status=status, msg_type=msg_type,
        scope=scope, source=_opt(el, "source"), restriction=restriction, addresses=addresses,
        codes=_all_text(el, "code"), note=_opt(el, "note", keep_lines=True), references=references,
        incidents=_split_quoted(_opt(el, "incidents", keep_lines=True)), infos=infos, problems=problems,
    )


def _read_references(text, problems):
    if not text:
        return []
    references = []
    for token in re.sub(r"\s*,\s*", ",", text.strip()).split():
        parts = token.split(",")
        if len(parts) == 3 and all(parts):
            references.append((parts[0], parts[1], parts[2]))
        else:
            problems.append(f"alert: reference {token!r} is not 'sender,identifier,sent'; ignored")
    return references


def _read_info(el, where, problems):
    categories = _all_text(el, "category")
    if not categories:
        name = "category"
        state = "empty" if _kids(el, name) else "missing"
        raise CapError(f"{state} required element <{name}> in {where}", field=name)
    event = _req(el, "event", f" in {where}")
    urgency = _req(el, "urgency", f" in {where}")
    severity = _req(el, "severity", f" in {where}")
    certainty = _req(el, "certainty", f" in {where}")
    for category in categories:
        _check_value(category, CATEGORY_VALUES, "category", where, problems)
    response_types = _all_text(el, "responseType")
    for response in response_types:
        _check_value(response, RESPONSE_VALUES, "responseType", where, problems)
    _check_value(urgency, URGENCY_VALUES, "urgency", where, problems)
    _check_value(severity, SEVERITY_VALUES, "severity", where, problems)
    _check_value(certainty, CERTAINTY_VALUES, "certainty", where, problems)
    resources = [_read_resource(res, f"{where} resource[{index}]", problems)
                 for index, res in enumerate(_kids(el, "resource"))]
    areas = [_read_area(area, f"{where} area[{index}]", problems) for index, area in enumerate(_kids(el, "area"))]
    return Info(
        language=_opt(el, "language") or DEFAULT_LANGUAGE, categories=categories, event=event,
        response_types=response_types, urgency=urgency, severity=severity, certainty=certainty,
        audience=_opt(el, "audience"), event_codes=_pairs(el, "eventCode"),
        effective=_opt_datetime(el, "effective"), onset=_opt_datetime(el, "onset"),
        expires=_opt_datetime(el, "expires"), sender_name=_opt(el, "senderName"), headline=_opt(el, "headline"),
        description=_opt(el, "description", keep_lines=True), instruction=_opt(el, "instruction", keep_lines=True),
        web=_opt(el, "web"), contact=_opt(el, "contact", keep_lines=True), parameters=_pairs(el, "parameter"),
        resources=resources, areas=areas,
    )


def _read_resource(el, where, problems):
    desc = _opt(el, "resourceDesc")
    mime_type = _opt(el, "mimeType")
    if desc is None:
        problems.append(f"{where}: missing <resourceDesc>")
    if mime_type is None:
        problems.append(f"{where}: missing <mimeType>")
    size_text = _opt(el, "size")
    size = None
    if size_text is not None:
        if re.fullmatch(r"\d+", size_text):
            size = int(size_text)
        else:
            problems.append(f"{where}: <size> {size_text!r} is not a byte count; ignored")
    return Resource(desc=desc or "", mime_type=mime_type or "", size=size, uri=_opt(el, "uri"),
                    digest=_opt(el, "digest"))


def _read_area(el, where, problems):
    desc = _req(el, "areaDesc", f" in {where}")
    polygons = []
    for index, polygon in enumerate(_kids(el, "polygon")):
        text = _text(polygon)
        if not text:
            continue  # <polygon/>: an empty polygon means none
        try:
            polygons.append(_parse_polygon(text))
        except ValueError as e:
            problems.append(f"{where}: polygon[{index}] dropped: {e}")
    circles = []
    for index, circle in enumerate(_kids(el, "circle")):
        text = _text(circle)
        if not text:
            continue
        try:
            circles.append(_parse_circle(text))
        except ValueError as e:
            problems.append(f"{where}: circle[{index}] dropped: {e}")
    return Area(desc=desc, polygons=polygons, circles=circles, geocodes=_pairs(el, "geocode"),
                altitude=_opt_float(el, "altitude", where, problems),
                ceiling=_opt_float(el, "ceiling", where, problems))


# ---------------------------------------------------------------------------------------------
# Envelopes and feeds


class _Found:
    """What a container document yields; a broken embedded alert is skipped and remembered."""

    def __init__(self):
        self.alerts, self.links, self.problems, self.errors = [], [], [], []

    def embedded(self, root, label=""):
        found = [el for el in root.iter() if _split(el.tag)[1] == "alert" and _split(el.tag)[0] in CAP_NAMESPACES]
        for index, el in enumerate(found):
            try:
                self.alerts.append(_read_alert(el))
            except CapError as e:
                self.problems.append(f"{label}alert[{index}] skipped: {e}")
                self.errors.append(e)

    def link(self, href):
        href = (href or "").strip()
        if href and href not in self.links:
            self.links.append(href)

    def result(self):
        if self.errors and not self.alerts and not self.links:
            raise self.errors[0]
        return Parsed(alerts=self.alerts, links=self.links, problems=self.problems)


def _read_atom(root, found):
    entries = [root] if _split(root.tag)[1] == "entry" else _kids(root, "entry")
    for index, entry in enumerate(entries):
        links = [link for link in _kids(entry, "link") if link.get("href")]
        typed = [link.get("href") for link in links if "cap" in (link.get("type") or "").lower()]
        if typed:
            chosen = typed
        else:
            chosen = [link.get("href") for link in links if (link.get("rel") or "alternate") == "alternate"]
        for content in _kids(entry, "content"):
            if content.get("src") and "cap" in (content.get("type") or "").lower():
                chosen.append(content.get("src"))
        for href in chosen:
            found.link(href)
        _read_entry_content(entry, found, f"entry[{index}] ")


def _read_rss(root, found):
    for index, item in enumerate(el for el in root.iter() if _split(el.tag)[1] == "item"):
        typed = [enc.get("url") for enc in _kids(item, "enclosure")
                 if enc.get("url") and "cap" in (enc.get("type") or "").lower()]
        for href in typed or [_text(link) for link in _kids(item, "link")]:
            found.link(href)
        _read_entry_content(item, found, f"item[{index}] ")


def _read_entry_content(entry, found, label):
    """CAP alerts embedded in an entry: as XML elements, or as escaped XML text in its content."""
    found.embedded(entry, label)
    for content in _kids(entry, "content") + _kids(entry, "description"):
        if len(content):
            continue  # element content: read above
        text = (content.text or "").strip()
        if text.startswith("<") and re.search(r"<(\w+:)?alert\b", text):
            try:
                inner = _load_xml(text)
            except CapError as e:
                found.problems.append(f"{label}content skipped: {e}")
                found.errors.append(e)
                continue
            found.embedded(inner, label)


# ---------------------------------------------------------------------------------------------
# NWS GeoJSON


def _read_nws_feature(feature):
    if not isinstance(feature, dict):
        raise CapError("feature is not a JSON object")
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise CapError("feature without properties", field="properties")
    problems = []

    def req(name):
        value = props.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise CapError(f"missing required property '{name}'", field=name)
        if not isinstance(value, str):
            raise CapError(f"property '{name}' is not a string", field=name)
        return value.strip()

    def opt(name):
        value = props.get(name)
        return value.strip() or None if isinstance(value, str) else None

    def date(name):
        value = opt(name)
        return _parse_datetime(value, name) if value else None

    identifier = opt("id")
    if not identifier and isinstance(feature.get("id"), str):
        identifier = feature["id"].rstrip("/").rsplit("/", 1)[-1] or None
    if not identifier:
        raise CapError("missing required property 'id'", field="id")
    sender, sent_text = req("sender"), req("sent")
    sent = _parse_datetime(sent_text, "sent")
    status, msg_type = req("status"), req("messageType")
    category, event = req("category"), req("event")
    urgency, severity, certainty = req("urgency"), req("severity"), req("certainty")
    area_desc = req("areaDesc")
    references = []
    for ref in props.get("references") or []:
        if isinstance(ref, dict) and all(isinstance(ref.get(k), str) for k in ("sender", "identifier", "sent")):
            references.append((ref["sender"], ref["identifier"], ref["sent"]))
        else:
            problems.append(f"alert: reference {ref!r} is not sender/identifier/sent; ignored")
    parameters = _nws_pairs(props.get("parameters"))
    if opt("ends"):
        parameters.append(("ends", opt("ends")))
    response = opt("response")
    info = Info(
        language=DEFAULT_LANGUAGE, categories=[category], event=event, response_types=[response] if response else [],
        urgency=urgency, severity=severity, certainty=certainty, audience=None,
        event_codes=_nws_pairs(props.get("eventCode")), effective=date("effective"), onset=date("onset"),
        expires=date("expires"), sender_name=opt("senderName"), headline=opt("headline"),
        description=opt("description"), instruction=opt("instruction"), web=opt("web"), contact=None,
        parameters=parameters, resources=[],
        areas=[Area(desc=area_desc, polygons=_nws_polygons(feature.get("geometry"), problems),
                    geocodes=_nws_pairs(props.get("geocode")))],
    )
    for name, value, allowed in (("status", status, STATUS_VALUES), ("messageType", msg_type, MSG_TYPE_VALUES),
                                 ("category", category, CATEGORY_VALUES), ("urgency", urgency, URGENCY_VALUES),
                                 ("severity", severity, SEVERITY_VALUES),
                                 ("certainty", certainty, CERTAINTY_VALUES)):
        _check_value(value, allowed, name, "alert", problems)
    return CapAlert(version="1.2", identifier=identifier, sender=sender, sent=sent, status=status,
                    msg_type=msg_type, scope="Public", references=references, infos=[info], problems=problems)


def _nws_pairs(mapping):
    """``{"SAME": ["041007", ...], ...}`` -> ``[("SAME", "041007"), ...]``."""
    pairs = []
    if isinstance(mapping, dict):
        for name, values in mapping.items():
            for value in values if isinstance(values, list) else [values]:
                if value is not None:
                    pairs.append((str(name), str(value)))
    return pairs


def _nws_polygons(geometry, problems, where="alert: geometry"):
    if geometry is None:
        return []
    if not isinstance(geometry, dict):
        problems.append(f"{where}: not a GeoJSON geometry object; ignored")
        return []
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        polygons = []
        for index, part in enumerate(geometry.get("geometries") or []):
            polygons.extend(_nws_polygons(part, problems, f"{where}[{index}]"))
        return polygons
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        shapes = [coordinates]
    elif kind == "MultiPolygon":
        shapes = coordinates if isinstance(coordinates, list) else None
    else:
        problems.append(f"{where}: {kind} geometry is not an area; ignored")
        return []
    polygons = []
    for index, rings in enumerate(shapes or [None]):
        try:
            if not isinstance(rings, list) or not rings:
                raise ValueError("no rings")
            if len(rings) > 1:
                problems.append(f"{where}: polygon[{index}] has {len(rings) - 1} hole(s); only the outer ring kept")
            ring = []
            for position in rings[0]:
                if isinstance(position[0], bool) or isinstance(position[1], bool):
                    raise TypeError("coordinates must be numbers")
                ring.append(_checked(float(position[1]), float(position[0])))
            polygons.append(_check_ring(ring))
        except (ValueError, TypeError, IndexError) as e:
            problems.append(f"{where}: polygon[{index}] dropped: {e}")
    return polygons


# ---------------------------------------------------------------------------------------------
# JSON form


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _from_iso(text, name):
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise CapError(f"{name}: {text!r} is not an ISO 8601 date-time", field=name) from None
    if value.tzinfo is None:
        raise CapError(f"{name}: {text!r} has no UTC offset", field=name)
    return value


def _info_from_json(d):
    return Info(
        language=d.get("language") or DEFAULT_LANGUAGE, categories=list(d.get("categories") or []),
        event=d.get("event") or "", response_types=list(d.get("response_types") or []),
        urgency=d.get("urgency") or "", severity=d.get("severity") or "", certainty=d.get("certainty") or "",
        audience=d.get("audience"), event_codes=[tuple(p) for p in d.get("event_codes") or []],
        effective=_from_iso(d.get("effective"), "effective"), onset=_from_iso(d.get("onset"), "onset"),
        expires=_from_iso(d.get("expires"), "expires"), sender_name=d.get("sender_name"),
        headline=d.get("headline"), description=d.get("description"), instruction=d.get("instruction"),
        web=d.get("web"), contact=d.get("contact"), parameters=[tuple(p) for p in d.get("parameters") or []],
        resources=[Resource(desc=r.get("desc") or "", mime_type=r.get("mime_type") or "", size=r.get("size"),
                            uri=r.get("uri"), digest=r.get("digest")) for r in d.get("resources") or []],
        areas=[Area(desc=a["desc"], polygons=[[tuple(p) for p in ring] for ring in a.get("polygons") or []],
                    circles=[tuple(c) for c in a.get("circles") or []],
                    geocodes=[tuple(g) for g in a.get("geocodes") or []], altitude=a.get("altitude"),
                    ceiling=a.get("ceiling")) for a in d.get("areas") or []],
    )
