"""EPCIS 2.0 JSON documents: export a batch's journey, check documents, import partners' events.

* ``export_document(batch)``: an EPCISDocument holding the stored event documents of the
  batch's journey (its ancestors' events up to when it was made, and its own), exactly as
  stored and hashed, with the error declarations of those events, so a partner sees
  corrections.
* ``check_document(doc)``: every problem found, as ``"path: problem"`` strings. The GS1
  EPCIS 2.0 JSON Schema (``trace/data/EPCIS-JSON-Schema.json``, draft-07) is checked first;
  then what it leaves out: date-times (RFC 3339 with ``Z`` or an offset; the schema's
  ``format`` is not asserted), ``eventTimeZoneOffset`` against ``eventTime``, and whether a
  ``bizStep``, ``disposition`` (and persistent disposition, error reason, source or
  destination type) is a CBV value or else an absolute URI (an extension value).
* ``import_document(user, doc)``: a partner's events about our batches, recorded through
  ``trace.service.record_event`` so that the same rules apply; all or nothing.

Paths in problems name the event and field, e.g. ``eventList[2].bizStep``; document-level
fields go by their own name (``creationDate``) and the document itself is ``document``.
"""
import datetime as dt
import functools
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from jsonschema import Draft7Validator

from trace import digital_link
from trace import service as trace
from trace.models import Event
from web.accounts.models import Organisation
from web.db import ValidationError, database
from web.clock import local_zone
from web.permissions import Denied

__all__ = ["CBV_BIZ_STEPS", "CBV_DISPOSITIONS", "CBV_ERROR_REASONS", "CBV_SOURCE_DEST_TYPES", "EPCIS_CONTEXT_URL",
           "IMPORTABLE_EVENT_TYPES", "MAX_IMPORT_EVENTS", "SCHEMA_FILE", "cbv_name", "check_document", "context",
           "export_document", "import_document", "parse_time", "schema", "validator"]

SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "EPCIS-JSON-Schema.json"
EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NS_PATH = "/ns/trace#"  # the "gx:" extension namespace, under PUBLIC_BASE_URL

# CBV 2.0 business steps (bare names, as EPCIS 2.0 JSON writes them).
CBV_BIZ_STEPS = (
    "accepting", "arriving", "assembling", "collecting", "commissioning", "consigning", "creating_class_instance",
    "cycle_counting", "decommissioning", "departing", "destroying", "disassembling", "dispensing", "encoding",
    "entering_exiting", "holding", "inspecting", "installing", "killing", "loading", "other", "packing", "picking",
    "receiving", "removing", "repackaging", "repairing", "replacing", "reserving", "retail_selling", "sampling",
    "sensor_reporting", "shipping", "staging_outbound", "stock_taking", "stocking", "storing", "transporting",
    "unloading", "unpacking", "void_shipping",
)
# CBV 2.0 dispositions.
CBV_DISPOSITIONS = (
    "active", "available", "completeness_inferred", "completeness_verified", "conformant", "container_closed",
    "container_open", "damaged", "destroyed", "dispensed", "disposed", "encoded", "expired", "in_progress",
    "in_transit", "inactive", "mismatch_class", "mismatch_instance", "mismatch_quantity", "needs_replacement",
    "no_pedigree_match", "non_conformant", "non_sellable_other", "partially_dispensed", "recalled", "reserved",
    "retail_sold", "returned", "sellable_accessible", "sellable_not_accessible", "stolen", "unavailable", "unknown",
)
CBV_ERROR_REASONS = ("did_not_occur", "incorrect_data")
CBV_SOURCE_DEST_TYPES = ("location", "owning_party", "possessing_party")

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")
IMPORTABLE_EVENT_TYPES = ("ObjectEvent", "AggregationEvent")
MAX_IMPORT_EVENTS = 500
MAX_PLACE_LENGTH = 200
MAX_SOURCE_ID_LENGTH = 200  # a partner's eventID (Event.source_event_id)
MAX_LISTED_PROBLEMS = 20  # in a rejection's message; its fields name every problem

# vocabulary -> (the values, its URN prefix, its GS1 web URI prefix, its compact prefix, what to call it)
_VOCABULARIES = {
    "bizstep": (CBV_BIZ_STEPS, "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-", "cbv:BizStep-",
                "a CBV business step"),
    "disposition": (CBV_DISPOSITIONS, "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-", "cbv:Disp-",
                    "a CBV disposition"),
    "error_reason": (CBV_ERROR_REASONS, "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-", "cbv:ER-",
                     "a CBV error reason"),
    "source_dest_type": (CBV_SOURCE_DEST_TYPES, "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-",
                         "cbv:SDT-", "a CBV source or destination type"),
}
_FIELD_VOCABULARY = {"bizStep": "bizstep", "disposition": "disposition", "set": "disposition",
                     "unset": "disposition", "reason": "error_reason", "type": "source_dest_type"}
# The URI forms of CBV values that the schema refuses in EPCIS 2.0 JSON (bare names are used instead).
_LEGACY_CBV = re.compile(r"^(urn:epcglobal:cbv:|https?://ns\.gs1\.org/cbv/)")
_ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_ORG_URI = re.compile(r"^urn:gannong:org:([1-9][0-9]{0,17})$")
_EVENT_PATH = re.compile(r"^eventList\[(\d+)\]")
# record_event's field names -> the EPCIS field they come from.
_IMPORT_FIELDS = {"biz_step": "bizStep", "event_time": "eventTime", "quantity": "quantityList",
                  "destination": "destinationList", "items": "gx:inspection", "place": "gx:place",
                  "attachments": "gx:attachments", "notes": "gx:notes"}


# ---------------------------------------------------------------- vocabulary and times


def context():
    """The document's JSON-LD @context: EPCIS 2.0's, and the "gx:" namespace of this service."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return [EPCIS_CONTEXT_URL, {trace.NS: f"{base}{NS_PATH}"}]


def cbv_name(value, vocabulary="bizstep"):
    """The bare CBV name ``value`` stands for, or None when it is no CBV value.

    Accepts the bare name, ``urn:epcglobal:cbv:<vocab>:<name>``, ``https://ref.gs1.org/cbv/<Vocab>-<name>``
    and ``cbv:<Vocab>-<name>``. ``vocabulary``: bizstep, disposition, error_reason or source_dest_type.
    """
    values, urn, web, compact, _label = _VOCABULARIES[vocabulary]
    if not isinstance(value, str):
        return None
    for prefix in ("", urn, web, compact):
        if value.startswith(prefix) and value[len(prefix):] in values:
            return value[len(prefix):]
    return None


def _vocabulary_problem(value, vocabulary):
    """Why a string is neither a CBV value nor an extension URI, or None."""
    values, urn, web, compact, label = _VOCABULARIES[vocabulary]
    if cbv_name(value, vocabulary):
        return None
    cbv_namespace = value.startswith((urn, web, compact)) or _LEGACY_CBV.match(value)
    if _ABSOLUTE_URI.match(value) and not cbv_namespace:
        return None  # an extension value: EPCIS allows any URI
    return f"{_show(value)} is not {label}"


def parse_time(value):
    """An RFC 3339 date-time with ``Z`` or an offset, as an aware datetime; ValueError otherwise."""
    problem = _time_problem(value)
    if problem:
        raise ValueError(problem)
    date, clock, fraction, offset = _RFC3339.match(value).groups()
    fraction = (fraction or "")[:7]  # datetime keeps microseconds; EPCIS may give more digits
    offset = "+00:00" if offset in ("Z", "z") else offset
    return dt.datetime.fromisoformat(f"{date}T{clock}{fraction}{offset}")


def _time_problem(value):
    if not isinstance(value, str):
        return f"{_show(value)} is not a date-time string"
    match = _RFC3339.match(value)
    example = "e.g. 2026-11-01T08:00:00+08:00"
    if match is None:
        try:
            naive = ":" in value and dt.datetime.fromisoformat(value).tzinfo is None
        except ValueError:
            naive = False
        if naive:
            return f"{_show(value)} has no time zone offset; give the time with Z or its offset ({example})"
        return (f"{_show(value)} is not an RFC 3339 date-time: YYYY-MM-DDThh:mm:ss[.fraction] with Z or an "
                f"offset ({example})")
    date, clock, fraction, offset = match.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        parsed = dt.datetime.fromisoformat(f"{date}T{clock}{(fraction or '')[:7]}{offset}")
        in_utc = parsed.astimezone(dt.timezone.utc)
    except ValueError as e:
        return f"{_show(value)} is not a valid date-time ({e})"
    except OverflowError:  # 9999-12-31T23:59:59-14:00 lies past year 9999 in UTC
        in_utc = None
    if in_utc is None or not _EARLIEST <= in_utc <= _LATEST:  # room to show it at any offset
        return f"{_show(value)} is outside the years that can be recorded"
    return None


_EARLIEST = dt.datetime(2, 1, 1, tzinfo=dt.timezone.utc)
_LATEST = dt.datetime(9998, 12, 31, tzinfo=dt.timezone.utc)


def _offset_problem(value):
    match = _OFFSET.match(value)
    if match is None or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        return f"{_show(value)} is not a time zone offset like +08:00"
    return None


def _show(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _json_type(value):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


# ---------------------------------------------------------------- schema


@functools.lru_cache(maxsize=None)
def schema():
    """The GS1 EPCIS 2.0 JSON Schema shipped with the app (read once)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=None)
def validator():
    """A Draft7Validator over ``schema()``; ``format`` is not asserted (times are checked here)."""
    Draft7Validator.check_schema(schema())
    return Draft7Validator(schema())


def _path(parts):
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if path.startswith("epcisBody.eventList["):
        path = path[len("epcisBody."):]
    return path or "document"


def _join(path, field):
    return field if path == "document" else f"{path}.{field}"


def _schema_problems(doc):
    for error in validator().iter_errors(doc):
        yield from _describe(error)


def _describe(error):
    path = _path(error.absolute_path)
    instance = error.instance
    if error.validator == "required":
        for name in error.validator_value:
            if isinstance(instance, dict) and name not in instance and error.message == f"{name!r} is a required " \
                                                                                         "property":
                yield _join(path, name), "required field is missing"
        return
    if error.validator in ("anyOf", "oneOf"):
        yield from _describe_alternatives(error, path)
        return
    if error.validator == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, str) else " or ".join(expected)
        yield path, f"must be of type {expected}, not {_json_type(instance)}"
        return
    if error.validator == "enum":
        yield path, f"{_show(instance)} is not one of {_show(error.validator_value, 200)}"
        return
    if error.validator == "pattern":
        yield path, f"{_show(instance)} does not match {error.validator_value!r}"
        return
    yield path, error.message if len(error.message) <= 300 else error.message[:300] + "..."


def _describe_alternatives(error, path):
    instance = error.instance
    field = error.absolute_path[-1] if error.absolute_path else None
    if isinstance(instance, str):
        vocabulary = _FIELD_VOCABULARY.get(field) if isinstance(field, str) else None
        name = _legacy_name(instance)
        if _LEGACY_CBV.match(instance):
            hint = f"; write the bare name {name!r}" if vocabulary and cbv_name(name, vocabulary) else ""
            yield path, (f"{_show(instance)}: EPCIS 2.0 JSON does not allow CBV values as "
                         f"'urn:epcglobal:cbv:...' or 'ns.gs1.org/cbv' URIs{hint}")
            return
        yield path, f"{_show(instance)} is not an allowed value"
        return
    deeper = [c for c in error.context if len(c.absolute_path) > len(error.absolute_path)]
    if deeper:
        return  # a branch applied but its content is wrong: that is reported at its own path
    branches = {}
    for sub in error.context:
        if sub.validator == "required":
            missing = [n for n in sub.validator_value if isinstance(instance, dict) and n not in instance]
            branches.setdefault(sub.relative_schema_path[0], []).extend(missing)
        else:
            branches.setdefault(sub.relative_schema_path[0], [])
    options = [" and ".join(dict.fromkeys(names)) for names in branches.values() if names]
    if options and len(options) == len(branches):
        yield path, "needs " + ", or ".join(options)
    else:
        yield path, f"{_json_type(instance)} that matches none of the allowed forms"


# ---------------------------------------------------------------- own checks


def _events(doc):
    """[(path, event)] of a document: its eventList, or the document itself when it is an event."""
    body = doc.get("epcisBody")
    if doc.get("type") == "EPCISDocument":
        events = body.get("eventList") if isinstance(body, dict) else None
        return [(f"eventList[{i}]", e) for i, e in enumerate(events)] if isinstance(events, list) else []
    if doc.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults") if isinstance(body, dict) else None
        results = results.get("resultsBody") if isinstance(results, dict) else None
        events = results.get("eventList") if isinstance(results, dict) else None
        prefix = "epcisBody.queryResults.resultsBody.eventList"
        return [(f"{prefix}[{i}]", e) for i, e in enumerate(events)] if isinstance(events, list) else []
    return [("document", doc)]


def _own_problems(doc):
    problems = []
    if doc.get("type") in ("EPCISDocument", "EPCISQueryDocument") and isinstance(doc.get("creationDate"), str):
        problem = _time_problem(doc["creationDate"])
        if problem:
            problems.append(("creationDate", problem))
    for path, event in _events(doc):
        if isinstance(event, dict):
            problems.extend(_event_problems(path, event))
    return problems


def _event_problems(path, event):
    problems = []
    kind = event.get("type")
    if isinstance(kind, str) and kind not in EVENT_TYPES and not _ABSOLUTE_URI.match(kind):
        problems.append((_join(path, "type"), f"{_show(kind)} is not an EPCIS event type (nor an extension URI)"))
    for field in ("eventTime", "recordTime"):
        if field in event and isinstance(event[field], str):
            problem = _time_problem(event[field])
            if problem:
                problems.append((_join(path, field), problem))
    offset = event.get("eventTimeZoneOffset")
    if isinstance(offset, str):
        problem = _offset_problem(offset)
        if problem:
            problems.append((_join(path, "eventTimeZoneOffset"), problem))
        elif isinstance(event.get("eventTime"), str) and not _time_problem(event["eventTime"]):
            given = _RFC3339.match(event["eventTime"]).group(4)
            # A UTC eventTime with the local offset beside it is the usual EPCIS form.
            if given not in ("Z", "z", "+00:00", "-00:00") and given != offset:
                problems.append((_join(path, "eventTimeZoneOffset"),
                                 f"{_show(offset)} does not agree with the offset of eventTime "
                                 f"{_show(event['eventTime'])}"))
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict):
        if isinstance(declaration.get("declarationTime"), str):
            problem = _time_problem(declaration["declarationTime"])
            if problem:
                problems.append((_join(path, "errorDeclaration.declarationTime"), problem))
        problems.extend(_vocabulary_field(_join(path, "errorDeclaration.reason"), declaration.get("reason"),
                                          "error_reason"))
    problems.extend(_vocabulary_field(_join(path, "bizStep"), event.get("bizStep"), "bizstep"))
    problems.extend(_vocabulary_field(_join(path, "disposition"), event.get("disposition"), "disposition"))
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        for key in ("set", "unset"):
            values = persistent.get(key)
            for i, value in enumerate(values if isinstance(values, list) else []):
                problems.extend(_vocabulary_field(_join(path, f"persistentDisposition.{key}[{i}]"), value,
                                                  "disposition"))
    for list_name in ("sourceList", "destinationList"):
        entries = event.get(list_name)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                problems.extend(_vocabulary_field(_join(path, f"{list_name}[{i}].type"), entry.get("type"),
                                                  "source_dest_type"))
    return problems


def _legacy_name(value):
    """The name at the end of a CBV URN or ns.gs1.org URI ('shipping' of urn:epcglobal:cbv:bizstep:shipping)."""
    return _LEGACY_CBV.sub("", value).split(":")[-1].split("-")[-1]


def _vocabulary_field(path, value, vocabulary):
    if not isinstance(value, str):
        return []  # absent, or not a string: the schema says so
    if _LEGACY_CBV.match(value) and cbv_name(_legacy_name(value), vocabulary):
        return []  # a CBV value in a URI form EPCIS 2.0 JSON refuses: the schema says so, with a hint
    problem = _vocabulary_problem(value, vocabulary)
    return [(path, problem)] if problem else []


def _problems(doc):
    """[(path, problem)] found in ``doc``, in document order, without repeats."""
    if not isinstance(doc, dict):
        return [("document", f"must be a JSON object (an EPCISDocument), not {_json_type(doc)}")]
    if not isinstance(doc.get("type"), str):
        # Without a type the schema tries every kind of document and event: its errors say nothing useful.
        problem = ("required field is missing" if "type" not in doc
                   else f"must be a string, not {_json_type(doc.get('type'))}")
        return [("type", f"{problem} (an EPCIS document has type 'EPCISDocument')")]
    own = _own_problems(doc)
    covered = {path for path, _text in own}
    found = list(own) + [(path, text) for path, text in _schema_problems(doc) if path not in covered]
    unique = list(dict.fromkeys(found))

    def order(item):
        match = _EVENT_PATH.match(item[0])
        return (1, int(match.group(1))) if match else (0, 0)

    return sorted(unique, key=order)


def check_document(doc):
    """Every problem of an EPCIS 2.0 JSON document, as ``"path: problem"`` strings ([] when none)."""
    return [f"{path}: {text}" for path, text in _problems(doc)]


# ---------------------------------------------------------------- export


def export_document(batch):
    """The batch's journey as an EPCISDocument, with the error declarations of its events.

    Each event is its stored document unchanged (so its hash can be recomputed); an error
    declaration follows the event it declares erroneous.
    """
    steps = trace.journey(batch)
    event_ids = [row.event_id for row, _document, _erroneous in steps]
    declarations = {}
    if event_ids:
        rows = (Event.select().where(Event.event_id.in_(event_ids) & (Event.kind == "error_declaration"))
                .order_by(Event.id))
        for row in rows:
            declarations.setdefault(row.event_id, []).append(row)
    events = []
    for row, _document, _erroneous in steps:
        events.append(json.loads(row.document))
        events.extend(json.loads(declaration.document) for declaration in declarations.pop(row.event_id, []))
    return {
        "@context": context(),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": dt.datetime.now(local_zone()).isoformat(timespec="seconds"),
        "epcisBody": {"eventList": events},
    }


# ---------------------------------------------------------------- import


def _batch_named(user, identifier):
    """(batch, None) for a Digital Link of one of our batches the user may see, else (None, problem).

    A batch the user may not see is reported exactly like an unknown one, so that
    an import cannot be used to learn which batches exist."""
    if not isinstance(identifier, str):
        return None, f"{_show(identifier)} is not a Digital Link"
    ours = urlsplit(trace.base_url())
    try:
        given = urlsplit(identifier)
    except ValueError as e:  # "http://[::1/t/...": an unclosed IPv6 host
        return None, f"{_show(identifier)} is not a Digital Link: {e}"
    if (given.scheme.lower(), given.netloc.lower()) != (ours.scheme.lower(), ours.netloc.lower()):
        return None, f"{_show(identifier)} is not a batch of this service (its links start {trace.base_url()}/)"
    try:
        link = digital_link.parse(identifier)
    except ValueError as e:
        return None, f"{_show(identifier)} is not a batch's Digital Link: {e}"
    batch = trace.find_by_link(link)
    if batch is not None:
        try:
            batch = trace.get_batch(user, batch.id)
        except Denied:
            batch = None
    if batch is None:
        return None, f"{_show(identifier)} names no batch known here"
    return batch, None


def _identifiers(path, event):
    """[(path, identifier, quantity element or None)] an event names."""
    found = []
    for list_name in ("epcList", "childEPCs"):
        values = event.get(list_name)
        for i, value in enumerate(values if isinstance(values, list) else []):
            found.append((f"{path}.{list_name}[{i}]", value, None))
    for list_name in ("quantityList", "childQuantityList"):
        values = event.get(list_name)
        for i, element in enumerate(values if isinstance(values, list) else []):
            if isinstance(element, dict):
                found.append((f"{path}.{list_name}[{i}].epcClass", element.get("epcClass"), element))
    return found


def _import_event(user, path, event):
    """(batch, record_event data, problems) for one event of an imported document."""
    problems = []
    kind = event.get("type")
    if kind not in IMPORTABLE_EVENT_TYPES:
        problems.append((f"{path}.type", f"{_show(kind)} cannot be imported; send an ObjectEvent "
                                         "(or an AggregationEvent)"))
    if event.get("action") == "DELETE":
        problems.append((f"{path}.action", "an imported event cannot remove objects (action DELETE)"))
    if "errorDeclaration" in event:
        problems.append((f"{path}.errorDeclaration", "error declarations cannot be imported; the organisation "
                                                     "that recorded an event corrects it here"))
    step = cbv_name(event.get("bizStep"), "bizstep")
    if "bizStep" not in event:
        problems.append((f"{path}.bizStep", "required to import an event"))
    elif step not in trace.RECORDABLE_STEPS:
        problems.append((f"{path}.bizStep", f"{_show(event.get('bizStep'))} cannot be imported; one of "
                                            f"{', '.join(trace.RECORDABLE_STEPS)}"))
    when = None
    try:
        when = parse_time(event.get("eventTime"))
    except ValueError:
        pass  # check_document reports it
    offset = event.get("eventTimeZoneOffset")
    if when is not None and isinstance(offset, str) and not _offset_problem(offset):
        # Keep the local offset the partner gave (eventTime may be in UTC beside it).
        sign, hours, minutes = _OFFSET.match(offset).groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
        when = when.astimezone(dt.timezone(-delta if sign == "-" else delta))
    batches, elements = {}, []
    for where, identifier, element in _identifiers(path, event):
        batch, problem = _batch_named(user, identifier)
        if problem:
            problems.append((where, problem))
            continue
        batches.setdefault(batch.id, batch)
        if element is not None:
            elements.append((where.rsplit(".", 1)[0], element, batch))
    if not batches and not any(p.startswith((f"{path}.epcList", f"{path}.childEPCs", f"{path}.quantityList",
                                             f"{path}.childQuantityList")) for p, _t in problems):
        problems.append((path, "names none of our batches: give the batch's Digital Link in epcList or "
                               "quantityList"))
    if len(batches) > 1:
        problems.append((path, f"names {len(batches)} batches; an imported event is about exactly one"))
    batch = next(iter(batches.values())) if len(batches) == 1 else None
    data = {"biz_step": step, "event_time": when}
    event_id = event.get("eventID")
    if event_id is not None:
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_SOURCE_ID_LENGTH:
            problems.append((f"{path}.eventID", f"an eventID is a URI of at most {MAX_SOURCE_ID_LENGTH} characters"))
        else:
            data["source_event_id"] = event_id
    if batch is not None and elements:
        if len(elements) > 1:
            problems.append((elements[1][0], "give the batch's quantity once"))
        where, element, _batch = elements[0]
        quantity = element.get("quantity")
        if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
            if quantity <= 0:
                problems.append((f"{where}.quantity", "must be above zero"))
            data["quantity"] = float(quantity)
        expected = trace.UOM.get(batch.unit)
        if "uom" in element and expected and element["uom"] != expected:
            problems.append((f"{where}.uom", f"{_show(element['uom'])} does not match the batch's unit "
                                             f"{batch.unit} ({expected})"))
    place = event.get(f"{trace.NS}:place")
    location = event.get("bizLocation")
    if place is None and isinstance(location, dict):
        place = location.get("id")
    if place is not None:
        if not isinstance(place, str) or not place.strip() or len(place) > MAX_PLACE_LENGTH:
            problems.append((f"{path}.{trace.NS}:place", f"a place is text of 1 to {MAX_PLACE_LENGTH} characters"))
        else:
            data["place"] = place.strip()
    notes = event.get(f"{trace.NS}:notes")
    if notes is not None:
        if isinstance(notes, str):
            data["notes"] = notes
        else:
            problems.append((f"{path}.{trace.NS}:notes", "notes are text"))
    if step == "shipping":
        destination, problem = _destination(path, event)
        if problem:
            problems.append(problem)
        data["destination"] = destination
    if step == "inspecting":
        inspection = event.get(f"{trace.NS}:inspection")
        if not isinstance(inspection, dict) or not isinstance(inspection.get("items"), list):
            problems.append((f"{path}.{trace.NS}:inspection", "an inspecting event gives its results: "
                                                              '{"passed": true|false, "items": [{"name": ...}]}'))
        else:
            data["passed"] = inspection.get("passed") is True
            data["items"] = inspection["items"]
    return batch, data, problems


def _destination(path, event):
    """(organisation id, None) of a shipping event's owning-party destination, or (None, problem)."""
    entries = event.get("destinationList")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict) or cbv_name(entry.get("type"), "source_dest_type") != "owning_party":
            continue
        where = f"{path}.destinationList[{i}].destination"
        match = _ORG_URI.match(entry.get("destination") or "") if isinstance(entry.get("destination"), str) else None
        if match is None:
            return None, (where, f"{_show(entry.get('destination'))} is not an organisation here "
                                 "(urn:gannong:org:<id>)")
        if not Organisation.select().where(Organisation.id == int(match.group(1))).exists():
            return None, (where, f"{_show(entry['destination'])} names no organisation known here")
        return int(match.group(1)), None
    return None, (f"{path}.destinationList", 'a shipping event names who it goes to: {"type": "owning_party", '
                                             '"destination": "urn:gannong:org:<id>"}')


def _rejected(problems):
    fields = {}
    for path, text in problems:
        fields[path] = f"{fields[path]}; {text}" if path in fields else text
    listed = "; ".join(f"{path}: {text}" for path, text in problems[:MAX_LISTED_PROBLEMS])
    if len(problems) > MAX_LISTED_PROBLEMS:
        listed += f"; ... ({len(problems) - MAX_LISTED_PROBLEMS} more)"
    message = _("The EPCIS document was not accepted (%(count)d problems): %(problems)s",
                count=len(problems), problems=listed)
    return ValidationError(message, fields)


def import_document(user, doc):
    """Record a partner's EPCIS events about our batches, all or nothing; returns (the new Event rows,
    the eventIDs of events recorded before). An event whose eventID this batch already holds from an
    earlier import (a partner resending a document) is not recorded again.

    The document is checked first (``check_document`` and what an import needs: one of our batches
    per event, a step of ``trace.service.RECORDABLE_STEPS``, a destination for shipping, results
    for inspecting); any problem rejects it with a ValidationError listing every problem by path.
    Each event is then recorded by ``record_event`` as ``user``, so the same permission rules
    apply: a Denied or ValidationError on any event stores nothing of the document.
    """
    if not isinstance(doc, dict) or doc.get("type") != "EPCISDocument":
        problem = (("document", f"must be a JSON object (an EPCISDocument), not {_json_type(doc)}")
                   if not isinstance(doc, dict) else ("type", f"{_show(doc.get('type'))} is not 'EPCISDocument'"))
        raise _rejected([problem])
    problems = _problems(doc)
    events = _events(doc)
    if not events and not problems:
        problems.append(("eventList", "no events to import"))
    if len(events) > MAX_IMPORT_EVENTS:
        problems.append(("eventList", f"at most {MAX_IMPORT_EVENTS} events per document"))
        events = []
    accepted = []
    for path, event in events:
        if not isinstance(event, dict):
            continue
        batch, data, event_problems = _import_event(user, path, event)
        covered = {where for where, _text in problems}
        problems.extend(p for p in event_problems if p[0] not in covered)  # one word per field is enough
        accepted.append((path, batch, data))
    if problems:
        raise _rejected(list(dict.fromkeys(problems)))
    rows, duplicates, seen = [], [], set()
    acting = list(trace.acting_organisations(user)) or [0]
    with database.atomic():
        for path, batch, data in accepted:
            # Recorded before, by an organisation this user acts for: a resend. By another: a clash.
            source = data.get("source_event_id")
            if source:
                earlier = (Event.select(Event.organisation)
                           .where((Event.batch == batch.id) & (Event.source_event_id == source)).first())
                if (batch.id, source) in seen or (earlier is not None and earlier.organisation_id in acting):
                    duplicates.append(source)
                    continue
                if earlier is not None:
                    raise _rejected([(f"{path}.eventID", "this batch holds an event with this eventID from "
                                                         "another organisation")])
            seen.add((batch.id, source))
            try:
                rows.append(trace.record_event(user, batch, data))
            except ValidationError as e:
                fields = {f"{path}.{_IMPORT_FIELDS.get(k, k)}": v for k, v in e.fields.items()} or {path: e.message}
                raise ValidationError(f"{path}: {e.message}", fields) from None
            except Denied as e:
                raise Denied(e.status, f"{path}: {e.message}") from None
    return rows, duplicates
