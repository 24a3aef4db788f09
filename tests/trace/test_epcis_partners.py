"""Partners' EPCIS 2.0 documents naming our batches by any GS1 form, resent events, and inputs at the limits.

The documents have the shape of GS1's own EPCIS 2.0 JSON-LD examples (the EPCIS 2.0 standard's
section 9 and the example files of github.com/gs1/EPCIS): an ``ni:///sha-256;…?ver=CBV2.0`` eventID
(the canonical event hash partners' systems compute), ``readPoint``/``bizLocation`` as SGLN URNs,
a ``bizTransactionList`` with a purchase order, the partner's own extension namespace, and EPC class
identifiers in ``quantityList`` as LGTIN URNs or Digital Links on the GS1 resolver domain
``https://id.gs1.org``, which is how a retailer's or wholesaler's EPCIS repository writes them.
"""
import datetime as dt
import hashlib
import json

import pytest

from trace import epcis
from trace import service as trace
from trace.models import Batch, Event
from web.accounts import service as accounts

TZ = dt.timezone(dt.timedelta(hours=8))
# Our batch's GTIN: company prefix 6901234 (China, 690-699), item reference 56789, indicator 0.
GTIN = "06901234567892"
LGTIN_ITEM = "056789"  # the URN's second field: indicator digit, then the item reference
LOT = "XF-2611-01"


@pytest.fixture
def shipped(app, world, journey):
    """4000 kg under GTIN 06901234567892, lot XF-2611-01, shipped by the cooperative to the retailer."""
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 4000,
                                                    "gtin": GTIN})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
    return Batch.get_by_id(batch.id)


@pytest.fixture
def post(client, journey):
    """POST a document to the import API as the retailer's integration token."""
    token, _row = accounts.create_token(journey.retail_user, "partner EPCIS repository")
    return lambda doc: client.post("/api/v1/epcis", json=doc, headers={"Authorization": f"Bearer {token}"})


def _event_id(event):
    """An EPCIS 2.0 canonical-hash style eventID, as GS1's examples and partner systems write them."""
    digest = hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def receiving(epc_class, when, quantity=4000, **changes):
    """A retailer's receiving ObjectEvent in the shape of GS1's EPCIS 2.0 example ObjectEvents."""
    event = {
        "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
        "eventTime": when.isoformat(timespec="milliseconds"), "eventTimeZoneOffset": "+08:00",
        "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
        "bizLocation": {"id": "urn:epc:id:sgln:6901234.00001.0"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000003:PO-2611-88"}],
        "quantityList": [{"epcClass": epc_class, "quantity": quantity, "uom": "KGM"}],
        "example:receivingDock": "3号月台",
    }
    event.update(changes)
    event.setdefault("eventID", _event_id(event))
    return event


def document(*events):
    """An EPCISDocument as GS1's examples frame one: EPCIS context plus the partner's own namespace."""
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"example": "http://ns.example.com/epcis/"}],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-05T09:12:31.000+08:00",
            "epcisBody": {"eventList": list(events)}}


# ---------------------------------------------------------------- every GS1 form names our batch


@pytest.mark.parametrize("form", [
    f"https://id.gs1.org/01/{GTIN}/10/{LOT}",  # the canonical Digital Link, on the GS1 resolver domain
    f"https://id.gs1.org/01/{GTIN.lstrip('0')}/10/{LOT}",  # GTIN-13, as printed under the EAN-13 barcode
    f"urn:epc:class:lgtin:6901234.{LGTIN_ITEM}.{LOT}",  # the EPC class URN of a GTIN and lot
    f"https://id.gs1.org/01/{GTIN}/22/NAVEL72/10/{LOT}",  # with a consumer product variant
    f"https://id.gs1.org/01/{GTIN}/10/XF%2d2611%2D01?linkType=gs1:traceability#batch",  # over-encoded, fragment
    "{base}/01/" + GTIN + "/10/" + LOT,  # the form printed in our QR codes
])
def test_any_gs1_form_of_our_batch_is_imported(app, journey, shipped, post, form):
    with app.test_request_context():
        form = form.format(base=trace.base_url())
    response = post(document(receiving(form, journey.at(1))))
    assert response.status_code == 201, response.json
    assert [e["biz_step"] for e in response.json["items"]] == ["receiving"]
    batch = Batch.get_by_id(shipped.id)
    assert (batch.status, batch.holder_id) == ("active", journey.retailer.id)


def test_a_lot_with_reserved_characters_is_found_in_each_encoding(app, world, journey, post):
    """Lots such as 2611/A%1 are written %2F and %25 in Digital Links and in EPC URNs alike."""
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 1000,
                                                    "gtin": GTIN, "lot_number": "2611/A%1"})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
    first = receiving(f"urn:epc:class:lgtin:6901234.{LGTIN_ITEM}.2611%2FA%251", journey.at(1), quantity=1000)
    storing = receiving(f"https://id.gs1.org/01/{GTIN}/10/2611%2fA%251", journey.at(0, 6), quantity=1000,
                        bizStep="storing")
    response = post(document(first, storing))
    assert response.status_code == 201, response.json
    assert [e["biz_step"] for e in response.json["items"]] == ["receiving", "storing"]
    assert Event.select().where(Event.batch == batch.id).count() == 4


def test_an_sgtin_names_the_one_batch_carrying_its_gtin(app, world, journey, shipped, post):
    """GS1's examples name items by SGTIN in epcList; with one batch of that GTIN, it is the batch."""
    event = receiving(None, journey.at(1), epcList=["urn:epc:id:sgtin:6901234.056789.000417"])
    del event["quantityList"]
    response = post(document(event))
    assert response.status_code == 201, response.json
    assert Batch.get_by_id(shipped.id).holder_id == journey.retailer.id


def test_an_sgtin_with_several_batches_of_its_gtin_asks_for_the_lot(app, world, journey, shipped, post):
    # A second lot of the same GTIN shipped to the same retailer: the serial alone cannot say which.
    with app.test_request_context():
        other = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 500,
                                                    "gtin": GTIN, "lot_number": "XF-2611-02"})
        trace.record_event(world.operator, other, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id})
    event = receiving(None, journey.at(1), epcList=[f"https://id.gs1.org/01/{GTIN}/21/000417"])
    del event["quantityList"]
    before = Event.select().count()
    response = post(document(event))
    assert response.status_code == 422
    assert "name the batch with its lot" in response.json["error"]["fields"]["eventList[0].epcList[0]"]
    assert Event.select().count() == before


@pytest.mark.parametrize("form, says", [
    (f"https://id.gs1.org/01/{GTIN[:-1]}3/10/{LOT}", "wrong check digit"),
    (f"https://id.gs1.org/01/{GTIN}/10/{LOT}/22/NAVEL72", "22 (CPV) must come before 10 (lot)"),
    ("https://id.gs1.org/414/6901234000003", "unknown or unsupported AI '414'"),
    (f"urn:epc:class:lgtin:6901234.{LGTIN_ITEM}.XF/2611", "'/', which an EPC URN writes percent-encoded"),
    ("urn:epc:id:sscc:6901234.0000000001", "not a GS1 identifier of a batch"),
    (f"https://id.gs1.org/01/{GTIN}/10/XF-2611-99", "names no batch known here"),
    ("https://id.gs1.org/t/ABCD2345", "not a batch of this service"),  # our own key only under our domain
])
def test_a_wrong_identifier_says_why(app, journey, shipped, post, form, says):
    before = Event.select().count()
    response = post(document(receiving(form, journey.at(1))))
    assert response.status_code == 422
    assert says in response.json["error"]["fields"]["eventList[0].quantityList[0].epcClass"]
    assert Event.select().count() == before


# ---------------------------------------------------------------- resending an eventID


def test_a_resend_with_other_content_is_a_conflict_naming_what_differs(app, journey, shipped, post):
    link = f"https://id.gs1.org/01/{GTIN}/10/{LOT}"
    first = receiving(link, journey.at(1))
    assert post(document(first)).status_code == 201
    # The same event, its time in UTC and with the Digital Link in another form: still a duplicate.
    same = dict(first, eventTime=journey.at(1).astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                quantityList=[{"epcClass": f"urn:epc:class:lgtin:6901234.{LGTIN_ITEM}.{LOT}", "quantity": 4000.0,
                               "uom": "KGM"}])
    response = post(document(same))
    assert response.status_code == 200 and response.json == {"items": [], "duplicates": [first["eventID"]]}
    # The partner's system reused the eventID for another step and quantity.
    changed = dict(first, bizStep="storing", quantityList=[{"epcClass": link, "quantity": 3900, "uom": "KGM"}])
    response = post(document(changed))
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "conflict"
    # The API speaks Chinese first: "bizStep, quantity differ from the event already recorded under this eventID".
    assert error["message"].startswith("eventList[0]：bizStep, quantity 与此 eventID（'ni:///sha-256;")
    assert "下已记录的事件不同" in error["message"]
    assert error["fields"] == {"eventList[0].eventID": "bizStep, quantity 与此 eventID 下已记录的事件不同。"}
    later = dict(first, eventTime=journey.at(0, 6).isoformat())
    assert post(document(later)).json["error"]["fields"] == {
        "eventList[0].eventID": "eventTime 与此 eventID 下已记录的事件不同。"}
    rows = Event.select().where(Event.batch == shipped.id)
    assert [r.biz_step for r in rows.order_by(Event.id)] == ["commissioning", "shipping", "receiving"]


def test_one_eventid_twice_in_a_document_with_other_content_stores_nothing(app, journey, shipped, post):
    link = f"https://id.gs1.org/01/{GTIN}/10/{LOT}"
    first = receiving(link, journey.at(1))
    storing = receiving(link, journey.at(0, 6), bizStep="storing")
    clash = dict(storing, **{"example:receivingDock": "4号月台", "gx:place": "二号冷库"})
    response = post(document(first, storing, clash))
    assert response.status_code == 409
    assert response.json["error"]["fields"] == {"eventList[2].eventID": "place 与此 eventID 下已记录的事件不同。"}
    assert Event.select().where(Event.batch == shipped.id).count() == 2


def test_a_resent_inspection_with_other_results_is_a_conflict(app, world, journey, shipped, post):
    with app.test_request_context():
        inspection = {"passed": True, "items": [{"name": "吡虫啉", "result": 0.05, "limit": 1, "unit": "mg/kg"}]}
        event = receiving(f"https://id.gs1.org/01/{GTIN}/10/{LOT}", journey.at(1), bizStep="inspecting",
                          **{"gx:inspection": inspection})
        doc = document(event)
        doc["@context"] = epcis.context()
        epcis.import_document(world.inspector, doc)
        rows, duplicates = epcis.import_document(world.inspector, doc)
        assert (rows, duplicates) == ([], [event["eventID"]])
        worse = dict(event, **{"gx:inspection": {"passed": True, "items": [
            {"name": "吡虫啉", "result": 1.5, "limit": 1, "unit": "mg/kg"}]}})
        from web.db import Conflict
        with pytest.raises(Conflict, match="inspection 与此 eventID"):
            epcis.import_document(world.inspector, document(worse))


# ---------------------------------------------------------------- times and URIs at the limits


@pytest.mark.parametrize("changes, field", [
    ({"eventTime": "9999-12-31T23:59:59-14:00", "eventTimeZoneOffset": "-14:00"}, "eventList[0].eventTime"),
    ({"eventTime": "9999-12-31T23:59:59Z", "eventTimeZoneOffset": "+14:00"}, "eventList[0].eventTime"),
    ({"eventTime": "0001-01-01T00:00:00+14:00", "eventTimeZoneOffset": "+14:00"}, "eventList[0].eventTime"),
    ({"eventTime": "0001-01-01T00:00:00Z", "eventTimeZoneOffset": "-14:00"}, "eventList[0].eventTime"),
    ({"eventTime": "9999-12-30T12:00:00+14:00", "eventTimeZoneOffset": "+14:00"}, "eventList[0].eventTime"),
    ({"recordTime": "9999-12-31T23:59:59.999999999-14:00"}, "eventList[0].recordTime"),
    ({"errorDeclaration": {"declarationTime": "0001-01-01T00:00:00+13:59", "reason": "incorrect_data"}},
     "eventList[0].errorDeclaration.declarationTime"),
    ({"epcList": ["http://[::1/t/ABCD2345"]}, "eventList[0].epcList[0]"),
    ({"epcList": ["https://[::1]x/01/06901234567892/10/XF-2611-01"]}, "eventList[0].epcList[0]"),
    ({"epcList": ["https://id.gs1.org:99999/01/06901234567892/10/XF-2611-01"]}, "eventList[0].epcList[0]"),
    ({"epcList": ["https://[v1.x]/01/06901234567892/10/XF-2611-01"]}, "eventList[0].epcList[0]"),
])
def test_times_and_uris_at_the_limits_are_refused_by_field(journey, shipped, post, changes, field):
    event = receiving(f"https://id.gs1.org/01/{GTIN}/10/{LOT}", journey.at(1), **changes)
    if "epcList" in changes:
        del event["quantityList"]
    before = Event.select().count()
    response = post(document(event))
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert Event.select().count() == before


def test_the_earliest_and_latest_representable_times_are_still_checked_by_the_rules(journey, shipped, post):
    # Representable, so they reach the journey's rules: too far in the future, or before the batch's events.
    for when in ("9999-12-29T00:00:00+14:00", "0001-01-03T00:00:00-14:00"):
        response = post(document(receiving(f"https://id.gs1.org/01/{GTIN}/10/{LOT}", journey.at(1),
                                           eventTime=when, eventTimeZoneOffset=when[-6:])))
        assert response.status_code == 422
        assert "eventList[0].eventTime" in response.json["error"]["fields"]
