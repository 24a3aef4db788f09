"""A batch made after a log's correction uses the corrected log; a batch made before keeps its
recorded events, and the log says so."""
import json
import re

import pytest

from farms import service as farms
from farms.models import InputProduct
from tests.helpers import form_fields, login
from trace import service as trace
from trace.models import Batch, Event
from web.db import ValidationError


def product(code):
    return InputProduct.get(InputProduct.code == code)


def test_a_batch_after_a_correction_uses_the_corrected_spray(app, client, world, journey):
    # Ten days before the harvest the farmer tapped 24%螺螨酯 (30 days) instead of 99%矿物油 (1 day).
    wrong = farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": journey.at(13), "plots": [world.plot_a.id],
        "input_product": product("spirodiclofen_24sc").id, "dose": 25})
    with app.test_request_context():
        with pytest.raises(ValidationError):
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    login(client, "farmer_a")
    harvest_page = client.get(f"/logs/{journey.harvest.id}").get_data(as_text=True)
    assert 'id="batch-refusal"' in harvest_page
    # The correction, through the page.
    url = f"/logs/{wrong.id}/correct"
    data = form_fields(client.get(url).get_data(as_text=True))
    data.update(input_product=str(product("mineral_oil_99ec").id), dose="200", dose_unit="ml/亩",
                reason="选错了药，实际喷的是矿物油")
    assert client.post(url, data=data).status_code == 302
    harvest_page = client.get(f"/logs/{journey.harvest.id}").get_data(as_text=True)
    assert 'id="batch-refusal"' not in harvest_page and "创建批次" in harvest_page
    batch_form = client.get(f"/batches/new?harvest_log={journey.harvest.id}").get_data(as_text=True)
    response = client.post(f"/batches/new?harvest_log={journey.harvest.id}", data=form_fields(batch_form))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    batch = Batch.get(Batch.harvest_log == journey.harvest.id)
    inputs = json.loads(Event.get(Event.batch == batch).document)["ilmd"]["gx:inputsApplied"]
    # The corrected spray (newest first), then the World's abamectin of September; not the voided one.
    assert [(i["product"], i["phiDays"]) for i in inputs] == [("99%矿物油乳油", 1), ("1.8%阿维菌素乳油", 14)]
    # The corrected log is in no batch's events; the correction is.
    old_page = client.get(f"/logs/{wrong.id}").get_data(as_text=True)
    assert 'id="recorded-in"' not in old_page


def test_a_correction_after_the_batch_does_not_rewrite_its_events(app, client, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    event = Event.get(Event.batch == batch)
    before = (event.document, event.hash)
    assert json.loads(event.document)["ilmd"]["gx:inputsApplied"][0]["product"] == "1.8%阿维菌素乳油"
    login(client, "farmer_a")
    page = client.get(f"/logs/{world.log_a.id}").get_data(as_text=True)
    note = re.search(r'<p class="alert sev-blue" id="recorded-in">(.*?)</p>', page, re.S).group(1)
    assert "此记录已被批次 XF-2611-01 的上链事件引用，更正不会改写已记录的事件" in note
    assert f'href="/batches/{batch.id}"' in note
    farms.correct_log(world.farmer_a, world.log_a.id, dict(farms.correction_defaults(world.log_a), dose=30,
                                                           reason="剂量记错"))
    event = Event.get_by_id(event.id)
    assert (event.document, event.hash) == before and trace.verify_event(event)
    assert Event.select().where(Event.batch == batch).count() == 1
    # The old log still says where its data went; the harvest log too.
    assert 'id="recorded-in"' in client.get(f"/logs/{world.log_a.id}").get_data(as_text=True)
    assert "XF-2611-01" in client.get(f"/logs/{journey.harvest.id}").get_data(as_text=True)


def test_a_voided_harvest_makes_no_batch(app, client, world, journey):
    farms.void_log(world.farmer_a, journey.harvest.id, "重复记录")
    login(client, "farmer_a")
    page = client.get(f"/logs/{journey.harvest.id}").get_data(as_text=True)
    assert "创建批次" not in page
    assert client.get(f"/batches/new?harvest_log={journey.harvest.id}").status_code == 422
    with app.test_request_context():
        with pytest.raises(ValidationError):
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    assert Batch.select().count() == 0


def test_batches_of_a_corrected_harvest_count_against_its_correction(app, client, world, journey):
    with app.test_request_context():
        trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 3000})
    # The harvest was 4000 kg, not 5000: 1000 kg remain to batch, not the whole corrected harvest.
    corrected = farms.correct_log(world.farmer_a, journey.harvest.id, dict(
        farms.correction_defaults(journey.harvest), quantity=4000, lot_number="XF-2611-02", reason="称重记错"))
    with app.test_request_context():
        with pytest.raises(ValidationError) as refused:
            trace.create_batch(world.farmer_a, {"harvest_log": corrected.id, "quantity": 1500})
        assert "quantity" in refused.value.fields
        batch = trace.create_batch(world.farmer_a, {"harvest_log": corrected.id})
    assert (batch.quantity, batch.lot_number) == (1000, "XF-2611-02")
