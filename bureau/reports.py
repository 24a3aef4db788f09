"""Monthly reports: on the first of each month the scheduler writes, for each bureau account, last month's
summary of its division as CSV (UTF-8 with BOM) and as the printable HTML page, kept under
DATA_DIR/bureau-reports/<user id>/ for the account to download."""
import datetime as dt
import logging
import re
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from bureau import service
from web import scheduler
from web.accounts import service as accounts

log = logging.getLogger(__name__)
NAME = re.compile(r"^(\d{4}-\d{2})\.(csv|html)$")


def folder(user_id):
    return Path(current_app.config["DATA_DIR"]) / "bureau-reports" / str(int(user_id))


def write_month(user, month):
    """Write ``user``'s report of the month starting ``month`` (a date); returns the paths written."""
    period = service.Period(month, service.month_end(month), "month")
    division = service.division_for(user, user.division_code)
    group = "crop" if division.level == "county" else "county"
    result = service.summary(user, division.code, period, group)
    target = folder(user.id)
    target.mkdir(parents=True, exist_ok=True)
    stem = month.strftime("%Y-%m")
    csv_path = target / f"{stem}.csv"
    csv_path.write_bytes(service.to_csv(result).encode("utf-8-sig"))
    crops = result["rows"] if group == "crop" else service.summary(user, division.code, period, "crop")["rows"]
    html = render_template("bureau/report.html", division=division, period=period, result=result,
                           rows=result["rows"] if group == "county" else [], crops=crops,
                           query={"division": division.code, "from": period.start.isoformat(),
                                  "to": period.end.isoformat()},
                           csv_url=f"{stem}.csv")
    html_path = target / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    return csv_path, html_path


def write_all(month, app=None):
    """Every active bureau account's report of ``month`` (existing ones are kept). Returns how many were written."""
    app = app or current_app._get_current_object()
    written = 0
    for user in accounts.users_with_role("bureau"):
        if not user.division_code or (folder(user.id) / f"{month:%Y-%m}.csv").exists():
            continue
        with app.test_request_context("/bureau/reports"), force_locale(user.locale or app.config["BABEL_DEFAULT_LOCALE"]):
            write_month(user, month)
        written += 1
    return written


def listing(user):
    """[(month, [extensions])] of the user's reports, newest first."""
    months = {}
    target = folder(user.id)
    if target.is_dir():
        for path in target.iterdir():
            match = NAME.match(path.name)
            if match:
                months.setdefault(match.group(1), []).append(match.group(2))
    return sorted(((m, sorted(exts)) for m, exts in months.items()), reverse=True)


def path_of(user, name):
    """The file ``name`` (YYYY-MM.csv or .html) of the user's reports, or None."""
    if not NAME.match(name or ""):
        return None
    path = folder(user.id) / name
    return path if path.is_file() else None


@scheduler.register("bureau.monthly_reports", "cron", day=1, hour=1, minute=15)
def monthly_job(app):
    last_month = service.month_start(service.month_start(service.local_today()) - dt.timedelta(days=1))
    log.info("bureau monthly reports for %s: %d written", last_month, write_all(last_month, app))
