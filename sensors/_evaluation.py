"""Evaluating the alarm rules on every ingest: breaches that last, recoveries by the hysteresis,
the alerts they raise and clear, and their notification. Part of the alarms; other packages use
``sensors.alarms``.
"""
import datetime as dt
import logging
from collections import defaultdict

from farms import service as farms
from sensors._rules import (SOURCE, _duration_text, _label, _lower, _setting, _with_unit, breaches,
                            condition_text, recovered, rule_key, rules_for)
from sensors.models import AlarmState
from web.clock import from_utc_naive, utcnow
from web.db import database, is_postgres

log = logging.getLogger("sensors.alarms")  # one logger for the alarms, whichever part speaks

# A pending breach whose previous reading is older than this (or twice the rule's duration)
# starts again: a device that was away says nothing about the time in between.
MAX_GAP = dt.timedelta(hours=1)
# Alarms are about the present: readings older than this (or twice a rule's duration) are not
# judged, so importing a logger's history does not replay months of alarms and notifications.
HORIZON = dt.timedelta(days=1)


# ---------------------------------------------------------------- evaluation on ingest




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
