"""Property: no EPCIS document, however mangled, makes the import API answer 5xx.

Hypothesis mutates a valid partner document (the shape of GS1's EPCIS 2.0 example ObjectEvents,
see test_epcis_partners.py) a few times over: a node replaced by another JSON value of any type,
by a date-time at or past the representable limits, by a GS1 identifier in some broken or
equivalent form, a key dropped, a node nested deep in arrays and objects, an event repeated. Every
answer must be below 500 and, when it refuses, carry the usual JSON error body.

The run is bounded and derandomized (the same examples every run, in CI too): FUZZ_EXAMPLES sets
how many (150 by default) for each database.
"""
import datetime as dt
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace import service as trace
from trace.models import Batch
from web.accounts import service as accounts

GTIN = "06901234567892"
LOT = "__LOT__"  # each example names a batch of its own, shipped to the importer just before
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

TIMES = ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999999999+14:00", "0001-01-01T00:00:00+14:00",
         "0001-01-01T00:00:00Z", "9999-12-30T23:59:59Z", "2026-02-29T08:00:00+08:00", "2026-11-01T24:00:00Z",
         "2026-11-01T08:00:00+24:00", "2026-11-01T08:00:00-23:59", "2026-11-01T08:00:60Z", "+10000-01-01T00:00:00Z",
         "2026-11-01T08:00:00." + "9" * 400 + "Z", "2026-11-01t08:00:00z", "１９９９-01-01T00:00:00Z"]
OFFSETS = ["+14:00", "-14:00", "+14:59", "-00:00", "+99:99", "+8", "Z", ""]
IDENTIFIERS = [
    "http://[::1/t/ABCD2345", "https://[::1]x/01/06901234567892/10/XF-2611-01", "http://[v9.x]/t/ABCD",
    "https://id.gs1.org:99999/01/06901234567892/10/XF-2611-01", "https://id.gs1.org:-1/01/06901234567892/10/A",
    f"https://id.gs1.org/01/{GTIN}/10/{LOT}", f"https://id.gs1.org/01/{GTIN}/22/V/10/{LOT}#x",
    f"https://id.gs1.org/01/{GTIN}/21/1", f"urn:epc:class:lgtin:6901234.056789.{LOT}",
    "urn:epc:id:sgtin:6901234.056789.1", f"https://trace.example.cn/01/{GTIN}/10/{LOT}",
    f"https://id.gs1.org/01/{GTIN}/10/{LOT}/21/1/21/2", f"https://id.gs1.org/01/{GTIN}/10/{LOT}#/22/x", "urn:epc:class:lgtin:6901234.056789.%FF", "urn:epc:class:lgtin:..",
    "urn:epc:class:lgtin:" + "9" * 3000, "urn:", "https://", "https://id.gs1.org/01/" + "0" * 14 + "/10/%",
    f"https://id.gs1.org/01/{GTIN}/10/" + "%2F" * 700, "https://id.gs1.org/01/96385074/10/A?" + "&" * 500,
    "https://id.gs1.org/01/٠٦٩٠١٢٣٤٥٦٧٨٩٢/10/A", "https://id.gs1.org/01/06901234567892/10/\u0000",
]
STRINGS = st.one_of(st.sampled_from(TIMES + OFFSETS + IDENTIFIERS), st.text(max_size=40),
                    st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent", "EPCISDocument",
                                     "receiving", "shipping", "inspecting", "ADD", "DELETE", "OBSERVE",
                                     "urn:gannong:org:1", "urn:gannong:org:99999999999999999999",
                                     "owning_party", "https://ref.gs1.org/cbv/BizStep-storing"]))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), STRINGS)
NUMBERS = st.one_of(st.integers(min_value=-2 ** 70, max_value=2 ** 70), st.floats(allow_nan=True),
                    st.sampled_from([0, -1, 1e308, 5e-324, 2 ** 63, 0.1 + 0.2]))
# (path of a field inside an event, values for it); a list on the way stands for its first element.
FIELDS = {("eventTime",): st.sampled_from(TIMES), ("eventTimeZoneOffset",): st.sampled_from(OFFSETS),
          ("recordTime",): st.sampled_from(TIMES), ("epcList",): st.lists(st.sampled_from(IDENTIFIERS), min_size=1, max_size=2),
          ("quantityList", "epcClass"): st.sampled_from(IDENTIFIERS), ("quantityList", "quantity"): NUMBERS,
          ("eventID",): st.sampled_from(["", "x" * 201, "ni:///sha-256;receiving20-__LOT__?ver=CBV2.0"]),
          ("destinationList", "destination"): STRINGS, ("bizStep",): STRINGS, ("gx:place",): STRINGS}
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(STRINGS, inner, max_size=4)), max_leaves=12)


def valid_document(base, retailer_id):
    """A retailer's receiving and storing of our batch, then shipping it on: the document mutations start from."""
    def event(step, hour, **fields):
        event = {"type": "ObjectEvent", "eventID": f"ni:///sha-256;{step}{hour:02d}-{LOT}?ver=CBV2.0",
                 "action": "OBSERVE", "bizStep": step, "disposition": "in_progress",
                 "eventTime": (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) - dt.timedelta(hours=hour))
                 .isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+08:00",
                 "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
                 "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000003:PO-1"}],
                 "quantityList": [{"epcClass": f"https://id.gs1.org/01/{GTIN}/10/{LOT}", "quantity": 1,
                                   "uom": "KGM"}]}
        event.update(fields)
        return event

    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"example": "http://ns.example.com/epcis/", "gx": f"{base}/ns/trace#"}],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-05T09:12:31.000+08:00",
            "epcisBody": {"eventList": [
                event("receiving", 20, epcList=[f"https://id.gs1.org/01/{GTIN}/10/{LOT}/21/{i}" for i in (1, 2)]),
                event("storing", 10, bizLocation={"id": "urn:epc:id:sgln:6901234.00002.0"},
                      **{"gx:place": "二号冷库"}),
                event("shipping", 5, destinationList=[{"type": "owning_party",
                                                       "destination": f"urn:gannong:org:{retailer_id}"}]),
            ]}}


def _paths(node, path=()):
    """Every path into a JSON tree (the root too)."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, path + (i,))


def _replace(doc, path, value):
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


def _get(doc, path):
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated(draw, valid):
    doc = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        operation = draw(st.sampled_from(["field", "field", "value", "string", "drop", "nest", "repeat"]))
        node = _get(doc, path)
        if operation == "field":  # one field of one event at a time: the others stay valid
            event = draw(st.integers(min_value=0, max_value=2))
            field, pool = draw(st.sampled_from(list(FIELDS.items())))
            body = doc.get("epcisBody") if isinstance(doc, dict) else None
            target = body.get("eventList") if isinstance(body, dict) else None
            if isinstance(target, list) and len(target) > event and isinstance(target[event], dict):
                target = target[event]
                *parents, last = field
                for part in parents:
                    target = target.get(part) if isinstance(target, dict) else None
                    target = target[0] if isinstance(target, list) and target else target
                if isinstance(target, dict):
                    target[last] = draw(pool)
        elif operation == "value":
            doc = _replace(doc, path, draw(VALUES))
        elif operation == "string":
            doc = _replace(doc, path, draw(STRINGS))
        elif operation == "drop" and path:
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        elif operation == "nest":
            for _level in range(draw(st.integers(min_value=1, max_value=40))):
                node = [node] if draw(st.booleans()) else {"id": node}
            doc = _replace(doc, path, node)
        elif operation == "repeat" and isinstance(node, list):
            node.extend(json.loads(json.dumps(node[:2])))
    return doc


def test_no_epcis_document_makes_the_import_fail_with_5xx(app, client, world, journey):
    token, _row = accounts.create_token(journey.retail_user, "partner EPCIS repository")
    with app.test_request_context():
        valid = valid_document(trace.base_url(), journey.retailer.id)
    answered = []

    def ship_a_batch():
        """1 kg under GTIN 06901234567892 and a lot of its own, shipped to the retailer who imports."""
        lot = f"FZ{len(answered):05d}"
        with app.test_request_context():
            batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 1,
                                                        "gtin": GTIN, "lot_number": lot})
            trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                       "destination": journey.retailer.id})
        return lot

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated(valid))
    def import_never_fails(doc):
        body = json.dumps(doc, allow_nan=True).replace(LOT, ship_a_batch())
        response = client.post("/api/v1/epcis", data=body, content_type="application/ld+json",
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (response.status_code, body[:2000])
        if response.status_code >= 400:
            error = response.json["error"]
            assert error["code"] and error["message"], response.json
        answered.append(response.status_code)

    import_never_fails()
    assert len(answered) >= min(EXAMPLES, 50)
    # The mutations reached both the checks and the recording.
    assert 422 in answered and (201 in answered or EXAMPLES < 50), sorted(set(answered))


def test_the_starting_document_is_imported(app, client, world, journey):
    """The fuzz starts from a document the import accepts: mutations are measured against a success."""
    token, _row = accounts.create_token(journey.retail_user, "partner EPCIS repository")
    with app.test_request_context():
        valid = valid_document(trace.base_url(), journey.retailer.id)
        trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 1, "gtin": GTIN,
                                            "lot_number": "FZ-VALID"})
        batch = Batch.get(Batch.lot_number == "FZ-VALID")
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
    response = client.post("/api/v1/epcis", data=json.dumps(valid).replace(LOT, "FZ-VALID"),
                           content_type="application/ld+json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    assert [e["biz_step"] for e in response.json["items"]] == ["receiving", "storing", "shipping"]
