"""Sensors: the only door into devices, credentials, readings and rollups.

``ingest`` is the one path every transport uses (HTTP, MQTT, CSV import): each
reading is validated on its own, converted to its metric's canonical unit and
stored once per (device, metric, timestamp); hourly and daily rollups are kept
up to date from exactly the rows that were new.
"""
import datetime as dt
import hashlib
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import peewee as pw
from flask_babel import gettext as _

from farms import service as farms
from sensors.metrics import METRICS, SATURATION
from sensors.models import Device, DeviceCredential, Reading, Rollup
from web.accounts.models import utcnow
from web.db import ValidationError, database
from web.permissions import Access, Denied, require

MAX_READINGS = 10_000
TOKEN_PREFIX = "dv_"
FUTURE_LIMIT = dt.timedelta(minutes=10)
PAST_LIMIT = dt.timedelta(days=400)
SENML_RELATIVE_LIMIT = 2 ** 28  # RFC 8428 4.5.3: smaller times are relative to now
CHUNK = 4000  # rows per INSERT (SQLite allows 32766 variables)

# Called as listener(device, rows) after readings are stored; rows are (metric, ts, value), new ones only.
INGEST_LISTENERS = []


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list = field(default_factory=list)  # [{"index": i, "reason": "..."}]

    def as_dict(self):
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


# ---------------------------------------------------------------- devices and credentials


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(device):
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    DeviceCredential.create(device=device, prefix=token[:10], token_hash=_digest(token))
    return token


def create_device(user, plot_id, name, metrics, uid=None):
    """Register a device on a plot; returns (device, token). The token is shown once."""
    plot = farms.get_plot(user, plot_id, Access.MANAGE)
    errors = {}
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown:
        errors["metrics"] = _("Choose metrics from the list.")
    if not (name or "").strip():
        errors["name"] = _("Required.")
    uid = (uid or "").strip() or f"{plot.farm_id}-{secrets.token_hex(4)}"
    if not all(c.isalnum() or c in "-_." for c in uid) or len(uid) > 64:
        errors["uid"] = _("Letters, digits, - _ . only.")
    if errors:
        raise ValidationError(_("The device was not saved; please correct the marked fields."), errors)
    with database.atomic():
        if Device.select().where(Device.uid == uid).exists():
            from web.db import Conflict

            raise Conflict(_("A device with this id exists."), {"uid": _("Already taken.")})
        device = Device.create(farm=plot.farm_id, plot=plot.id, uid=uid, name=name.strip(),
                               metrics=",".join(dict.fromkeys(metrics)))
        token = _new_token(device)
    return device, token


def get_device(user, device_id, need=Access.VIEW):
    device = Device.get_or_none(Device.id == device_id)
    if device is None:
        raise Denied(404, "device not found")
    require(farms.access_to_farm_id(user, device.farm_id), need)
    return device


def devices_on(plot_id):
    return list(Device.select().where(Device.plot == plot_id).order_by(Device.name))


def devices_of_farm(farm_id):
    return list(Device.select().where(Device.farm == farm_id).order_by(Device.name))


def rotate_token(user, device):
    """Revoke the device's tokens and issue a new one (shown once)."""
    require(farms.access_to_farm_id(user, device.farm_id), Access.MANAGE)
    with database.atomic():
        revoke_tokens(user, device)
        return _new_token(device)


def revoke_tokens(user, device):
    require(farms.access_to_farm_id(user, device.farm_id), Access.MANAGE)
    return (DeviceCredential.update(revoked_at=utcnow())
            .where((DeviceCredential.device == device) & DeviceCredential.revoked_at.is_null()).execute())


def authenticate(token):
    """(device, credential) for a live device token, or (None, None)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None, None
    credential = (DeviceCredential.select(DeviceCredential, Device).join(Device)
                  .where((DeviceCredential.token_hash == _digest(token)) & DeviceCredential.revoked_at.is_null()
                         & (Device.active == True))  # noqa: E712
                  .first())
    if credential is None:
        return None, None
    return credential.device, credential


# ---------------------------------------------------------------- parsing bodies


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_senml(pack, device, now):
    """SenML JSON records resolved to (index, metric, ts, value, unit) or (index, reason)."""
    items = []
    names = {}  # resolved SenML names, per pack
    base_name, base_time, base_unit, base_value = "", 0.0, None, 0.0
    for index, record in enumerate(pack):
        if not isinstance(record, dict):
            items.append((index, "not a SenML record (an object)"))
            continue
        if "bn" in record:
            base_name = record["bn"] if isinstance(record["bn"], str) else ""
        if "bt" in record and _number(record["bt"]):
            base_time = float(record["bt"])
        if "bu" in record:
            base_unit = record["bu"]
        if "bv" in record and _number(record["bv"]):
            base_value = float(record["bv"])
        if "v" not in record:
            if any(k in record for k in ("vs", "vb", "vd", "s")):
                items.append((index, "only numeric values (v) are accepted"))
            elif not any(k in record for k in ("bn", "bt", "bu", "bv", "bver")):
                items.append((index, "record has no value (v)"))
            continue
        value = record["v"]
        if not _number(value):
            items.append((index, "v is not a number"))
            continue
        name = base_name + (record.get("n") or "")
        if name not in names:
            names[name] = _metric_from_name(name, device)
        metric, problem = names[name]
        if problem:
            items.append((index, problem))
            continue
        t = record.get("t", 0)
        if not _number(t):
            items.append((index, "t is not a number"))
            continue
        seconds = base_time + float(t)
        if abs(seconds) < SENML_RELATIVE_LIMIT:
            seconds += now.replace(tzinfo=dt.timezone.utc).timestamp()
        items.append((index, metric, seconds, base_value + float(value), record.get("u", base_unit)))
    return items


def _metric_from_name(name, device):
    """A SenML name is the metric, optionally prefixed by this device's uid (e.g. "urn:dev:<uid>:co2").

    Returns (metric, None) or (None, reason): a name that addresses another device is refused."""
    for separator in (":", "/", "."):
        if separator in name:
            prefix, _sep, last = name.rpartition(separator)
            if last in METRICS:
                if prefix.rstrip(":/.").endswith(device.uid):
                    return last, None
                return None, f"{name!r} names another device; this token is for {device.uid}"
    if name in METRICS:
        return name, None
    return None, f"unknown metric {name!r}"


def parse_plain(batch):
    """[{"metric", "ts", "value"[, "unit"]}] resolved like SenML."""
    items = []
    for index, record in enumerate(batch):
        if not isinstance(record, dict):
            items.append((index, "not an object"))
            continue
        metric, ts, value = record.get("metric"), record.get("ts"), record.get("value")
        if not isinstance(metric, str):
            items.append((index, "metric is missing"))
            continue
        if not _number(value):
            items.append((index, "value is not a number"))
            continue
        if _number(ts):
            seconds = float(ts)
        elif isinstance(ts, str):
            try:
                parsed = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
            except ValueError:
                items.append((index, "ts is not an ISO 8601 time or epoch seconds"))
                continue
            if parsed.tzinfo is None:
                items.append((index, "ts has no time zone"))
                continue
            seconds = parsed.timestamp()
        else:
            items.append((index, "ts is missing"))
            continue
        items.append((index, metric, seconds, float(value), record.get("unit")))
    return items


def parse_body(body, device, now=None):
    """Items from a SenML pack or a plain batch; raises ValidationError for a body of neither shape."""
    now = now or utcnow()
    if not isinstance(body, list):
        raise ValidationError(_("The body must be a JSON array (SenML or a plain batch)."), {"body": "array"})
    if len(body) > MAX_READINGS:
        raise ValidationError(_("At most %(n)d readings per request.", n=MAX_READINGS), {"body": "too many"})
    senml = any(isinstance(r, dict) and ({"n", "bn", "v", "bt", "t", "u", "bu"} & set(r)) and "metric" not in r
                for r in body[:5])
    return parse_senml(body, device, now) if senml else parse_plain(body)


# ---------------------------------------------------------------- the one ingest path


def ingest(device, credential, items, now=None):
    """Validate, convert and store readings for ``device``; returns an IngestResult."""
    now = now or utcnow()
    result = IngestResult()
    allowed = set(device.metric_names)
    earliest = (now - PAST_LIMIT).replace(tzinfo=dt.timezone.utc).timestamp()
    latest = (now + FUTURE_LIMIT).replace(tzinfo=dt.timezone.utc).timestamp()
    rows, seen = [], set()
    for item in items:
        if len(item) == 2:
            result.rejected.append({"index": item[0], "reason": item[1]})
            continue
        index, name, seconds, value, unit = item
        reason = None
        metric = METRICS.get(name)
        if metric is None or name not in allowed:
            reason = f"unknown metric {name!r} for this device"
        elif not math.isfinite(value):
            reason = "value is NaN or infinite"
        elif value in SATURATION:
            reason = f"saturated or error value {value:g}"
        else:
            converted = metric.convert(value, unit)
            if converted is None:
                reason = f"unit {unit!r} does not fit {name} (use {', '.join(metric.units)})"
            elif not metric.low <= converted <= metric.high:
                reason = f"{converted:g} {metric.unit} is outside {metric.low:g}..{metric.high:g}"
            elif not math.isfinite(seconds) or seconds < earliest:
                reason = "timestamp too far in the past"
            elif seconds > latest:
                reason = "timestamp in the future"
            else:
                ts = dt.datetime.fromtimestamp(round(seconds, 3), dt.timezone.utc).replace(tzinfo=None)
                key = (name, ts)
                if key in seen:
                    result.duplicates += 1
                    continue
                seen.add(key)
                rows.append((name, ts, converted))
        if reason:
            result.rejected.append({"index": index, "reason": reason})
    with database.atomic():
        inserted = _store(device, credential, rows)
        result.accepted = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        _roll_up(device, inserted)
        _note_device(device, result, now if inserted else None)
    for listener in INGEST_LISTENERS:
        listener(device, inserted)
    return result


def _store(device, credential, rows):
    """Insert the rows that are new; returns them as (metric, ts, value).

    Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING, written out directly: building
    10,000-row statements through the ORM costs more than the database work itself."""
    inserted = []
    credential_id = credential.id if credential is not None else None
    table = Reading._meta.table_name
    to_python = Reading.ts.python_value
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        placeholder = f"({database.param}, {database.param}, {database.param}, {database.param}, {database.param})"
        sql = (f'INSERT INTO "{table}" (device_id, metric, ts, value, credential_id) VALUES '
               + ", ".join([placeholder] * len(chunk))
               + " ON CONFLICT (device_id, metric, ts) DO NOTHING RETURNING metric, ts, value")
        params = []
        for metric, ts, value in chunk:
            params.extend((device.id, metric, ts, value, credential_id))
        cursor = database.execute_sql(sql, params)
        inserted.extend((metric, to_python(ts), value) for metric, ts, value in cursor.fetchall())
    return inserted


def _bucket(ts, period):
    return ts.replace(minute=0, second=0, microsecond=0) if period == "hour" else \
        ts.replace(hour=0, minute=0, second=0, microsecond=0)


def _roll_up(device, rows):
    """Add new rows to their hourly and daily rollups, in one upsert per chunk."""
    if not rows:
        return
    buckets = defaultdict(lambda: [0, 0.0, math.inf, -math.inf])
    for metric, ts, value in rows:
        for period in ("hour", "day"):
            b = buckets[(metric, period, _bucket(ts, period))]
            b[0] += 1
            b[1] += value
            b[2] = min(b[2], value)
            b[3] = max(b[3], value)
    values = [(device.id, metric, period, start, c, s, lo, hi)
              for (metric, period, start), (c, s, lo, hi) in buckets.items()]
    excluded = pw.EXCLUDED
    for start in range(0, len(values), 2000):
        (Rollup.insert_many(values[start:start + 2000],
                            fields=[Rollup.device, Rollup.metric, Rollup.period, Rollup.start, Rollup.count,
                                    Rollup.total, Rollup.minimum, Rollup.maximum])
         .on_conflict(conflict_target=[Rollup.device, Rollup.metric, Rollup.period, Rollup.start],
                      update={Rollup.count: Rollup.count + excluded.count,
                              Rollup.total: Rollup.total + excluded.total,
                              Rollup.minimum: pw.Case(None, [(excluded.minimum < Rollup.minimum, excluded.minimum)],
                                                      Rollup.minimum),
                              Rollup.maximum: pw.Case(None, [(excluded.maximum > Rollup.maximum, excluded.maximum)],
                                                      Rollup.maximum)})
         .execute())


def _note_device(device, result, seen_at):
    """Keep the device's last-seen time and its visible rejection count and reason."""
    update = {}
    if seen_at is not None:
        update[Device.last_seen_at] = seen_at
    if result.rejected:
        update[Device.rejected_count] = Device.rejected_count + len(result.rejected)
        update[Device.last_rejection] = result.rejected[-1]["reason"][:500]
        update[Device.last_rejection_at] = utcnow()
    if update:
        Device.update(update).where(Device.id == device.id).execute()


def reject_all(device, reason):
    """Count a whole message that could not be read (bad JSON, wrong shape) against the device."""
    _note_device(device, IngestResult(rejected=[{"index": None, "reason": reason}]), None)


# ---------------------------------------------------------------- reading back


def latest_readings(device):
    """{metric: (ts, value)} of the device's newest reading per metric."""
    result = {}
    for metric in device.metric_names:
        row = (Reading.select(Reading.ts, Reading.value)
               .where((Reading.device == device) & (Reading.metric == metric))
               .order_by(Reading.ts.desc()).first())
        if row is not None:
            result[metric] = (row.ts, row.value)
    return result


def series(device, metric, period, since, until=None):
    """Rollups (start, count, mean, min, max) of one metric, oldest first; never scans raw rows."""
    query = (Rollup.select().where((Rollup.device == device) & (Rollup.metric == metric)
                                   & (Rollup.period == period) & (Rollup.start >= since))
             .order_by(Rollup.start))
    if until is not None:
        query = query.where(Rollup.start < until)
    return [(r.start, r.count, r.mean, r.minimum, r.maximum) for r in query]


def purge_raw(older_than_days):
    """Delete raw readings older than the retention; rollups stay. Returns how many were deleted."""
    cutoff = utcnow() - dt.timedelta(days=older_than_days)
    return Reading.delete().where(Reading.ts < cutoff).execute()
