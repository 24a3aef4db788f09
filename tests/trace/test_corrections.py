"""Corrections obey the same time, quantity and holder rules as new events.

Seen when the product was tried as an attacker would: after shipping a batch that the
buyer received, the shipper corrected its shipping event to 2099-12-31; from then on the
holder could record nothing ("earlier than existing events") and correcting back did not
help. Corrections also took a quantity of 99,999,999 on a 10,600 kg batch, and the public
page showed "harvested 2099-01-01".
"""
import pytest

from tests.helpers import bearer as _bearer
from trace.models import Batch, Event


@pytest.fixture
def bearer(world):
    return _bearer


@pytest.fixture
def shipped(client, world, journey, bearer):
    """A batch the cooperative shipped (two days ago) and the supermarket received (yesterday)."""
    coop, retail = bearer(world.operator), bearer(journey.retail_user)
    batch = client.post("/api/v1/batches", headers=bearer(world.farmer_a),
                        json={"harvest_log": journey.harvest.id}).json
    events = [client.post(f"/api/v1/batches/{batch['id']}/events", headers=headers, json=body).json
              for headers, body in (
                  (coop, {"biz_step": "shipping", "event_time": journey.at(2).isoformat(),
                          "destination": journey.retailer.id}),
                  (retail, {"biz_step": "receiving", "event_time": journey.at(1).isoformat()}))]
    assert all("id" in e for e in events), events
    return batch, events[0], events[1]


def correct(client, headers, event, **body):
    return client.post(f"/api/v1/events/{event['id']}/corrections", headers=headers, json=body)


def events_count():
    return Event.select().count()


@pytest.mark.parametrize("body, field", [
    ({"event_time": "2099-12-31T00:00:00+08:00"}, "event_time"),     # the freeze seen in the wild
    ({"event_time": "AFTER_RECEIVING"}, "event_time"),               # into the new holder's period
    ({"event_time": "BEFORE_HARVEST"}, "event_time"),                # before the batch's first event
    ({"quantity": 99999999}, "quantity"),
    ({"quantity": -5}, "quantity"),
])
def test_a_former_holder_cannot_freeze_or_inflate_a_batch(client, world, journey, bearer, shipped, body, field):
    batch, shipping, _ = shipped
    when = {"AFTER_RECEIVING": journey.at(0, hours=12).isoformat(),
            "BEFORE_HARVEST": journey.at(4).isoformat()}
    body = {key: when.get(value, value) for key, value in body.items()}
    before = events_count()
    response = correct(client, bearer(world.operator), shipping, **body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert events_count() == before
    # The holder goes on recording as before.
    stored = client.post(f"/api/v1/batches/{batch['id']}/events", headers=bearer(journey.retail_user),
                         json={"biz_step": "storing", "event_time": journey.at(0, hours=20).isoformat()})
    assert stored.status_code == 201, stored.json


def test_a_correction_inside_the_holders_own_period_is_kept(client, world, journey, bearer, shipped):
    batch, shipping, receiving = shipped
    corrected = correct(client, bearer(world.operator), shipping, event_time=journey.at(1, hours=6).isoformat(),
                        quantity=4000, reason="incorrect_data")
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["document"]["quantityList"][0]["quantity"] == 4000
    # The public page shows the corrected shipping, never the erroneous one.
    code = Batch.get_by_id(batch["id"]).code
    page = client.get(f"/t/{code}").get_data(as_text=True)
    assert "2099" not in page


def test_an_erroneous_event_does_not_set_the_earliest_time(client, world, journey, bearer):
    """A storing event recorded at a wrong, late time is corrected earlier: events between
    the corrected time and the wrong one may then be recorded."""
    farmer = bearer(world.farmer_a)
    batch = client.post("/api/v1/batches", headers=farmer, json={"harvest_log": journey.harvest.id}).json
    wrong = client.post(f"/api/v1/batches/{batch['id']}/events", headers=farmer,
                        json={"biz_step": "storing", "event_time": journey.at(0, hours=1).isoformat()}).json
    fixed = correct(client, farmer, wrong, event_time=journey.at(2).isoformat())
    assert fixed.status_code == 201, fixed.json
    packing = client.post(f"/api/v1/batches/{batch['id']}/events", headers=farmer,
                          json={"biz_step": "packing", "event_time": journey.at(1).isoformat()})
    assert packing.status_code == 201, packing.json
    # And the corrected event itself may be corrected again, within its place in the journey.
    again = correct(client, farmer, fixed.json, event_time=journey.at(2, hours=-2).isoformat())
    assert again.status_code == 201, again.json
    too_late = correct(client, farmer, again.json, event_time=journey.at(0, hours=2).isoformat())
    assert too_late.status_code == 422
