"""CAP in JSON: the US NWS alerts API GeoJSON, MeteoAlarm's JSON API, and the JSON form of ``CapAlert`` (see ``weather.cap``).

Private to ``weather``: other code uses ``weather.cap``.
"""
import dataclasses
import datetime as dt
import logging
import re
from xml.etree.ElementTree import Element

from weather._cap_model import (
    CATEGORY_VALUES, CERTAINTY_VALUES, DEFAULT_LANGUAGE, MSG_TYPE_VALUES, SEVERITY_VALUES, STATUS_VALUES,
    URGENCY_VALUES, Area, CapAlert, CapError, Info, Resource, _check_ring, _check_value, _checked, _load_json,
    Parsed, _parse_datetime,
)
from weather._cap_xml import _read_alert

log = logging.getLogger("weather.cap")


# ---------------------------------------------------------------------------------------------
# Entry points


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


def parse_meteoalarm_json(data):
    """MeteoAlarm's JSON API (``{"warnings": [{"alert": {...}, "uuid": ...}, ...]}``) into ``Parsed``.

    Each ``alert`` is CAP written as JSON with the XML element names: an element that repeats
    (``info``, ``area``, ``geocode``, ``parameter``, ``category``, ...) is a list or, when it
    occurs once, the object or text itself. It is read by the same rules as a CAP XML message
    (required elements, dates with offsets, polygons, problems noted). A broken entry is
    skipped and named in ``Parsed.problems``; the others are kept, unless none can be read.
    """
    obj = _load_json(data)
    if not isinstance(obj, dict) or not isinstance(obj.get("warnings"), list):
        raise CapError('not MeteoAlarm JSON: expected an object with a "warnings" list', field="warnings")
    parsed, errors = Parsed(), []
    for index, entry in enumerate(obj["warnings"]):
        try:
            alert = entry.get("alert") if isinstance(entry, dict) else None
            if not isinstance(alert, dict):
                raise CapError('not a MeteoAlarm warning: no "alert" object', field="alert")
            parsed.alerts.append(_read_alert(_cap_element("alert", alert)))
        except CapError as e:
            errors.append(e)
            parsed.problems.append(f"warnings[{index}] skipped: {e}")
    if errors and not parsed.alerts:
        raise errors[0]
    return parsed


_CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
_SPACE_LISTS = {"references", "addresses", "incidents"}  # one element holding a space-separated list
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def _cap_element(name, value, depth=0):
    """CAP-shaped JSON as the CAP 1.2 element tree the XML reader reads (built, never parsed)."""
    if depth > 8:
        raise CapError(f"<{name}> is nested too deep for CAP", field=name)
    element = Element(f"{{{_CAP12}}}{name}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _XML_NAME.match(key):
                continue  # not an element name: nothing CAP defines
            if key in _SPACE_LISTS and isinstance(item, list):
                item = " ".join(str(one) for one in item if isinstance(one, (str, int, float)))
            for one in item if isinstance(item, list) else [item]:
                if one is not None:
                    element.append(_cap_element(key, one, depth + 1))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        element.text = str(value)
    elif isinstance(value, list):
        element.text = " ".join(str(item) for item in value if isinstance(item, (str, int, float)))
    return element


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
