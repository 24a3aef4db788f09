"""Sensors: the only door into devices, credentials, readings and rollups.

``ingest`` is the one path every transport uses (HTTP, MQTT, CSV import): each
reading is validated on its own, converted to its metric's canonical unit and
stored once per (device, metric, timestamp); hourly and daily rollups are kept
up to date from exactly the rows that were new.
"""
import datetime as dt
import hashlib
import io
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

import peewee as pw
from flask_babel import get_locale
from flask_babel import gettext as _

from farms import service as farms
from sensors import broker
from sensors.metrics import METRICS, SATURATION, unit_label
from sensors.models import Device, DeviceCredential, Reading, Rollup
from web.clock import utcnow
from web.db import ValidationError, database, is_postgres
from web.clock import from_utc_naive, to_utc_naive
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
        broker.device_token_issued(device, token)  # the broker refusing or away undoes the device
    return device, token


def get_device(user, device_id, need=Access.VIEW):
    device = Device.get_or_none(Device.id == device_id)
    if device is None:
        raise Denied(404, _("device not found"))
    require(farms.access_to_farm_id(user, device.farm_id), need)
    return device


def device_by_uid(uid):
    """The device with this uid, or None (for operators' commands: no user, no permission check)."""
    return Device.get_or_none(Device.uid == uid)


def devices_on(plot_id):
    return list(Device.select().where(Device.plot == plot_id).order_by(Device.name))


def devices_of_farm(farm_id):
    return list(Device.select().where(Device.farm == farm_id).order_by(Device.name))


def rotate_token(user, device):
    """Revoke the device's tokens and issue a new one (shown once)."""
    require(farms.access_to_farm_id(user, device.farm_id), Access.MANAGE)
    with database.atomic():
        _revoke(device)
        token = _new_token(device)
        broker.device_token_issued(device, token)  # the broker refusing or away keeps the old token
        return token


def _revoke(device):
    return (DeviceCredential.update(revoked_at=utcnow())
            .where((DeviceCredential.device == device) & DeviceCredential.revoked_at.is_null()).execute())


def revoke_tokens(user, device):
    """Revoke every live token of the device, here and at the broker (at once, or by the sync job)."""
    require(farms.access_to_farm_id(user, device.farm_id), Access.MANAGE)
    count = _revoke(device)
    broker.device_revoked(device)
    return count


def credentials_of(devices):
    """{device id: [credential, ...]} newest first."""
    found = {}
    if devices:
        for c in (DeviceCredential.select().where(DeviceCredential.device.in_([d.id for d in devices]))
                  .order_by(DeviceCredential.created_at.desc(), DeviceCredential.id.desc())):
            found.setdefault(c.device_id, []).append(c)
    return found


def authenticate_uid(uid):
    """(device, newest live credential) for an active device with a live token, or (None, None): for messages
    the broker authenticated (the device connected with its uid and token)."""
    credential = (DeviceCredential.select(DeviceCredential, Device).join(Device)
                  .where((Device.uid == uid) & DeviceCredential.revoked_at.is_null()
                         & (Device.active == True))  # noqa: E712
                  .order_by(DeviceCredential.created_at.desc(), DeviceCredential.id.desc()).first())
    if credential is None:
        return None, None
    return credential.device, credential


def uids_with_live_tokens(uids):
    """The subset of ``uids`` naming active devices with a live token."""
    if not uids:
        return set()
    return {d.uid for d in Device.select(Device.uid).join(DeviceCredential)
            .where(Device.uid.in_(list(uids)) & DeviceCredential.revoked_at.is_null()
                   & (Device.active == True)).distinct()}  # noqa: E712


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


_NUMBER = (int, float)  # exactly these: json gives bool for true/false, which is not a number here


def _number(value):
    return type(value) in _NUMBER


def parse_senml(pack, device, now, start=0):
    """SenML JSON records resolved to (index, metric, ts, value, unit) or (index, reason)."""
    items = []
    append = items.append
    names = {}  # resolved SenML names, per pack
    now_s = now.replace(tzinfo=dt.timezone.utc).timestamp()
    base_name, base_time, base_unit, base_value = "", 0.0, None, 0.0
    for index, record in enumerate(pack, start):
        if type(record) is not dict:
            append((index, "not a SenML record (an object)"))
            continue
        if "bn" in record or "bt" in record or "bu" in record or "bv" in record:
            if "bn" in record:
                base_name = record["bn"] if isinstance(record["bn"], str) else ""
            if "bt" in record and _number(record["bt"]):
                base_time = float(record["bt"])
            if "bu" in record:
                base_unit = record["bu"]
            if "bv" in record and _number(record["bv"]):
                base_value = float(record["bv"])
        value = record.get("v")
        if type(value) not in _NUMBER:
            if value is not None:
                append((index, "v is not a number"))
            elif any(k in record for k in ("vs", "vb", "vd", "s")):
                append((index, "only numeric values (v) are accepted"))
            elif not any(k in record for k in ("bn", "bt", "bu", "bv", "bver")):
                append((index, "record has no value (v)"))
            continue
        name = record.get("n")
        if base_name:
            name = base_name + (name or "")
        resolved = names.get(name)
        if resolved is None:
            resolved = names[name] = _metric_from_name(name or "", device)
        metric, problem = resolved
        if problem:
            append((index, problem))
            continue
        t = record.get("t", 0)
        if type(t) not in _NUMBER:
            append((index, "t is not a number"))
            continue
        try:
            seconds = base_time + t
            value = base_value + value
        except OverflowError:  # an integer beyond any float
            append((index, "number too large"))
            continue
        if -SENML_RELATIVE_LIMIT < seconds < SENML_RELATIVE_LIMIT:
            seconds += now_s
        append((index, metric, seconds, value, record.get("u", base_unit)))
    return items


def _metric_from_name(name, device):
    """A SenML name is the metric, optionally prefixed by this device's uid, whole (e.g. "urn:dev:<uid>:co2",
    "<uid>/co2").

    Returns (metric, None) or (None, reason): a name that addresses another device is refused."""
    for separator in (":", "/", "."):
        if separator in name:
            prefix, _sep, last = name.rpartition(separator)
            if last in METRICS:
                base = prefix.rstrip(":/.")
                if base[:8].lower() == "urn:dev:":  # RFC 8428's device URN: urn:dev:<uid>
                    base = base[8:]
                if base == device.uid:  # exactly this device: "station" does not answer for "gh1-station"
                    return last, None
                return None, f"{name!r} names another device; this token is for {device.uid}"
    if name in METRICS:
        return name, None
    return None, f"unknown metric {name!r}"


def parse_plain(batch, start=0):
    """[{"metric", "ts", "value"[, "unit"]}] resolved like SenML."""
    items = []
    append = items.append
    times = {}  # ISO 8601 text -> seconds or reason, per batch (a batch repeats each time per metric)
    for index, record in enumerate(batch, start):
        if type(record) is not dict:
            append((index, "not an object"))
            continue
        metric, ts, value = record.get("metric"), record.get("ts"), record.get("value")
        if not isinstance(metric, str):
            append((index, "metric is missing"))
            continue
        if type(value) not in _NUMBER:
            append((index, "value is not a number"))
            continue
        if type(ts) in _NUMBER:
            seconds = ts
        elif isinstance(ts, str):
            seconds = times.get(ts)
            if seconds is None:
                seconds = times[ts] = _iso_seconds(ts)
            if isinstance(seconds, str):
                append((index, seconds))
                continue
        else:
            append((index, "ts is missing"))
            continue
        try:
            append((index, metric, float(seconds), float(value), record.get("unit")))
        except OverflowError:
            append((index, "number too large"))
    return items


def _iso_seconds(text):
    """Epoch seconds of an ISO 8601 time with its offset, or the reason it is not one."""
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return "ts is not an ISO 8601 time or epoch seconds"
    if parsed.tzinfo is None:
        return "ts has no time zone"
    return parsed.timestamp()


def parse_body(body, device, now=None, start=0):
    """Items from a SenML pack or a plain batch; raises ValidationError for a body of neither shape.

    Items are numbered from ``start`` (the MQTT worker numbers a batch of messages as one)."""
    now = now or utcnow()
    if not isinstance(body, list):
        raise ValidationError(_("The body must be a JSON array (SenML or a plain batch)."), {"body": "array"})
    if len(body) > MAX_READINGS:
        raise ValidationError(_("At most %(n)d readings per request.", n=MAX_READINGS), {"body": "too many"})
    senml = any(isinstance(r, dict) and ({"n", "bn", "v", "bt", "t", "u", "bu"} & set(r)) and "metric" not in r
                for r in body[:5])
    return parse_senml(body, device, now, start) if senml else parse_plain(body, start)


# ---------------------------------------------------------------- the one ingest path

EPOCH = dt.datetime(1970, 1, 1)
HOUR_MS = 3_600_000


def _local_days(hours):
    """{hour bucket (epoch ms): start of its day in TIMEZONE (epoch ms)}: a day rollup is the farm's
    calendar day, not UTC's (which would split a Jiangxi day at 08:00)."""
    one = dt.timedelta(milliseconds=1)
    return {hour: (local_day_start(EPOCH + hour * one) - EPOCH) // one for hour in hours}


def local_day_start(when):
    """Start of the TIMEZONE day that holds ``when`` (naive UTC), as naive UTC."""
    local = from_utc_naive(when)
    return to_utc_naive(dt.datetime.combine(local.date(), dt.time(), tzinfo=local.tzinfo))


def _datetimes(milliseconds):
    """{ms: naive UTC datetime} for integer epoch milliseconds."""
    return {ms: EPOCH + dt.timedelta(milliseconds=ms) for ms in milliseconds}


def ingest(device, credential, items, now=None, earliest=None):
    """Validate, convert and store readings for ``device``; returns an IngestResult.

    A live device's readings must lie within PAST_LIMIT before ``now``; ``earliest`` (naive UTC)
    replaces that window's start for a file of history (``sensors.csv_import``)."""
    now = now or utcnow()
    result = IngestResult()
    rejected = result.rejected
    now_s = now.replace(tzinfo=dt.timezone.utc).timestamp()
    latest = now_s + FUTURE_LIMIT.total_seconds()
    if earliest is None:
        earliest, too_old = now_s - PAST_LIMIT.total_seconds(), "timestamp too far in the past"
    else:
        too_old = f"timestamp before {earliest:%Y-%m-%d}"
        earliest = earliest.replace(tzinfo=dt.timezone.utc).timestamp()
    checks = {name: (METRICS[name], METRICS[name].unit, METRICS[name].low, METRICS[name].high)
              for name in device.metric_names if name in METRICS}
    readings = {}  # (metric, ms) -> canonical value; the first of a request's duplicates wins
    for item in items:
        if len(item) == 2:
            rejected.append({"index": item[0], "reason": item[1]})
            continue
        index, name, seconds, value, unit = item
        check = checks.get(name)
        if check is None:
            rejected.append({"index": index, "reason": f"unknown metric {name!r} for this device"})
            continue
        metric, canonical, low, high = check
        if unit is not None and unit != canonical:
            value = metric.convert(value, unit) if math.isfinite(value) else value
            if value is None:
                rejected.append({"index": index, "reason": f"unit {unit!r} does not fit {name} "
                                                           f"(use {', '.join(metric.units)})"})
                continue
        if not low <= value <= high or item[3] in SATURATION:
            rejected.append({"index": index, "reason": _value_problem(item[3], value, metric)})
            continue
        if not earliest <= seconds <= latest:
            reason = "timestamp in the future" if seconds > latest else too_old
            rejected.append({"index": index, "reason": reason})
            continue
        key = (name, round(seconds * 1000))
        if key in readings:
            result.duplicates += 1
        else:
            readings[key] = value
    # Each distinct timestamp is converted once (a pack repeats it for every metric).
    times = _datetimes({ms for _name, ms in readings})
    with database.atomic():
        new = _store(device, credential, list(readings.items()), times)
        result.accepted = len(new)
        result.duplicates += len(readings) - len(new)
        _roll_up(device, new)
        _note_device(device, result, now if new else None)
    if INGEST_LISTENERS:
        stored = [(name, times[ms], value) for (name, ms), value in new]
        for listener in INGEST_LISTENERS:
            listener(device, stored)
    return result


def _value_problem(original, value, metric):
    if not math.isfinite(original):
        return "value is NaN or infinite"
    if original in SATURATION:
        return f"saturated or error value {original:g}"
    return f"{value:g} {metric.unit} is outside {metric.low:g}..{metric.high:g}"


def _store(device, credential, readings, times):
    """Insert the readings ([((metric, ms), value)]) that are new; returns those, in the same shape.

    Each chunk is first inserted plainly (``... ON CONFLICT DO NOTHING``, no RETURNING): when every
    row or no row went in, that says which are new. Only a chunk that partly overlaps what is stored
    (a gateway resending part of a batch) is rolled back to its savepoint and inserted again with
    RETURNING, which names the new rows. SQLite takes multi-row INSERTs; PostgreSQL takes the whole
    batch by COPY into a temporary table and one INSERT ... SELECT (three times the rate of multi-row
    INSERTs there). Timestamps are written as the text the driver would make of the datetimes
    (``isoformat(" ")``), so rows stored here and through the ORM compare and collide alike. The
    statements go straight to the driver: building 10,000-row statements through the ORM costs more
    than the database work itself."""
    texts = {ms: when.isoformat(" ") for ms, when in times.items()}
    postgres = is_postgres()
    size = max(len(readings), 1) if postgres else CHUNK
    new = []
    for start in range(0, len(readings), size):
        chunk = readings[start:start + size]
        rows = [(name, texts[ms], value) for (name, ms), value in chunk]
        with database.atomic() as savepoint:
            inserted = _copy(device, credential, rows) if postgres else _insert(device, credential, rows)
            if inserted == len(rows):
                new.extend(chunk)
            elif inserted:
                savepoint.rollback()
                values = dict(chunk)
                ms_of = {texts[ms]: ms for (_name, ms), _value in chunk}
                for part in range(0, len(rows), CHUNK):
                    for name, ts in _insert(device, credential, rows[part:part + CHUNK], returning=True):
                        ms = ms_of[ts] if isinstance(ts, str) else (ts - EPOCH) // dt.timedelta(milliseconds=1)
                        new.append(((name, ms), values[name, ms]))
    return new


def _insert(device, credential, rows, returning=False):
    """One multi-row INSERT of (metric, ts text, value) rows: the number inserted, or with ``returning``
    the (metric, ts) of the rows that were new."""
    p = database.param
    row = f"({int(device.id)}, {p}, {p}, {p}, {_credential_sql(credential)})"
    sql = (f'INSERT INTO "{Reading._meta.table_name}" (device_id, metric, ts, value, credential_id) VALUES '
           + ", ".join([row] * len(rows)) + " ON CONFLICT (device_id, metric, ts) DO NOTHING")
    params = [x for r in rows for x in r]
    if returning:
        return database.execute_sql(sql + " RETURNING metric, ts", params).fetchall()
    return database.execute_sql(sql, params).rowcount


def _copy(device, credential, rows):
    """PostgreSQL: COPY the (metric, ts text, value) rows into a temporary table, then insert the new
    ones from it; returns how many were inserted. Metric names are known words and values finite
    floats, so the COPY text needs no escaping."""
    cursor = database.cursor()
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS reading_staging "
                   "(metric VARCHAR(32), ts TIMESTAMP, value DOUBLE PRECISION) ON COMMIT DELETE ROWS")
    cursor.execute("TRUNCATE reading_staging")  # earlier batches of this transaction
    cursor.copy_expert("COPY reading_staging (metric, ts, value) FROM STDIN",
                       io.StringIO("".join([f"{name}\t{ts}\t{value!r}\n" for name, ts, value in rows])))
    cursor.execute(f'INSERT INTO "{Reading._meta.table_name}" (device_id, metric, ts, value, credential_id) '
                   f"SELECT {int(device.id)}, metric, ts, value, {_credential_sql(credential)} FROM reading_staging "
                   "ON CONFLICT (device_id, metric, ts) DO NOTHING")
    return cursor.rowcount


def _credential_sql(credential):
    return int(credential.id) if credential is not None else "NULL"


def _roll_up(device, rows):
    """Add new rows ([((metric, ms), value)]) to their hourly and daily rollups."""
    if not rows:
        return
    hours = defaultdict(list)
    for (name, ms), value in rows:
        hours[name, ms - ms % HOUR_MS].append(value)
    day_of = _local_days({hour for _name, hour in hours})
    buckets = {}
    days = {}
    for (name, hour), values in hours.items():
        stats = (len(values), math.fsum(values), min(values), max(values))
        buckets[name, "hour", hour] = stats
        key = (name, "day", day_of[hour])
        day = days.get(key)
        days[key] = stats if day is None else (day[0] + stats[0], day[1] + stats[1],
                                               min(day[2], stats[2]), max(day[3], stats[3]))
    buckets.update(days)
    starts = _datetimes({start for _name, _period, start in buckets})
    values = [(device.id, name, period, starts[start], c, s, lo, hi)
              for (name, period, start), (c, s, lo, hi) in buckets.items()]
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


def metric_label(name):
    """The metric's name in the page's language."""
    metric = METRICS.get(name)
    if metric is None:
        return name
    return metric.label_zh if str(get_locale() or "zh").startswith("zh") else metric.label_en


def describe_conditions(conditions):
    """``growing_conditions`` as [{"label", "value"}] lines in the page's language."""
    lines = []
    for c in conditions:
        unit = unit_label(c.get("unit", ""))
        unit = f" {unit}" if unit and unit != "%" else unit
        shown = {key: f"{c[key]:g}{unit}" for key in ("min", "max", "mean", "total") if key in c}
        if "total" in c:
            value = _("%(total)s in all over %(days)d days", total=shown["total"], days=c["days"])
        else:
            value = _("%(low)s to %(high)s, mean %(mean)s, over %(days)d days", low=shown["min"],
                      high=shown["max"], mean=shown["mean"], days=c["days"])
        lines.append({"label": metric_label(c["metric"]), "value": value})
    return lines


# Metrics summed over the season rather than averaged (a rain gauge reports millimetres per interval).
SUMMED = {"rainfall"}


def growing_conditions(plot_ids, since, until):
    """What the sensors on ``plot_ids`` saw between ``since`` and ``until`` (naive UTC), per metric, from
    the daily rollups: [{"metric", "unit", "min", "mean", "max", "days", "from", "to"}] with "total"
    instead of "mean" for rainfall; metrics in the order of ``METRICS``. Empty without sensor data."""
    if not plot_ids:
        return []
    devices = Device.select(Device.id).where(Device.plot.in_(list(plot_ids)))
    rows = (Rollup.select(Rollup.metric, pw.fn.MIN(Rollup.minimum), pw.fn.MAX(Rollup.maximum),
                          pw.fn.SUM(Rollup.total), pw.fn.SUM(Rollup.count),
                          pw.fn.COUNT(Rollup.start.distinct()), pw.fn.MIN(Rollup.start), pw.fn.MAX(Rollup.start))
            .where(Rollup.device.in_(devices) & (Rollup.period == "day") & (Rollup.start >= local_day_start(since))
                   & (Rollup.start <= until))
            .group_by(Rollup.metric).tuples())
    found = {}
    for metric, low, high, total, count, days, first, last in rows:
        if metric not in METRICS or not count:
            continue
        summary = {"metric": metric, "unit": METRICS[metric].unit, "min": round(low, 1), "max": round(high, 1),
                   "days": days, "from": _day(first), "to": _day(last)}
        if metric in SUMMED:
            summary["total"] = round(total, 1)
        else:
            summary["mean"] = round(total / count, 1)
        found[metric] = summary
    return [found[m] for m in METRICS if m in found]


def _day(value):
    """A day rollup's start (naive UTC; text from SQLite) as its date in TIMEZONE."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return from_utc_naive(value).date().isoformat()


def purge_raw(older_than_days):
    """Delete raw readings older than the retention; rollups stay. Returns how many were deleted."""
    cutoff = utcnow() - dt.timedelta(days=older_than_days)
    return Reading.delete().where(Reading.ts < cutoff).execute()


# ---------------------------------------------------------------- figures for the agriculture bureau


def _local_midnight(day):
    from web.clock import local_zone

    return to_utc_naive(dt.datetime.combine(day, dt.time(), tzinfo=local_zone()))


def bureau_daily_figures(day_from, day_to):
    """Yield (county, local day, "readings", "", count) from the daily rollups, not the raw readings."""
    county_of = farms.farm_counties()
    start, end = _local_midnight(day_from), _local_midnight(day_to + dt.timedelta(days=1))
    tally = {}
    rows = (Rollup.select(Device.farm, Rollup.start, pw.fn.SUM(Rollup.count)).join(Device)
            .where((Rollup.period == "day") & (Rollup.start >= start) & (Rollup.start < end))
            .group_by(Device.farm, Rollup.start).tuples())
    for farm_id, start_, count in rows.iterator():
        county = county_of.get(farm_id)
        if county is None:
            continue
        if isinstance(start_, str):
            start_ = dt.datetime.fromisoformat(start_)
        key = (county, from_utc_naive(start_).date())
        tally[key] = tally.get(key, 0) + (count or 0)
    for (county, day), count in tally.items():
        yield county, day, "readings", "", count


def bureau_stock_figures(day, now=None, silent_minutes=30):
    """Yield (county, metric, "", value) at the end of the local day ``day``: ``devices`` (active, created by then)
    and ``devices_online``: for today, those heard within ``silent_minutes`` of ``now``; for a past day, those that
    reported that day."""
    county_of = farms.farm_counties()
    now = now or utcnow()
    end = _local_midnight(day + dt.timedelta(days=1))
    counts = {}
    for farm_id, in Device.select(Device.farm).where(Device.active & (Device.created_at < end)).tuples():
        county = county_of.get(farm_id)
        if county:
            counts[(county, "devices")] = counts.get((county, "devices"), 0) + 1
    if end > now:
        online = (Device.select(Device.farm).where(
            Device.active & (Device.last_seen_at >= now - dt.timedelta(minutes=silent_minutes))).tuples())
    else:
        online = (Device.select(Device.farm).where(Device.active & Device.id.in_(
            Rollup.select(Rollup.device).where((Rollup.period == "day") & (Rollup.start == _local_midnight(day)))))
            .tuples())
    for farm_id, in online:
        county = county_of.get(farm_id)
        if county:
            counts[(county, "devices_online")] = counts.get((county, "devices_online"), 0) + 1
    for (county, metric), value in counts.items():
        yield county, metric, "", value
