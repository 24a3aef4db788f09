"""The monthly reports the scheduler keeps for each bureau account: CSV (UTF-8 with BOM) and the printable page,
listed and downloaded by the account only."""
import datetime as dt

from tests.helpers import login


def test_monthly_reports_are_written_listed_and_kept_per_account(app, client, world, figures):
    from bureau import reports, service

    month = service.month_start(figures["today"])
    with app.app_context():
        written = reports.write_all(month)
        assert written == 4  # the four bureau accounts of the world
        assert reports.write_all(month) == 0  # kept, not written again
    login(client, "bureau_city")
    page = client.get("/bureau/reports").get_data(as_text=True)
    name = f"{month:%Y-%m}"
    assert f"/bureau/reports/{name}.csv" in page and f"/bureau/reports/{name}.html" in page
    csv_file = client.get(f"/bureau/reports/{name}.csv")
    assert csv_file.status_code == 200 and csv_file.data.startswith(b"\xef\xbb\xbf")
    text = csv_file.data.decode("utf-8-sig")
    assert "信丰县" in text and "赣州市（合计）" in text and "南丰县" not in text
    html = client.get(f"/bureau/reports/{name}.html")
    assert html.status_code == 200 and "江西省 赣州市农业汇总" in html.get_data(as_text=True)
    assert "script-src 'self'" in html.headers["Content-Security-Policy"]
    for bad in ("1999-01.csv", "..%2F1%2F2026-11.csv", "2026-11.exe", f"{name}.csv.bak"):
        assert client.get(f"/bureau/reports/{bad}").status_code == 404
    county = login(app.test_client(), "bureau_county")
    own = county.get(f"/bureau/reports/{name}.csv").data.decode("utf-8-sig")
    assert own.splitlines()[0].startswith("作物代码")  # a county's report is by crop, and its own
    assert "赣州市（合计）" not in own


def test_the_job_writes_last_month(app, world, monkeypatch):
    from bureau import reports, service

    monkeypatch.setattr(service, "local_today", lambda: dt.date(2026, 12, 1))
    with app.app_context():
        reports.monthly_job(app)
        assert (reports.folder(world.bureau_province.id) / "2026-11.html").is_file()
        assert (reports.folder(world.bureau_province.id) / "2026-11.csv").is_file()
