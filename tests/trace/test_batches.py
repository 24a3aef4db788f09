"""Batches from harvests, the pre-harvest interval rule, journey events and ownership."""
import datetime as dt
import json

import pytest

from trace import service as trace
from trace.models import AppendOnlyError, Batch, Event
from web.db import Conflict, ValidationError
from web.permissions import Denied


def test_batch_from_harvest_is_commissioned(app, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    assert (batch.lot_number, batch.quantity, batch.unit, batch.product_name) == ("XF-2611-01", 5000, "kg", "赣南脐橙")
    assert batch.holder_id == world.farm_a.organisation_id
    event = Event.get(Event.batch == batch)
    document = json.loads(event.document)
    assert document["bizStep"] == "commissioning" and document["action"] == "ADD"
    assert document["eventTimeZoneOffset"] == "+08:00"
    assert document["ilmd"]["gx:farm"]["countyCode"] == "360722"
    assert document["ilmd"]["gx:inputsApplied"][0]["product"] == "1.8%阿维菌素乳油"
    assert trace.verify_event(event)


def test_pre_harvest_interval_refuses_then_inspection_overrides(app, world, journey):
    from farms import service as farms
    from farms.models import InputProduct

    product = InputProduct.get(InputProduct.code == "spirodiclofen_24sc")  # 30 days
    farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": journey.at(10), "plots": [world.plot_a.id], "input_product": product.id,
        "dose": 25, "dose_unit": "ml/亩"})
    with app.test_request_context():
        with pytest.raises(ValidationError) as refused:
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        applied = journey.at(10).date()
        safe = applied + dt.timedelta(days=30)
        assert "24%螺螨酯悬浮剂" in refused.value.message
        assert applied.isoformat() in refused.value.message and safe.isoformat() in refused.value.message
        assert Batch.select().count() == 0
        # A failing test does not override; a passing one after the spraying does.
        failing = trace.record_plot_inspection(world.inspector, world.plot_a.id, {
            "sampled_at": journey.at(4), "passed": True,
            "items": [{"name": "螺螨酯", "result": 0.9, "limit": 0.5, "unit": "mg/kg"}]})
        assert not failing.passed
        with pytest.raises(ValidationError):
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "override_inspection": failing.id})
        passing = trace.record_plot_inspection(world.inspector, world.plot_a.id, {
            "sampled_at": journey.at(4), "passed": True,
            "items": [{"name": "螺螨酯", "result": 0.1, "limit": 0.5, "unit": "mg/kg"}]})
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id,
                                                    "override_inspection": passing.id})
    document = json.loads(Event.get(Event.batch == batch).document)
    assert document["ilmd"]["gx:phiOverride"]["inspection"] == passing.id


def test_lot_numbers_are_unique_per_organisation(app, world, journey):
    with app.test_request_context():
        trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 1000})
        with pytest.raises(Conflict):
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 1000})
        with pytest.raises(ValidationError):  # more than the unbatched rest of the harvest
            trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "lot_number": "XF-2611-02",
                                                "quantity": 4500})


def test_shipping_receiving_passes_ownership(app, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        # Another organisation cannot ship what it does not hold.
        with pytest.raises(Denied):
            trace.record_event(journey.retail_user, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                            "destination": journey.retailer.id})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "destination": journey.retailer.id, "place": "信丰冷库"})
        batch = Batch.get_by_id(batch.id)
        assert batch.status == "in_transit"
        with pytest.raises(ValidationError):  # the holder cannot keep recording while it is away
            trace.record_event(world.operator, batch, {"biz_step": "storing", "event_time": journey.at(1)})
        with pytest.raises(Denied):
            trace.record_event(world.farmer_b, batch, {"biz_step": "receiving", "event_time": journey.at(1)})
        trace.record_event(journey.retail_user, batch, {"biz_step": "receiving", "event_time": journey.at(1),
                                                        "place": "南昌果品超市 红谷滩店"})
        batch = Batch.get_by_id(batch.id)
        assert batch.holder_id == journey.retailer.id and batch.status == "active"
        with pytest.raises(Denied):  # the cooperative no longer holds it
            trace.record_event(world.operator, batch, {"biz_step": "storing", "event_time": journey.at(0, 1)})
        trace.record_event(journey.retail_user, batch, {"biz_step": "retail_selling", "event_time": journey.at(0, 1)})
        steps = [d["bizStep"] for _e, d, _x in trace.journey(batch)]
    assert steps == ["commissioning", "shipping", "receiving", "retail_selling"]


def test_events_are_append_only_and_corrections_append(app, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        event = trace.record_event(world.operator, batch, {"biz_step": "storing", "event_time": journey.at(2),
                                                           "place": "错误的冷库"})
        with pytest.raises(AppendOnlyError):
            event.save()
        with pytest.raises(AppendOnlyError):
            Event.update(document="{}").execute()
        with pytest.raises(AppendOnlyError):
            event.delete_instance()
        from web.db import database

        with pytest.raises(Exception):  # the database refuses too
            with database.atomic():
                database.execute_sql('UPDATE "event" SET hash = %s' % database.param, ["0" * 64])
        corrected = trace.correct_event(world.operator, event, {"place": "信丰县绿源合作社冷库"})
        with pytest.raises(Conflict):
            trace.correct_event(world.operator, event, {"place": "again"})
        view = trace.journey(batch)
    places = [(d.get("gx:place"), erroneous) for _e, d, erroneous in view]
    assert ("错误的冷库", True) in places and ("信丰县绿源合作社冷库", False) in places
    assert json.loads(corrected.document)["gx:corrects"] == event.event_id
    assert Event.select().where(Event.batch == batch).count() == 4  # commissioning, storing, correction, declaration


def test_inspection_events(app, world, journey):
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        with pytest.raises(Denied):
            trace.record_event(world.farmer_b, batch, {"biz_step": "inspecting", "event_time": journey.at(2),
                                                       "passed": True, "items": [{"name": "阿维菌素"}]})
        trace.record_event(world.inspector, batch, {
            "biz_step": "inspecting", "event_time": journey.at(2), "passed": True,
            "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"},
                      {"name": "吡虫啉", "result": 0.05, "limit": 1, "unit": "mg/kg"}]})
        view = trace.public_view(batch)
    assert view["inspections"][0]["passed"] is True
    assert view["inspections"][0]["lab"] == "赣州检测中心"
    assert view["verification"]["status"] == "pending"
