"""Weather warnings: CAP feeds, the warnings they carry, and advice.

Notification preferences and deliveries are the farms' alert inbox plumbing (``farms.models``)."""
import peewee as pw

from web.accounts.models import User
from web.clock import utcnow
from web.db import BaseModel

FEED_FORMATS = ("cap", "atom", "rss", "nws-geojson", "meteoalarm-json")
WARNING_STATES = ("active", "superseded", "cancelled", "expired")


class Feed(BaseModel):
    name = pw.CharField(max_length=120)
    url = pw.CharField(max_length=500, unique=True)
    format = pw.CharField(max_length=16, default="cap")  # one of FEED_FORMATS
    interval_seconds = pw.IntegerField(default=300)
    enabled = pw.BooleanField(default=True)
    etag = pw.CharField(max_length=200, null=True)
    last_modified = pw.CharField(max_length=100, null=True)
    last_polled_at = pw.DateTimeField(null=True)
    last_success_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    last_error_at = pw.DateTimeField(null=True)
    # Defects the last successful poll found in what the feed carries (JSON list of text); the warnings are kept.
    problems = pw.TextField(null=True)
    failures = pw.IntegerField(default=0)  # consecutive; drives the backoff
    next_poll_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)


class WeatherWarning(BaseModel):
    """One CAP alert message, keyed by (sender, identifier)."""

    sender = pw.CharField(max_length=200)
    identifier = pw.CharField(max_length=200)
    sent = pw.DateTimeField()  # UTC
    msg_type = pw.CharField(max_length=16)  # Alert, Update, Cancel, Ack, Error
    status = pw.CharField(max_length=16)  # Actual, Exercise, System, Test, Draft
    scope = pw.CharField(max_length=16, default="Public")
    event_type = pw.CharField(max_length=16)  # one of the 14 CMA types, or "other"
    level = pw.CharField(max_length=8)  # blue, yellow, orange, red
    event = pw.CharField(max_length=200, default="")
    expires = pw.DateTimeField(null=True)  # UTC
    onset = pw.DateTimeField(null=True)
    document = pw.TextField()  # the parsed alert as JSON (infos, areas, references, ...)
    state = pw.CharField(max_length=16, default="active")
    replaced_by = pw.CharField(max_length=420, null=True)  # "sender|identifier" of the Update/Cancel
    feed = pw.ForeignKeyField(Feed, null=True, backref="warnings")
    received_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "warning"
        indexes = ((("sender", "identifier"), True), (("state", "expires"), False))


class WarningReference(BaseModel):
    """``warning`` (an Update or Cancel) names an earlier message; kept for out-of-order arrival."""

    warning = pw.ForeignKeyField(WeatherWarning, backref="reference_rows", on_delete="CASCADE")
    sender = pw.CharField(max_length=200)
    identifier = pw.CharField(max_length=200)

    class Meta:
        indexes = ((("sender", "identifier"), False),)


class AdviceRule(BaseModel):
    """What farmers should do: editable data, chosen by warning type, level and crop."""

    event_type = pw.CharField(max_length=16)  # one of the 14 types, or "*" for any
    level = pw.CharField(max_length=8, default="*")  # blue..red, or "*"
    crop = pw.CharField(max_length=32, default="*")  # crop code, crop category, "greenhouse", or "*"
    text_zh = pw.TextField()
    text_en = pw.TextField()
    position = pw.IntegerField(default=0)
    updated_at = pw.DateTimeField(default=utcnow)
