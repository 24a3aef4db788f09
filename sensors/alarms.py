"""Sensor alarms, device health and the daily sensor record in the farm log.

* **Rules** (``AlarmRule``) belong to a plot: ``metric > threshold``, ``< threshold`` or
  ``outside low..high``, held for ``duration_seconds``. A plot without rules of its own gets
  the defaults of ``data/default_rules.csv`` for its crops and kind, copied as rows on first
  use so the farmer can edit them (disable a rule rather than delete it: a plot left with no
  rules at all gets the defaults again).
* **evaluate(device, rows)** runs after every ingest (``sensors.service.INGEST_LISTENERS``):
  only the rules of the device's plot for the metrics just stored, walking the new rows in
  time order; an alarm is raised once a breach has lasted ``duration_seconds`` and cleared
  once the value is back inside by ``hysteresis``. Each (rule, device) keeps an ``AlarmState``.
* **check_rejections(device, rows)**, the second listener: a device whose readings of one
  ingest were mostly refused as saturated or out of range gets a "faulty sensor" alert.
* **Scheduled jobs**: silent devices, stuck values, raw-reading retention and the daily record.

Alerts go through ``farms.service.raise_alert`` with source "sensor" and these keys:
``rule:{rule}:device:{device}``, ``device:{id}:faulty``, ``device:{id}:silent``,
``device:{id}:{metric}:stuck``. Rule alarms are also queued for notification
(``weather.notify``); device-health alerts only show on the dashboard.

``init_app`` (called by ``sensors.init_app``) registers the listeners; importing this module
registers the jobs. Times are naive UTC.
"""
import csv
import datetime as dt
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
from flask import current_app, has_app_context

from farms import service as farms
from sensors import service
from sensors.metrics import METRICS, unit_label
from sensors.models import AlarmRule, AlarmState, DailyRecord, Device, Rollup
from web.clock import utcnow
from web.db import ValidationError, database, is_postgres
from web.clock import from_utc_naive, local_zone, to_utc_naive
from web.permissions import Access, Denied
from web.scheduler import register

log = logging.getLogger(__name__)

SOURCE = "sensor"
COMPARISONS = (">", "<", "outside")
RULE_SEVERITIES = ("yellow", "orange", "red")
DEFAULT_RULES_CSV = Path(__file__).resolve().parent / "data" / "default_rules.csv"
# A pending breach whose previous reading is older than this (or twice the rule's duration)
# starts again: a device that was away says nothing about the time in between.
MAX_GAP = dt.timedelta(hours=1)
# Alarms are about the present: readings older than this (or twice a rule's duration) are not
# judged, so importing a logger's history does not replay months of alarms and notifications.
HORIZON = dt.timedelta(days=1)
DAILY_CATCH_UP_DAYS = 3  # the daily record also fills in this many missed days



# ---------------------------------------------------------------- small helpers


def _setting(name, default):
    return current_app.config.get(name, default) if has_app_context() else default


def _num(value):
    return f"{round(value, 1):g}"


def _unit(metric):
    if metric not in METRICS:
        return ""
    unit = unit_label(METRICS[metric].unit)
    return f" {unit}" if unit and unit != "%" else unit


def _with_unit(metric, value):
    return f"{_num(value)}{_unit(metric)}"


def _label(metric, lang):
    m = METRICS.get(metric)
    if m is None:
        return metric
    return m.label_zh if lang == "zh" else m.label_en


def _lower(label):
    """"Air temperature" -> "air temperature", but "CO₂" and "PAR" stay."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _duration_text(seconds, lang):
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} 分钟" if lang == "zh" else f"{minutes} min"
    hours = f"{round(seconds / 3600, 1):g}"
    return f"{hours} 小时" if lang == "zh" else f"{hours} h"


# ---------------------------------------------------------------- rules


def breaches(rule, value):
    """Whether ``value`` is outside what ``rule`` allows."""
    if rule.comparison == ">":
        return value > rule.threshold
    if rule.comparison == "<":
        return value < rule.threshold
    return value < rule.low or value > rule.high


def recovered(rule, value):
    """Whether ``value`` is back inside by the rule's hysteresis (an active alarm may clear)."""
    margin = rule.hysteresis or 0
    if rule.comparison == ">":
        return value <= rule.threshold - margin
    if rule.comparison == "<":
        return value >= rule.threshold + margin
    return rule.low + margin <= value <= rule.high - margin


def crosses(rule, minimum, maximum):
    """Whether a span with these extremes (an hourly rollup) was out of range at some point."""
    if rule.comparison == ">":
        return maximum > rule.threshold
    if rule.comparison == "<":
        return minimum < rule.threshold
    return minimum < rule.low or maximum > rule.high


def condition_text(rule, lang):
    """The allowed range as words: "高于 35 °C" / "above 35 °C"."""
    if rule.comparison == ">":
        return (f"高于 {_with_unit(rule.metric, rule.threshold)}" if lang == "zh"
                else f"above {_with_unit(rule.metric, rule.threshold)}")
    if rule.comparison == "<":
        return (f"低于 {_with_unit(rule.metric, rule.threshold)}" if lang == "zh"
                else f"below {_with_unit(rule.metric, rule.threshold)}")
    band = f"{_num(rule.low)}–{_with_unit(rule.metric, rule.high)}"
    return f"超出 {band} 的范围" if lang == "zh" else f"outside {band}"


def rule_text(rule):
    """Short form for records: "air_temperature > 35 °C"-style, with the Chinese label."""
    if rule.comparison == "outside":
        cond = f"不在 {_num(rule.low)}–{_with_unit(rule.metric, rule.high)}"
    else:
        cond = f"{rule.comparison} {_with_unit(rule.metric, rule.threshold)}"
    return f"{_label(rule.metric, 'zh')} {cond}"


@dataclass(frozen=True)
class DefaultRule:
    applies_to: tuple  # crop codes, crop categories and plot kinds; all must match
    metric: str
    comparison: str
    threshold: float | None
    low: float | None
    high: float | None
    duration_seconds: int
    hysteresis: float
    severity: str
    advice_zh: str
    advice_en: str

    @property
    def origin(self):
        return f"default:{'+'.join(self.applies_to)}:{self.metric}{self.comparison}:{self.severity}"[:80]

    def specificity(self):
        """A crop code is more specific than a category, a category more than a plot kind."""
        return sum(1 if t in farms.PLOT_KINDS else 2 if t in farms.CROP_CATEGORIES else 4 for t in self.applies_to)


def _float(text):
    return float(text) if (text or "").strip() else None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def check_rule(data):
    """Field errors of a rule given as a dict (empty when it is valid)."""
    errors = {}
    if data.get("metric") not in METRICS:
        errors["metric"] = "unknown metric"
    comparison = data.get("comparison")
    if comparison not in COMPARISONS:
        errors["comparison"] = "one of > < outside"
    elif comparison == "outside":
        if not (_is_number(data.get("low")) and _is_number(data.get("high")) and data["low"] < data["high"]):
            errors["high"] = "give numbers low < high"
    elif not _is_number(data.get("threshold")):
        errors["threshold"] = "a number is required"
    if data.get("severity") not in RULE_SEVERITIES:
        errors["severity"] = "yellow, orange or red"
    if not isinstance(data.get("duration_seconds"), int) or not 0 <= data["duration_seconds"] <= 7 * 86400:
        errors["duration_seconds"] = "0 to 604800"
    if not _is_number(data.get("hysteresis")) or data["hysteresis"] < 0:
        errors["hysteresis"] = "0 or more"
    return errors


@functools.lru_cache(maxsize=1)
def default_rules():
    """The default rules of data/default_rules.csv; a bad line is an error, not skipped."""
    rules = []
    with open(DEFAULT_RULES_CSV, encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            rule = DefaultRule(
                applies_to=tuple(t.strip() for t in row["applies_to"].split("+") if t.strip()),
                metric=row["metric"].strip(), comparison=row["comparison"].strip(),
                threshold=_float(row["threshold"]), low=_float(row["low"]), high=_float(row["high"]),
                duration_seconds=int(float(row["duration_minutes"] or 0) * 60),
                hysteresis=_float(row["hysteresis"]) or 0.0, severity=row["severity"].strip(),
                advice_zh=(row.get("advice_zh") or "").strip(), advice_en=(row.get("advice_en") or "").strip())
            errors = check_rule(rule.__dict__)
            if errors or not rule.applies_to:
                raise ValueError(f"{DEFAULT_RULES_CSV.name} line {number}: {errors or 'applies_to is empty'}")
            rules.append(rule)
    return tuple(rules)


def plot_profile(plot_id):
    """The words default rules match on: the plot's kind and its current crops' codes and categories."""
    return farms.plot_profile(plot_id)


def defaults_for(plot_id):
    """The default rules that apply to a plot; of several for the same metric, comparison and
    severity the most specific wins (navel_orange before fruit before orchard)."""
    words = plot_profile(plot_id)
    chosen = {}
    for rule in default_rules():
        if set(rule.applies_to) <= words:
            key = (rule.metric, rule.comparison, rule.severity)
            if key not in chosen or rule.specificity() > chosen[key].specificity():
                chosen[key] = rule
    return list(chosen.values())


def rules_for(plot_id):
    """The plot's rules (enabled or not), oldest first; on first use, its defaults copied as rows."""
    rules = list(AlarmRule.select().where(AlarmRule.plot == plot_id).order_by(AlarmRule.id))
    if rules:
        return rules
    defaults = defaults_for(plot_id)
    if not defaults:
        return []
    rows = [{"plot": plot_id, "metric": d.metric, "comparison": d.comparison, "threshold": d.threshold,
             "low": d.low, "high": d.high, "duration_seconds": d.duration_seconds, "hysteresis": d.hysteresis,
             "severity": d.severity, "advice_zh": d.advice_zh, "advice_en": d.advice_en, "origin": d.origin,
             "enabled": True, "created_at": utcnow()} for d in defaults]
    # Two ingests may copy at once: (plot, origin) is unique, so the second copies nothing.
    AlarmRule.insert_many(rows).on_conflict_ignore().execute()
    return list(AlarmRule.select().where(AlarmRule.plot == plot_id).order_by(AlarmRule.id))


def plot_rules(user, plot_id):
    """The rules of a plot, for someone who may view it."""
    farms.get_plot(user, plot_id, Access.VIEW)
    return rules_for(plot_id)


RULE_FIELDS = ("metric", "comparison", "threshold", "low", "high", "duration_seconds", "hysteresis",
               "severity", "enabled", "advice_zh", "advice_en")


def save_rule(user, plot_id, data, rule_id=None):
    """Create a rule on a plot, or change one (``rule_id``); needs MANAGE on the farm.

    Changing a rule restarts its evaluation: its states are dropped and its open alerts cleared.
    """
    plot = farms.get_plot(user, plot_id, Access.MANAGE)
    rule = None
    if rule_id is not None:
        rule = AlarmRule.get_or_none((AlarmRule.id == rule_id) & (AlarmRule.plot == plot.id))
        if rule is None:
            raise Denied(404, "rule not found")
    values = {f: getattr(rule, f) for f in RULE_FIELDS} if rule else {
        "duration_seconds": 0, "hysteresis": 0.0, "severity": "yellow", "enabled": True, "advice_zh": "",
        "advice_en": "", "threshold": None, "low": None, "high": None}
    values.update({k: v for k, v in data.items() if k in RULE_FIELDS})
    errors = check_rule(values)
    if errors:
        raise ValidationError("The rule was not saved; please correct the marked fields.", errors)
    values["enabled"] = bool(values["enabled"])
    with database.atomic():
        if rule is None:
            rules_for(plot.id)  # copy the defaults first, or the new rule would hide them
            return AlarmRule.create(plot=plot.id, **values)
        for key, value in values.items():
            setattr(rule, key, value)
        rule.save()
        devices = [s.device_id for s in AlarmState.select(AlarmState.device).where(AlarmState.rule == rule.id)]
        AlarmState.delete().where(AlarmState.rule == rule.id).execute()
        for device_id in devices:
            farms.clear_alerts(SOURCE, rule_key(rule.id, device_id), plot.farm_id)
    return rule


# ---------------------------------------------------------------- evaluation on ingest


def rule_key(rule_id, device_id):
    return f"rule:{rule_id}:device:{device_id}"


def evaluate(device, rows):
    """Ingest listener: judge the new rows against the rules of the device's plot.

    Never raises: the readings are stored already, an alarm problem must not fail the ingest.
    """
    if not rows:
        return
    try:
        silent_after = dt.timedelta(minutes=int(_setting("SENSOR_SILENT_MINUTES", 30)) - 1)
        if device.last_seen_at is None or utcnow() - device.last_seen_at >= silent_after:
            farms.clear_alerts(SOURCE, f"device:{device.id}:silent", device.farm_id)  # it speaks again
        _evaluate(device, rows)
    except Exception:
        log.exception("alarm evaluation failed for device %s", device.id)


def _evaluate(device, rows):
    by_metric = defaultdict(list)
    for metric, ts, value in rows:
        by_metric[metric].append((ts, value))
    rules = [r for r in rules_for(device.plot_id) if r.enabled and r.metric in by_metric]
    if not rules:
        return
    plot = None
    now = utcnow()
    notable_alerts = []
    # Two ingests of one device at once (HTTP threads, MQTT storing threads) must not both advance the
    # same state from what they read: the states are read, walked and saved under a lock.
    with _locked():
        states = _states(device, rules)
        for rule in rules:
            state = states[rule.id]
            since = now - max(HORIZON, 2 * dt.timedelta(seconds=rule.duration_seconds))
            series = sorted(p for p in by_metric[rule.metric] if p[0] >= since)
            if not series:
                continue
            events = _walk(rule, state, series)
            state.updated_at = utcnow()
            state.save()
            for kind, value, at in events:
                key = rule_key(rule.id, device.id)
                if kind == "raise":
                    plot = plot or farms.plot_by_id(device.plot_id)
                    content = alarm_content(rule, device, plot, value, state.breach_started_at, at)
                    alert, notable = farms.raise_alert(device.farm_id, SOURCE, key, rule.severity, content,
                                                       plot_id=device.plot_id)
                    if notable:
                        notable_alerts.append(alert)
                else:
                    farms.clear_alerts(SOURCE, key, device.farm_id)
    for alert in notable_alerts:  # after the commit: no lock is held while notifying
        _notify(alert)


def _locked():
    """A transaction for a read-modify-write of alarm states: PostgreSQL locks the rows read (FOR UPDATE
    in ``_states``); SQLite takes its write lock at BEGIN IMMEDIATE, before the read."""
    return database.atomic() if is_postgres() else database.atomic("IMMEDIATE")


def _states(device, rules):
    """{rule id: AlarmState} of this device, creating the missing ones (locked on PostgreSQL)."""
    ids = [r.id for r in rules]

    def query():
        select = AlarmState.select().where((AlarmState.device == device.id) & AlarmState.rule.in_(ids))
        return select.order_by(AlarmState.rule).for_update() if is_postgres() else select
    states = {s.rule_id: s for s in query()}
    missing = [i for i in ids if i not in states]
    if missing:
        AlarmState.insert_many([{"rule": i, "device": device.id, "active": False, "updated_at": utcnow()}
                                for i in missing]).on_conflict_ignore().execute()
        states = {s.rule_id: s for s in query()}
    return states


def _walk(rule, state, series):
    """Advance ``state`` over (ts, value) pairs in time order; returns [(\"raise\"|\"clear\", value, ts)]."""
    events = []
    duration = dt.timedelta(seconds=rule.duration_seconds)
    max_gap = max(MAX_GAP, 2 * duration)
    for ts, value in series:
        if state.last_ts is not None and ts <= state.last_ts:
            continue  # late or replayed: the state has moved past it
        if (state.breach_started_at is not None and not state.active and state.last_ts is not None
                and ts - state.last_ts > max_gap):
            state.breach_started_at = None
        if breaches(rule, value):
            if state.breach_started_at is None:
                state.breach_started_at = ts
            if not state.active and ts - state.breach_started_at >= duration:
                state.active = True
                events.append(("raise", value, ts))
        elif state.active:
            if recovered(rule, value):
                state.active = False
                state.breach_started_at = None
                events.append(("clear", value, ts))
        else:
            state.breach_started_at = None
        state.last_ts, state.last_value = ts, value
    return events


def alarm_content(rule, device, plot, value, since, at):
    """The alert's title, message and advice in Chinese and English."""
    lasted = (at - since).total_seconds() if since else 0
    since_local = from_utc_naive(since).strftime("%m-%d %H:%M") if since else ""
    titles = {
        ">": ("{plot}：{label}过高", "{plot}: {label} too high"),
        "<": ("{plot}：{label}过低", "{plot}: {label} too low"),
        "outside": ("{plot}：{label}超出适宜范围", "{plot}: {label} out of range"),
    }[rule.comparison]
    content = {}
    for lang, title in zip(("zh", "en"), titles):
        label = _label(rule.metric, lang)
        if lang == "zh":
            message = (f"{device.name} 测得{label} {_with_unit(rule.metric, value)}，{condition_text(rule, lang)}，"
                       f"已持续 {_duration_text(lasted, lang)}（自 {since_local} 起）。")
        else:
            message = (f"{device.name} measured {_lower(label)} {_with_unit(rule.metric, value)}, "
                       f"{condition_text(rule, lang)} for {_duration_text(lasted, lang)} (since {since_local}).")
        advice = rule.advice_zh if lang == "zh" else rule.advice_en
        content[lang] = {"title": title.format(plot=plot.name, label=label), "message": message,
                         "advice": [advice] if advice else []}
    return content


def _notify(alert):
    try:
        farms.notify_alert(alert)
    except Exception:
        log.exception("could not queue notifications for alert %s", alert.id)


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


def init_app(app):
    """Register the two ingest listeners (once, however many apps are made); the jobs below
    register themselves when this module is imported."""
    for listener in (evaluate, check_rejections):
        if not any(getattr(f, "__qualname__", None) == listener.__qualname__
                   and getattr(f, "__module__", None) == __name__ for f in service.INGEST_LISTENERS):
            service.INGEST_LISTENERS.append(listener)


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


# ---------------------------------------------------------------- scheduled jobs


@register("sensors.silent", "interval", minutes=5)
def silent_job(app):
    check_silent(minutes=app.config["SENSOR_SILENT_MINUTES"])


@register("sensors.stuck", "cron", minute=7)
def stuck_job(app):
    check_stuck(hours=app.config["SENSOR_STUCK_HOURS"])


@register("sensors.retention", "cron", hour=3, minute=30)
def retention_job(app):
    deleted = service.purge_raw(app.config["RAW_RETENTION_DAYS"])
    if deleted:
        log.info("deleted %d raw readings older than %d days", deleted, app.config["RAW_RETENTION_DAYS"])


@register("sensors.daily_record", "cron", hour=0, minute=20)
def daily_record_job(app):
    written = write_daily_records()
    if written:
        log.info("wrote %d sensor daily records", len(written))
