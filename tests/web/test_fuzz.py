"""No input gives a 5xx: a property-based run (hypothesis) over every JSON operation of the OpenAPI
document and over the EPCIS importer.

Operations come from the served document itself (``web.api.openapi_document``): every path and method,
with path ids (real ones, absent ones, ids beyond 64 bits), the query parameters it declares and, when
it takes a JSON body, objects holding its declared fields with any JSON values (nulls, lists of nulls,
integers beyond 64 bits, NaN, deep and odd shapes) or any JSON at all. EPCIS documents are a partner's
document (as a retailer's ERP sends after receiving) with its fields replaced by such values, including
what crashed the importer once: ``9999-12-31T23:59:59-14:00`` and an EPC ``http://[::1/t/...``.

Bounded for CI: FUZZ_EXAMPLES examples per database (200 by default), derandomized (the same examples
on every run, so a failure is reproducible); the data changes as the run goes, as under a real client.
"""
import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import bearer
from web.api import PREFIX, openapi_document

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
RUN = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
METHODS = ("get", "post", "put", "patch", "delete")

EDGE_INTEGERS = st.sampled_from([0, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, 2 ** 200])
EDGE_TEXT = st.sampled_from(["", " ", "null", "0", "-1", "9" * 40, "2026-02-30", "9999-12-31T23:59:59-14:00",
                             "0001-01-01T00:00:00+14:00", "2026-11-01T08:00:00+08:00", "http://[::1/t/x",
                             "https://id.gs1.org/01/06901234567892/10/XF%", "urn:epc:id:sgtin:x", "信丰县",
                             "a\u0000b", "\ud7ff", "<script>", "1e309", "NaN", "360722", "navel_orange"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), EDGE_INTEGERS,
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), EDGE_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                    max_leaves=12)


def resolve(document, schema, depth=0):
    """``schema`` with its $ref and allOf followed (one object's properties are all the fuzz needs)."""
    if not isinstance(schema, dict) or depth > 8:
        return {}
    if "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return resolve(document, node, depth + 1)
    merged = dict(schema)
    for part in schema.get("allOf", []):
        merged.setdefault("properties", {}).update(resolve(document, part, depth + 1).get("properties", {}))
    return merged


def operations():
    """(method, path template, path parameter names, query parameter names, JSON body field names or None)."""
    document = openapi_document()
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [resolve(document, p) for p in item.get("parameters", []) + operation.get("parameters", [])]
            content = operation.get("requestBody", {}).get("content", {})
            json_type = next((t for t in content if "json" in t), None)
            if content and json_type is None:
                continue  # multipart uploads: not JSON
            fields = None
            if json_type:
                properties = resolve(document, content[json_type].get("schema", {})).get("properties", {})
                fields = {name: resolve(document, schema) for name, schema in sorted(properties.items())}
            found.append((method, path, [p["name"] for p in parameters if p.get("in") == "path"],
                          [p["name"] for p in parameters if p.get("in") == "query"], fields, json_type))
    return found


def plausible(schema, real_ids, depth=0):
    """Values of the declared type, mostly valid, often at the edges (ids of real rows, huge integers)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "integer":
        return st.one_of(st.sampled_from(real_ids), st.integers(0, 10 ** 6), EDGE_INTEGERS)
    if kind == "number":
        return st.one_of(st.floats(0, 10 ** 6), st.integers(0, 10 ** 6), EDGE_INTEGERS)
    if kind == "boolean":
        return st.booleans()
    if kind == "array" and depth < 3:
        return st.lists(plausible(schema.get("items", {}), real_ids, depth + 1), max_size=3)
    if kind == "string":
        form = schema.get("format")
        if form == "date":
            return st.one_of(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(str), EDGE_TEXT)
        if form == "date-time":
            return st.one_of(st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 12, 31)).map(
                lambda d: d.isoformat() + "+08:00"), EDGE_TEXT)
        return st.one_of(st.text(min_size=1, max_size=20), EDGE_TEXT)
    return JSON


def test_the_document_lists_the_operations_the_fuzz_covers(app):
    with app.app_context():
        found = {(method, path) for method, path, *_rest in operations()}
    assert {("post", "/farms"), ("patch", "/plots/{plot_id}"), ("post", "/batches/{batch_id}/events"),
            ("post", "/epcis"), ("post", "/ingest"), ("get", "/batches")} <= found, found


def _ids(world):
    return sorted({world.farm_a.id, world.plot_a.id, world.planting_a.id, world.log_a.id, world.farmer_a.id,
                   world.farmer_a.organisation_id, world.farm_b.id, world.plot_b.id, 1, 2, 3})


@pytest.fixture
def fuzz_world(app, world):
    """Bearer tokens of every kind of user, and a device's token for ingest."""
    from sensors import service as sensors

    with app.test_request_context():
        _device, device_token = sensors.create_device(world.farmer_a, world.plot_a.id, "1号园气象站",
                                                      ["air_temperature", "soil_moisture"], uid="fuzz-station")
    from tests.helpers import Journey
    from trace import service as trace

    journey = Journey(world)
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 4000})
        event = trace.record_event(world.operator, batch, {"biz_step": "storing", "event_time": journey.at(2)})
    tokens = [bearer(user) for user in (world.farmer_a, world.operator, world.inspector, world.bureau_county,
                                        world.admin)]
    with app.app_context():
        ops = operations()
    return {"tokens": tokens, "device": {"Authorization": f"Bearer {device_token}"}, "operations": ops,
            "ids": sorted(set(_ids(world)) | {batch.id, event.id, journey.retailer.id})}


def _dumps(value):
    """JSON text as a client may send it: NaN and Infinity as the literals Python writes."""
    import json

    return json.dumps(value, ensure_ascii=False, allow_nan=True)


@st.composite
def requests_(draw, fuzz):
    method, path, path_names, query_names, fields, json_type = draw(st.sampled_from(fuzz["operations"]))
    real = st.sampled_from(fuzz["ids"])
    ids = st.one_of(real, real, real, st.integers(min_value=0, max_value=2 ** 70), EDGE_INTEGERS)
    url = path
    for name in path_names:
        url = url.replace("{" + name + "}", str(abs(draw(ids))))
    query = {name: str(draw(st.one_of(ids, st.text(max_size=12), EDGE_TEXT)))
             for name in query_names if draw(st.booleans())}
    body = None
    if json_type:
        if fields and draw(st.integers(0, 4)):
            body = draw(st.fixed_dictionaries({}, optional={
                name: st.one_of(plausible(schema, fuzz["ids"]), plausible(schema, fuzz["ids"]), JSON)
                for name, schema in fields.items()}))
        else:
            body = draw(JSON)
    headers = fuzz["device"] if path == "/ingest" else draw(st.sampled_from(fuzz["tokens"]))
    return method, PREFIX + url, query, body, json_type, headers


def test_no_json_operation_answers_5xx(app, client, fuzz_world):
    answered = []

    @RUN
    @given(request=requests_(fuzz_world))
    def check(request):
        method, url, query, body, json_type, headers = request
        kwargs = {"query_string": query, "headers": headers}
        if json_type:
            kwargs.update(data=_dumps(body), content_type=json_type)
        response = client.open(url, method=method.upper(), **kwargs)
        answered.append((method, url.split("?")[0], response.status_code))
        assert response.status_code < 500, (method, url, query, body, response.get_data(as_text=True)[:500])
        assert response.is_json, (method, url, response.get_data(as_text=True)[:500])  # 4xx too: a JSON body

    check()
    if os.environ.get("FUZZ_STATS"):
        import collections

        print(collections.Counter((m, s // 100) for m, _u, s in answered).most_common())
        print(collections.Counter(s for _m, _u, s in answered).most_common())
        print(collections.Counter((m, u, s) for m, u, s in answered if s == 404).most_common(15))


# ---------------------------------------------------------------- the EPCIS importer


def _partner_document(app, world):
    """A receiving event as a retailer's ERP sends it, about farmer A's batch (just shipped to it)."""
    from tests.helpers import Journey
    from trace import service as trace
    from trace.epcis import context

    journey = Journey(world)
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 4000})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
        link = trace.batch_url(batch)
        partner_context = context()
    event = {"type": "ObjectEvent", "eventID": "urn:uuid:6f0c3c0e-8d7a-4c59-9b8e-0d7b4a3c2f11",
             "eventTime": journey.at(1).isoformat(timespec="seconds"), "eventTimeZoneOffset": "+08:00",
             "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
             "quantityList": [{"epcClass": link, "quantity": 4000, "uom": "KGM"}],
             "readPoint": {"id": "urn:example:partner:dock-1"}, "gx:place": "南昌果品超市"}
    document = {"@context": partner_context, "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": journey.at(0).isoformat(timespec="seconds"), "epcisBody": {"eventList": [event]}}
    return document, link, bearer(journey.retail_user)


EPC = st.one_of(EDGE_TEXT, st.text(max_size=30), st.builds(lambda s: "http://[::1/t/" + s, st.text(max_size=8)),
                st.builds(lambda g, lot: f"https://id.gs1.org/01/{g}/10/{lot}", st.text("0123456789", max_size=16),
                          st.text(max_size=8)))
EVENT_FIELDS = {
    "type": st.one_of(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent",
                                       "AssociationEvent", "TransactionEvent"]), JSON),
    "eventID": st.one_of(st.builds(lambda u: f"urn:uuid:{u}", st.uuids()), JSON),
    "eventTime": st.one_of(EDGE_TEXT, st.builds(lambda d, offset: d.isoformat() + offset, st.datetimes(),
                                                 st.sampled_from(["Z", "+08:00", "-14:00", "+14:00", "-00:30"])),
                           st.builds(lambda year, offset: f"{year:04d}-12-31T23:59:59{offset}",
                                     st.sampled_from([1, 2, 1969, 2026, 9998, 9999]),
                                     st.sampled_from(["Z", "-14:00", "+14:00"])), JSON),
    "eventTimeZoneOffset": st.one_of(st.sampled_from(["+08:00", "-14:00", "+14:00", "+99:99", "Z", ""]), JSON),
    "action": st.one_of(st.sampled_from(["ADD", "OBSERVE", "DELETE"]), JSON),
    "bizStep": st.one_of(st.sampled_from(["receiving", "storing", "shipping", "inspecting",
                                          "https://ref.gs1.org/cbv/BizStep-storing"]), JSON),
    "disposition": JSON,
    "epcList": st.one_of(st.lists(EPC, max_size=3), JSON),
    "quantityList": st.one_of(st.lists(st.fixed_dictionaries(
        {"epcClass": EPC, "quantity": st.one_of(EDGE_INTEGERS, st.floats(), JSON)},
        optional={"uom": st.sampled_from(["KGM", "TNE", "H87", "x"])}), max_size=3), JSON),
    "readPoint": JSON, "bizLocation": JSON, "errorDeclaration": JSON,
    "gx:place": JSON, "gx:notes": JSON, "gx:passed": JSON, "gx:items": JSON,
}


@st.composite
def epcis_documents(draw, base, link):
    import copy

    document = copy.deepcopy(base)
    event = document["epcisBody"]["eventList"][0]
    for name, strategy in EVENT_FIELDS.items():
        if draw(st.integers(0, 3)) == 0:
            value = draw(strategy)
            if name == "epcList" and isinstance(value, list) and draw(st.booleans()):
                value = value + [link]
            event[name] = value
    for name in ("@context", "type", "schemaVersion", "creationDate", "epcisBody"):
        if draw(st.integers(0, 11)) == 0:
            document[name] = draw(JSON)
    if draw(st.integers(0, 5)) == 0:
        document["epcisBody"] = {"eventList": [event] * draw(st.integers(0, 3)) + draw(st.lists(JSON, max_size=2))}
    return document


def test_no_epcis_document_answers_5xx(app, client, world):
    base, link, headers = _partner_document(app, world)

    @RUN
    @given(document=epcis_documents(base, link))
    def check(document):
        response = client.post(f"{PREFIX}/epcis", data=_dumps(document), headers=headers,
                               content_type="application/ld+json")
        assert response.status_code < 500, (document, response.get_data(as_text=True)[:500])
        answered.append(response.status_code)

    answered = []
    check()
    if os.environ.get("FUZZ_STATS"):
        import collections

        print(collections.Counter(answered).most_common())

