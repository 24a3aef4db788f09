"""Sensor devices, their credentials, raw readings and hourly/daily rollups."""
import peewee as pw

from farms.models import Farm, Plot
from web.accounts.models import utcnow
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
    """min, max, sum and count of a device's metric per hour or per day (UTC buckets)."""

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
