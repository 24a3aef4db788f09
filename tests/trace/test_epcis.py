"""EPCIS 2.0 JSON: exports of a batch's journey, the checks the schema leaves out, partners' imports.

Exports are validated against the GS1 schema copied into tests/data/epcis/ (see SOURCES.md there),
independently of the copy the app uses at run time.
"""
import datetime as dt
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft7Validator

from trace import epcis
from trace import service as trace
from trace.models import Batch, Event, Inspection
from web.db import ValidationError

DATA = Path(__file__).resolve().parents[1] / "data" / "epcis"
SCHEMA_VALIDATOR = Draft7Validator(json.loads((DATA / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8")))
LINK = "https://trace.example.cn/t/ABCD2345"
TZ = dt.timezone(dt.timedelta(hours=8))


def schema_errors(doc):
    return [f"{error.json_path}: {error.message}" for error in SCHEMA_VALIDATOR.iter_errors(doc)]


def test_schema_copies_are_identical():
    assert (DATA / "EPCIS-JSON-Schema.json").read_bytes() == epcis.SCHEMA_FILE.read_bytes()


# ---------------------------------------------------------------- export


@pytest.fixture
def travelled(app, world, journey):
    """A batch commissioned, stored (then corrected), shipped, received, inspected, split, then sold."""
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        stored = trace.record_event(world.operator, batch, {"biz_step": "storing", "event_time": journey.at(2, 12),
                                                            "place": "错误的冷库"})
        correction = trace.correct_event(world.operator, stored, {"place": "信丰县绿源合作社冷库"})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id, "place": "信丰冷库"})
        trace.record_event(journey.retail_user, batch, {"biz_step": "receiving", "event_time": journey.at(1, 12),
                                                        "place": "南昌果品超市 红谷滩店"})
        trace.record_event(world.inspector, batch, {
            "biz_step": "inspecting", "event_time": journey.at(1), "passed": True,
            "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"}]})
        [child] = trace.split(journey.retail_user, Batch.get_by_id(batch.id), [1000], lots=["XF-2611-01A"],
                              when=journey.at(0, 12))
        trace.record_event(journey.retail_user, batch, {"biz_step": "retail_selling", "event_time": journey.at(0, 6)})
    return SimpleNamespace(batch=Batch.get_by_id(batch.id), child=child, stored=stored, correction=correction)


def _assert_unaltered(events):
    """Every exported event is its stored row's document: the same canonical JSON, the same hash."""
    rows = {(row.event_id, row.kind): row for row in Event.select()}
    for event in events:
        row = rows[(event["eventID"], "error_declaration" if "errorDeclaration" in event else "event")]
        assert trace.canonical_json(event) == row.document
        assert trace.digest(trace.canonical_json(event)) == row.hash


def test_export_of_a_split_child_carries_the_parents_journey(app, travelled):
    with app.test_request_context():
        doc = epcis.export_document(travelled.child)
        base = app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["@context"] == ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                               {"gx": f"{base}/ns/trace#"}]
    assert dt.datetime.fromisoformat(doc["creationDate"]).utcoffset() is not None
    events = doc["epcisBody"]["eventList"]
    assert [(e["bizStep"], "errorDeclaration" in e) for e in events] == [
        ("commissioning", False), ("storing", False), ("storing", True), ("storing", False), ("shipping", False),
        ("receiving", False), ("inspecting", False), ("gx:transforming", False)]
    # The partner sees the correction: the declaration follows the event it declares erroneous.
    assert events[2]["eventID"] == travelled.stored.event_id
    assert events[2]["errorDeclaration"]["correctiveEventIDs"] == [travelled.correction.event_id]
    assert events[3]["eventID"] == travelled.correction.event_id
    assert events[3]["gx:corrects"] == travelled.stored.event_id
    # The parent's sale came after the split: not part of the child's journey.
    assert "retail_selling" not in {e["bizStep"] for e in events}
    assert events[-1]["outputQuantityList"][0]["quantity"] == 1000
    _assert_unaltered(events)
    assert schema_errors(doc) == []
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc


def test_export_of_the_parent_passes_schema_and_check_document(app, travelled):
    with app.test_request_context():
        doc = epcis.export_document(travelled.batch)
    events = doc["epcisBody"]["eventList"]
    assert [e["bizStep"] for e in events] == ["commissioning", "storing", "storing", "storing", "shipping",
                                              "receiving", "inspecting", "retail_selling"]
    _assert_unaltered(events)
    assert schema_errors(doc) == []
    assert epcis.check_document(doc) == []


def test_export_of_a_split_child_passes_check_document(app, travelled):
    with app.test_request_context():
        doc = epcis.export_document(travelled.child)
    assert epcis.check_document(doc) == []


# ---------------------------------------------------------------- check_document


def _document(changes=None, drop=(), **document_changes):
    event = {
        "type": "ObjectEvent", "eventID": "urn:uuid:6f0c3c0e-8d7a-4c59-9b8e-0d7b4a3c2f11",
        "eventTime": "2026-11-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00", "action": "OBSERVE",
        "bizStep": "receiving", "disposition": "in_progress",
        "quantityList": [{"epcClass": LINK, "quantity": 500, "uom": "KGM"}],
        "readPoint": {"id": "urn:gannong:org:7"}, "gx:place": "南昌果品超市",
    }
    event.update(changes or {})
    for key in drop:
        event.pop(key)
    doc = {"@context": [epcis.EPCIS_CONTEXT_URL, {"gx": "https://trace.example.cn/ns/trace#"}],
           "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-01T09:00:00+08:00",
           "epcisBody": {"eventList": [event]}}
    doc.update(document_changes)
    return doc


def test_a_valid_document_has_no_problems():
    assert epcis.check_document(_document()) == []
    assert schema_errors(_document()) == []


@pytest.mark.parametrize("changes", [
    {"bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"},
    {"bizStep": "urn:example:bizstep:grading"},  # an extension step: any absolute URI
    {"bizStep": "https://trace.example.cn/ns/trace#grading"},
    {"disposition": "https://ref.gs1.org/cbv/Disp-in_progress"},
    {"disposition": "urn:example:disp:chilled"},
    {"eventTime": "2026-11-01T00:00:00Z"},  # UTC, with the local offset beside it
    {"eventTime": "2026-11-01T08:00:00.123456789+08:00"},
    {"eventTimeZoneOffset": "-03:30", "eventTime": "2026-11-01T08:00:00-03:30"},
    {"recordTime": "2026-11-01T00:05:00Z"},
])
def test_accepted_forms(changes):
    assert epcis.check_document(_document(changes)) == []


@pytest.mark.parametrize("value", ["2026-11-01 08:00", "2026-11-01T08:00:00", "2026-11-01T08:00"])
def test_naive_event_time_is_a_problem(value):
    assert schema_errors(_document({"eventTime": value})) == []  # the schema does not assert formats
    assert epcis.check_document(_document({"eventTime": value})) == [
        f"eventList[0].eventTime: {value!r} has no time zone offset; give the time with Z or its offset "
        "(e.g. 2026-11-01T08:00:00+08:00)"]


@pytest.mark.parametrize("value", ["2026-11-01T08:00+08:00", "01/11/2026 08:00:00", "2026-13-01T08:00:00+08:00",
                                   "2026-11-01T08:00:00+0800", "yesterday"])
def test_malformed_event_time_is_a_problem(value):
    [problem] = epcis.check_document(_document({"eventTime": value}))
    assert problem.startswith(f"eventList[0].eventTime: {value!r} is not")


@pytest.mark.parametrize("value, offset", [
    ("9999-12-31T23:59:59-14:00", "-14:00"),  # past the year 9999 once in UTC
    ("0001-01-01T00:00:00+14:00", "+14:00"),  # before the year 1 once in UTC
    ("9999-12-31T23:59:59Z", "+14:00"),  # representable, but not at the offset given beside it
    ("0001-01-01T00:00:00.5Z", "-00:00"),
])
def test_times_past_the_representable_range_are_a_problem(value, offset):
    assert epcis.check_document(_document({"eventTime": value, "eventTimeZoneOffset": offset})) == [
        f"eventList[0].eventTime: {value!r} is outside the range of date-times this service can represent "
        "(0001-01-02 to 9999-12-30 in UTC)"]


def test_times_at_the_edges_of_the_range_are_accepted():
    assert epcis.check_document(_document({"eventTime": "9999-12-30T23:59:59Z", "eventTimeZoneOffset": "+14:00"})) \
        == []
    assert epcis.check_document(_document({"eventTime": "0001-01-02T13:59:00-14:00",
                                           "eventTimeZoneOffset": "-14:00"})) == []


def test_naive_declaration_and_creation_times_are_problems():
    doc = _document({"errorDeclaration": {"declarationTime": "2026-11-02 10:00", "reason": "incorrect_data"}},
                    creationDate="2026-11-02T10:00:00")
    assert epcis.check_document(doc) == [
        "creationDate: '2026-11-02T10:00:00' has no time zone offset; give the time with Z or its offset "
        "(e.g. 2026-11-01T08:00:00+08:00)",
        "eventList[0].errorDeclaration.declarationTime: '2026-11-02 10:00' has no time zone offset; give the time "
        "with Z or its offset (e.g. 2026-11-01T08:00:00+08:00)"]


@pytest.mark.parametrize("offset", ["+8:00", "08:00", "+0800", "+15:00", "Z"])
def test_bad_offset_is_a_problem(offset):
    assert epcis.check_document(_document({"eventTimeZoneOffset": offset})) == [
        f"eventList[0].eventTimeZoneOffset: {offset!r} is not a time zone offset like +08:00"]


def test_offset_must_agree_with_event_time():
    assert epcis.check_document(_document({"eventTimeZoneOffset": "+09:00"})) == [
        "eventList[0].eventTimeZoneOffset: '+09:00' does not agree with the offset of eventTime "
        "'2026-11-01T08:00:00+08:00'"]


@pytest.mark.parametrize("field, value, label", [
    ("bizStep", "harvesting", "a CBV business step"),
    ("bizStep", "transforming", "a CBV business step"),
    ("bizStep", "urn:epcglobal:cbv:bizstep:harvesting", "a CBV business step"),
    ("bizStep", "https://ref.gs1.org/cbv/BizStep-harvesting", "a CBV business step"),
    ("disposition", "fresh", "a CBV disposition"),
])
def test_unknown_vocabulary_is_a_problem(field, value, label):
    assert epcis.check_document(_document({field: value})) == [f"eventList[0].{field}: {value!r} is not {label}"]


def test_cbv_urn_form_is_refused_by_the_schema_with_a_hint():
    # The GS1 schema refuses urn:epcglobal:cbv:... values in EPCIS 2.0 JSON; CBV values are bare names.
    assert schema_errors(_document({"bizStep": "urn:epcglobal:cbv:bizstep:receiving"}))
    assert epcis.check_document(_document({"bizStep": "urn:epcglobal:cbv:bizstep:receiving"})) == [
        "eventList[0].bizStep: 'urn:epcglobal:cbv:bizstep:receiving': EPCIS 2.0 JSON does not allow CBV values "
        "as 'urn:epcglobal:cbv:...' or 'ns.gs1.org/cbv' URIs; write the bare name 'receiving'"]
    assert epcis.cbv_name("urn:epcglobal:cbv:bizstep:receiving") == "receiving"
    assert epcis.cbv_name("https://ref.gs1.org/cbv/Disp-in_transit", "disposition") == "in_transit"
    assert epcis.cbv_name("harvesting") is None


def test_missing_required_fields_are_problems():
    assert epcis.check_document(_document(drop=["eventTimeZoneOffset"])) == [
        "eventList[0].eventTimeZoneOffset: required field is missing"]
    doc = _document()
    del doc["creationDate"]
    assert epcis.check_document(doc) == ["creationDate: required field is missing"]
    assert epcis.check_document(_document(drop=["quantityList", "readPoint"])) == [
        "eventList[0]: needs epcList, or quantityList, or sensorElementList and readPoint"]


def test_every_problem_is_listed_at_once():
    doc = _document({"eventTime": "2026-11-01 08:00", "bizStep": "harvesting"}, drop=["action"],
                    creationDate="now")
    doc["epcisBody"]["eventList"].append(dict(doc["epcisBody"]["eventList"][0], eventTimeZoneOffset="+8:00",
                                              eventTime="2026-11-01T08:00:00+08:00", action="OBSERVE",
                                              type="Harvest"))
    problems = epcis.check_document(doc)
    assert [p.split(":")[0] for p in problems] == [
        "creationDate", "eventList[0].eventTime", "eventList[0].bizStep", "eventList[0].action",
        "eventList[1].type", "eventList[1].eventTimeZoneOffset", "eventList[1].bizStep"]
    assert "eventList[0].action: required field is missing" in problems
    assert "eventList[1].type: 'Harvest' is not an EPCIS event type (nor an extension URI)" in problems


@pytest.mark.parametrize("doc, problem", [
    ([], "document: must be a JSON object (an EPCISDocument), not an array"),
    ("{}", "document: must be a JSON object (an EPCISDocument), not a string"),
    ({}, "type: required field is missing (an EPCIS document has type 'EPCISDocument')"),
])
def test_not_a_document(doc, problem):
    assert epcis.check_document(doc) == [problem]


# ---------------------------------------------------------------- import


@pytest.fixture
def shipped(app, world, journey):
    """4000 kg of the harvest, shipped by the cooperative to the retailer two days ago."""
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 4000})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
    return Batch.get_by_id(batch.id)


def _event(batch, step, when, **fields):
    """A partner's ObjectEvent about ``batch`` (call within a request context)."""
    event = {"type": "ObjectEvent", "eventID": f"urn:uuid:{uuid.uuid4()}",
             "eventTime": when.isoformat(timespec="seconds"), "eventTimeZoneOffset": "+08:00", "action": "OBSERVE",
             "bizStep": step, "quantityList": [{"epcClass": trace.batch_url(batch), "quantity": 4000, "uom": "KGM"}],
             "readPoint": {"id": "urn:example:partner:dock-1"}}
    event.update(fields)
    return event


def _partner_document(*events):
    return {"@context": epcis.context(), "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": dt.datetime.now(TZ).isoformat(timespec="seconds"), "epcisBody": {"eventList": list(events)}}


def test_import_receiving_and_storing_from_the_destination(app, world, journey, shipped):
    storing_time = journey.at(0, 2).astimezone(dt.timezone.utc)
    with app.test_request_context():
        doc = _partner_document(
            _event(shipped, "receiving", journey.at(1), disposition="in_progress",
                   **{"gx:place": "南昌果品超市 红谷滩店"}),
            _event(shipped, "https://ref.gs1.org/cbv/BizStep-storing", storing_time,
                   eventTime=storing_time.isoformat(timespec="seconds").replace("+00:00", "Z"),
                   bizLocation={"id": "urn:example:partner:cold-store-3"}, **{"gx:notes": "2号冷库"}))
        assert epcis.check_document(doc) == []
        rows, duplicates = epcis.import_document(journey.retail_user, doc)
        view = [(d["bizStep"], d.get("gx:place")) for _e, d, _x in trace.journey(shipped)]
    assert [row.biz_step for row in rows] == ["receiving", "storing"] and duplicates == []
    assert view[-2:] == [("receiving", "南昌果品超市 红谷滩店"), ("storing", "urn:example:partner:cold-store-3")]
    batch = Batch.get_by_id(shipped.id)
    assert batch.holder_id == journey.retailer.id and batch.status == "active"
    receiving, storing = (json.loads(row.document) for row in rows)
    assert receiving["eventTime"] == journey.at(1).isoformat(timespec="seconds")
    assert receiving["gx:organisation"] == journey.retailer.name
    assert receiving["quantityList"][0]["quantity"] == 4000
    # A UTC eventTime is kept at the offset the partner gave beside it.
    assert storing["eventTimeZoneOffset"] == "+08:00"
    assert dt.datetime.fromisoformat(storing["eventTime"]) == storing_time
    assert storing["gx:notes"] == "2号冷库"
    assert all(trace.verify_event(row) for row in rows)


def test_a_resent_document_records_each_event_once(app, client, world, journey, shipped):
    """Partners resend documents (a timeout, a retry): events whose eventID the batch already holds are
    listed as duplicates, not recorded again; the partner's eventID is kept in the hashed document."""
    from web.accounts import service as accounts

    with app.test_request_context():
        receiving = _event(shipped, "receiving", journey.at(1))
        storing = _event(shipped, "storing", journey.at(0, 6))
        first = _partner_document(receiving)
        both = _partner_document(receiving, storing, storing)  # resent, with one new event given twice
    token, _row = accounts.create_token(journey.retail_user, "partner")
    post = lambda doc: client.post("/api/v1/epcis", json=doc, headers={"Authorization": f"Bearer {token}"})  # noqa: E731
    response = post(first)
    assert response.status_code == 201, response.json
    assert response.json["duplicates"] == []
    response = post(both)
    assert response.status_code == 201, response.json
    assert [e["biz_step"] for e in response.json["items"]] == ["storing"]
    assert response.json["duplicates"] == [receiving["eventID"], storing["eventID"]]
    again = post(both)
    assert again.status_code == 200 and again.json == {
        "items": [], "duplicates": [receiving["eventID"], storing["eventID"], storing["eventID"]]}
    rows = list(Event.select().where(Event.batch == shipped.id).order_by(Event.id))
    assert [r.biz_step for r in rows] == ["commissioning", "shipping", "receiving", "storing"]
    documents = [json.loads(r.document) for r in rows[2:]]
    assert [d["gx:sourceEventID"] for d in documents] == [receiving["eventID"], storing["eventID"]]
    assert all(d["eventID"] != d["gx:sourceEventID"] for d in documents)
    assert all(trace.verify_event(r) for r in rows)

    # Another organisation's event under an eventID this batch holds: refused, not a duplicate.
    with app.test_request_context():
        clash = _event(shipped, "inspecting", journey.at(0, 3), eventID=receiving["eventID"], **{
            "gx:inspection": {"passed": True, "items": [{"name": "吡虫啉", "result": 0.05, "limit": 1}]}})
        with pytest.raises(ValidationError) as refused:
            epcis.import_document(world.inspector, _partner_document(clash))
    assert list(refused.value.fields) == ["eventList[0].eventID"]
    assert Event.select().where(Event.batch == shipped.id).count() == 4


def test_import_inspecting_and_shipping(app, world, journey, shipped):
    with app.test_request_context():
        epcis.import_document(journey.retail_user, _partner_document(
            _event(shipped, "receiving", journey.at(1, 12))))
        epcis.import_document(world.inspector, _partner_document(_event(
            shipped, "inspecting", journey.at(1), **{"gx:inspection": {
                "passed": True, "items": [{"name": "吡虫啉", "result": 0.05, "limit": 1, "unit": "mg/kg"}]}})))
        [shipping], _duplicates = epcis.import_document(journey.retail_user, _partner_document(_event(
            shipped, "shipping", journey.at(0, 6), quantityList=[{"epcClass": trace.batch_url(shipped)}],
            destinationList=[{"type": "owning_party", "destination": f"urn:gannong:org:{journey.processor.id}"}])))
    inspection = Inspection.get(Inspection.batch == shipped.id)
    assert inspection.passed and inspection.lab_id == world.inspector.organisation_id
    batch = Batch.get_by_id(shipped.id)
    assert (batch.status, batch.destination_id) == ("in_transit", journey.processor.id)
    assert json.loads(shipping.document)["destinationList"] == [
        {"type": "owning_party", "destination": f"urn:gannong:org:{journey.processor.id}"}]


@pytest.mark.parametrize("doc, field", [
    ([], "document"),
    ("not json", "document"),
    (None, "document"),
    ({"type": "EPCISQueryDocument"}, "type"),
    ({"type": "ObjectEvent", "eventTime": "2026-11-01T08:00:00+08:00"}, "type"),
])
def test_import_rejects_what_is_not_an_epcis_document(app, world, journey, shipped, doc, field):
    before = Event.select().count()
    with app.test_request_context():
        with pytest.raises(ValidationError) as rejected:
            epcis.import_document(journey.retail_user, doc)
    assert list(rejected.value.fields) == [field]
    assert Event.select().count() == before


def test_import_rejects_a_malformed_document_with_every_reason(app, world, journey, shipped):
    before = Event.select().count()
    with app.test_request_context():
        base = trace.base_url()
        doc = _partner_document(
            _event(shipped, "receiving", journey.at(1), eventTime="2026-11-01 08:00"),
            _event(shipped, "storing", journey.at(0, 6), eventTimeZoneOffset="+8:00"),
            _event(shipped, "commissioning", journey.at(0, 5)),
            _event(shipped, "storing", journey.at(0, 4), quantityList=[{"epcClass": f"{base}/t/ZZZZ9999"}]),
            _event(shipped, "shipping", journey.at(0, 3)),
            _event(shipped, "harvesting", journey.at(0, 2)),
            _event(shipped, "inspecting", journey.at(0, 1)),
        )
        with pytest.raises(ValidationError) as rejected:
            epcis.import_document(journey.retail_user, doc)
    fields = rejected.value.fields
    assert set(fields) == {"eventList[0].eventTime", "eventList[1].eventTimeZoneOffset", "eventList[2].bizStep",
                           "eventList[3].quantityList[0].epcClass", "eventList[4].destinationList",
                           "eventList[5].bizStep", "eventList[6].gx:inspection"}
    assert "no time zone offset" in fields["eventList[0].eventTime"]
    assert "'commissioning' cannot be imported" in fields["eventList[2].bizStep"]
    assert "names no batch known here" in fields["eventList[3].quantityList[0].epcClass"]
    assert "'harvesting' is not a CBV business step" in fields["eventList[5].bizStep"]
    assert "eventList[1].eventTimeZoneOffset: '+8:00'" in rejected.value.message
    assert Event.select().count() == before
    assert Batch.get_by_id(shipped.id).status == "in_transit"


def test_import_reports_the_services_refusal_by_event(app, world, journey, shipped):
    before = Event.select().count()
    with app.test_request_context():
        doc = _partner_document(_event(shipped, "receiving", journey.at(1)),
                                _event(shipped, "storing", journey.now + dt.timedelta(days=2)))
        with pytest.raises(ValidationError) as rejected:
            epcis.import_document(journey.retail_user, doc)
    assert list(rejected.value.fields) == ["eventList[1].eventTime"]
    assert rejected.value.message.startswith("eventList[1]: ")
    assert Event.select().count() == before  # the receiving event before it is not kept either
    assert Batch.get_by_id(shipped.id).holder_id == world.farm_a.organisation_id


def test_import_about_a_batch_the_submitter_cannot_see_is_refused(app, world, journey, shipped):
    before = Event.select().count()
    with app.test_request_context():
        other = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "lot_number": "XF-2611-02",
                                                    "quantity": 1000})
        before = Event.select().count()
        # Not the organisation it was shipped to, and it cannot see the batch: reported like an unknown
        # batch, so an import never reveals which batches exist.
        with pytest.raises(ValidationError) as hidden:
            epcis.import_document(world.farmer_b, _partner_document(_event(shipped, "receiving", journey.at(1))))
        assert any("names no batch known here" in v for v in hidden.value.fields.values())
        # The first event is allowed, the second is about a batch the retailer cannot see: nothing is kept.
        with pytest.raises(ValidationError) as refused:
            epcis.import_document(journey.retail_user, _partner_document(
                _event(shipped, "receiving", journey.at(1)),
                _event(other, "storing", journey.at(0, 6),
                       quantityList=[{"epcClass": trace.batch_url(other), "quantity": 1000, "uom": "KGM"}])))
    assert any(k.startswith("eventList[1]") for k in refused.value.fields)
    assert Event.select().count() == before
    batch = Batch.get_by_id(shipped.id)
    assert (batch.status, batch.holder_id) == ("in_transit", world.farm_a.organisation_id)


@pytest.mark.parametrize("changes", [
    {"epcList": ["http://[::1/t/01/06901234567892/10/XF-1"]},      # an unclosed IPv6 host: urlsplit raised
    {"eventTime": "9999-12-31T23:59:59-14:00"},                    # past year 9999 once in UTC
    {"eventTime": "0001-01-01T00:00:00+14:00"},                    # before year 1 once in UTC
    {"quantityList": [{"epcClass": "x", "quantity": 2 ** 64, "uom": "KGM"}]},
])
def test_an_import_with_a_broken_identifier_or_time_is_refused_not_a_crash(app, client, world, journey, shipped,
                                                                          changes):
    """Found by the fuzz run (tests/web/test_fuzz.py) and by hand: each crashed the importer with a 500."""
    from tests.helpers import bearer

    before = Event.select().count()
    with app.test_request_context():
        document = _partner_document(_event(shipped, "receiving", journey.at(1), **changes))
    response = client.post("/api/v1/epcis", data=json.dumps(document), content_type="application/ld+json",
                           headers=bearer(journey.retail_user))
    assert response.status_code in (400, 422) and response.json["error"]["fields"], response.json
    assert Event.select().count() == before
