"""Split, merge, transform, and recall both ways."""
import re

import pytest

from trace import service as trace
from trace.models import Batch, BatchLink
from web.db import ValidationError


@pytest.fixture
def batch(app, world, journey):
    with app.test_request_context():
        yield trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})


def test_split_makes_children_that_know_their_parent(app, world, journey, batch):
    with app.test_request_context():
        children = trace.split(world.operator, batch, [1000, 1500], when=journey.at(2))
        assert [c.quantity for c in children] == [1000, 1500]
        # Suggested lots keep the parent's prefix and add a random part: not the parent's lot and a count.
        assert all(re.fullmatch(r"XF-\d{4}-[2-9A-HJ-NP-Z]{6}", c.lot_number) for c in children)
        assert len({c.lot_number for c in children}) == 2
        assert Batch.get_by_id(batch.id).remaining == 2500
        assert {link.parent_id for link in BatchLink.select().where(BatchLink.child.in_(children))} == {batch.id}
        child_steps = [d["bizStep"] for _e, d, _x in trace.journey(children[0])]
        assert child_steps == ["commissioning", "gx:transforming"]


@pytest.mark.parametrize("quantities", [[-5], [0], [3000, 2500], []])
def test_bad_splits_change_nothing(app, world, journey, batch, quantities):
    with app.test_request_context():
        with pytest.raises(ValidationError):
            trace.split(world.operator, batch, quantities, when=journey.at(2))
    assert Batch.select().count() == 1
    assert Batch.get_by_id(batch.id).remaining == 5000


def test_merge_needs_one_product_and_transform_changes_it(app, world, journey, batch):
    from farms import service as farms

    with app.test_request_context():
        a, b = trace.split(world.operator, batch, [1000, 1000], when=journey.at(2))
        merged = trace.merge(world.operator, [a, b], "XF-MERGE-1", when=journey.at(1))
        assert merged.quantity == 2000 and merged.product_name == "赣南脐橙"
        # A tangerine batch of farm B cannot be merged with oranges.
        harvest_b = farms.create_log(world.farmer_b, world.farm_b, {
            "kind": "harvest", "timestamp": journey.at(3), "plots": [world.plot_b.id],
            "planting": world.planting_b.id, "quantity": 800, "unit": "kg", "lot_number": "NF-1"})
        tangerines = trace.create_batch(world.farmer_b, {"harvest_log": harvest_b.id})
        trace.record_event(world.farmer_b, tangerines, {"biz_step": "shipping", "event_time": journey.at(2),
                                                        "destination": world.farm_a.organisation_id})
        trace.record_event(world.operator, tangerines, {"biz_step": "receiving", "event_time": journey.at(1, 12)})
        with pytest.raises(ValidationError) as refused:
            trace.merge(world.operator, [merged, tangerines], "MIX-1", when=journey.at(0, 5))
        assert "transformation" in refused.value.message or "加工" in refused.value.message
        juice = trace.transform(world.operator, [(merged, 2000), (tangerines, 800)],
                                {"zh": "脐橙蜜橘混合果汁", "en": "Orange and tangerine juice"}, 1400, "l", "JUICE-1",
                                when=journey.at(0, 4))
        assert juice.farm_id is None
        recall = trace.recall(juice)
        farms_named = {o["farm"]["name"] for o in recall["origins"]}
        assert farms_named == {"A 果园", "B 橘园"}
        assert any(i["product"] == "1.8%阿维菌素乳油" for o in recall["origins"] for i in o["inputs"])
        forward = trace.recall(batch)
        assert {d["lot_number"] for d in forward["downstream"]} == {
            a.lot_number, b.lot_number, "XF-MERGE-1", "JUICE-1"}
        juice_row = next(d for d in forward["downstream"] if d["lot_number"] == "JUICE-1")
        assert juice_row["last_step"] == "transforming" and juice_row["holder"] == "信丰脐橙合作社"


def test_recall_shows_the_corrected_last_place(app, world, journey, batch):
    with app.test_request_context():
        child = trace.split(world.operator, batch, [500], when=journey.at(2))[0]
        wrong = trace.record_event(world.operator, child, {"biz_step": "storing", "event_time": journey.at(1),
                                                           "place": "错误的冷库"})
        trace.correct_event(world.operator, wrong, {"place": "信丰冷库 3号库"})
        downstream = trace.recall(batch)["downstream"]
    assert [(d["last_step"], d["last_place"]) for d in downstream] == [("storing", "信丰冷库 3号库")]
