"""The bureau's pages: the dashboard (its home page), a county's farms, and the printable report."""
import datetime as dt

from flask import Blueprint, abort, g, render_template, request, send_file, url_for
from flask_babel import gettext as _

from bureau import charts, reports, service
from web.clock import from_utc_naive
from web.security import login_required

bp = login_required(Blueprint("bureau", __name__, template_folder="templates", url_prefix="/bureau"))

DEFAULT_DAYS = 30
LEVEL_CLASSES = ("blue", "yellow", "orange", "red")


def _source_label(source):
    return {"sensor": _("Sensor"), "weather": _("Weather")}.get(source, source)


def _level_label(level):
    return {"blue": _("blue"), "yellow": _("yellow"), "orange": _("orange"), "red": _("red")}.get(level, level)


def _query(division, period, **extra):
    """Query arguments that keep the page's period."""
    args = {"division": division, "from": period.start.isoformat(), "to": period.end.isoformat()}
    args.update(extra)
    return args


def _period_args():
    """The request's period; without one, the pages show the last 30 days (the API's default is this month)."""
    args = request.args.to_dict()
    if not any(args.get(name) for name in ("from", "to", "period")):
        args["from"] = (service.local_today() - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return args


def _context():
    """(division, period, error) from the request; BadParameter becomes a message on the page."""
    try:
        period = service.period_from(_period_args())
        division = service.division_for(g.user, request.args.get("division"))
    except service.BadParameter as e:
        return None, None, e
    return division, period, None


def _error_page(error):
    return render_template("bureau/error.html", error=error), 400


def _charts(result, months, monthly):
    totals = result["totals"]
    area = charts.bars([(c["name"], c["mu"], "") for c in totals["planted_area_mu"]["by_crop"][:10]],
                       _("Planted area by crop"), _(" mu"))
    harvest = charts.columns(months, [row["harvest"]["kg"] for row in monthly["rows"]], _("Harvest by month"),
                             " kg")
    alert_items = []
    for source, levels in sorted(totals["alerts"]["by_source"].items()):
        for level in LEVEL_CLASSES:
            if levels.get(level):
                alert_items.append((f"{_source_label(source)} · {_level_label(level)}", levels[level], f"sev-{level}"))
    alerts = charts.bars(alert_items, _("Alerts by type"))
    return {"area": area, "harvest": harvest, "alerts": alerts}


@bp.get("/")
def dashboard():
    division, period, error = _context()
    if error:
        return _error_page(error)
    group = "county" if division.level == "prefecture" else ("city" if division.level == "province" else None)
    result = service.summary(g.user, division.code, period, group)
    _months, series = service.monthly_series(g.user, division.code, end=period.end)
    year = service.Period(service.months_back(period.end, 12), period.end)
    monthly = service.summary(g.user, division.code, year, "month")
    rows = result.get("rows", [])
    sparks = {row["code"]: charts.sparkline(series.get(row["code"], {}).get("harvest_kg", []),
                                            _("Harvest over 12 months")) for row in rows}
    own_spark = charts.sparkline(series.get(division.code, {}).get("harvest_kg", []), _("Harvest over 12 months"))
    parent = None
    if division.parent_code and service.may_use(g.user) and (
            g.user.role == "admin" or service.divisions.covers(g.user.division_code, division.parent_code)):
        parent = service.divisions.get(division.parent_code)
    points = service.map_points(g.user, division.code)
    farm_map = charts.farm_map(points, _("Farms and open alerts"), _("no open alerts"),
                               bounds=charts.PROVINCE_BOUNDS if division.level == "province" else None)
    return render_template("bureau/dashboard.html", division=division, farm_map=farm_map, period=period,
                           alerts=service.open_alerts(g.user, division.code),
                           result=result, rows=rows, sparks=sparks, own_spark=own_spark,
                           charts=_charts(result, [r["month"] for r in monthly["rows"]], monthly),
                           query=_query(division.code, period), parent=parent,
                           refreshed=from_utc_naive(result["refreshed_at"]) if result["refreshed_at"] else None)


@bp.get("/divisions/<code>/farms")
def farms(code):
    try:
        period = service.period_from(_period_args())
        division, rows = service.farms_of(g.user, code, period)
    except service.BadParameter as e:
        return _error_page(e)
    return render_template("bureau/farms.html", division=division, period=period, rows=rows,
                           query=_query(division.code, period))


@bp.get("/report")
def report():
    division, period, error = _context()
    if error:
        return _error_page(error)
    group = None if division.level == "county" else "county"
    result = service.summary(g.user, division.code, period, group)
    crops = service.summary(g.user, division.code, period, "crop")
    return render_template("bureau/report.html", division=division, period=period, result=result,
                           rows=result.get("rows", []), crops=crops["rows"], query=_query(division.code, period),
                           csv_url=url_for("bureau_api.summary", format="csv", group_by=group or "crop",
                                           **_query(division.code, period)))


@bp.get("/reports")
def report_list():
    """The account's monthly reports (written by the scheduler on the first of each month)."""
    service.division_for(g.user)  # bureau accounts only
    return render_template("bureau/reports.html", months=reports.listing(g.user))


@bp.get("/reports/<name>")
def report_file(name):
    service.division_for(g.user)
    path = reports.path_of(g.user, name)
    if path is None:
        abort(404)
    if name.endswith(".csv"):
        return send_file(path, mimetype="text/csv", as_attachment=True, download_name=f"summary-{name}")
    return send_file(path, mimetype="text/html")
