"""The agriculture bureau: the only door into its tallies, summaries and jurisdiction.

Figures come from the other domains' services (``farms``, ``sensors``, ``trace``, ``chain``), which count
per county and local day; ``refresh`` writes them into ``Tally`` rows (days, and months as the sums of their
days) and snapshots the standing figures (farms, planted area, devices) once per run. A summary adds up
tally rows of the counties under a division: months for the whole months of the period, days for its edges.
"""
import csv
import datetime as dt
import io
from dataclasses import dataclass, field

import peewee as pw
from flask import current_app
from flask_babel import gettext as _

from bureau.models import RefreshMark, Snapshot, Tally
from chain import service as chain
from farms import service as farms
from sensors import service as sensors
from trace import service as trace
from web import divisions
from web.clock import from_utc_naive, utcnow
from web.db import database, is_postgres
from web.permissions import Denied

GROUP_BY = ("county", "city", "crop", "month")
PERIODS = ("day", "week", "month", "custom")
MAX_DAYS = 5 * 365 + 1  # a range of at most five years
FLOW_METRICS = ("pesticide_applications", "alerts", "alerts_acked", "ack_minutes", "inspections",
                "inspections_passed", "phi_refusals", "scans", "readings", "batches", "harvest_kg",
                "batches_anchored")
STOCK_METRICS = ("farms", "certified_farms", "active_plantings", "area_mu", "devices", "devices_online")
CROP_METRICS = ("area_mu", "active_plantings", "batches", "harvest_kg")
HISTORY_DAYS = MAX_DAYS  # how far back a rebuild reaches


class BadParameter(Exception):
    """A summary parameter that cannot be used: ``fields`` says which and why."""

    def __init__(self, message, fields):
        super().__init__(message)
        self.message, self.fields = message, fields


# ---------------------------------------------------------------- who sees what


def may_use(user):
    return user is not None and (user.role == "admin" or (user.role == "bureau" and bool(user.division_code)))


def home_division(user):
    return "360000" if user.role == "admin" else user.division_code


def division_for(user, code=None):
    """The division ``code`` (default: the user's own), checked: unknown -> BadParameter, outside the
    user's jurisdiction -> Denied(403)."""
    if not may_use(user):
        raise Denied(403, _("Only agriculture bureau accounts see these summaries."))
    code = (code or home_division(user)).strip()
    if len(code) != 6 or not code.isdigit() or divisions.get(code) is None:
        raise BadParameter(_("Unknown division code."), {"division": _("Not a GB/T 2260 code of this province.")})
    if user.role != "admin" and not divisions.covers(user.division_code, code):
        raise Denied(403, _("This division is outside your jurisdiction."))
    return divisions.get(code)


def counties_under(code):
    prefix = divisions.prefix(code)
    return [d for d in divisions.counties() if d.code.startswith(prefix)]


def children_of(division):
    """The divisions one level down (cities of the province, counties of a city; a county has none)."""
    if division.level == "county":
        return []
    return list(divisions.Division.select().where(divisions.Division.parent_code == division.code)
                .order_by(divisions.Division.code))


def city_of(county_code):
    return county_code[:4] + "00"


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    kind: str = "custom"

    @property
    def days(self):
        return (self.end - self.start).days + 1


def _date(value, name):
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadParameter(_("Some parameters need correcting."),
                           {name: _("A date as YYYY-MM-DD.")}) from None


def local_today():
    return from_utc_naive(utcnow()).date()


def period_from(args):
    """The period of a request: ``from``/``to`` (custom), or ``period`` day|week|month ending on ``to``
    (default today). Raises BadParameter."""
    kind = (args.get("period") or "").strip() or None
    if kind is not None and kind not in PERIODS:
        raise BadParameter(_("Some parameters need correcting."), {"period": _("One of: day, week, month, custom.")})
    end = _date(args["to"], "to") if args.get("to") else local_today()
    if args.get("from"):
        start = _date(args["from"], "from")
        kind = kind or "custom"
    elif kind == "day":
        start = end
    elif kind == "week":
        start = end - dt.timedelta(days=end.weekday())
    else:
        kind = kind if kind not in (None, "custom") else "month"
        start = end.replace(day=1)
    if start > end:
        raise BadParameter(_("The start of the period is after its end."), {"from": _("After “to”.")})
    if (end - start).days + 1 > MAX_DAYS:
        raise BadParameter(_("The period is longer than five years."), {"to": _("At most five years after “from”.")})
    return Period(start, end, kind)


def month_start(day):
    return day.replace(day=1)


def next_month(day):
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_back(end, months):
    """The first day of the month ``months - 1`` months before ``end``'s (``months`` months up to ``end``)."""
    first = month_start(end)
    for _i in range(months - 1):
        first = month_start(first - dt.timedelta(days=1))
    return first


def month_end(day):
    return next_month(day) - dt.timedelta(days=1)


# ---------------------------------------------------------------- keeping the tallies


def _contiguous(days):
    """Sorted days as [(first, last), ...] runs."""
    runs = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [tuple(r) for r in runs]


TALLY_COLUMNS = ("period", "start", "county_code", "metric", "key", "value")


def _insert(rows):
    """Insert tally rows (dicts) with one prepared statement: building each row's SQL in the ORM costs more
    than the refresh's queries."""
    values = [tuple(row[c] for c in TALLY_COLUMNS) for row in rows]
    if not values:
        return 0
    columns = ", ".join(f'"{c}"' for c in TALLY_COLUMNS)
    table = Tally._meta.table_name
    cursor = database.cursor()
    if is_postgres():
        from psycopg2.extras import execute_values

        execute_values(cursor, f'INSERT INTO "{table}" ({columns}) VALUES %s', values, page_size=1000)
    else:
        values = [(p, start.isoformat(), c, m, k, v) for p, start, c, m, k, v in values]
        cursor.executemany(f'INSERT INTO "{table}" ({columns}) VALUES (?, ?, ?, ?, ?, ?)', values)
    return len(values)


def _flow_rows(first, last):
    """{(county, day, metric, key): value} of the days first..last, from every domain's service."""
    tally = {}

    def add(county, day, metric, key, value):
        if county:
            tally[(county, day, metric, key)] = tally.get((county, day, metric, key), 0) + value

    for source in (farms.bureau_daily_figures, trace.bureau_daily_figures, sensors.bureau_daily_figures):
        for county, day, metric, key, value in source(first, last):
            add(county, day, metric, key, value)
    batches = list(trace.harvest_batches(first, last))
    anchored = chain.anchored_batch_ids([b[0] for b in batches])
    for batch_id, county, day, crop, kg, _unit in batches:
        add(county, day, "batches", crop, 1)
        if kg is not None:
            add(county, day, "harvest_kg", crop, kg)
        if batch_id in anchored:
            add(county, day, "batches_anchored", "", 1)
    return tally


def _write_days(first, last):
    tally = _flow_rows(first, last)
    Tally.delete().where((Tally.period == "day") & (Tally.start >= first) & (Tally.start <= last)
                         & Tally.metric.in_(FLOW_METRICS)).execute()
    return _insert({"period": "day", "start": day, "county_code": county, "metric": metric, "key": key,
                    "value": value} for (county, day, metric, key), value in tally.items())


def _write_months(months):
    """Month rows as the sums of their day rows."""
    for start in sorted(months):
        end = month_end(start)
        Tally.delete().where((Tally.period == "month") & (Tally.start == start)).execute()
        sums = (Tally.select(Tally.county_code, Tally.metric, Tally.key, pw.fn.SUM(Tally.value))
                .where((Tally.period == "day") & (Tally.start >= start) & (Tally.start <= end)
                       & Tally.metric.in_(FLOW_METRICS))
                .group_by(Tally.county_code, Tally.metric, Tally.key).tuples())
        _insert([{"period": "month", "start": start, "county_code": county, "metric": metric, "key": key,
                  "value": value} for county, metric, key, value in sums])


def _snapshot(day, now):
    """The standing figures at the end of ``day`` (for today: as they stand now)."""
    silent = current_app.config["SENSOR_SILENT_MINUTES"]
    rows = [(county, metric, key, value) for county, metric, key, value in farms.bureau_stock_figures(day)]
    rows += list(sensors.bureau_stock_figures(day, now=now, silent_minutes=silent))
    Tally.delete().where((Tally.period == "day") & (Tally.start == day) & Tally.metric.in_(STOCK_METRICS)).execute()
    _insert({"period": "day", "start": day, "county_code": county, "metric": metric, "key": key, "value": value}
            for county, metric, key, value in rows if county)
    Snapshot.insert(day=day, taken_at=now).on_conflict(
        conflict_target=[Snapshot.day], preserve=[Snapshot.taken_at]).execute()


@dataclass
class RefreshReport:
    days: int = 0
    rows: int = 0
    snapshots: int = 0
    runs: list = field(default_factory=list)


def refresh(now=None, rebuild=False, history_days=HISTORY_DAYS):
    """Bring the tallies up to date. Incremental: the days whose figures changed since the last run (as the
    services report them), today and yesterday; ``rebuild`` recomputes ``history_days`` back from today and
    snapshots every month's end on the way. Returns a RefreshReport."""
    now = now or utcnow()
    today = from_utc_naive(now).date()
    report = RefreshReport()
    with database.atomic():
        mark = RefreshMark.get_or_none(RefreshMark.name == "tallies")
        if rebuild or mark is None:
            first = today - dt.timedelta(days=history_days)
            days = {first + dt.timedelta(days=i) for i in range((today - first).days + 1)}
            snapshot_days = {month_end(d) for d in days if month_end(d) < today}
            snapshot_days |= {today - dt.timedelta(days=i) for i in range(1, 31)}
        else:
            since = mark.refreshed_at - dt.timedelta(minutes=1)  # rows committed while the last run read
            days = {today, today - dt.timedelta(days=1)}
            days |= farms.bureau_changed_days(since)
            days |= trace.bureau_changed_days(since)
            days |= trace.harvest_days_of(chain.batches_confirmed_since(since))
            days = {d for d in days if d is not None and today - dt.timedelta(days=MAX_DAYS) <= d <= today}
            snapshot_days = set()
        for first_day, last_day in _contiguous(days):
            report.rows += _write_days(first_day, last_day)
            report.runs.append((first_day, last_day))
        _write_months({month_start(d) for d in days})
        for day in sorted(snapshot_days) + [today]:
            _snapshot(day, now)
        report.days, report.snapshots = len(days), len(snapshot_days) + 1
        RefreshMark.insert(name="tallies", refreshed_at=now).on_conflict(
            conflict_target=[RefreshMark.name], preserve=[RefreshMark.refreshed_at]).execute()
    return report


def refreshed_at():
    mark = RefreshMark.get_or_none(RefreshMark.name == "tallies")
    return mark.refreshed_at if mark else None


# ---------------------------------------------------------------- summaries


def _segments(start, end):
    """[(period, first start, last start)] covering start..end: whole months as month rows, edges as days."""
    first_whole = start if start.day == 1 else next_month(start)
    last_whole = month_start(end) if end == month_end(end) else month_start(month_start(end) - dt.timedelta(days=1))
    if first_whole > last_whole:
        return [("day", start, end)]
    segments = [("month", first_whole, last_whole)]
    if start < first_whole:
        segments.append(("day", start, first_whole - dt.timedelta(days=1)))
    if end > month_end(last_whole):
        segments.append(("day", month_end(last_whole) + dt.timedelta(days=1), end))
    return segments


def _in_division(prefix):
    """The tally rows of the counties under a division: the province takes every row; a city or county lists its
    counties (equality lookups an index serves, where LIKE on a prefix needs a C collation)."""
    if len(prefix) == 2:  # a range, not LIKE: the planner keeps the (period, start) index
        return (Tally.county_code >= prefix) & (Tally.county_code < str(int(prefix) + 1))
    return Tally.county_code.in_([c.code for c in counties_under(prefix.ljust(6, "0"))] or [prefix])


def _flows(prefix, start, end, by=None, by_month=False):
    """Yield (area, month or None, metric, key, value) summed over start..end, where area is the county (``by``
    "county"), the city ("city") or None (the whole division: the database adds the counties up)."""
    area = {"county": Tally.county_code, "city": pw.fn.SUBSTR(Tally.county_code, 1, 4)}.get(by)
    columns = ([area] if area is not None else []) + [Tally.metric, Tally.key] + ([Tally.start] if by_month else [])
    sums = {}
    for period, first, last in _segments(start, end):  # one query a segment: each an index range
        query = (Tally.select(*columns, pw.fn.SUM(Tally.value))
                 .where((Tally.period == period) & (Tally.start >= first) & (Tally.start <= last)
                        & _in_division(prefix) & Tally.metric.in_(FLOW_METRICS))
                 .group_by(*columns).tuples())
        for row in query:
            row = list(row)
            code = row.pop(0) if area is not None else None
            if by == "city":
                code = code + "00"
            month = None
            if by_month:
                month = row.pop(2)
                if isinstance(month, str):
                    month = dt.date.fromisoformat(month[:10])
                month = month_start(month)
            metric, key, value = row
            sums[(code, month, metric, key)] = sums.get((code, month, metric, key), 0) + value
    for (code, month, metric, key), value in sums.items():
        yield code, month, metric, key, value


def _snapshot_day(end):
    day = Snapshot.select(pw.fn.MAX(Snapshot.day)).where(Snapshot.day <= end).scalar()
    if isinstance(day, str):
        day = dt.date.fromisoformat(day[:10])
    return day


def _stocks(prefix, day):
    """Yield (county, metric, key, value) of the snapshot of ``day``."""
    if day is None:
        return
    yield from (Tally.select(Tally.county_code, Tally.metric, Tally.key, Tally.value)
                .where((Tally.period == "day") & (Tally.start == day) & _in_division(prefix)
                       & Tally.metric.in_(STOCK_METRICS)).tuples())


def _median_minutes(histogram):
    """The median of {minutes: count}."""
    total = int(sum(histogram.values()))
    if not total:
        return None
    wanted = sorted({(total - 1) // 2, total // 2})
    found, seen = [], 0
    for minutes in sorted(histogram):
        count = int(histogram[minutes])
        while wanted and wanted[0] < seen + count:
            found.append(minutes)
            wanted.pop(0)
        seen += count
    return sum(found) / len(found)


def _percent(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def figures(values, crop_names=None):
    """The summary's figures from {(metric, key): value}."""
    crop_names = crop_names or {}

    def by_key(metric):
        return {k: v for (m, k), v in values.items() if m == metric and v}

    def total(metric):
        return sum(v for (m, _k), v in values.items() if m == metric)

    def crop_label(code):
        names = crop_names.get(code)
        return names[0] if names else code

    area = by_key("area_mu")
    batches, harvest = by_key("batches"), by_key("harvest_kg")
    alerts, acked = by_key("alerts"), by_key("alerts_acked")
    by_source = {}
    for key, count in alerts.items():
        source, _sep, level = key.partition(":")
        by_source.setdefault(source, {})[level] = int(count)
    alerts_total, acked_total = total("alerts"), total("alerts_acked")
    histogram = {int(k): v for k, v in by_key("ack_minutes").items() if k.isdigit()}
    inspections, passed = total("inspections"), total("inspections_passed")
    batches_total, anchored = total("batches"), total("batches_anchored")
    devices, online = total("devices"), total("devices_online")
    return {
        "farms": int(total("farms")),
        "certified_farms": int(total("certified_farms")),
        "planted_area_mu": {"total": round(sum(area.values()), 1),
                            "by_crop": [{"crop": c, "name": crop_label(c), "mu": round(v, 1)}
                                        for c, v in sorted(area.items(), key=lambda kv: -kv[1])]},
        "active_plantings": int(total("active_plantings")),
        "harvest": {"batches": int(batches_total), "kg": round(total("harvest_kg"), 1),
                    "by_product": [{"product": c, "name": crop_label(c), "batches": int(batches.get(c, 0)),
                                    "kg": round(harvest.get(c, 0), 1)}
                                   for c in sorted(set(batches) | set(harvest), key=lambda c: -batches.get(c, 0))]},
        "pesticide_applications": {"total": int(total("pesticide_applications")),
                                   "by_active_ingredient": {k: int(v) for k, v in sorted(
                                       by_key("pesticide_applications").items(), key=lambda kv: -kv[1])}},
        "phi_refusals": int(total("phi_refusals")),
        "inspections": {"count": int(inspections), "passed": int(passed), "pass_rate": _percent(passed, inspections)},
        "batches_anchored": {"count": int(anchored), "of": int(batches_total),
                             "percent": _percent(anchored, batches_total)},
        "alerts": {"total": int(alerts_total), "by_source": by_source, "acknowledged": int(acked_total),
                   "ack_rate": _percent(acked_total, alerts_total),
                   "median_minutes_to_ack": _median_minutes(histogram)},
        "sensors": {"devices": int(devices), "online": int(online), "online_percent": _percent(online, devices),
                    "readings": int(total("readings"))},
        "consumer_scans": int(total("scans")),
    }


def _add(target, key, value):
    target[key] = target.get(key, 0) + value


def summary(user, code=None, period=None, group_by=None):
    """The figures of a division over a period, optionally grouped by county, city, crop or month. Raises
    BadParameter or Denied (see ``division_for``)."""
    division = division_for(user, code)
    if group_by is not None and group_by not in GROUP_BY:
        raise BadParameter(_("Some parameters need correcting."),
                           {"group_by": _("One of: county, city, crop, month.")})
    period = period or Period(local_today().replace(day=1), local_today(), "month")
    prefix = divisions.prefix(division.code)
    crop_names = farms.crop_names()
    total, groups = {}, {}
    snapshot_day = _snapshot_day(period.end)

    def group_of(county, month=None, key=""):
        if group_by == "county":
            return county
        if group_by == "city":
            return city_of(county)
        if group_by == "month":
            return month
        if group_by == "crop":
            return key
        return None

    by = group_by if group_by in ("county", "city") else None
    for county, month, metric, key, value in _flows(prefix, period.start, period.end, by=by,
                                                    by_month=group_by == "month"):
        _add(total, (metric, key), value)
        if group_by == "crop" and metric not in CROP_METRICS:
            continue
        if group_by:
            _add(groups.setdefault(group_of(county, month, key), {}), (metric, key), value)
    for county, metric, key, value in _stocks(prefix, snapshot_day):
        _add(total, (metric, key), value)
        if group_by in ("county", "city") or (group_by == "crop" and metric in CROP_METRICS):
            _add(groups.setdefault(group_of(county, key=key), {}), (metric, key), value)
    if group_by == "month":
        month = month_start(period.start)
        while month <= period.end:
            day = _snapshot_day(min(month_end(month), period.end))
            for county, metric, key, value in _stocks(prefix, day):
                _add(groups.setdefault(month, {}), (metric, key), value)
            month = next_month(month)

    rows = []
    if group_by in ("county", "city"):
        if group_by == "county":
            members = counties_under(division.code)
        else:
            cities = {city_of(c.code) for c in counties_under(division.code)}
            members = [divisions.get(c) for c in sorted(cities) if divisions.get(c) is not None]
        rows = [dict(code=d.code, name=d.name, **figures(groups.get(d.code, {}), crop_names)) for d in members]
    elif group_by == "month":
        month = month_start(period.start)
        while month <= period.end:
            rows.append(dict(month=month.strftime("%Y-%m"), **figures(groups.get(month, {}), crop_names)))
            month = next_month(month)
    elif group_by == "crop":
        for crop in sorted(groups, key=lambda c: -groups[c].get(("area_mu", c), 0)):
            values = groups[crop]
            rows.append({"crop": crop, "name": crop_names.get(crop, (crop,))[0],
                         "planted_area_mu": round(values.get(("area_mu", crop), 0), 1),
                         "active_plantings": int(values.get(("active_plantings", crop), 0)),
                         "harvest_batches": int(values.get(("batches", crop), 0)),
                         "harvest_kg": round(values.get(("harvest_kg", crop), 0), 1)})
    result = {
        "division": {"code": division.code, "name": division.name, "level": division.level,
                     "full_name": divisions.full_name(division.code)},
        "from": period.start.isoformat(), "to": period.end.isoformat(), "period": period.kind,
        "group_by": group_by, "standing_figures_at": snapshot_day.isoformat() if snapshot_day else None,
        "refreshed_at": refreshed_at(),
        "totals": figures(total, crop_names),
    }
    if group_by:
        result["rows"] = rows
    return result


def monthly_series(user, code, months=12, end=None):
    """{child division code (or the division's own for a county): [harvest kg per month]} over the last
    ``months`` months up to ``end``, for the dashboard's trend lines."""
    division = division_for(user, code)
    end = end or local_today()
    first = months_back(end, months)
    starts = [first]
    while len(starts) < months:
        starts.append(next_month(starts[-1]))
    children = children_of(division) or [division]
    series = {c.code: {"harvest_kg": [0.0] * months, "alerts": [0] * months} for c in children}
    index = {s: i for i, s in enumerate(starts)}
    by = {"province": "city", "prefecture": "county"}.get(division.level)
    for area, month, metric, _key, value in _flows(divisions.prefix(division.code), first, end, by=by,
                                                   by_month=True):
        child = area or division.code
        if metric in ("harvest_kg", "alerts") and child in series and month in index:
            series[child][metric][index[month]] += value
    return [s.strftime("%Y-%m") for s in starts], series


# ---------------------------------------------------------------- drill-down


def farms_of(user, code, period):
    """The farms of a county (names and aggregate figures only), for a bureau that covers it."""
    division = division_for(user, code)
    if division.level != "county":
        raise BadParameter(_("Farms are listed per county."), {"division": _("Choose a county.")})
    rows = farms.bureau_farms(division.code)
    extra = trace.bureau_farm_figures([r["id"] for r in rows], period.start, period.end)
    for row in rows:
        row.update(extra.get(row["id"], {}))
    return division, rows


def open_alerts(user, code, limit=10):
    """The most severe and newest open alerts on the division's farms (the farms service checks the user)."""
    division = division_for(user, code)
    prefix = divisions.prefix(division.code)
    return [a for a in farms.open_alerts(user, limit=500) if a.farm.county_code.startswith(prefix)][:limit]


def map_points(user, code):
    """The division's farms with a position and their open alerts, for the dashboard's map."""
    division = division_for(user, code)
    return farms.bureau_farm_points(divisions.prefix(division.code))


# ---------------------------------------------------------------- CSV


def csv_columns(group_by):
    if group_by == "crop":
        return [("crop", _("Crop code")), ("name", _("Crop")), ("planted_area_mu", _("Planted area (mu)")),
                ("active_plantings", _("Active plantings")), ("harvest_batches", _("Harvest batches")),
                ("harvest_kg", _("Harvest (kg)"))]
    first = [("month", _("Month"))] if group_by == "month" else [("code", _("Division code")), ("name", _("Division"))]
    return first + [
        ("farms", _("Farms")), ("certified_farms", _("Certified farms")),
        ("planted_area_mu", _("Planted area (mu)")), ("active_plantings", _("Active plantings")),
        ("harvest_batches", _("Harvest batches")), ("harvest_kg", _("Harvest (kg)")),
        ("pesticide_applications", _("Pesticide applications")), ("phi_refusals", _("Pre-harvest interval refusals")),
        ("inspections", _("Inspections")), ("pass_rate", _("Pass rate (per cent)")),
        ("batches_anchored", _("Batches anchored")), ("anchored_percent", _("Anchored (per cent)")),
        ("alerts", _("Alerts")), ("sensor_alerts", _("Sensor alerts")), ("weather_alerts", _("Weather alerts")),
        ("ack_rate", _("Acknowledged (per cent)")), ("median_minutes_to_ack", _("Median minutes to acknowledge")),
        ("devices", _("Sensor devices")), ("online_percent", _("Online (per cent)")), ("readings", _("Readings")),
        ("consumer_scans", _("Consumer scans")),
    ]


def flat(row):
    """One summary row (or the totals) as the CSV's columns."""
    if "crop" in row:
        return row
    alerts = row["alerts"]
    return dict(
        row, planted_area_mu=row["planted_area_mu"]["total"], harvest_batches=row["harvest"]["batches"],
        harvest_kg=row["harvest"]["kg"], pesticide_applications=row["pesticide_applications"]["total"],
        inspections=row["inspections"]["count"], pass_rate=row["inspections"]["pass_rate"],
        batches_anchored=row["batches_anchored"]["count"], anchored_percent=row["batches_anchored"]["percent"],
        alerts=alerts["total"], sensor_alerts=sum(alerts["by_source"].get("sensor", {}).values()),
        weather_alerts=sum(alerts["by_source"].get("weather", {}).values()), ack_rate=alerts["ack_rate"],
        median_minutes_to_ack=alerts["median_minutes_to_ack"], devices=row["sensors"]["devices"],
        online_percent=row["sensors"]["online_percent"], readings=row["sensors"]["readings"])


def to_csv(result):
    """The summary as CSV text (the caller encodes it UTF-8 with BOM, for Excel)."""
    columns = csv_columns(result["group_by"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _name, label in columns])
    rows = result.get("rows") or []
    if result["group_by"] != "crop":
        division = result["division"]
        total = dict(result["totals"], code=division["code"], name=_("%(name)s (total)", name=division["name"]),
                     month=_("Total"))
        rows = rows + [total]
    for row in rows:
        values = flat(row)
        writer.writerow(["" if values.get(name) is None else values.get(name) for name, _label in columns])
    return out.getvalue()
