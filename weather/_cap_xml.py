"""CAP XML: a CAP ``<alert>``, EDXL-DE envelopes and Atom/RSS index feeds (see ``weather.cap``).

Private to ``weather``: other code uses ``weather.cap``.
"""
import codecs
import math
import re
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from weather._cap_model import (
    ATOM_NS, CAP_NAMESPACES, CATEGORY_VALUES, CERTAINTY_VALUES, DEFAULT_LANGUAGE, MAX_BYTES, MSG_TYPE_VALUES,
    RESPONSE_VALUES, SCOPE_VALUES, SEVERITY_VALUES, STATUS_VALUES, URGENCY_VALUES, _DECLARATION, _NUMBER, Area,
    CapAlert, CapError, Info, Parsed, Resource, _bounded_bytes, _check_ring, _check_value, _parse_datetime, _point,
    _refuse_html,
)

# Encodings expat reads by itself; anything else is decoded with Python's codecs first.
_EXPAT_ENCODINGS = {"utf-8", "utf-16", "iso-8859-1", "us-ascii"}
# Chinese feeds often declare GB2312 but use GBK characters; GB18030 is a superset of both.
_WIDER_CODEC = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030"}


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
        problem = (f"the document's root <{local}> is not CAP, EDXL-DE, Atom or RSS; "
                   f"{len(found.alerts)} alert(s) read from inside it")
        found.problems.append(problem)
        for alert in found.alerts:
            alert.problems.append(problem)
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


# ---------------------------------------------------------------------------------------------
# XML loading


def _load_xml(data):
    raw = _bounded_bytes(data)
    _refuse_html(raw)
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


def _opt_datetime(parent, name):
    text = _opt(parent, name)
    return _parse_datetime(text, name) if text else None


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


_AREA_ELEMENTS = {"areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"}


def _read_area(el, where, problems):
    desc = _req(el, "areaDesc", f" in {where}")
    polygons = []
    for index, polygon in enumerate(_kids(el, "polygon")):
        text = _text(polygon)
        if not text:  # <polygon/>: no polygon, but the sender meant to send one
            problems.append(f"{where}: polygon[{index}] is empty; ignored")
            continue
        try:
            polygons.append(_parse_polygon(text))
        except ValueError as e:
            problems.append(f"{where}: polygon[{index}] dropped: {e}")
    ns = _split(el.tag)[0]
    for kid in el:
        kid_ns, kid_local = _split(kid.tag) if isinstance(kid.tag, str) else (ns, "areaDesc")
        if kid_ns != ns or kid_local not in _AREA_ELEMENTS:
            shown = kid_local if kid_ns == ns else f"{{{kid_ns}}}{kid_local}"
            problems.append(f"{where}: <{shown}> is not a CAP area element; ignored (the area may be wider "
                            "than the sender meant)")
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
