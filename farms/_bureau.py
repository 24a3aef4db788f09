"""Figures for the agriculture bureau.

Counts per county and local day (TIMEZONE), read by the bureau's refresh job into its tallies.
Nothing personal: counts, areas and ingredient names only.
"""
import datetime as dt

import peewee as pw

from farms._farms import certifications_of
from farms._logbook import _local_midnight_utc
from farms.models import ALERT_LEVELS, MU_IN_M2, PESTICIDE_CATEGORIES, Alert, Certification, Crop, Farm, Log, Planting, Plot
from web.clock import from_utc_naive, utcnow


def _local_day(when):
    return from_utc_naive(when).date()


def _utc_bounds(day_from, day_to):
    """[start, end) in naive UTC of the local days ``day_from``..``day_to``."""
    return _local_midnight_utc(day_from), _local_midnight_utc(day_to + dt.timedelta(days=1))


def bureau_daily_figures(day_from, day_to):
    """Yield (county, local day, metric, key, value) for what happened on the days ``day_from``..``day_to``:

    - ``pesticide_applications`` by active ingredient (an input log of a pesticide category);
    - ``alerts`` by "source:level" (raised that day), ``alerts_acked`` likewise (of those raised that day),
      and ``ack_minutes`` keyed by the minutes from raising to acknowledging (see ``_ack_bucket``), counting alerts.
    """
    start, end = _utc_bounds(day_from, day_to)
    tally = {}

    def add(county, day, metric, key, value=1):
        tally[(county, day, metric, key)] = tally.get((county, day, metric, key), 0) + value

    logs = (Log.select(Farm.county, Log.timestamp, Log.active_ingredient, Log.product_name).join(Farm)
            .where((Log.kind == "input") & Log.input_category.in_(PESTICIDE_CATEGORIES)
                   & (Log.timestamp >= start) & (Log.timestamp < end)).tuples())
    for county, when, ingredient, product in logs.iterator():
        add(county, _local_day(when), "pesticide_applications", (ingredient or product or "?")[:120])
    alerts_ = (Alert.select(Farm.county, Alert.created_at, Alert.source, Alert.severity, Alert.acknowledged_at)
               .join(Farm).where((Alert.created_at >= start) & (Alert.created_at < end)).tuples())
    for county, created, source, level, acked in alerts_.iterator():
        day = _local_day(created)
        key = f"{source}:{level}"
        add(county, day, "alerts", key)
        if acked is not None:
            add(county, day, "alerts_acked", key)
            add(county, day, "ack_minutes", str(_ack_bucket(max(0, int((acked - created).total_seconds() // 60)))))
    for (county, day, metric, key), value in tally.items():
        yield county, day, metric, key, value


def _ack_bucket(minutes):
    """Minutes to acknowledge, to the minute below an hour, to 10 minutes below 10 hours, to the hour below two
    days, then to the day (a median a bureau reads; the tallies keep few keys)."""
    for limit, step in ((60, 1), (600, 10), (2880, 60)):
        if minutes < limit:
            return minutes - minutes % step
    return minutes - minutes % 1440


def bureau_changed_days(since):
    """Local days whose ``bureau_daily_figures`` may have changed since ``since`` (naive UTC)."""
    days = set()
    for (when,) in (Log.select(Log.timestamp).where((Log.kind == "input") & (Log.created_at >= since))
                    .tuples().iterator()):
        days.add(_local_day(when))
    for (when,) in (Alert.select(Alert.created_at)
                    .where((Alert.created_at >= since) | (Alert.acknowledged_at >= since)).tuples().iterator()):
        days.add(_local_day(when))
    return days


def bureau_stock_figures(day):
    """Yield (county, metric, key, value) standing at the end of the local day ``day``: ``farms``,
    ``certified_farms`` (a certification not expired), ``active_plantings`` and ``area_mu`` by crop code
    (the area of the plots a crop grows on)."""
    _start, end = _utc_bounds(day, day)
    for county, count in (Farm.select(Farm.county, pw.fn.COUNT(Farm.id)).where(Farm.created_at < end)
                          .group_by(Farm.county).tuples()):
        yield county, "farms", "", count
    certified = (Certification.select(Certification.farm).distinct()
                 .where(Certification.valid_until.is_null() | (Certification.valid_until >= day)))
    for county, count in (Farm.select(Farm.county, pw.fn.COUNT(Farm.id))
                          .where((Farm.created_at < end) & Farm.id.in_(certified))
                          .group_by(Farm.county).tuples()):
        yield county, "certified_farms", "", count
    active = ((Planting.start_date <= day) & (Planting.ended_on.is_null() | (Planting.ended_on >= day)))
    for county, crop, count in (Planting.select(Farm.county, Crop.code, pw.fn.COUNT(Planting.id))
                                .join(Crop).switch(Planting).join(Plot).join(Farm).where(active)
                                .group_by(Farm.county, Crop.code).tuples()):
        yield county, "active_plantings", crop, count
    area, seen = {}, set()
    for county, crop, plot_id, m2 in (Planting.select(Farm.county, Crop.code, Plot.id, Plot.area_m2)
                                      .join(Crop).switch(Planting).join(Plot).join(Farm).where(active)
                                      .tuples().iterator()):
        if (plot_id, crop) not in seen:  # two plantings of one crop on a plot count its area once
            seen.add((plot_id, crop))
            area[(county, crop)] = area.get((county, crop), 0) + (m2 or 0) / MU_IN_M2
    for (county, crop), mu in area.items():
        yield county, "area_mu", crop, round(mu, 4)


def bureau_farms(county_code, limit=500):
    """Farms of one county for the bureau's drill-down: name, certification, plots' area, active plantings.
    No people and no contact details."""
    farm_rows = list(Farm.select(Farm.id, Farm.name, Farm.county).where(Farm.county == county_code)
                     .order_by(Farm.name).limit(limit))
    ids = [f.id for f in farm_rows] or [0]
    area = dict(Plot.select(Plot.farm, pw.fn.SUM(Plot.area_m2)).where(Plot.farm.in_(ids))
                .group_by(Plot.farm).tuples())
    today = _local_day(utcnow())
    plantings = dict(Planting.select(Plot.farm, pw.fn.COUNT(Planting.id)).join(Plot)
                     .where(Plot.farm.in_(ids) & (Planting.start_date <= today)
                            & (Planting.ended_on.is_null() | (Planting.ended_on >= today)))
                     .group_by(Plot.farm).tuples())
    certs = certifications_of(farm_rows)
    return [{"id": f.id, "name": f.name, "county_code": f.county_code,
             "area_mu": round((area.get(f.id) or 0) / MU_IN_M2, 1),
             "active_plantings": plantings.get(f.id, 0), "certifications": certs.get(f.id, [])}
            for f in farm_rows]


def crop_names():
    """{crop code: (Chinese name, English name)}."""
    return {c.code: (c.name_zh, c.name_en) for c in Crop.select(Crop.code, Crop.name_zh, Crop.name_en)}


def farm_counties():
    """{farm id: county code} of every farm (for other domains' per-county figures)."""
    return dict(Farm.select(Farm.id, Farm.county).tuples())


def plot_farms():
    """{plot id: farm id} of every plot."""
    return dict(Plot.select(Plot.id, Plot.farm).tuples())


def bureau_farm_points(prefix, limit=2000):
    """Farms with a position under a division (county code prefix), for the bureau's map: id, name, county,
    latitude, longitude and their open alerts (count and the highest level). Nothing personal."""
    farms_ = list(Farm.select(Farm.id, Farm.name, Farm.county, Farm.latitude, Farm.longitude)
                  .where(Farm.county.startswith(prefix) & Farm.latitude.is_null(False) & Farm.longitude.is_null(False))
                  .order_by(Farm.id).limit(limit))
    alerts_ = {}
    ids = [f.id for f in farms_]
    for chunk in range(0, len(ids), 500):
        for farm_id, severity in (Alert.select(Alert.farm, Alert.severity)
                                  .where(Alert.farm.in_(ids[chunk:chunk + 500]) & Alert.cleared_at.is_null())
                                  .tuples()):
            count, top = alerts_.get(farm_id, (0, None))
            if top is None or ALERT_LEVELS.index(severity) > ALERT_LEVELS.index(top):
                top = severity
            alerts_[farm_id] = (count + 1, top)
    return [{"id": f.id, "name": f.name, "county_code": f.county_code, "latitude": f.latitude,
             "longitude": f.longitude, "open_alerts": alerts_.get(f.id, (0, None))[0],
             "level": alerts_.get(f.id, (0, None))[1]} for f in farms_]
