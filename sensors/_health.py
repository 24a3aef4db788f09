"""Device health: faulty readings (an ingest listener), silent devices, stuck and flat values (scheduled).
Part of the alarms; other packages use ``sensors.alarms``.
"""
import datetime as dt
import logging

import peewee as pw

from farms import service as farms
from sensors._rules import SOURCE, _label, _lower, _num, _setting, _with_unit
from sensors.models import Device, Rollup
from web.clock import from_utc_naive, utcnow

log = logging.getLogger("sensors.alarms")  # one logger for the alarms, whichever part speaks


# ---------------------------------------------------------------- faulty sensors (second listener)


def is_fault_reason(reason):
    """A rejection that says the sensor itself is wrong: saturated/error code or an impossible value."""
    reason = reason or ""
    return reason.startswith("saturated") or " is outside " in reason or reason.startswith("value is NaN")


def check_rejections(device, rows):
    """Ingest listener: alert when most readings of this ingest were refused as saturated/impossible.

    ``device`` carries the counters from before this ingest (the API loads it per request, and
    this listener brings a reused object up to date afterwards); the stored row has them after,
    so the difference is this ingest's rejections, and ``Device.last_rejection`` its last reason.
    A clean ingest with new readings clears the alert.
    """
    try:
        fresh = Device.get_or_none(Device.id == device.id)
        if fresh is None:
            return
        rejected = (fresh.rejected_count or 0) - (device.rejected_count or 0)
        device.rejected_count = fresh.rejected_count  # for callers that ingest again with this object
        key = f"device:{device.id}:faulty"
        if rejected > len(rows) and is_fault_reason(fresh.last_rejection):
            plot = farms.plot_by_id(device.plot_id)
            reason = fresh.last_rejection
            content = {
                "zh": {"title": f"{plot.name}：传感器读数异常",
                       "message": f"{device.name} 本次上报的读数有 {rejected} 条被拒收（如：{reason}），"
                                  f"仅 {len(rows)} 条有效。传感器可能饱和、断线或损坏。",
                       "advice": ["检查探头、接线和供电，必要时校准或更换传感器。"]},
                "en": {"title": f"{plot.name}: faulty sensor readings",
                       "message": f"{device.name} sent {rejected} readings that were refused (e.g. {reason}); "
                                  f"only {len(rows)} were valid. The sensor may be saturated, disconnected "
                                  "or broken.",
                       "advice": ["Check the probe, wiring and power; recalibrate or replace the sensor."]},
            }
            farms.raise_alert(device.farm_id, SOURCE, key, "yellow", content, plot_id=device.plot_id)
        elif rows and rejected == 0:
            farms.clear_alerts(SOURCE, key, device.farm_id)
    except Exception:
        log.exception("rejection check failed for device %s", device.id)


# ---------------------------------------------------------------- silent devices and stuck values


def _open_keys(suffix):
    """{source_key: farm id} of the open device alerts whose key ends with ``suffix``."""
    return farms.open_alert_keys(SOURCE, "device:", suffix)


def _with_plots(devices):
    """``devices`` (a list) with their plots loaded in one query."""
    devices = list(devices)
    plots = farms.plots_by_id(d.plot_id for d in devices)
    for device in devices:
        device.plot = plots[device.plot_id]
    return devices


def check_silent(now=None, minutes=None):
    """Raise a "silent" alert for each active device with no new reading for ``minutes``; returns them.

    A device that never sent anything is not silent (it is not installed yet). The alert is cleared
    by the device's next reading (``evaluate``), or here when the device was switched off.
    """
    now = now or utcnow()
    minutes = int(minutes or _setting("SENSOR_SILENT_MINUTES", 30))
    cutoff = now - dt.timedelta(minutes=minutes)
    silent = list(Device.select()
                  .where((Device.active == True) & Device.last_seen_at.is_null(False)  # noqa: E712
                         & (Device.last_seen_at < cutoff)))
    _with_plots(silent)
    open_keys = _open_keys(":silent")
    wanted = set()
    for device in silent:
        key = f"device:{device.id}:silent"
        wanted.add(key)
        if key in open_keys:
            continue
        seen = from_utc_naive(device.last_seen_at).strftime("%m-%d %H:%M")
        content = {
            "zh": {"title": f"{device.plot.name}：设备无数据",
                   "message": f"{device.name} 自 {seen} 起已超过 {minutes} 分钟没有上报数据。",
                   "advice": ["检查设备供电、信号（4G/LoRa/Wi-Fi）和网关，确认令牌未被吊销。"]},
            "en": {"title": f"{device.plot.name}: device silent",
                   "message": f"{device.name} has sent no readings for more than {minutes} minutes "
                              f"(last at {seen}).",
                   "advice": ["Check the device's power, signal (4G/LoRa/Wi-Fi) and gateway, and that its "
                              "token was not revoked."]},
        }
        farms.raise_alert(device.farm_id, SOURCE, key, "yellow", content, plot_id=device.plot_id)
    for key, farm_id in open_keys.items():
        if key not in wanted:  # switched off, deleted, or seen again without a listener
            farms.clear_alerts(SOURCE, key, farm_id)
    return silent


# Metrics for which one value for hours is normal at these values (no rain, night, dry leaves).
STEADY_IS_NORMAL = {"rainfall": {0.0}, "light": {0.0}, "par": {0.0}, "leaf_wetness": None}


def _steady_is_normal(metric, value):
    if metric not in STEADY_IS_NORMAL:
        return False
    values = STEADY_IS_NORMAL[metric]
    return values is None or value in values


def check_stuck(now=None, hours=None):
    """Raise a "stuck" alert for each (active device, metric) whose value did not change for ``hours``.

    Judged on the complete hourly rollups of the window: readings in its first and its last hour,
    at least three readings, and minimum == maximum over all of them. Returns [(device id, metric)].
    """
    now = now or utcnow()
    hours = int(hours or _setting("SENSOR_STUCK_HOURS", 6))
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=hours)
    rows = (Rollup.select(Rollup.device, Rollup.metric, pw.fn.MIN(Rollup.minimum), pw.fn.MAX(Rollup.maximum),
                          pw.fn.SUM(Rollup.count), pw.fn.MIN(Rollup.start), pw.fn.MAX(Rollup.start))
            .join(Device).where((Device.active == True) & (Rollup.period == "hour")  # noqa: E712
                                & (Rollup.start >= start) & (Rollup.start < end))
            .group_by(Rollup.device, Rollup.metric).tuples())
    stuck = []
    for device_id, metric, low, high, count, first, last in rows:
        first, last = _as_datetime(first), _as_datetime(last)
        if (low == high and count >= 3 and first == start and last == end - dt.timedelta(hours=1)
                and not _steady_is_normal(metric, low)):
            stuck.append((device_id, metric, low))
    flat = _open_keys(":flat")  # a flat alert of the same reading says it already
    stuck = [s for s in stuck if f"device:{s[0]}:{s[1]}:flat" not in flat]
    open_keys = _open_keys(":stuck")
    wanted = set()
    devices = {d.id: d for d in _with_plots(Device.select().where(Device.id.in_([s[0] for s in stuck] or [0])))}
    for device_id, metric, value in stuck:
        device = devices[device_id]
        key = f"device:{device_id}:{metric}:stuck"
        wanted.add(key)
        if key in open_keys:
            continue
        content = {lang: {
            "title": (f"{device.plot.name}：{_label(metric, lang)}读数不变" if lang == "zh"
                      else f"{device.plot.name}: {_lower(_label(metric, lang))} reading stuck"),
            "message": (f"{device.name} 的{_label(metric, lang)}已连续 {hours} 小时保持 "
                        f"{_with_unit(metric, value)}，传感器可能卡死或脱落。" if lang == "zh"
                        else f"{device.name} has reported {_with_unit(metric, value)} for {hours} hours "
                             "without any change; the sensor may be stuck or detached."),
            "advice": ["检查探头是否仍在土壤/空气中、是否结垢，必要时重启设备。" if lang == "zh"
                       else "Check the probe is still in place and clean; restart the device if needed."],
        } for lang in ("zh", "en")}
        farms.raise_alert(device.farm_id, SOURCE, key, "yellow", content, plot_id=device.plot_id)
    for key, farm_id in open_keys.items():
        if key not in wanted:
            farms.clear_alerts(SOURCE, key, farm_id)
    return [(d, m) for d, m, _v in stuck]


def _as_datetime(value):
    """SQLite hands MIN()/MAX() of a datetime column back as text."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


# How much a metric moves, at the least, over SENSOR_FLAT_HOURS when its probe is in contact with what it
# measures (max - min, canonical unit). Soil in the field dries by day and takes up water after rain or
# irrigation, its temperature follows the days, air and CO₂ never hold still for two days; a probe that
# came loose (red clay shrinks away from the rods as it dries), lost its seal or froze its output shows
# only the flicker of its converter (0.1 % VWC, 0.0625 °C). Metrics that may truly stay put for days
# (pH, EC, rainfall, light at night, leaf wetness) are not judged.
FLAT_TOLERANCE = {"soil_moisture": 0.5, "soil_temperature": 0.1, "air_temperature": 0.3, "air_humidity": 1.0,
                  "co2": 10.0}
FLAT_SATURATED = {"air_humidity": 98.0}  # days of fog or rain hold a humidity sensor at saturation
FLAT_COVERAGE = 0.9  # the share of the window's hours that must hold readings


def check_flat(now=None, hours=None):
    """Raise a "flat" alert for each (active device, metric of FLAT_TOLERANCE) whose readings moved by no
    more than the tolerance over the last ``hours`` (``SENSOR_FLAT_HOURS``); returns [(device id, metric)].

    Judged on the complete hourly rollups of the window: readings in its first and last hour and in at
    least ``FLAT_COVERAGE`` of its hours. It says more than a "stuck" alert of the same reading, which it
    replaces (``check_stuck`` then leaves that reading to it). The alert clears once the readings move.
    """
    now = now or utcnow()
    hours = int(hours or _setting("SENSOR_FLAT_HOURS", 48))
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=hours)
    rows = (Rollup.select(Rollup.device, Rollup.metric, pw.fn.MIN(Rollup.minimum), pw.fn.MAX(Rollup.maximum),
                          pw.fn.COUNT(Rollup.id), pw.fn.MIN(Rollup.start), pw.fn.MAX(Rollup.start))
            .join(Device).where((Device.active == True) & (Rollup.period == "hour")  # noqa: E712
                                & Rollup.metric.in_(list(FLAT_TOLERANCE))
                                & (Rollup.start >= start) & (Rollup.start < end))
            .group_by(Rollup.device, Rollup.metric).tuples())
    flat = []
    for device_id, metric, low, high, filled, first, last in rows:
        first, last = _as_datetime(first), _as_datetime(last)
        if (high <= low + FLAT_TOLERANCE[metric] and filled >= FLAT_COVERAGE * hours and first == start
                and last == end - dt.timedelta(hours=1) and low < FLAT_SATURATED.get(metric, float("inf"))):
            flat.append((device_id, metric, low, high))
    open_keys = _open_keys(":flat")
    wanted = set()
    devices = {d.id: d for d in _with_plots(Device.select().where(Device.id.in_([f[0] for f in flat] or [0])))}
    for device_id, metric, low, high in flat:
        device = devices[device_id]
        key = f"device:{device_id}:{metric}:flat"
        wanted.add(key)
        if key in open_keys:
            continue
        band = f"{_num(low)}–{_with_unit(metric, high)}"
        content = {lang: {
            "title": (f"{device.plot.name}：{_label(metric, lang)}读数长时间不变" if lang == "zh"
                      else f"{device.plot.name}: {_lower(_label(metric, lang))} reading flat"),
            "message": (f"{device.name} 的{_label(metric, lang)}已连续 {hours} 小时只在 {band} 之间，"
                        "传感器可能卡死、脱离土壤或损坏。" if lang == "zh"
                        else f"{device.name} has reported {_lower(_label(metric, lang))} only between {band} "
                             f"for {hours} hours; the sensor may be stuck, out of contact or broken."),
            "advice": ["检查探头是否与土壤贴紧（红壤干裂会与探针脱开）、接线和防水是否完好；浇水后读数仍不动就需重新埋设或更换。"
                       if lang == "zh" else
                       "Check the probe is in firm contact with the soil (drying red clay shrinks away from the "
                       "rods) and its cable and seal are sound; if watering does not move the reading, reinstall "
                       "or replace it."],
        } for lang in ("zh", "en")}
        farms.raise_alert(device.farm_id, SOURCE, key, "yellow", content, plot_id=device.plot_id)
        farms.clear_alerts(SOURCE, f"device:{device_id}:{metric}:stuck", device.farm_id)
    for key, farm_id in open_keys.items():
        if key not in wanted:
            farms.clear_alerts(SOURCE, key, farm_id)
    return [(d, m) for d, m, _low, _high in flat]
