"""Alarm rules: the comparisons, their wording, the default rules for a plot's crops and kind, and
the farmer's own rules. Part of the alarms; other packages use ``sensors.alarms``.
"""
import csv
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import gettext as _

from farms import service as farms
from sensors.metrics import METRICS, unit_label
from sensors.models import AlarmRule, AlarmState
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.permissions import Access, Denied

log = logging.getLogger("sensors.alarms")  # one logger for the alarms, whichever part speaks

SOURCE = "sensor"
COMPARISONS = (">", "<", "outside")
RULE_SEVERITIES = ("yellow", "orange", "red")
DEFAULT_RULES_CSV = Path(__file__).resolve().parent / "data" / "default_rules.csv"


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
    metric = METRICS.get(data.get("metric"))
    if metric is not None:
        used = ("low", "high") if comparison == "outside" else ("threshold",)
        for name in used:
            if name not in errors and _is_number(data.get(name)) and not metric.low <= data[name] <= metric.high:
                errors[name] = f"{metric.name} is measured from {metric.low:g} to {metric.high:g}"
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
    rows = [_default_row(plot_id, d) for d in defaults]
    # Two ingests may copy at once: (plot, origin) is unique, so the second copies nothing.
    AlarmRule.insert_many(rows).on_conflict_ignore().execute()
    return list(AlarmRule.select().where(AlarmRule.plot == plot_id).order_by(AlarmRule.id))


def _default_row(plot_id, d):
    return {"plot": plot_id, "metric": d.metric, "comparison": d.comparison, "threshold": d.threshold,
            "low": d.low, "high": d.high, "duration_seconds": d.duration_seconds, "hysteresis": d.hysteresis,
            "severity": d.severity, "advice_zh": d.advice_zh, "advice_en": d.advice_en, "origin": d.origin,
            "enabled": True, "created_at": utcnow()}


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
            raise Denied(404, _("rule not found"))
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
        _forget(rule, plot.farm_id)
    return rule

def get_rule(user, rule_id, need=Access.VIEW):
    """A rule and its plot, for someone with ``need`` on the plot's farm (404 when they may not see it)."""
    rule = AlarmRule.get_or_none(AlarmRule.id == rule_id)
    if rule is None:
        raise Denied(404, "rule not found")
    plot = farms.get_plot(user, rule.plot_id, need)
    return rule, plot


def _forget(rule, farm_id):
    """Drop a rule's evaluation states and clear its open alerts (it was changed, paused or deleted)."""
    devices = [s.device_id for s in AlarmState.select(AlarmState.device).where(AlarmState.rule == rule.id)]
    AlarmState.delete().where(AlarmState.rule == rule.id).execute()
    for device_id in devices:
        farms.clear_alerts(SOURCE, rule_key(rule.id, device_id), farm_id)


def delete_rule(user, rule_id):
    """Delete a rule (MANAGE on the farm); its open alerts are cleared.

    A plot left with no rules at all would get its crop's defaults again on the next reading, so the
    last rule of a plot that has defaults cannot be deleted: it is paused instead (Conflict says so).
    """
    rule, plot = get_rule(user, rule_id, Access.MANAGE)
    with database.atomic():
        others = AlarmRule.select().where((AlarmRule.plot == plot.id) & (AlarmRule.id != rule.id)).exists()
        if not others and defaults_for(plot.id):
            raise Conflict("This is the plot's last rule: the crop's defaults would come back in its place. "
                           "Pause it instead.", {"enabled": "pause the rule instead"})
        _forget(rule, plot.farm_id)
        rule.delete_instance()
    return plot


def add_defaults(user, plot_id):
    """Copy the crop's default rules that the plot lacks (MANAGE); returns the rules added.

    A default rule already on the plot (by its origin, paused or changed) is left as the farmer set it."""
    plot = farms.get_plot(user, plot_id, Access.MANAGE)
    with database.atomic():
        before = {r for (r,) in AlarmRule.select(AlarmRule.id).where(AlarmRule.plot == plot.id).tuples()}
        rules_for(plot.id)  # a plot never used copies its defaults here
        missing = missing_defaults(plot.id)
        if missing:
            AlarmRule.insert_many([_default_row(plot.id, d) for d in missing]).on_conflict_ignore().execute()
        return [r for r in rules_for(plot.id) if r.id not in before]


def missing_defaults(plot_id):
    """The crop's default rules the plot does not hold (by origin): what "add the defaults" would add."""
    have = {origin for (origin,) in AlarmRule.select(AlarmRule.origin)
            .where((AlarmRule.plot == plot_id) & AlarmRule.origin.is_null(False)).tuples()}
    return [d for d in defaults_for(plot_id) if d.origin not in have]


def alarming_rules(rule_ids):
    """The ids among ``rule_ids`` whose alarm is up on some device now."""
    ids = list(rule_ids)
    if not ids:
        return set()
    return {r for (r,) in AlarmState.select(AlarmState.rule).where(AlarmState.rule.in_(ids)
                                                                    & (AlarmState.active == True))  # noqa: E712
            .distinct().tuples()}


def duration_text(seconds, lang):
    """"6 小时" / "6 h"; "10 分钟" / "10 min"."""
    return _duration_text(seconds, lang)


def rule_key(rule_id, device_id):
    return f"rule:{rule_id}:device:{device_id}"
