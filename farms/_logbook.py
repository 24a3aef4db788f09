"""Reading the farm log: the logs a user may view, the plots of logs, the products for plots, and
the pesticide applications and safe intervals that a harvest must respect."""
import datetime as dt

from farms._access import farm_ids_with_access, visible_farms
from farms._plots import input_products
from farms.models import PESTICIDE_CATEGORIES, Crop, Farm, Log, LogPlot, Planting, Plot
from web.clock import to_utc_naive, utcnow
from web.permissions import Access


def logs_query(user, farm=None, plot=None, kind=None, since=None, until=None):
    """Logs the user may view, newest first, with optional filters (dates are local dates)."""
    query = (Log.select(Log, Farm).join(Farm)
             .where(Log.farm.in_(visible_farms(user).select(Farm.id)))
             .order_by(Log.timestamp.desc(), Log.id.desc()))
    if farm is not None:
        query = query.where(Log.farm == farm)
    if plot is not None:
        query = query.where(Log.id.in_(LogPlot.select(LogPlot.log).where(LogPlot.plot == plot)))
    if kind:
        query = query.where(Log.kind == kind)
    if since:
        query = query.where(Log.timestamp >= _local_midnight_utc(since))
    if until:
        query = query.where(Log.timestamp < _local_midnight_utc(until + dt.timedelta(days=1)))
    return query


def _local_midnight_utc(day):
    from web.clock import local_zone

    return to_utc_naive(dt.datetime.combine(day, dt.time(), tzinfo=local_zone()))


def plots_of_logs(logs):
    """{log id: [plot, ...]} for a page of logs, in one query."""
    ids = [log.id for log in logs]
    result = {i: [] for i in ids}
    if ids:
        for link in LogPlot.select(LogPlot, Plot).join(Plot).where(LogPlot.log.in_(ids)).order_by(Plot.name):
            result[link.log_id].append(link.plot)
    return result


def product_ids_for_plots(plot_ids):
    """Catalogue products registered for the crops now planted on any of ``plot_ids``."""
    codes = set((Planting.select(Crop.code).join(Crop)
                 .where(Planting.plot.in_(list(plot_ids) or [0]) & Planting.ended_on.is_null()).tuples()))
    codes = {code for (code,) in codes}
    return [p.id for p in input_products() if codes & set(p.crops.split())]


def loggable_plots(user):
    """The plots of the farms on which ``user`` may log, by farm and name (for "add a log")."""
    farm_ids = farm_ids_with_access(user, Access.LOG)
    return list(Plot.select(Plot, Farm).join(Farm).where(Plot.farm.in_(farm_ids or [0]))
                .order_by(Farm.name, Plot.name))


def recent_product_ids(farm, limit=8):
    """Catalogue products of the farm's latest input logs (not voided), most recent first."""
    seen = []
    rows = (Log.select(Log.input_product).where((Log.farm == farm) & (Log.kind == "input")
                                                & Log.input_product.is_null(False) & Log.voided_at.is_null())
            .order_by(Log.timestamp.desc(), Log.id.desc()).limit(200).tuples())
    for (product_id,) in rows:
        if product_id not in seen:
            seen.append(product_id)
        if len(seen) >= limit:
            break
    return seen


def safe_harvest_day(log):
    """The first local day a harvest may follow this pesticide log (None for other logs)."""
    if log.kind != "input" or log.input_category not in PESTICIDE_CATEGORIES or log.phi_days is None:
        return None
    from web.clock import from_utc_naive

    return from_utc_naive(log.timestamp).date() + dt.timedelta(days=log.phi_days)


def pending_safe_interval(plot_ids, on_day=None):
    """The pesticide log on any of ``plot_ids`` whose safe interval ends last, if it ends after
    ``on_day`` (a local date, default today): {"log_id", "product_name", "applied_day", "phi_days",
    "safe_day"}, else None. Voided logs do not count."""
    from web.clock import from_utc_naive, local_now

    on_day = on_day or local_now().date()
    since = utcnow() - dt.timedelta(days=400)
    latest = None
    for a in input_applications(plot_ids, since=since, pesticides_only=True):
        applied = from_utc_naive(a["applied_at"]).date()
        safe = applied + dt.timedelta(days=a["phi_days"])
        if safe > on_day and (latest is None or safe > latest["safe_day"]):
            latest = {"log_id": a["log_id"], "product_name": a["product_name"], "applied_day": applied,
                      "phi_days": a["phi_days"], "safe_day": safe}
    return latest


def input_applications(plot_ids, since=None, until=None, pesticides_only=False):
    """Input logs on any of ``plot_ids`` between ``since`` and ``until`` (UTC), newest first.

    Public facts only: product, ingredient, category, dose, interval and date. Voided and
    corrected logs are left out: only their corrections count.
    """
    query = (Log.select(Log).join(LogPlot).where((LogPlot.plot.in_(list(plot_ids))) & (Log.kind == "input")
                                                 & Log.voided_at.is_null())
             .distinct().order_by(Log.timestamp.desc()))
    if since is not None:
        query = query.where(Log.timestamp >= since)
    if until is not None:
        query = query.where(Log.timestamp <= until)
    if pesticides_only:
        query = query.where(Log.input_category.in_(PESTICIDE_CATEGORIES))
    return [{"log_id": log.id, "applied_at": log.timestamp, "product_name": log.product_name,
             "active_ingredient": log.active_ingredient, "category": log.input_category, "dose": log.dose,
             "dose_unit": log.dose_unit, "phi_days": log.phi_days or 0} for log in query]
