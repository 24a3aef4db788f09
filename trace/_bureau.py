"""Figures for the agriculture bureau: harvest batches, inspections, pre-harvest-interval refusals and
consumer scans per county and local day (TIMEZONE), read by the bureau's refresh job."""
import datetime as dt

import peewee as pw

from farms import service as farms
from trace.models import Batch, Inspection, PhiRefusal, Scan
from web.clock import from_utc_naive, local_zone, to_utc_naive

MASS_TO_KG = {"kg": 1.0, "公斤": 1.0, "t": 1000.0, "吨": 1000.0, "g": 0.001, "斤": 0.5}


def _bounds(day_from, day_to):
    def midnight(day):
        return to_utc_naive(dt.datetime.combine(day, dt.time(), tzinfo=local_zone()))

    return midnight(day_from), midnight(day_to + dt.timedelta(days=1))


def _day(when):
    return from_utc_naive(when).date()


def harvest_batches(day_from, day_to):
    """(batch id, county, harvest day, crop code or product name, quantity in kg or None, unit) of the batches
    made from harvests on the days ``day_from``..``day_to`` (splits, merges and products are not counted again)."""
    county_of = farms.farm_counties()
    query = (Batch.select(Batch.id, Batch.farm, Batch.harvest_date, Batch.crop_code, Batch.product_name,
                          Batch.quantity, Batch.unit)
             .where(Batch.farm.is_null(False) & Batch.harvest_log.is_null(False) & (Batch.harvest_date >= day_from)
                    & (Batch.harvest_date <= day_to)).tuples())
    for batch_id, farm_id, day, crop, product, quantity, unit in query.iterator():
        county = county_of.get(farm_id)
        factor = MASS_TO_KG.get((unit or "").strip())
        yield batch_id, county, day, (crop or product or "?")[:120], \
            (quantity * factor if factor is not None else None), unit


def daily_figures(day_from, day_to):
    """Yield (county, local day, metric, key, value): ``inspections`` and ``inspections_passed`` (residue tests
    of a batch or plot, by sampling day), ``phi_refusals`` (harvests refused a batch, once per harvest and day)
    and ``scans`` (consumers opening a batch's QR code)."""
    start, end = _bounds(day_from, day_to)
    tally = {}

    def add(county, day, metric, value=1):
        tally[(county, day, metric)] = tally.get((county, day, metric), 0) + value

    county_of = farms.farm_counties()
    farm_of_plot = farms.plot_farms()
    query = (Inspection.select(Inspection.plot, Batch.farm, Inspection.sampled_at, Inspection.passed)
             .join(Batch, pw.JOIN.LEFT_OUTER)
             .where((Inspection.sampled_at >= start) & (Inspection.sampled_at < end)))
    for plot_id, farm_id, when, passed in query.tuples().iterator():
        county = county_of.get(farm_id if farm_id is not None else farm_of_plot.get(plot_id))
        if county is None:
            continue
        day = _day(when)
        add(county, day, "inspections")
        if passed:
            add(county, day, "inspections_passed")
    refused = set()
    for farm_id, log_id, when in (PhiRefusal.select(PhiRefusal.farm, PhiRefusal.harvest_log, PhiRefusal.refused_at)
                                  .where((PhiRefusal.refused_at >= start) & (PhiRefusal.refused_at < end))
                                 .tuples().iterator()):
        if (log_id, _day(when)) not in refused and farm_id in county_of:
            refused.add((log_id, _day(when)))
            add(county_of[farm_id], _day(when), "phi_refusals")
    for farm_id, when in (Scan.select(Batch.farm, Scan.scanned_at).join(Batch)
                          .where((Scan.scanned_at >= start) & (Scan.scanned_at < end)).tuples().iterator()):
        if farm_id in county_of:
            add(county_of[farm_id], _day(when), "scans")
    for (county, day, metric), value in tally.items():
        yield county, day, metric, "", value


def changed_days(since):
    """Local days whose figures (harvest batches included) may have changed since ``since`` (naive UTC)."""
    days = {d for (d,) in Batch.select(Batch.harvest_date).distinct()
            .where((Batch.created_at >= since) & Batch.harvest_date.is_null(False)).tuples()}
    for model, column in ((Inspection, Inspection.sampled_at), (PhiRefusal, PhiRefusal.refused_at),
                          (Scan, Scan.scanned_at)):
        created = Inspection.created_at if model is Inspection else column
        days |= {_day(w) for (w,) in model.select(column).where(created >= since).tuples().iterator()}
    return days


def harvest_days_of(batch_ids):
    """The harvest days of some batches."""
    ids = list(batch_ids)
    days = set()
    for chunk in range(0, len(ids), 500):
        days |= {d for (d,) in Batch.select(Batch.harvest_date).distinct()
                 .where(Batch.id.in_(ids[chunk:chunk + 500]) & Batch.harvest_date.is_null(False)).tuples()}
    return days


def farm_figures(farm_ids, day_from, day_to):
    """{farm id: {"batches", "harvest_kg", "scans"}} over the days, for the bureau's list of a county's farms."""
    result = {i: {"batches": 0, "harvest_kg": 0.0, "scans": 0} for i in farm_ids}
    if not result:
        return result
    for farm_id, quantity, unit in (Batch.select(Batch.farm, Batch.quantity, Batch.unit)
                                    .where(Batch.farm.in_(list(result)) & Batch.harvest_log.is_null(False)
                                           & (Batch.harvest_date >= day_from) & (Batch.harvest_date <= day_to))
                                    .tuples()):
        result[farm_id]["batches"] += 1
        result[farm_id]["harvest_kg"] += quantity * MASS_TO_KG.get((unit or "").strip(), 0)
    start, end = _bounds(day_from, day_to)
    for farm_id, in (Scan.select(Batch.farm).join(Batch)
                     .where(Batch.farm.in_(list(result)) & (Scan.scanned_at >= start) & (Scan.scanned_at < end))
                     .tuples()):
        result[farm_id]["scans"] += 1
    return result
