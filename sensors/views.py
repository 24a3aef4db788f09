"""Sensor pages: devices of a farm or plot, adding one (its token shown once), rotating and
revoking tokens, importing a logger's CSV file, a plot's alarm rules, and the sensors section of
the plot page.

The plot page belongs to farms; it renders this package's section through the
``sensors_section`` function that ``_context`` puts into every template, so farms never
imports sensors.
"""
import datetime as dt
import re
import secrets
import time
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup

from farms import service as farms
from sensors import alarms, csv_import, service
from sensors.charts import RANGES, line_chart, window
from sensors.forms import (DEFAULT_METRICS, SEVERITY_LABELS, AlarmRuleForm, DeviceForm, column_ref, csv_columns, csv_form,
                           metric_label, rule_values, unit_label)
from sensors.metrics import METRICS
from web.clock import utcnow
from web.db import Conflict, Unavailable, ValidationError
from web.clock import from_utc_naive, local_zone
from web.forms import apply_errors
from web.permissions import Access
from web.security import login_required

bp = login_required(Blueprint("sensors", __name__, template_folder="templates"))

# Decimals shown for a metric's latest value.
DECIMALS = {"air_temperature": 1, "soil_temperature": 1, "air_humidity": 0, "co2": 0, "light": 0, "par": 0,
            "soil_moisture": 1, "soil_ec": 2, "soil_ph": 2, "rainfall": 1, "leaf_wetness": 0}
STALE_AFTER = dt.timedelta(hours=1)  # a latest reading older than this is greyed out


@bp.app_context_processor
def _context():
    return {"sensors_section": plot_section, "sensor_age": age, "metric_label": metric_label,
            "unit_label": unit_label, "format_reading": format_reading}


# ---------------------------------------------------------------- helpers for templates


def age(ts, now=None):
    """How long ago a stored UTC time was, in words ("3 分钟前")."""
    if ts is None:
        return _("never")
    seconds = ((now or utcnow()) - ts).total_seconds()
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        n = int(seconds // 60)
        return ngettext("%(num)d minute ago", "%(num)d minutes ago", n)
    if seconds < 86400:
        n = int(seconds // 3600)
        return ngettext("%(num)d hour ago", "%(num)d hours ago", n)
    n = int(seconds // 86400)
    return ngettext("%(num)d day ago", "%(num)d days ago", n)


def format_reading(metric, value):
    if value is None:
        return "—"
    return f"{value:.{DECIMALS.get(metric, 1)}f}"


def _unit_of(metric):
    meta = METRICS.get(metric)
    return unit_label(meta.unit) if meta else ""


def _latest(device, now):
    """[(metric, label, value text, unit, ts, age, stale)] in the device's metric order."""
    latest = service.latest_readings(device)
    rows = []
    for metric in device.metric_names:
        if metric not in latest:
            continue
        ts, value = latest[metric]
        rows.append({"metric": metric, "label": metric_label(metric), "value": format_reading(metric, value),
                     "unit": _unit_of(metric), "ts": ts, "local": from_utc_naive(ts), "age": age(ts, now),
                     "stale": now - ts > STALE_AFTER})
    return rows


def _charts(device, range_, now):
    since, until = window(range_, now)
    charts = []
    for metric in device.metric_names:
        points = service.series(device, metric, range_.period, since, until)
        label, unit = metric_label(metric), _unit_of(metric)
        svg = line_chart(points, range_, since, until, local_zone(), title=label, unit=unit)
        stats = None
        if points:
            count = sum(p[1] for p in points)
            mean = sum(p[2] * p[1] for p in points) / count if count else None
            stats = {"min": format_reading(metric, min(p[3] for p in points)),
                     "mean": format_reading(metric, mean),
                     "max": format_reading(metric, max(p[4] for p in points))}
        charts.append({"metric": metric, "label": label, "unit": unit, "svg": svg, "stats": stats})
    return charts


def _range_from_request():
    key = request.args.get("range", "24h")
    return RANGES.get(key, RANGES["24h"])


def plot_section(plot, access=None):
    """The sensors section of the plot page: latest readings with their age, charts, open alerts."""
    user = g.get("user")
    if user is None:
        return ""
    if access is None:
        access = farms.access_to(user, plot.farm)
    now = utcnow()
    range_ = _range_from_request()
    devices = service.devices_on(plot.id)
    # The plot's sensor alerts beside the farm's weather warnings (those name no plot).
    alerts = [a for a in farms.open_alerts(user, farm=plot.farm_id) if a.plot_id in (None, plot.id)]
    if not devices and not alerts and access < Access.MANAGE:
        return ""
    shown = [{"device": d, "latest": _latest(d, now), "charts": _charts(d, range_, now)} for d in devices]
    return Markup(render_template("sensors/_plot_section.html", plot=plot, devices=shown, alerts=alerts,
                                  access=access, Access=Access, chart_range=range_, now=now))


def _token_page(device, token, created):
    """The one response that shows a device's token; never cached."""
    response = make_response(render_template(
        "sensors/token.html", device=device, token=token, created=created,
        ingest_url=request.host_url.rstrip("/") + url_for("sensors_api.ingest")))
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- device lists


@bp.get("/farms/<int:farm_id>/devices")
def farm_devices(farm_id):
    farm = farms.get_farm(g.user, farm_id)
    access = farms.access_to(g.user, farm)
    devices = service.devices_of_farm(farm.id)
    plots = list(farms.plots_of(farm))
    return render_template("sensors/devices.html", farm=farm, plot=None, plots=plots, devices=devices,
                           credentials=service.credentials_of(devices), access=access, Access=Access, now=utcnow())


@bp.get("/plots/<int:plot_id>/devices")
def plot_devices(plot_id):
    plot = farms.get_plot(g.user, plot_id)
    access = farms.access_to(g.user, plot.farm)
    devices = service.devices_on(plot.id)
    return render_template("sensors/devices.html", farm=plot.farm, plot=plot, plots=[plot], devices=devices,
                           credentials=service.credentials_of(devices), access=access, Access=Access, now=utcnow())


@bp.route("/plots/<int:plot_id>/devices/new", methods=["GET", "POST"])
def device_new(plot_id):
    plot = farms.get_plot(g.user, plot_id, Access.MANAGE)
    form = DeviceForm() if request.method == "POST" else DeviceForm(data={"metrics": list(DEFAULT_METRICS)})
    if form.validate_on_submit():
        try:
            device, token = service.create_device(g.user, plot.id, form.name.data, form.metrics.data,
                                                  uid=form.uid.data)
        except (ValidationError, Conflict) as e:
            apply_errors(form, e)
        except Unavailable as e:
            flash(_("The device was not saved: the MQTT broker could not be told its token (%(why)s). "
                    "Please try again.", why=e.message), "error")
        else:
            return _token_page(device, token, created=True)
    status = 422 if form.errors else 200
    return render_template("sensors/device_form.html", form=form, plot=plot, farm=plot.farm), status


# ---------------------------------------------------------------- one device


@bp.get("/devices/<int:device_id>")
def device_page(device_id):
    device = service.get_device(g.user, device_id)
    access = farms.access_to_farm_id(g.user, device.farm_id)
    now = utcnow()
    return render_template("sensors/device.html", device=device, plot=device.plot, farm=device.plot.farm,
                           credentials=service.credentials_of([device]).get(device.id, []), latest=_latest(device, now),
                           access=access, Access=Access, now=now,
                           ingest_url=request.host_url.rstrip("/") + url_for("sensors_api.ingest"))


@bp.post("/devices/<int:device_id>/rotate")
def device_rotate(device_id):
    device = service.get_device(g.user, device_id, Access.MANAGE)
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm.html", title=_("Issue a new token"), button=_("Issue a new token"), danger=False,
            message=_("%(device)s's current token stops working at once; the device sends nothing until it is "
                      "given the new one.", device=device.name),
            action=url_for("sensors.device_rotate", device_id=device.id),
            cancel=url_for("sensors.device_page", device_id=device.id))
    try:
        token = service.rotate_token(g.user, device)
    except Unavailable as e:
        flash(_("The token was not changed: the MQTT broker could not be told the new one (%(why)s). "
                "The old token still works; please try again.", why=e.message), "error")
        return redirect(url_for("sensors.device_page", device_id=device.id))
    return _token_page(device, token, created=False)


@bp.post("/devices/<int:device_id>/revoke")
def device_revoke(device_id):
    device = service.get_device(g.user, device_id, Access.MANAGE)
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm.html", title=_("Revoke all tokens"), button=_("Revoke all tokens"), danger=True,
            message=_("%(device)s can send nothing until you issue a new token.", device=device.name),
            action=url_for("sensors.device_revoke", device_id=device.id),
            cancel=url_for("sensors.device_page", device_id=device.id))
    count = service.revoke_tokens(g.user, device)
    if count:
        flash(_("The device's token is revoked: it can send nothing until you issue a new one."), "info")
    else:
        flash(_("The device had no live token."), "info")
    return redirect(url_for("sensors.device_page", device_id=device.id))


# ---------------------------------------------------------------- CSV import


def _mapping(form, device):
    """The importer's Mapping built from the form's fields (digits in a column field are a column number)."""
    return csv_import.Mapping(
        time_column=column_ref(form.time_column.data),
        columns={metric: (column, unit) for metric, column, unit in csv_columns(form, device)},
        time_format=form.time_format.data.strip() or "auto", timezone=form.time_zone.data.strip(),
        header={"yes": True, "no": False}.get(form.header.data), delimiter=form.delimiter.data or None)


# What went wrong with a file or a mapping as a whole (CsvImportError.code), in the visitor's language;
# the importer's own (English) message follows as the detail.
CSV_PROBLEMS = {
    "bad_delimiter": _l("The separator must be a comma, a semicolon or a tab."),
    "bad_column": _l("A column is a header name or a column number."),
    "no_columns": _l("Name the column of at least one metric."),
    "unknown_metric": _l("This device does not report that metric."),
    "bad_unit": _l("The unit does not fit the metric."),
    "column_twice": _l("Each column can be used only once."),
    "names_without_header": _l("The file has no header row: give column numbers instead of names."),
    "bad_time_format": _l("The time format is auto, iso, epoch or a strftime pattern."),
    "bad_decimal": _l("The decimal mark is not usable with this separator."),
    "bad_timezone": _l("Unknown time zone."),
    "offset_mismatch": _l("The times in the file do not match the time zone chosen."),
    "too_large": _l("The file is too large; split it and import the parts."),
    "empty": _l("The file is empty."),
    "bad_encoding": _l("Unknown text encoding."),
    "not_text": _l("The file is not CSV text; save it as CSV (UTF-8) and try again."),
    "bad_csv": _l("A line of the file cannot be read as CSV."),
    "no_times": _l("No time was found in the time column."),
    "no_such_column": _l("A column number is beyond the columns of the file."),
    "columns_not_found": _l("The columns named were not found in the file's header row."),
    "duplicate_header": _l("The file's header row has the same column name twice; rename one or give the column "
                           "number."),
    "mixed_date_order": _l("The file's dates mix day/month and month/day; give the time format or correct the file."),
}
CSV_FIELDS = {"timezone": "time_zone", "columns": "file", "header": "header", "decimal": "delimiter",
              "encoding": "file"}
REPORT_KEEP = 24 * 3600  # seconds a downloadable report is kept
SHOWN = 200  # problems listed on the page; the CSV has them all


def _csv_problem(form, error):
    """Show an importer error on the form: in the visitor's language, with the importer's detail."""
    summary = CSV_PROBLEMS.get(getattr(error, "code", None))
    detail = error.message
    field = getattr(form, CSV_FIELDS.get(next(iter(error.fields or {}), ""), next(iter(error.fields or {}), "")),
                    None)
    text = f"{summary} ({detail})" if summary else detail
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [text]
    flash(str(summary or _("The file could not be imported.")), "error")


def _reports_dir():
    return Path(current_app.config["DATA_DIR"]) / "csv-reports"


def _save_rows(device, rows):
    """Write the full problem list as a CSV file for download; returns its token. Older files go."""
    folder = _reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < time.time() - REPORT_KEEP:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(18)
    header = [_("Kind"), _("Line"), _("Column"), _("Metric"), _("Reason")]
    (folder / f"{device.id}-{token}.csv").write_bytes(csv_import.report_csv(rows, header))
    return token


def _report(device, report):
    """The template's view of an ImportReport; the full list of problems is saved for download."""
    kinds = {"rejected": _("rejected"), "conflict": _("conflicting value"), "backwards": _("time goes back"),
             "repeated": _("repeated")}
    rows = csv_import.report_rows(report, kinds)
    problems = [row for row in rows if row[0] != kinds["repeated"]]
    return {"imported": report.imported, "duplicates": report.duplicates, "rows": report.rows_read,
            "problems": problems[:SHOWN], "problem_count": len(problems),
            "rejected_count": report.rejected_count, "conflict_count": report.conflict_count,
            "backwards_count": report.backwards_count, "older": report.older_than_retention,
            "retention_days": report.retention_days,
            "download": _save_rows(device, rows) if rows else None}


@bp.route("/devices/<int:device_id>/import", methods=["GET", "POST"])
def device_import(device_id):
    device = service.get_device(g.user, device_id, Access.LOG)
    form = csv_form(device)
    report = None
    if form.validate_on_submit():
        if not csv_columns(form, device):
            flash(_("Name the column of at least one metric."), "error")
        else:
            data = form.file.data.read()
            try:
                report = _report(device, csv_import.import_csv(
                    device, data, _mapping(form, device), retention_days=current_app.config["RAW_RETENTION_DAYS"]))
            except ValidationError as e:
                _csv_problem(form, e)
    status = 422 if form.errors else 200
    return render_template("sensors/import.html", device=device, plot=device.plot, farm=device.plot.farm,
                           form=form, report=report, zones=csv_import.timezone_names(), shown=SHOWN), status


@bp.get("/devices/<int:device_id>/import/<token>.csv")
def import_report(device_id, token):
    """The full problem list of an import (kept a day), for whoever may import into the device."""
    device = service.get_device(g.user, device_id, Access.LOG)
    path = _reports_dir() / f"{device.id}-{token}.csv"
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,40}", token) or not path.is_file():
        abort(404)
    response = make_response(path.read_bytes())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="import-{device.uid}.csv"'
    return response


# ---------------------------------------------------------------- alarm rules


def _lang():
    return "zh" if str(get_locale() or "zh").startswith("zh") else "en"


def _rule_rows(rules):
    """What the rules page shows of each rule, in the visitor's language."""
    lang = _lang()
    up = alarms.alarming_rules(r.id for r in rules)
    return [{"rule": r, "label": metric_label(r.metric), "condition": alarms.condition_text(r, lang),
             "duration": alarms.duration_text(r.duration_seconds, lang) if r.duration_seconds else None,
             "hysteresis": f"{r.hysteresis:g}" if r.hysteresis else None, "unit": _unit_of(r.metric),
             "severity": SEVERITY_LABELS.get(r.severity, r.severity), "alarming": r.id in up,
             "advice": r.advice_zh if lang == "zh" else (r.advice_en or r.advice_zh)} for r in rules]


@bp.get("/plots/<int:plot_id>/alarm-rules")
def alarm_rules(plot_id):
    plot = farms.get_plot(g.user, plot_id)
    access = farms.access_to(g.user, plot.farm)
    rules = alarms.plot_rules(g.user, plot.id)
    missing = alarms.missing_defaults(plot.id) if access >= Access.MANAGE else []
    lang = _lang()
    return render_template("sensors/alarm_rules.html", plot=plot, farm=plot.farm, rows=_rule_rows(rules),
                           missing=[{"label": metric_label(d.metric), "condition": alarms.condition_text(d, lang)}
                                    for d in missing],
                           devices=service.devices_on(plot.id), access=access, Access=Access)


def _rule_form_page(form, plot, rule):
    return render_template("sensors/alarm_rule_form.html", form=form, plot=plot, farm=plot.farm, rule=rule), \
        422 if form.errors else 200


def _save_rule_form(form, plot, rule=None):
    """Validate the posted rule form and save it; returns the redirect, or None to show it again."""
    if not form.validate_on_submit():
        return None
    try:
        alarms.save_rule(g.user, plot.id, rule_values(form.data), rule_id=rule.id if rule else None)
    except ValidationError as e:
        apply_errors(form, e, aliases={"duration_seconds": "duration_minutes"})
        return None
    flash(_("The alarm rule is saved.") if rule else _("The alarm rule is added."), "info")
    return redirect(url_for("sensors.alarm_rules", plot_id=plot.id))


@bp.route("/plots/<int:plot_id>/alarm-rules/new", methods=["GET", "POST"])
def alarm_rule_new(plot_id):
    plot = farms.get_plot(g.user, plot_id, Access.MANAGE)
    devices = service.devices_on(plot.id)
    metric = next((m for d in devices for m in d.metric_names if m in METRICS), "soil_moisture")
    form = AlarmRuleForm() if request.method == "POST" else AlarmRuleForm(data={
        "metric": request.args.get("metric") if request.args.get("metric") in METRICS else metric,
        "comparison": "<", "duration_minutes": 30, "hysteresis": 0, "severity": "yellow", "enabled": True})
    return _save_rule_form(form, plot) or _rule_form_page(form, plot, None)


@bp.route("/alarm-rules/<int:rule_id>/edit", methods=["GET", "POST"])
def alarm_rule_edit(rule_id):
    rule, plot = alarms.get_rule(g.user, rule_id, Access.MANAGE)
    if request.method == "POST":
        form = AlarmRuleForm()
    else:
        form = AlarmRuleForm(obj=rule, data={"duration_minutes": rule.duration_seconds // 60})
    return _save_rule_form(form, plot, rule) or _rule_form_page(form, plot, rule)


@bp.post("/plots/<int:plot_id>/alarm-rules/defaults")
def alarm_rules_defaults(plot_id):
    added = alarms.add_defaults(g.user, plot_id)
    if added:
        flash(ngettext("%(num)d default rule of the crop is added.", "%(num)d default rules of the crop are added.",
                       len(added)), "info")
    else:
        flash(_("The plot already has all the default rules of its crop."), "info")
    return redirect(url_for("sensors.alarm_rules", plot_id=plot_id))


@bp.post("/alarm-rules/<int:rule_id>/toggle")
def alarm_rule_toggle(rule_id):
    rule, plot = alarms.get_rule(g.user, rule_id, Access.MANAGE)
    rule = alarms.save_rule(g.user, plot.id, {"enabled": not rule.enabled}, rule_id=rule.id)
    flash(_("The rule is active again.") if rule.enabled else
          _("The rule is paused: it raises no alarm until you resume it."), "info")
    return redirect(url_for("sensors.alarm_rules", plot_id=plot.id) + f"#rule-{rule.id}")


@bp.route("/alarm-rules/<int:rule_id>/delete", methods=["GET", "POST"])
def alarm_rule_delete(rule_id):
    rule, plot = alarms.get_rule(g.user, rule_id, Access.MANAGE)
    if request.method == "POST":
        try:
            alarms.delete_rule(g.user, rule.id)
        except Conflict:
            flash(_("This is the plot's last rule: the crop's defaults would come back in its place. "
                    "Pause it instead."), "error")
            return redirect(url_for("sensors.alarm_rules", plot_id=plot.id) + f"#rule-{rule.id}")
        flash(_("The alarm rule is deleted."), "info")
        return redirect(url_for("sensors.alarm_rules", plot_id=plot.id))
    return render_template("sensors/alarm_rule_delete.html", row=_rule_rows([rule])[0], plot=plot, farm=plot.farm)
