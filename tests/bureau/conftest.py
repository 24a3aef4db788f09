import datetime as dt
import time

import pytest

from tests.helpers import TZ, Journey, ingest


@pytest.fixture
def figures(app, world, client):
    """The standard world plus what a bureau counts, in three counties of two cities:

    信丰县 (360722, 赣州市): farm A with a batch of its orange harvest, a harvest refused a batch (abamectin
    sprayed two days before), a passing and a failing residue test, two consumer scans, a sensor alarm
    acknowledged after 30 minutes and a weather warning not acknowledged, a device with 3 readings;
    瑞金市 (360781, 赣州市): farm C with a tea planting, certified green food; 南丰县 (361023, 抚州市): farm B
    with a red weather alert. Then the tallies are refreshed."""
    from bureau import service as bureau
    from farms import service as farms
    from farms.models import Alert, Crop, InputProduct
    from sensors import service as sensors
    from trace import service as trace
    from web.db import ValidationError

    journey = Journey(world)
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        plot_c = farms.create_plot(world.farmer_a, world.farm_a, {"name": "2号园", "kind": "orchard", "area": 5,
                                                                  "area_unit": "mu"})
        planting = farms.create_planting(world.farmer_a, plot_c, {
            "crop": Crop.get(Crop.code == "navel_orange").id, "start_date": dt.date(2020, 3, 1)})
        sprayed = journey.at(2)
        farms.create_log(world.farmer_a, world.farm_a, {
            "kind": "input", "timestamp": sprayed, "plots": [plot_c.id],
            "input_product": InputProduct.get(InputProduct.code == "abamectin_1_8ec").id,
            "dose": 40, "dose_unit": "ml/亩"})
        early = farms.create_log(world.farmer_a, world.farm_a, {
            "kind": "harvest", "timestamp": journey.at(1), "plots": [plot_c.id], "planting": planting.id,
            "quantity": 300, "unit": "kg", "lot_number": "XF-EARLY"})
        with pytest.raises(ValidationError):
            trace.create_batch(world.farmer_a, {"harvest_log": early.id})
        for passed in (True, False):
            trace.record_plot_inspection(world.inspector, world.plot_a.id, {
                "sampled_at": journey.at(4), "passed": passed,
                "items": [{"name": "阿维菌素", "result": 0.01 if passed else 0.5, "limit": 0.02}]})
        for address in ("1.2.3.4", "5.6.7.8"):
            trace.record_scan(batch, address)
        farm_c = farms.create_farm(world.farmer_a, {"name": "C 茶园", "county_code": "360781",
                                                    "certifications": ["green_food"]})
        plot_tea = farms.create_plot(world.farmer_a, farm_c, {"name": "茶山", "kind": "field", "area": 20,
                                                              "area_unit": "mu"})
        farms.create_planting(world.farmer_a, plot_tea, {"crop": Crop.get(Crop.code == "tea").id,
                                                          "start_date": dt.date(2015, 4, 1)})
        sensor_alert, _new = farms.raise_alert(world.farm_a.id, "sensor", "rule-1", "orange",
                                               {"zh": {"title": "高温"}, "en": {"title": "Heat"}})
        farms.raise_alert(world.farm_a.id, "weather", "cap-1", "yellow", {"zh": {"title": "暴雨"}, "en": {"title": "Rain"}})
        farms.raise_alert(world.farm_b.id, "weather", "cap-2", "red", {"zh": {"title": "霜冻"}, "en": {"title": "Frost"}})
        farms.acknowledge_alert(world.farmer_a, sensor_alert.id)
        acked = Alert.get_by_id(sensor_alert.id)
        Alert.update(created_at=acked.acknowledged_at - dt.timedelta(minutes=30)).where(Alert.id == acked.id).execute()
        device, token = sensors.create_device(world.farmer_a, world.plot_a.id, "土壤站", ["soil_moisture"], uid="xf-soil")
    now = int(time.time())
    response = ingest(client, token, [{"bn": "urn:dev:xf-soil:", "n": "soil_moisture", "t": now - 120 + i * 30, "v": 30 + i}
                                      for i in range(3)])
    assert response.status_code in (200, 201, 202), response.get_data(as_text=True)
    with app.app_context():
        bureau.refresh(rebuild=True, history_days=60)
    today = dt.datetime.now(TZ).date()
    return {"batch": batch, "farm_c": farm_c, "today": today, "from": (today - dt.timedelta(days=40)).isoformat(),
            "to": today.isoformat()}
