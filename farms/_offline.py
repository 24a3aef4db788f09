"""Logs made on a phone without a connection: the entry (its UUID, the time it was made, the
farmer's confirmation), the fingerprint that makes sending it again idempotent, and the refusal of a
harvest inside a safe interval the phone may not have known of."""
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from flask_babel import gettext as _

from farms._logbook import input_applications
from farms.models import Log
from web.clock import from_utc_naive, to_utc_naive, utcnow
from web.db import Conflict, ValidationError


# How far the phone's clock may say an offline entry was made: not after tomorrow (a clock a little
# ahead), not more than a year ago (a queue left on a phone that long is not this season's record).
RECORDED_AT_FUTURE = dt.timedelta(days=1)


RECORDED_AT_PAST = dt.timedelta(days=366)


@dataclass
class OfflineEntry:
    """A log made on the phone and sent when the connection returned."""

    client_id: object  # uuid.UUID, the idempotency key
    recorded_at: object = None  # aware datetime, when the farmer made it
    confirm_safe_interval: bool = False
    fingerprint: str = ""  # set by create_log: what was sent under the key

    def errors(self):
        if self.recorded_at is None:
            return {}
        made = to_utc_naive(self.recorded_at)
        if made > utcnow() + RECORDED_AT_FUTURE:
            return {"recorded_at": _("The entry cannot have been made in the future; check the phone's clock.")}
        if made < utcnow() - RECORDED_AT_PAST:
            return {"recorded_at": _("The entry was made more than a year ago.")}
        return {}


def offline_entry(client_id, recorded_at=None, confirm_safe_interval=False):
    """An OfflineEntry from what a phone sent (a UUID text, an ISO 8601 time with its offset, a bool),
    or None without a client_id; malformed values are a ValidationError naming the field."""
    if client_id in (None, ""):
        if recorded_at not in (None, "") or confirm_safe_interval:
            raise ValidationError(_("Some fields need correcting."),
                                  {"client_id": _("Required with recorded_at and confirm_safe_interval.")})
        return None
    errors = {}
    try:
        key = uuid.UUID(client_id) if isinstance(client_id, str) else None
    except ValueError:
        key = None
    if key is None:
        errors["client_id"] = _("A UUID, like 0b0f3c52-8c1e-4e5a-9d8e-2f1f7f0c6a11.")
    made = None
    if recorded_at not in (None, ""):
        try:
            made = dt.datetime.fromisoformat(recorded_at) if isinstance(recorded_at, str) else None
        except ValueError:
            made = None
        if made is None or made.tzinfo is None:
            errors["recorded_at"] = _("A date and time with its offset, like 2026-05-01T08:30:00+08:00.")
    if not isinstance(confirm_safe_interval, bool):
        errors["confirm_safe_interval"] = _("true or false")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    return OfflineEntry(client_id=key, recorded_at=made, confirm_safe_interval=confirm_safe_interval)


def _fingerprint(data, offline, photos=()):
    """What an entry says, as checked (so a page's form and the API agree on it): a resend must match."""
    def plain(value):
        if isinstance(value, dt.datetime):
            return to_utc_naive(value).isoformat() if value.tzinfo else value.isoformat()
        if isinstance(value, (list, tuple)):
            return sorted(plain(v) for v in value)
        if value in ("", None):
            return None
        return value if isinstance(value, (int, float, str, bool)) else str(value)

    said = {key: plain(value) for key, value in data.items() if key not in ("submit", "csrf_token")}
    said["recorded_at"] = plain(offline.recorded_at)
    said["confirm_safe_interval"] = offline.confirm_safe_interval
    if photos:  # only then, so that entries sent before photos existed keep their fingerprint
        said["photos"] = [[p.sha256, p.latitude, p.longitude] for p in photos]
    return hashlib.sha256(json.dumps(said, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _offline_log(user, farm, offline):
    """The log already stored under this entry's UUID, if any; a different entry under it is a conflict."""
    log = Log.get_or_none(Log.client_id == offline.client_id)
    if log is None:
        return None
    if log.farm_id != farm.id or log.created_by_id != user.id or log.client_fingerprint != offline.fingerprint:
        raise Conflict(_("Another entry was already sent under this entry's id."),
                       {"client_id": _("Already used for a different entry.")})
    log.just_created = False
    return log


def _refuse_harvest_inside_safe_interval(plot_ids, harvested_at):
    """A harvest entered offline may not know of a spraying synced meanwhile: refuse it inside the
    interval, naming the product and the first safe day, until the farmer confirms it."""
    harvest_day = from_utc_naive(harvested_at).date()
    for application in input_applications(plot_ids, until=harvested_at, pesticides_only=True):
        safe_day = from_utc_naive(application["applied_at"]).date() + dt.timedelta(days=application["phi_days"])
        if harvest_day < safe_day:
            raise Conflict(
                _("Harvest inside the safe interval: %(product)s was sprayed on %(day)s; harvest from %(safe)s.",
                  product=application["product_name"],
                  day=from_utc_naive(application["applied_at"]).date().isoformat(), safe=safe_day.isoformat()),
                {"timestamp": _("Inside the pre-harvest interval."),
                 "confirm_safe_interval": _("Confirm to record the harvest anyway (a batch will need a residue test).")})
