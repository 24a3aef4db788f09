"""The bureau's tallies: figures per county, kept up to date by the refresh job from the other domains'
services, so that a summary adds up a few thousand rows instead of scanning farms, logs and readings."""
import peewee as pw

from web.clock import utcnow
from web.db import BaseModel


class Tally(BaseModel):
    """One figure of one county: a day's (or a month's, the sum of its days) count of ``metric`` for ``key``
    (an active ingredient, a crop, "sensor:orange", ...; "" when the metric has no key). Standing figures
    (farms, planted area, devices) are snapshots at the end of ``start`` (period "day" only)."""

    period = pw.CharField(max_length=5)  # "day" or "month"
    start = pw.DateField()  # the local day, or the month's first day
    county_code = pw.CharField(max_length=6)
    metric = pw.CharField(max_length=32)
    key = pw.CharField(max_length=120, default="")
    value = pw.FloatField()

    class Meta:
        table_name = "bureau_tally"
        indexes = ((("period", "start", "county_code", "metric", "key"), True),
                   (("county_code", "period", "start"), False))


class Snapshot(BaseModel):
    """A local day whose standing figures were taken (at its end, or at ``taken_at`` for today)."""

    day = pw.DateField(primary_key=True)
    taken_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "bureau_snapshot"


class RefreshMark(BaseModel):
    """When the tallies were last brought up to date (one row)."""

    name = pw.CharField(max_length=16, primary_key=True)
    refreshed_at = pw.DateTimeField()

    class Meta:
        table_name = "bureau_refresh"
