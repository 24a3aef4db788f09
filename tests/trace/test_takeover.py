"""Nobody joins an organisation by typing its name.

Seen when the product was tried as an attacker would: a farmer with no organisation
created a farm named exactly like the cooperative and was put into it, then recorded
events on its batches, corrected its harvest event and split its batches; another
did the same with the testing lab's name and rewrote its inspection.
"""
import pytest

from tests.helpers import bearer as _bearer, form_fields, login
from trace.models import Batch, Event


@pytest.fixture
def bearer(world):
    return _bearer


@pytest.fixture
def coop_batch(client, world, journey, bearer):
    response = client.post("/api/v1/batches", headers=bearer(world.farmer_a), json={"harvest_log": journey.harvest.id})
    assert response.status_code == 201, response.json
    return response.json


def test_a_farm_named_like_the_cooperative_gets_an_organisation_of_its_own(client, world, journey, bearer,
                                                                           coop_batch):
    coop_id = world.farm_a.organisation_id
    attacker = bearer(world.stranger)
    response = client.post("/api/v1/farms", headers=attacker,
                           json={"name": "信丰脐橙合作社", "county_code": "360722"})
    assert response.status_code == 201, response.json
    assert response.json["organisation_id"] != coop_id
    assert response.json["name"] == "信丰脐橙合作社"  # the farm keeps the name it was given

    batch_id = coop_batch["id"]
    before = Event.select().count()
    harvest_event = client.get(f"/api/v1/batches/{batch_id}/events",
                               headers=bearer(world.farmer_a)).json["items"][0]
    attempts = [
        client.post(f"/api/v1/batches/{batch_id}/events", headers=attacker,
                    json={"biz_step": "storing", "event_time": journey.at(2).isoformat()}),
        client.post(f"/api/v1/events/{harvest_event['id']}/corrections", headers=attacker,
                    json={"quantity": 1}),
        client.post(f"/api/v1/batches/{batch_id}/split", headers=attacker, json={"quantities": [10, 20]}),
        client.get(f"/api/v1/batches/{batch_id}", headers=attacker),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404, 404], [r.json for r in attempts]
    assert Event.select().count() == before
    assert Batch.get_by_id(batch_id).holder_id == coop_id


def test_a_farm_named_like_the_lab_cannot_touch_its_inspection(client, world, journey, bearer, coop_batch):
    batch_id = coop_batch["id"]
    inspection = client.post(f"/api/v1/batches/{batch_id}/events", headers=bearer(world.inspector), json={
        "biz_step": "inspecting", "event_time": journey.at(2).isoformat(), "passed": True,
        "items": [{"name": "毒死蜱", "result": 0.01, "limit": 0.05, "unit": "mg/kg"}]})
    assert inspection.status_code == 201, inspection.json
    lab_id = world.inspector.organisation_id

    attacker = bearer(world.stranger)
    farm = client.post("/api/v1/farms", headers=attacker, json={"name": "赣州检测中心", "county_code": "360702"})
    assert farm.status_code == 201 and farm.json["organisation_id"] != lab_id
    correction = client.post(f"/api/v1/events/{inspection.json['id']}/corrections", headers=attacker,
                             json={"notes": "改写"})
    assert correction.status_code == 404, correction.json
    assert Event.select().where(Event.kind == "error_declaration").count() == 0


def test_the_farm_form_cannot_join_an_organisation_either(client, world):
    login(client, "stranger")
    data = form_fields(client.get("/farms/new").get_data(as_text=True))
    data.update(name="信丰脐橙合作社", county_code="360722")
    response = client.post("/farms/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    from farms.models import Farm

    farm = Farm.get_by_id(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert farm.organisation_id != world.farm_a.organisation_id
    assert farm.organisation.name != "信丰脐橙合作社"  # the name was taken: the new one says whose it is
    assert "stranger" in farm.organisation.name
