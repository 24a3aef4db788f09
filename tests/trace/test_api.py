"""The trace API refuses bad requests clearly and leaves stored data as it was."""
import pytest

from tests.helpers import bearer
from trace.models import Batch, BatchLink, Event


@pytest.fixture
def tokens(world, journey):
    return {"farmer": bearer(world.farmer_a), "coop": bearer(world.operator),
            "retail": bearer(journey.retail_user), "farmer_b": bearer(world.farmer_b)}


@pytest.fixture
def batch_id(client, tokens, journey):
    response = client.post("/api/v1/batches", headers=tokens["farmer"], json={"harvest_log": journey.harvest.id})
    assert response.status_code == 201, response.json
    return response.json["id"]


def snapshot():
    return (Batch.select().count(), Event.select().count(), BatchLink.select().count(),
            sorted((b.id, b.status, b.holder_id, b.remaining) for b in Batch.select()))


def test_journey_through_the_api(client, tokens, journey, batch_id):
    shipped = client.post(f"/api/v1/batches/{batch_id}/events", headers=tokens["coop"], json={
        "biz_step": "shipping", "event_time": journey.at(2).isoformat(), "destination": journey.retailer.id,
        "place": "信丰冷库"})
    assert shipped.status_code == 201, shipped.json
    assert shipped.json["document"]["destinationList"][0]["type"] == "owning_party"
    received = client.post(f"/api/v1/batches/{batch_id}/events", headers=tokens["retail"], json={
        "biz_step": "receiving", "event_time": journey.at(1).isoformat()})
    assert received.status_code == 201, received.json
    batch = client.get(f"/api/v1/batches/{batch_id}", headers=tokens["retail"]).json
    assert batch["holder_id"] == journey.retailer.id and batch["url"].endswith("/t/" + batch["code"])
    events = client.get(f"/api/v1/batches/{batch_id}/events", headers=tokens["retail"]).json["items"]
    assert [e["biz_step"] for e in events] == ["commissioning", "shipping", "receiving"]


@pytest.mark.parametrize("who, url, body, status, code", [
    # a shipping event for a batch the operator never held: it cannot even see it
    ("retail", "/api/v1/batches/{id}/events", {"biz_step": "shipping", "event_time": "AT2", "destination": 1},
     404, "not_found"),
    ("farmer_b", "/api/v1/batches/{id}/events", {"biz_step": "storing", "event_time": "AT2"}, 404, "not_found"),
    ("coop", "/api/v1/batches/{id}/split", {"quantities": [-5]}, 422, "invalid"),
    ("coop", "/api/v1/batches/{id}/split", {"quantities": [4000, 2000]}, 422, "invalid"),
    ("coop", "/api/v1/batches/{id}/split", {"quantities": ["many"]}, 422, "invalid"),
    ("coop", "/api/v1/batches/{id}/events", {"biz_step": "dancing", "event_time": "AT2"}, 422, "invalid"),
    ("coop", "/api/v1/batches/{id}/events", {"biz_step": "storing", "event_time": "yesterday"}, 422, "invalid"),
    ("coop", "/api/v1/batches/{id}/events", {"biz_step": "storing", "event_time": "2099-01-01T00:00:00+08:00"},
     422, "invalid"),
    ("coop", "/api/v1/batches/{id}/events", {"biz_step": "storing", "event_time": "AT2", "quantity": 99999},
     422, "invalid"),
    ("coop", "/api/v1/batches/{id}/events", {"biz_step": "storing", "event_time": "AT2", "colour": "red"},
     422, "invalid"),
    ("coop", "/api/v1/batches/99999/events", {"biz_step": "storing", "event_time": "AT2"}, 404, "not_found"),
])
def test_bad_requests_change_nothing(client, tokens, journey, batch_id, who, url, body, status, code):
    body = {k: (journey.at(2).isoformat() if v == "AT2" else v) for k, v in body.items()}
    before = snapshot()
    response = client.post(url.format(id=batch_id), headers=tokens[who], json=body)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert snapshot() == before


def test_merging_different_products_is_refused(client, tokens, world, journey, batch_id):
    from farms import service as farms

    harvest = farms.create_log(world.farmer_b, world.farm_b, {
        "kind": "harvest", "timestamp": journey.at(3), "plots": [world.plot_b.id], "planting": world.planting_b.id,
        "quantity": 300, "unit": "kg", "lot_number": "NF-9"})
    other = client.post("/api/v1/batches", headers=tokens["farmer_b"], json={"harvest_log": harvest.id}).json
    for step, who, extra in (("shipping", "farmer_b", {"destination": world.farm_a.organisation_id}),
                             ("receiving", "coop", {})):
        assert client.post(f"/api/v1/batches/{other['id']}/events", headers=tokens[who], json=dict(
            biz_step=step, event_time=journey.at(2 if step == "shipping" else 1).isoformat(), **extra)
        ).status_code == 201
    before = snapshot()
    response = client.post("/api/v1/batches/merge", headers=tokens["coop"], json={
        "batches": [batch_id, other["id"]], "lot_number": "MIX-1"})
    assert response.status_code == 422
    assert "transformation" in response.json["error"]["message"] or "加工" in response.json["error"]["message"]
    assert snapshot() == before


def test_former_holder_cannot_ship_again(client, tokens, journey, batch_id):
    for step, who, extra in (("shipping", "coop", {"destination": journey.retailer.id}), ("receiving", "retail", {})):
        assert client.post(f"/api/v1/batches/{batch_id}/events", headers=tokens[who], json=dict(
            biz_step=step, event_time=journey.at(2 if step == "shipping" else 1).isoformat(), **extra)
        ).status_code == 201
    before = snapshot()
    response = client.post(f"/api/v1/batches/{batch_id}/events", headers=tokens["coop"], json={
        "biz_step": "shipping", "event_time": journey.at(0, 2).isoformat(), "destination": journey.processor.id})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert snapshot() == before
