"""Demo batch: farmer1's latest navel-orange harvest becomes a batch with a journey.

The cooperative carries it to its packing house and the Ganzhou lab tests it, so its consumer page
(/t/<code>) shows the whole way. Made only once (when farmer1's farm has no batch yet), after the
sensors' demo, so the batch records the orchard station's growing conditions.
"""
import datetime as dt

from farms import demo as farm_demo
from trace import service as trace
from trace.models import Batch
from web.clock import as_utc
from web.db import ValidationError

PACKING_HOUSE = "信丰县绿源合作社分拣中心"
# A residue test of the pesticides sprayed in the Xinfeng orchards, against the GB 2763 limits for citrus.
RESIDUE_TEST = (
    {"name": "阿维菌素", "result": 0.003, "limit": 0.02, "unit": "mg/kg"},
    {"name": "吡虫啉", "result": 0.04, "limit": 1, "unit": "mg/kg"},
    {"name": "螺螨酯", "result": 0.05, "limit": 0.5, "unit": "mg/kg"},
)



def load(now, users, summary):
    """A batch from farmer1's latest navel-orange harvest, carried to the packing house and tested."""
    summary.setdefault("batches", 0)
    farmer, coop, inspector = users["farmer1"], users["coop1"], users["inspector1"]
    farm = farm_demo.find_farm(farm_demo.XINFENG, farmer)
    if farm is None or Batch.select().where(Batch.farm == farm).exists():
        return
    harvest = farm_demo.latest_harvest(farm, "navel_orange")
    if harvest is None:  # out of season: no navel oranges in the window
        return
    harvested = as_utc(harvest.timestamp).astimezone(now.tzinfo)
    try:
        batch = trace.create_batch(farmer, {"harvest_log": harvest.id})
    except ValidationError:
        # The pre-harvest interval of a spraying had not elapsed: a passing residue test of
        # the plot, sampled at harvest, lets the batch through.
        plot_id = farm_demo.harvest_plot_id(harvest)
        test = trace.record_plot_inspection(inspector, plot_id, {
            "sampled_at": harvested, "passed": True, "items": [dict(item) for item in RESIDUE_TEST]})
        batch = trace.create_batch(farmer, {"harvest_log": harvest.id, "override_inspection": test.id})
    summary["batches"] += 1

    # The rest of the journey falls between the harvest and now, in order.
    now = min(now, dt.datetime.now(now.tzinfo))
    span = max(now - harvested, dt.timedelta(0))

    def after(hours, share):
        return harvested + min(dt.timedelta(hours=hours), span * share)

    trace.record_event(coop, batch, {
        "biz_step": "shipping", "event_time": after(3, 0.25), "place": farm.name,
        "destination": coop.organisation_id, "notes": "冷链车运往合作社分拣中心"})
    trace.record_event(coop, batch, {
        "biz_step": "receiving", "event_time": after(5, 0.5), "place": PACKING_HOUSE})
    trace.record_event(inspector, batch, {
        "biz_step": "inspecting", "event_time": after(24, 0.75), "place": PACKING_HOUSE, "passed": True,
        "items": [dict(item) for item in RESIDUE_TEST]})

