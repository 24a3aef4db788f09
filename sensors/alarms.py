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
* **Scheduled jobs**: silent devices, stuck values (unchanged for ``SENSOR_STUCK_HOURS``), flat values
  (moving no more than a probe's noise for ``SENSOR_FLAT_HOURS``: a soil probe out of contact),
  raw-reading retention and the daily record.

Alerts go through ``farms.service.raise_alert`` with source "sensor" and these keys:
``rule:{rule}:device:{device}``, ``device:{id}:faulty``, ``device:{id}:silent``,
``device:{id}:{metric}:stuck``, ``device:{id}:{metric}:flat``. Rule alarms are also queued for notification
(``farms.service.notify_alert``); device-health alerts only show on the dashboard.

This module is the door: the parts are private submodules, along these sections: rules and
their wording (``_rules``), evaluation on ingest (``_evaluation``), device health (``_health``)
and the daily record (``_daily``). ``init_app`` (called by ``sensors.init_app``) registers the
listeners; importing this module registers the jobs. Times are naive UTC.
"""
import logging

from sensors import service
from sensors._daily import DAILY_CATCH_UP_DAYS, day_summary, local_day_bounds, record_notes, write_daily_record, \
    write_daily_records
from sensors._evaluation import HORIZON, MAX_GAP, alarm_content, evaluate
from sensors._health import (FLAT_TOLERANCE, STEADY_IS_NORMAL, check_flat, check_rejections, check_silent, check_stuck,
                             is_fault_reason)
from sensors._rules import (COMPARISONS, DEFAULT_RULES_CSV, RULE_FIELDS, RULE_SEVERITIES, SOURCE, DefaultRule,
                            add_defaults, alarming_rules, breaches, check_rule, condition_text, crosses,
                            default_rules, defaults_for, delete_rule, duration_text, get_rule, missing_defaults,
                            plot_profile, plot_rules, recovered, rule_key, rule_text, rules_for, save_rule)
from web.scheduler import register

__all__ = ("COMPARISONS", "DAILY_CATCH_UP_DAYS", "DEFAULT_RULES_CSV", "HORIZON", "MAX_GAP", "RULE_FIELDS",
           "RULE_SEVERITIES", "SOURCE", "STEADY_IS_NORMAL", "DefaultRule", "add_defaults", "alarm_content",
           "alarming_rules", "check_flat", "delete_rule", "FLAT_TOLERANCE", "duration_text", "get_rule", "missing_defaults", "breaches",
           "check_rejections", "check_rule", "check_silent", "check_stuck", "condition_text", "crosses",
           "day_summary", "default_rules", "defaults_for", "evaluate", "init_app", "is_fault_reason",
           "local_day_bounds", "plot_profile", "plot_rules", "record_notes", "recovered", "rule_key", "rule_text",
           "rules_for", "save_rule", "write_daily_record", "write_daily_records")

log = logging.getLogger(__name__)


def init_app(app):
    """Register the two ingest listeners (once, however many apps are made); the jobs below
    register themselves when this module is imported."""
    for listener in (evaluate, check_rejections):
        if not any(getattr(f, "__qualname__", None) == listener.__qualname__
                   and getattr(f, "__module__", None) == listener.__module__ for f in service.INGEST_LISTENERS):
            service.INGEST_LISTENERS.append(listener)


# ---------------------------------------------------------------- scheduled jobs


@register("sensors.silent", "interval", minutes=5)
def silent_job(app):
    check_silent(minutes=app.config["SENSOR_SILENT_MINUTES"])


@register("sensors.stuck", "cron", minute=7)
def stuck_job(app):
    check_stuck(hours=app.config["SENSOR_STUCK_HOURS"])


@register("sensors.flat", "cron", minute=9)
def flat_job(app):
    check_flat(hours=app.config["SENSOR_FLAT_HOURS"])


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
