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
* ``parse_meteoalarm_json(data)``: MeteoAlarm's JSON API (``warnings[].alert``, CAP written as
  JSON with the element names), read by the XML reader's rules; returns ``Parsed``.
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
  in NWS CAP 1.1) is treated as absent and noted, and so is any element in an ``<area>`` that CAP
  does not define there (GML or KML in place of ``<polygon>``).
* A document whose root is none of the above but holds CAP alerts (``<alerts>``, ...) yields
  them, with a problem noted on each.
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
from weather._cap_json import from_json, parse_meteoalarm_json, parse_nws_geojson, to_json
from weather._cap_model import (
    CAP_NAMESPACES, MAX_BYTES, Area, CapAlert, CapError, Info, Parsed, Resource,
)
from weather._cap_xml import parse_alert, parse_document

__all__ = ["CAP_NAMESPACES", "MAX_BYTES", "Area", "CapAlert", "CapError", "Info", "Parsed", "Resource", "from_json",
           "parse_alert", "parse_document", "parse_meteoalarm_json", "parse_nws_geojson", "to_json"]
