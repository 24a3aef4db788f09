"""The daily sensor record: one observation a plot and local day in the farm log, from the rollups.
Part of the alarms; other packages use ``sensors.alarms``.
"""
import datetime as dt
import logging

import peewee as pw

from farms import service as farms
from sensors._rules import _label, _with_unit, crosses, rule_text, rules_for
from sensors.metrics import METRICS
from sensors.models import DailyRecord, Device, Rollup
from web.clock import from_utc_naive, local_zone, to_utc_naive, utcnow
from web.db import database

log = logging.getLogger("sensors.alarms")  # one logger for the alarms, whichever part speaks

DAILY_CATCH_UP_DAYS = 3  # the daily record also fills in this many missed days


# ---------------------------------------------------------------- the daily record


def local_day_bounds(day):
    """[start, end) of a local calendar day, as naive UTC."""
    zone = local_zone()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return to_utc_naive(start), to_utc_naive(end)


def day_summary(plot_id, day):
    """What the plot's devices measured on a local day, from the hourly rollups.

    {"metrics": {metric: {"min", "max", "mean", "count"}}, "out_of_range": [(rule, hours)],
     "devices": [names]}; None when nothing was measured.
    """
    start, end = local_day_bounds(day)
    devices = {d.id: d for d in Device.select().where(Device.plot == plot_id)}
    if not devices:
        return None
    rollups = list(Rollup.select().where(Rollup.device.in_(list(devices)) & (Rollup.period == "hour")
                                         & (Rollup.start >= start) & (Rollup.start < end)))
    if not rollups:
        return None
    metrics = {}
    for r in rollups:
        m = metrics.setdefault(r.metric, {"min": r.minimum, "max": r.maximum, "total": 0.0, "count": 0})
        m["min"], m["max"] = min(m["min"], r.minimum), max(m["max"], r.maximum)
        m["total"] += r.total
        m["count"] += r.count
    for m in metrics.values():
        m["mean"] = m.pop("total") / m["count"] if m["count"] else None
    out_of_range = []
    for rule in rules_for(plot_id):
        if rule.enabled and rule.metric in metrics:
            hours = {r.start for r in rollups if r.metric == rule.metric and crosses(rule, r.minimum, r.maximum)}
            out_of_range.append((rule, len(hours)))
    names = sorted({devices[r.device_id].name for r in rollups})
    return {"metrics": metrics, "out_of_range": out_of_range, "devices": names}


def _metric_order(metric):
    names = list(METRICS)
    return names.index(metric) if metric in names else len(names)


def record_notes(plot, day, summary):
    """The observation log's text: Chinese, with the English in parentheses."""
    lines = [f"传感器日报（Sensor daily record）{day.isoformat()} · {plot.name}",
             f"设备（Devices）：{'、'.join(summary['devices'])}"]
    for metric in sorted(summary["metrics"], key=_metric_order):
        m = summary["metrics"][metric]
        lines.append(f"{_label(metric, 'zh')}（{_label(metric, 'en')}）：最低（min）{_with_unit(metric, m['min'])}，"
                     f"最高（max）{_with_unit(metric, m['max'])}，平均（mean）{_with_unit(metric, m['mean'])}，"
                     f"{m['count']} 条读数（readings）")
    if summary["out_of_range"]:
        lines.append("超限小时数（hours out of range）：")
        for rule, hours in summary["out_of_range"]:
            lines.append(f"· {rule_text(rule)}：{hours} 小时（h）")
    return "\n".join(lines)


def write_daily_record(plot_id, day):
    """Write the plot's sensor record of a local day into the farm log, once; returns the log or None."""
    if DailyRecord.select().where((DailyRecord.plot == plot_id) & (DailyRecord.day == day)).exists():
        return None
    summary = day_summary(plot_id, day)
    if summary is None:
        return None
    plot = farms.plot_by_id(plot_id)
    # Stamped at the end of the local day, so the log lists under that day.
    _start, end = local_day_bounds(day)
    try:
        with database.atomic():
            record = DailyRecord.create(plot=plot_id, day=day)
            entry = farms.record_observation(plot.farm_id, [plot_id], end - dt.timedelta(minutes=1),
                                             record_notes(plot, day, summary))
            record.log = entry.id
            record.save()
    except pw.IntegrityError:  # another worker wrote it just now
        return None
    return entry


def write_daily_records(now=None, days=DAILY_CATCH_UP_DAYS):
    """Write the records of the last ``days`` complete local days for every plot with devices."""
    now = now or utcnow()
    today = from_utc_naive(now).date()
    plot_ids = [p for (p,) in Device.select(Device.plot).distinct().tuples()]
    written = []
    for back in range(days, 0, -1):
        day = today - dt.timedelta(days=back)
        for plot_id in plot_ids:
            entry = write_daily_record(plot_id, day)
            if entry is not None:
                written.append(entry)
    return written
