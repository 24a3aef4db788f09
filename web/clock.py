"""The one clock: UTC now, the local time zone (the TIMEZONE setting) and the conversions.

Times are stored as naive UTC; pages, forms and messages show them in the local zone.
"""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

UTC = dt.timezone.utc


def utcnow():
    """Now, as a naive UTC datetime (how times are stored)."""
    return dt.datetime.now(UTC).replace(tzinfo=None)


def local_zone():
    """The TIMEZONE setting (outside an app, its default)."""
    if has_app_context():
        return ZoneInfo(current_app.config["TIMEZONE"])
    from web.settings import setting

    return ZoneInfo(setting("TIMEZONE"))


def local_now():
    """Now, as an aware datetime in the local time zone."""
    return dt.datetime.now(local_zone())


def to_utc_naive(value):
    """An aware datetime as naive UTC (None stays None)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def as_utc(value):
    """A stored naive UTC datetime as an aware UTC one (None stays None)."""
    return value.replace(tzinfo=UTC) if value is not None else None


def from_utc_naive(value):
    """A stored UTC timestamp as an aware datetime in the local time zone."""
    if value is None:
        return None
    return as_utc(value).astimezone(local_zone())


def naive_utc(value):
    """A datetime as naive UTC: an aware one is converted, a naive one is taken as UTC already."""
    if value is not None and value.tzinfo is not None:
        return to_utc_naive(value)
    return value
