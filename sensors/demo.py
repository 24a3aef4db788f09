"""Demo sensor stations, with their history up to "now".

The greenhouses of the 信丰 and 南丰 farms get an environment station (a sensor device; 南丰 gets
its greenhouse plot first) with 30 days of simulated readings every 10 minutes
(``sensors.simulation``), and farmer1's navel-orange orchards a soil station each, with 150 and 10
days of hourly readings (``STATIONS``), stored through the one ingest path, so the plot pages show latest
readings and charts at once and the demo batch records the season's growing conditions. The alarms
raise what the readings call for: the red soil's pH below the navel orange's 5.5 on both orchards (a
live alarm of the crop's default rules), and the flat soil moisture of the second orchard's detached
probe (``check_flat``, run at the end of the load as the hourly job would). A later
load tops the readings up to its own "now"; ``scripts/simulate_sensors.py --demo`` keeps them
coming live.
"""
import datetime as dt

from farms import demo as farm_demo
from farms import service as farms
from sensors import alarms
from sensors import service as sensors
from sensors import simulation
from sensors.models import Device, Reading
from web.clock import to_utc_naive

SENSOR_CHUNK = 10_000  # readings per ingest call
# farm, plot to use (or, for a greenhouse, create: name, area in 亩, notes), simulation profile, device
# name and uid, days of history, seconds between two readings of a metric. The orchard station covers
# the navel-orange season, so the demo batch's consumer page shows its growing conditions.
STATIONS = (
    (farm_demo.XINFENG, ("育苗大棚", 3, ""), "greenhouse", "育苗大棚环境监测站", "demo-xf-greenhouse", 30, 600),
    (farm_demo.NANFENG, ("蜜橘育苗大棚", 2, "钢架大棚，南丰蜜橘无病毒容器苗繁育"), "greenhouse", "育苗大棚环境监测站",
     "demo-nf-greenhouse", 30, 600),
    (farm_demo.XINFENG, ("1号山地果园", None, ""), "soil", "1号果园土壤墒情站", "demo-xf-orchard-soil", 150, 3600),
    # Its soil moisture probe is out of contact (simulation.LOOSE_PROBES): the flat-reading alert.
    (farm_demo.XINFENG, ("2号山地果园", None, ""), "soil", "2号果园土壤墒情站", "demo-xf-orchard2-soil", 10, 3600),
)


def load(now, users, summary):
    """The demo's stations that are missing, and their readings up to ``now``."""
    for key in ("plots", "devices", "readings"):
        summary.setdefault(key, 0)
    now_utc = to_utc_naive(now)
    for spec, (plot_name, area, notes), profile, device_name, uid, days, step in STATIONS:
        owner = users[spec.owner]
        farm = farm_demo.find_farm(spec, owner)
        if not farm:
            continue
        device = Device.get_or_none(Device.uid == uid)
        if device is None:
            plot = farm_demo.find_plot(farm, plot_name)
            if plot is None and profile == "greenhouse":
                plot = farm_demo.first_greenhouse(farm)
                if plot is None:
                    plot = farms.create_plot(owner, farm, {"name": plot_name, "kind": "greenhouse", "area": area,
                                                           "area_unit": "mu", "notes": notes})
                    summary["plots"] += 1
            if plot is None:
                continue
            # The token is not kept: scripts/simulate_sensors.py --demo issues a new one.
            device, _token = sensors.create_device(owner, plot.id, device_name, list(simulation.PROFILES[profile]),
                                                   uid=uid)
            summary["devices"] += 1
        newest = (Reading.select(Reading.ts).where(Reading.device == device)
                  .order_by(Reading.ts.desc()).scalar())
        start = now_utc - dt.timedelta(days=days)
        if newest is not None and newest > start:
            start = newest + dt.timedelta(seconds=1)
        generator = simulation.Generator(uid, profile)
        rows = list(generator.readings(simulation.epoch(start), simulation.epoch(now_utc) + 1, step,
                                       metrics=device.metric_names))
        for first in range(0, len(rows), SENSOR_CHUNK):
            items = simulation.ingest_items(rows[first:first + SENSOR_CHUNK])
            result = sensors.ingest(device, None, items, now=now_utc)
            summary["readings"] += result.accepted
    alarms.check_flat(now=now_utc)
