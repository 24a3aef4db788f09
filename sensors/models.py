"""Sensor devices, their credentials, raw readings and hourly/daily rollups."""
import peewee as pw

from farms.models import Farm, Log, Plot
from web.clock import utcnow
from web.db import BaseModel


class Device(BaseModel):
    farm = pw.ForeignKeyField(Farm, backref="devices")
    plot = pw.ForeignKeyField(Plot, backref="devices")
    uid = pw.CharField(max_length=64, unique=True)  # in MQTT topics and SenML base names
    name = pw.CharField(max_length=80)
    metrics = pw.CharField(max_length=400)  # comma-separated metric names it reports
    active = pw.BooleanField(default=True)
    last_seen_at = pw.DateTimeField(null=True)
    rejected_count = pw.IntegerField(default=0)
    last_rejection = pw.TextField(null=True)
    last_rejection_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    @property
    def metric_names(self):
        return [m for m in self.metrics.split(",") if m]


class DeviceCredential(BaseModel):
    """A device's bearer token: shown once, stored as SHA-256; revoked or rotated, never edited."""

    device = pw.ForeignKeyField(Device, backref="credentials", on_delete="CASCADE")
    prefix = pw.CharField(max_length=12)
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=utcnow)
    revoked_at = pw.DateTimeField(null=True)


class Reading(BaseModel):
    device = pw.ForeignKeyField(Device, backref="readings", on_delete="CASCADE")
    metric = pw.CharField(max_length=32)
    ts = pw.DateTimeField()  # UTC
    value = pw.FloatField()
    credential = pw.ForeignKeyField(DeviceCredential, null=True)  # which credential delivered it

    class Meta:
        indexes = ((("device", "metric", "ts"), True),)


class Rollup(BaseModel):
    """min, max, sum and count of a device's metric per hour or per day. ``start`` is naive UTC: an hour
    bucket starts on a UTC hour, a day bucket at midnight in TIMEZONE (the farm's calendar day)."""

    device = pw.ForeignKeyField(Device, backref="rollups", on_delete="CASCADE")
    metric = pw.CharField(max_length=32)
    period = pw.CharField(max_length=4)  # "hour" or "day"
    start = pw.DateTimeField()
    count = pw.IntegerField()
    total = pw.FloatField()
    minimum = pw.FloatField()
    maximum = pw.FloatField()

    class Meta:
        indexes = ((("device", "metric", "period", "start"), True),)

    @property
    def mean(self):
        return self.total / self.count if self.count else None


class AlarmRule(BaseModel):
    """An alarm on one plot's metric: ``metric comparison threshold`` held for ``duration_seconds``.

    ``comparison`` is ">" or "<" (against ``threshold``) or "outside" (the band ``low``..``high``).
    An active alarm clears only once the value is back inside by ``hysteresis``. Rules copied from
    sensors/data/default_rules.csv keep the line they came from in ``origin`` (None for one made by hand).
    """

    plot = pw.ForeignKeyField(Plot, backref="alarm_rules", on_delete="CASCADE")
    metric = pw.CharField(max_length=32)
    comparison = pw.CharField(max_length=8)
    threshold = pw.FloatField(null=True)
    low = pw.FloatField(null=True)
    high = pw.FloatField(null=True)
    duration_seconds = pw.IntegerField(default=0)
    hysteresis = pw.FloatField(default=0)
    severity = pw.CharField(max_length=8, default="yellow")
    enabled = pw.BooleanField(default=True)
    advice_zh = pw.TextField(default="")
    advice_en = pw.TextField(default="")
    origin = pw.CharField(max_length=80, null=True)  # unique per plot; None for a rule made by hand
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("plot", "origin"), True),)


class AlarmState(BaseModel):
    """Where one device stands against one rule: since when it breaches, and whether the alarm is up."""

    rule = pw.ForeignKeyField(AlarmRule, backref="states", on_delete="CASCADE")
    device = pw.ForeignKeyField(Device, backref="alarm_states", on_delete="CASCADE")
    breach_started_at = pw.DateTimeField(null=True)  # UTC; the first reading of the current breach
    active = pw.BooleanField(default=False)
    last_value = pw.FloatField(null=True)
    last_ts = pw.DateTimeField(null=True)  # UTC; the newest reading judged (older ones are skipped)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("rule", "device"), True),)


class DailyRecord(BaseModel):
    """The sensor day record written into a plot's farm log, once per local day."""

    plot = pw.ForeignKeyField(Plot, backref="daily_records", on_delete="CASCADE")
    day = pw.DateField()  # local date (TIMEZONE)
    log = pw.ForeignKeyField(Log, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("plot", "day"), True),)
