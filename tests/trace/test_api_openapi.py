"""The trace API answers as trace/openapi.yaml documents it.

Every trace operation is called for real, with a bearer token: each request body
is checked against the schema the merged /api/v1/openapi.json gives it, and each
response against the schema of its path, method and status code (so an
undocumented status fails as well as a wrong body). The helpers are those of
tests/helpers.py, extended to media types other than application/json.
"""
import datetime as dt
import io
import json
import uuid

import pytest
import yaml

from tests.helpers import Contract, bearer, pointer_part
from web.api import PREFIX, openapi_files

TRACE_FRAGMENT = next(path for path in openapi_files() if path.parent.name == "trace")
EPCIS_OPERATIONS = {("/batches/{batch_id}/epcis", "get"), ("/epcis", "post")}
GTIN = "06901234567892"


def trace_operations():
    fragment = yaml.safe_load(TRACE_FRAGMENT.read_text(encoding="utf-8"))
    return {(path, method) for path, item in fragment["paths"].items() for method in item
            if method in ("get", "put", "post", "patch", "delete")}


class TraceContract(Contract):
    """``Contract`` for any media type; remembers which operations answered with success."""

    def __init__(self, document):
        super().__init__(document)
        self.succeeded = set()

    def request_errors(self, path, method, body, media_type="application/json"):
        pointer, request_body = self.follow(self.operation_pointer(path, method) + "/requestBody")
        assert media_type in request_body["content"], \
            f"{method.upper()} {path} documents no {media_type} request body (only {sorted(request_body['content'])})"
        return self.errors(f"{pointer}/content/{pointer_part(media_type)}/schema", body)

    def check_request(self, path, method, body, media_type="application/json"):
        errors = self.request_errors(path, method, body, media_type)
        assert not errors, f"{method.upper()} {path}: the request body breaks its schema:\n" + "\n".join(errors)

    def check(self, path, method, response, status, media_type="application/json"):
        body = response.get_json(silent=True)
        assert response.status_code == status, (response.status_code, body)
        assert response.mimetype == media_type, f"{method.upper()} {path} answered {response.mimetype}"
        operation = self.operation_pointer(path, method)
        responses = self.node(operation + "/responses")
        assert str(status) in responses, \
            f"{method.upper()} {path} answered {status}, which is not documented (only {sorted(responses)})"
        pointer, definition = self.follow(f"{operation}/responses/{status}")
        assert media_type in definition.get("content", {}), \
            f"{method.upper()} {path} {status} documents no {media_type} body"
        assert body is not None, f"{method.upper()} {path} {status} returned no JSON"
        errors = self.errors(f"{pointer}/content/{pointer_part(media_type)}/schema", body)
        assert not errors, (f"{method.upper()} {path} {status}: the response breaks its schema:\n"
                            + "\n".join(errors) + f"\nbody: {body}")
        if status < 300:
            self.succeeded.add((path, method))
        return body


@pytest.fixture
def contract(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return TraceContract(response.get_json())


@pytest.fixture
def tokens(world, journey):
    return {"farmer": bearer(world.farmer_a), "coop": bearer(world.operator),
            "retail": bearer(journey.retail_user), "inspector": bearer(world.inspector)}


@pytest.fixture
def call(client, contract, tokens):
    """call(who, method, template, status, body=None, query="", **ids): one checked request and response."""

    def call(who, method, template, status, body=None, query="", **ids):
        if body is not None:
            contract.check_request(template, method, body)
        response = client.open(PREFIX + template.format(**ids) + query, method=method.upper(),
                               headers=tokens[who] if who else {}, json=body)
        return contract.check(template, method, response, status)

    return call


def iso(when):
    return when.isoformat()


def error_of(body, code):
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


# ------------------------------------------------------------------ every operation once


def test_every_trace_operation_answers_as_documented(app, client, world, journey, contract, call):
    at = journey.at

    # A lab report, then the lab's residue test of the plot before harvest.
    upload = {"file": "%PDF-1.4 检测报告"}
    contract.check_request("/attachments", "post", upload, media_type="multipart/form-data")
    response = client.post(f"{PREFIX}/attachments", headers=bearer(world.inspector),
                           data={"file": (io.BytesIO(upload["file"].encode()), "report.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    attachment = contract.check("/attachments", "post", response, 201)
    assert attachment["filename"] == "report.pdf" and attachment["media_type"] == "application/pdf"
    sha = attachment["sha256"]

    inspection = call("inspector", "post", "/plots/{plot_id}/inspections", 201, {
        "sampled_at": iso(at(4)), "passed": True, "attachments": [sha],
        "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"},
                  {"name": "吡虫啉", "result": 0.5, "limit": 0.2, "unit": "mg/kg"}]}, plot_id=world.plot_a.id)
    assert inspection["plot_id"] == world.plot_a.id and inspection["passed"] is False  # one item over its limit

    # Two batches from the harvest: the harvest's lot, and a second lot with a GTIN.
    a = call("farmer", "post", "/batches", 201, {"harvest_log": journey.harvest.id, "quantity": 3000})
    assert (a["lot_number"], a["quantity"], a["status"], a["gtin"]) == ("XF-2611-01", 3000, "active", None)
    b = call("farmer", "post", "/batches", 201, {"harvest_log": journey.harvest.id, "lot_number": "XF-2611-02",
                                                 "gtin": GTIN[1:], "quantity": 2000, "override_inspection": None})
    assert b["gtin"] == GTIN and b["remaining"] == 2000
    page = call("coop", "get", "/batches", 200, query="?page=1&per_page=1")
    assert (page["total"], page["pages"], len(page["items"])) == (2, 2, 1)
    assert call("farmer", "get", "/batches/{batch_id}", 200, batch_id=a["id"]) == a

    # Journey events: an inspection with its report, then storing, corrected.
    inspected = call("inspector", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "inspecting", "event_time": iso(at(2, 20)), "passed": True, "attachments": [sha],
        "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"}]}, batch_id=a["id"])
    assert inspected["document"]["disposition"] == "conformant"
    stored = call("coop", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "storing", "event_time": iso(at(2, 12)), "place": "错误的冷库", "quantity": 3000,
        "notes": "入库预冷"}, batch_id=a["id"])
    corrected = call("coop", "post", "/events/{event_id}/corrections", 201,
                     {"place": "信丰县绿源合作社冷库", "reason": "incorrect_data"}, event_id=stored["id"])
    assert corrected["corrects"] == stored["event_id"] and corrected["document"]["gx:place"] == "信丰县绿源合作社冷库"

    # Lineage: split a part off A, merge it with B, process some of A into juice.
    children = call("coop", "post", "/batches/{batch_id}/split", 201, {
        "quantities": [500], "lot_numbers": ["XF-2611-01A"], "event_time": iso(at(2, 6))}, batch_id=a["id"])
    child = children["items"][0]
    assert (child["lot_number"], child["quantity"]) == ("XF-2611-01A", 500)
    merged = call("coop", "post", "/batches/merge", 201, {
        "batches": [child["id"], b["id"]], "lot_number": "XF-MIX-1", "event_time": iso(at(2, 3))})
    assert merged["quantity"] == 2500
    juice = call("coop", "post", "/batches/transform", 201, {
        "inputs": [{"batch": a["id"], "quantity": 1000}], "product": {"zh": "脐橙汁", "en": "Navel orange juice"},
        "quantity": 600, "unit": "l", "lot_number": "JUICE-1", "gtin": GTIN, "event_time": iso(at(2, 1))})
    assert juice["product_name"] == "脐橙汁" and juice["unit"] == "l" and juice["farm_id"] == world.farm_a.id

    # Ownership passes: the cooperative ships the rest of A, the retailer receives and sells it.
    shipped = call("coop", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "shipping", "event_time": iso(at(1, 12)), "destination": journey.retailer.id,
        "place": "信丰冷库"}, batch_id=a["id"])
    assert shipped["document"]["disposition"] == "in_transit"
    call("retail", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "receiving", "event_time": iso(at(1)), "place": "南昌果品超市 红谷滩店"}, batch_id=a["id"])
    call("retail", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "retail_selling", "event_time": iso(at(0, 1)), "quantity": 100}, batch_id=a["id"])
    events = call("retail", "get", "/batches/{batch_id}/events", 200, batch_id=a["id"])["items"]
    assert [e["biz_step"] for e in events] == ["commissioning", "inspecting", "storing", "storing", "shipping",
                                              "receiving", "retail_selling"]
    assert [e["erroneous"] for e in events if e["biz_step"] == "storing"] == [True, False]

    # Recall, both ways.
    recall = call("farmer", "get", "/batches/{batch_id}/recall", 200, batch_id=a["id"])
    assert {d["id"] for d in recall["downstream"]} == {child["id"], merged["id"], juice["id"]}
    assert recall["origins"][0]["farm"]["id"] == world.farm_a.id and recall["upstream"] == []
    recall = call("coop", "get", "/batches/{batch_id}/recall", 200, batch_id=merged["id"])
    assert {u["id"] for u in recall["upstream"]} == {a["id"], b["id"], child["id"]}
    assert sorted(o["batch_id"] for o in recall["origins"]) == sorted([a["id"], b["id"]])

    # Scans, before and after a consumer scanned the QR code.
    assert call("farmer", "get", "/batches/{batch_id}/scans", 200, batch_id=b["id"]) == \
        {"total": 0, "first": None, "warnings": []}
    from trace import service
    from trace.models import Batch

    with app.test_request_context():
        service.record_scan(Batch.get_by_id(a["id"]), "203.0.113.9")
    scans = call("retail", "get", "/batches/{batch_id}/scans", 200, batch_id=a["id"])
    assert scans["total"] == 1 and scans["first"]

    untested = trace_operations() - EPCIS_OPERATIONS - contract.succeeded
    assert not untested, f"trace operations not exercised: {sorted(untested)}"


def test_epcis_export_and_import_answer_as_documented(client, world, journey, contract, call, tokens):
    a = call("farmer", "post", "/batches", 201, {"harvest_log": journey.harvest.id})
    call("coop", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "storing", "event_time": iso(journey.at(2)), "place": "信丰冷库"}, batch_id=a["id"])

    response = client.get(f"{PREFIX}/batches/{a['id']}/epcis", headers=tokens["farmer"])
    exported = contract.check("/batches/{batch_id}/epcis", "get", response, 200, media_type="application/ld+json")
    assert exported["type"] == "EPCISDocument" and len(exported["epcisBody"]["eventList"]) == 2

    # A partner's later event for the same batch, shaped like our own export.
    event = dict(next(e for e in exported["epcisBody"]["eventList"] if str(e.get("bizStep")).endswith("storing")))
    event.pop("errorDeclaration", None)
    event.update(eventID=f"urn:uuid:{uuid.uuid4()}", eventTime=journey.at(1).isoformat(timespec="seconds"))
    document = dict(exported, epcisBody={"eventList": [event]})
    for media_type in ("application/json", "application/ld+json"):
        contract.check_request("/epcis", "post", document, media_type=media_type)
    response = client.post(f"{PREFIX}/epcis", headers=tokens["coop"], json=document)
    imported = contract.check("/epcis", "post", response, 201)["items"]
    assert [(e["batch_id"], e["biz_step"], e["document"]["gx:place"]) for e in imported] == \
        [(a["id"], "storing", "信丰冷库")]
    assert imported[0]["event_id"] != event["eventID"]  # recorded anew, under our rules

    # Refused: storing by an organisation that sees the batch but does not hold it (403), or a
    # problem, listed by its path in the document (422).
    # Resent: nothing new, and said so.
    again = contract.check("/epcis", "post", client.post(f"{PREFIX}/epcis", headers=tokens["coop"], json=document), 200)
    assert again == {"items": [], "duplicates": [event["eventID"]]}
    document["epcisBody"]["eventList"][0].update(eventID=f"urn:uuid:{uuid.uuid4()}",
                                                 eventTime=journey.at(0, 2).isoformat(timespec="seconds"))
    response = client.post(f"{PREFIX}/epcis", headers=tokens["inspector"], json=document)
    error_of(contract.check("/epcis", "post", response, 403), "forbidden")
    wrong = dict(document, epcisBody={"eventList": [dict(event, bizStep="dancing")]})
    response = client.post(f"{PREFIX}/epcis", headers=tokens["coop"], data=json.dumps(wrong),
                           content_type="application/ld+json")
    assert error_of(contract.check("/epcis", "post", response, 422), "invalid")["fields"]

    # Another media type is refused, as is a body that is not JSON.
    error = contract.check("/epcis", "post", client.post(f"{PREFIX}/epcis", headers=tokens["coop"],
                                                         data="hello", content_type="text/plain"), 415)
    error_of(error, "unsupported_media_type")
    error = contract.check("/epcis", "post", client.post(f"{PREFIX}/epcis", headers=tokens["coop"],
                                                         data="{not json", content_type="application/ld+json"), 400)
    error_of(error, "bad_request")
    contract.check("/batches/{batch_id}/epcis", "get",
                   client.get(f"{PREFIX}/batches/999999/epcis", headers=tokens["farmer"]), 404)


# ------------------------------------------------------------------ errors


def test_pre_harvest_interval_refusal_is_a_documented_422(world, journey, contract, call):
    from farms import service as farms
    from farms.models import InputProduct

    product = InputProduct.get(InputProduct.code == "spirodiclofen_24sc")  # a 30-day interval
    farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": journey.at(10), "plots": [world.plot_a.id], "input_product": product.id,
        "dose": 25, "dose_unit": "ml/亩"})
    body = {"harvest_log": journey.harvest.id}
    assert not contract.request_errors("/batches", "post", body)  # a valid request, refused by the rule
    error = error_of(call("farmer", "post", "/batches", 422, body), "invalid")
    safe = (journey.at(10).date() + dt.timedelta(days=30)).isoformat()
    assert "24%螺螨酯悬浮剂" in error["message"] and safe in error["message"]
    assert "harvest_log" in error["fields"]
    assert call("farmer", "get", "/batches", 200)["total"] == 0

    # A failing residue test does not override the rule.
    failing = call("inspector", "post", "/plots/{plot_id}/inspections", 201, {
        "sampled_at": iso(journey.at(4)), "passed": True,
        "items": [{"name": "螺螨酯", "result": 0.9, "limit": 0.5, "unit": "mg/kg"}]}, plot_id=world.plot_a.id)
    error = error_of(call("farmer", "post", "/batches", 422, dict(body, override_inspection=failing["id"])),
                     "invalid")
    assert "override_inspection" in error["fields"]


def test_error_responses_match_the_error_schema(client, world, journey, contract, call, tokens):
    a = call("farmer", "post", "/batches", 201, {"harvest_log": journey.harvest.id, "quantity": 1000})

    # 409: the same lot number again in the same organisation.
    error = error_of(call("farmer", "post", "/batches", 409, {"harvest_log": journey.harvest.id, "quantity": 1000}),
                     "conflict")
    assert "lot_number" in error["fields"]
    error_of(call("coop", "post", "/batches/{batch_id}/split", 409, {"quantities": [10], "lot_numbers": ["XF-2611-01"]},
                  batch_id=a["id"]), "conflict")

    # 404: an unknown batch, a batch another organisation cannot see, an unknown event and plot.
    error_of(call("farmer", "get", "/batches/{batch_id}", 404, batch_id=999999), "not_found")
    error_of(call("retail", "get", "/batches/{batch_id}", 404, batch_id=a["id"]), "not_found")
    for template in ("/batches/{batch_id}/events", "/batches/{batch_id}/recall", "/batches/{batch_id}/scans"):
        call("farmer", "get", template, 404, batch_id=999999)
    call("coop", "post", "/events/{event_id}/corrections", 404, {"place": "x"}, event_id=999999)
    call("inspector", "post", "/plots/{plot_id}/inspections", 404, {
        "sampled_at": iso(journey.at(1)), "passed": True, "items": [{"name": "x"}]}, plot_id=999999)
    call("coop", "post", "/batches/merge", 404, {"batches": [a["id"], 999999], "lot_number": "M-1"})

    # 403: a former holder ships again; a farmer records a residue test; a stranger corrects an event.
    call("coop", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "shipping", "event_time": iso(journey.at(2)), "destination": journey.retailer.id},
        batch_id=a["id"])
    received = call("retail", "post", "/batches/{batch_id}/events", 201, {
        "biz_step": "receiving", "event_time": iso(journey.at(1))}, batch_id=a["id"])
    error_of(call("coop", "post", "/batches/{batch_id}/events", 403, {
        "biz_step": "shipping", "event_time": iso(journey.at(0, 2)), "destination": journey.processor.id},
        batch_id=a["id"]), "forbidden")
    error_of(call("farmer", "post", "/plots/{plot_id}/inspections", 403, {
        "sampled_at": iso(journey.at(1)), "passed": True, "items": [{"name": "x"}]}, plot_id=world.plot_a.id),
        "forbidden")
    error_of(call("coop", "post", "/events/{event_id}/corrections", 403, {"place": "x"}, event_id=received["id"]),
             "forbidden")
    error_of(call("coop", "post", "/batches/{batch_id}/split", 403, {"quantities": [10]}, batch_id=a["id"]),
             "forbidden")

    # 409: an event is corrected once.
    call("retail", "post", "/events/{event_id}/corrections", 201, {"place": "南昌仓"}, event_id=received["id"])
    error_of(call("retail", "post", "/events/{event_id}/corrections", 409, {"place": "again"},
                  event_id=received["id"]), "conflict")

    # 422: requests the schema refuses too.
    for template, body, ids in (
            ("/batches/{batch_id}/events", {"biz_step": "dancing", "event_time": iso(journey.at(0))},
             {"batch_id": a["id"]}),
            ("/batches/{batch_id}/events", {"biz_step": "storing", "event_time": iso(journey.at(0)), "colour": "red"},
             {"batch_id": a["id"]}),
            ("/batches/{batch_id}/split", {"quantities": [-5]}, {"batch_id": a["id"]}),
            ("/batches/merge", {"batches": [a["id"]], "lot_number": "M-1"}, {}),
            ("/batches/transform", {"inputs": [{"batch": a["id"], "quantity": 1}], "product": "juice",
                                    "quantity": 1, "unit": "l", "lot_number": "J-1"}, {}),
            ("/events/{event_id}/corrections", {"reason": "did_not_occur"}, {"event_id": received["id"]}),
            ("/batches", {"lot_number": "X-1"}, {}),
    ):
        assert contract.request_errors(template, "post", body), f"the schema accepts {body}"
        response = client.post(PREFIX + template.format(**ids), headers=tokens["retail"], json=body)
        error_of(contract.check(template, "post", response, 422), "invalid")
    response = client.post(f"{PREFIX}/attachments", headers=tokens["coop"], content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b""), "empty.txt", "text/plain")})
    assert "file" in error_of(contract.check("/attachments", "post", response, 422), "invalid")["fields"]

    # 400: malformed JSON, a body that is not JSON, bad pagination, an upload without its file.
    for template, ids in (("/batches", {}), ("/batches/{batch_id}/events", {"batch_id": a["id"]}),
                          ("/batches/{batch_id}/split", {"batch_id": a["id"]}), ("/batches/merge", {}),
                          ("/batches/transform", {}), ("/events/{event_id}/corrections", {"event_id": received["id"]}),
                          ("/plots/{plot_id}/inspections", {"plot_id": world.plot_a.id})):
        response = client.post(PREFIX + template.format(**ids), headers=tokens["farmer"], data="{\"harvest_log\": ",
                               content_type="application/json")
        error_of(contract.check(template, "post", response, 400), "bad_request")
    response = client.post(f"{PREFIX}/batches", headers=tokens["farmer"], data="harvest_log=1")
    error_of(contract.check("/batches", "post", response, 400), "bad_request")
    error_of(call("farmer", "get", "/batches", 400, query="?per_page=0"), "bad_request")
    response = client.post(f"{PREFIX}/attachments", headers=tokens["coop"], data={"name": "x"},
                           content_type="multipart/form-data")
    error_of(contract.check("/attachments", "post", response, 400), "bad_request")

    # 401: no credentials, and a bad token.
    error_of(call(None, "get", "/batches/{batch_id}", 401, batch_id=a["id"]), "unauthenticated")
    response = client.post(f"{PREFIX}/batches", headers={"Authorization": "Bearer nope"},
                           json={"harvest_log": journey.harvest.id})
    error_of(contract.check("/batches", "post", response, 401), "invalid_token")
