"""Sensor pages: devices and their tokens, the plot page's sensors section, CSV import, the demo."""
import datetime as dt
import hashlib
import re
import time

import pytest

from sensors.models import Device, DeviceCredential, Reading, Rollup
from tests.helpers import csrf_token, ingest, login

TOKEN = re.compile(r"dv_[A-Za-z0-9_-]{20,}")


def add_device(client, plot_id, name="棚内气象站", metrics=("air_temperature", "co2"), uid=""):
    token = csrf_token(client, f"/plots/{plot_id}/devices/new")
    return client.post(f"/plots/{plot_id}/devices/new", data={
        "csrf_token": token, "name": name, "uid": uid, "metrics": list(metrics)})


def sensors_of(body):
    """The plot page's sensors section."""
    start = body.index('id="sensors"')
    return body[start:body.index("</section>", start)]


def post_button(client, path, page, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


# ---------------------------------------------------------------- devices and tokens


def test_add_device_shows_the_token_once_and_stores_only_its_hash(client, world):
    login(client, "farmer_a")
    form = client.get(f"/plots/{world.plot_a.id}/devices/new")
    assert form.status_code == 200
    assert 'name="metrics"' in form.get_data(as_text=True)

    response = add_device(client, world.plot_a.id, uid="orchard-1")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    tokens = set(TOKEN.findall(page))
    assert len(tokens) == 1, tokens
    token = tokens.pop()

    device = Device.get(Device.uid == "orchard-1")
    assert (device.name, device.metric_names, device.plot_id) == ("棚内气象站", ["air_temperature", "co2"],
                                                                  world.plot_a.id)
    credential = DeviceCredential.get(DeviceCredential.device == device)
    assert credential.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(v) for row in DeviceCredential.select().dicts() for v in row.values()]
    stored += [str(v) for row in Device.select().dicts() for v in row.values()]
    assert not any(token in value for value in stored)
    assert token.startswith(credential.prefix)

    # Shown once: no later page has it, though they name the device and its token's prefix.
    for path in (f"/devices/{device.id}", f"/plots/{world.plot_a.id}/devices",
                 f"/farms/{world.farm_a.id}/devices", f"/plots/{world.plot_a.id}"):
        later = client.get(path)
        assert later.status_code == 200, path
        assert token not in later.get_data(as_text=True), path
    assert credential.prefix in client.get(f"/devices/{device.id}").get_data(as_text=True)

    # And the token works.
    assert ingest(client, token, [{"metric": "co2", "ts": time.time() - 60, "value": 420}]).status_code == 200


def test_add_device_form_errors_are_shown(client, world):
    login(client, "farmer_a")
    response = add_device(client, world.plot_a.id, name="", metrics=())
    assert response.status_code == 422
    assert Device.select().count() == 0
    assert TOKEN.search(response.get_data(as_text=True)) is None
    add_device(client, world.plot_a.id, uid="taken-1")
    again = add_device(client, world.plot_a.id, uid="taken-1")
    assert again.status_code == 422
    assert Device.select().count() == 1


def test_rotate_and_revoke(client, greenhouse):
    plot, device, old = greenhouse
    login(client, "farmer_a")
    page = f"/devices/{device.id}"
    body = client.get(page).get_data(as_text=True)
    assert f'action="/devices/{device.id}/rotate"' in body and f'action="/devices/{device.id}/revoke"' in body

    # POST only, and with the CSRF token.
    assert client.get(f"/devices/{device.id}/rotate").status_code == 405
    assert client.post(f"/devices/{device.id}/rotate").status_code == 400
    assert ingest(client, old, [{"metric": "co2", "ts": time.time() - 300, "value": 410}]).status_code == 200

    # Each button asks once more before it changes anything.
    for action in ("rotate", "revoke"):
        asked = post_button(client, f"/devices/{device.id}/{action}", page)
        assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
        assert ingest(client, old, [{"metric": "co2", "ts": time.time() - 250, "value": 410}]).status_code == 200
    rotated = post_button(client, f"/devices/{device.id}/rotate", page, confirm="yes")
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    new = TOKEN.search(rotated.get_data(as_text=True)).group(0)
    assert new != old
    assert ingest(client, old, [{"metric": "co2", "ts": time.time() - 200, "value": 411}]).status_code == 401
    assert ingest(client, new, [{"metric": "co2", "ts": time.time() - 200, "value": 411}]).status_code == 200
    assert DeviceCredential.select().where(DeviceCredential.revoked_at.is_null()).count() == 1

    revoked = post_button(client, f"/devices/{device.id}/revoke", page, confirm="yes")
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith(page)
    assert ingest(client, new, [{"metric": "co2", "ts": time.time() - 100, "value": 412}]).status_code == 401
    assert DeviceCredential.select().where(DeviceCredential.revoked_at.is_null()).count() == 0
    listing = client.get(f"/plots/{plot.id}/devices").get_data(as_text=True)
    assert "无有效令牌" in listing  # "no live token"


def test_device_pages_show_rejections_and_last_seen(client, greenhouse):
    plot, device, token = greenhouse
    login(client, "farmer_a")
    assert "从未" in client.get(f"/plots/{plot.id}/devices").get_data(as_text=True)  # never seen
    now = time.time()
    ingest(client, token, [{"metric": "co2", "ts": now - 120, "value": 415},
                           {"metric": "air_humidity", "ts": now - 120, "value": 130}])
    for path in (f"/plots/{plot.id}/devices", f"/farms/{plot.farm_id}/devices", f"/devices/{device.id}"):
        body = client.get(path).get_data(as_text=True)
        assert "大棚气象站" in body
        assert "130" in body and "outside" in body, path  # the reason, as the service wrote it
        assert re.search(r"被拒读数.{0,40}1", body, re.S), path
        assert "刚刚" in body, path  # last seen just now


def test_worker_may_not_add_or_rotate(client, world, greenhouse):
    plot, device, _token = greenhouse
    login(client, "worker_a")
    assert client.get(f"/plots/{plot.id}/devices/new").status_code == 403
    token = csrf_token(client, f"/devices/{device.id}")
    assert client.post(f"/plots/{plot.id}/devices/new", data={
        "csrf_token": token, "name": "x", "metrics": ["co2"]}).status_code == 403
    assert client.post(f"/devices/{device.id}/rotate", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/devices/{device.id}/revoke", data={"csrf_token": token}).status_code == 403
    assert DeviceCredential.select().where(DeviceCredential.revoked_at.is_null()).count() == 1
    # A worker sees the device, without the buttons.
    body = client.get(f"/devices/{device.id}").get_data(as_text=True)
    assert "大棚气象站" in body and "/rotate" not in body
    assert "/devices/new" not in client.get(f"/plots/{plot.id}").get_data(as_text=True)


def test_another_farms_farmer_gets_404(client, world, greenhouse):
    plot, device, _token = greenhouse
    login(client, "farmer_b")
    token = csrf_token(client)
    for path in (f"/plots/{plot.id}/devices/new", f"/plots/{plot.id}/devices", f"/farms/{plot.farm_id}/devices",
                 f"/devices/{device.id}", f"/devices/{device.id}/import"):
        assert client.get(path).status_code == 404, path
    for path in (f"/devices/{device.id}/rotate", f"/devices/{device.id}/revoke", f"/devices/{device.id}/import",
                 f"/plots/{plot.id}/devices/new"):
        assert client.post(path, data={"csrf_token": token, "name": "x", "metrics": ["co2"]}).status_code == 404
    assert Device.select().count() == 1


def test_pages_need_a_sign_in(client, greenhouse):
    _plot, device, _token = greenhouse
    response = client.get(f"/devices/{device.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the plot page


def _ingest_history(client, token, hours=30, step=600):
    """Readings every ``step`` s for ``hours`` up to 3 minutes ago, as one SenML pack per metric."""
    end = time.time() - 180
    start = end - hours * 3600
    for metric, base in (("air_temperature", 20.0), ("co2", 450.0), ("soil_moisture", 35.0)):
        times = [start + i * step for i in range(int((end - start) // step) + 1)] + [end]
        pack = [{"bn": "urn:dev:gh1-station:", "bt": end, "n": metric, "v": base}] + [
            {"n": metric, "t": t - end, "v": base + 5 * ((i % 12) / 12)} for i, t in enumerate(times[:-1])]
        response = ingest(client, token, pack)
        assert response.status_code == 200, response.json
        assert not response.json["rejected"]
    return end


def test_plot_page_shows_latest_readings_with_their_age_and_charts(client, greenhouse):
    plot, device, token = greenhouse
    _ingest_history(client, token)
    login(client, "farmer_a")
    page = client.get(f"/plots/{plot.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    section = sensors_of(body)
    assert "大棚气象站" in section
    # Latest readings: label, value, unit and age.
    assert "空气温度" in section and "20.0" in section and "°C" in section
    assert "二氧化碳" in section and "450" in section and "ppm" in section
    assert re.search(r"3 分钟前", section)
    # One chart per metric that has data, with points, band and mean line; none needs a script.
    charts = re.findall(r'<svg class="chart"[^>]*data-points="(\d+)"', section)
    assert len(charts) == 3 and all(int(n) >= 20 for n in charts), charts
    assert "<polyline" in section and "<polygon" in section and "<script" not in section
    assert re.search(r'<text class="xlabel"[^>]*>\d\d:00</text>', section)
    assert re.search(r'<text class="ylabel"[^>]*>\d+', section)
    # Metrics the device measures without readings say so.
    assert "此时段没有读数" in section  # air_humidity etc.
    # Tabs by links, the current one marked.
    assert re.search(r'href="/plots/\d+\?range=7d#sensors"', section)
    assert re.search(r'class="on" aria-current="page">24 小时', section)


@pytest.mark.parametrize("range_, period, most", [("24h", "hour", 24), ("7d", "hour", 168), ("30d", "day", 30)])
def test_ranges_render_from_rollups(client, greenhouse, range_, period, most):
    plot, device, token = greenhouse
    _ingest_history(client, token, hours=50)
    login(client, "farmer_a")
    body = client.get(f"/plots/{plot.id}?range={range_}").get_data(as_text=True)
    points = [int(n) for n in re.findall(r'<svg class="chart"[^>]*data-points="(\d+)"', body)]
    assert len(points) == 3
    buckets = Rollup.select().where((Rollup.device == device) & (Rollup.metric == "co2")
                                    & (Rollup.period == period)).count()
    assert all(0 < n <= most for n in points)
    assert min(buckets, most) - 1 <= max(points) <= min(buckets, most)  # the current bucket may be empty
    assert re.search(r'class="on" aria-current="page">[^<]*</a>', body)
    assert f"range={range_}#sensors\" class=\"on\"" in body


def test_unknown_range_falls_back_to_24_hours(client, greenhouse):
    plot, _device, token = greenhouse
    _ingest_history(client, token, hours=2)
    login(client, "farmer_a")
    body = client.get(f"/plots/{plot.id}?range=forever").get_data(as_text=True)
    assert 'range=24h#sensors" class="on"' in body


def test_plot_page_lists_the_plots_open_sensor_alerts_beside_the_farms_weather_warnings(client, greenhouse, world):
    from farms import service as farms

    plot, device, _token = greenhouse
    content = {"zh": {"title": "棚温过高", "message": "空气温度 38 °C 超过 35 °C 已 30 分钟"},
               "en": {"title": "Greenhouse too hot", "message": "38 °C"}}
    alert, _new = farms.raise_alert(world.farm_a.id, "sensor", f"rule:1:device:{device.id}", "orange", content,
                                    plot_id=plot.id)
    farms.raise_alert(world.farm_a.id, "sensor", "rule:2:device:99", "yellow",
                      {"zh": {"title": "别的地块的告警"}}, plot_id=world.plot_a.id)
    farms.raise_alert(world.farm_a.id, "weather", "warning-1", "red", {"zh": {"title": "暴雨红色预警"}})
    login(client, "farmer_a")
    body = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    section = sensors_of(body)
    assert "棚温过高" in section and f'action="/alerts/{alert.id}/ack"' in section
    assert "别的地块的告警" not in section and "暴雨红色预警" in section  # a warning names the farm, not a plot
    ack = client.post(f"/alerts/{alert.id}/ack", data={"csrf_token": csrf_token(client, f"/plots/{plot.id}")})
    assert ack.status_code == 302
    body = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    assert "已确认" in sensors_of(body)


def test_a_viewer_sees_readings_but_no_buttons(client, greenhouse):
    plot, _device, token = greenhouse
    _ingest_history(client, token, hours=2)
    login(client, "operator")  # the cooperative's operator: VIEW
    body = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    assert 'class="chart"' in body and "/devices/new" not in body


def test_plot_without_devices_shows_nothing_to_viewers(client, world):
    login(client, "operator")
    assert 'id="sensors"' not in client.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    login(client, "farmer_a")
    body = client.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    assert 'id="sensors"' in body and f"/plots/{world.plot_a.id}/devices/new" in body


def test_english_page(client, greenhouse):
    plot, _device, token = greenhouse
    _ingest_history(client, token, hours=2)
    login(client, "farmer_a")
    client.get("/lang/en")
    body = client.get(f"/plots/{plot.id}").get_data(as_text=True)
    assert "Air temperature" in body and "3 minutes ago" in body and "24 hours" in body


# ---------------------------------------------------------------- CSV import


def test_csv_import_page_shows_the_report(client, greenhouse):
    plot, device, _token = greenhouse
    login(client, "worker_a")  # logging on the farm is enough to import a logger's file
    page = client.get(f"/devices/{device.id}/import")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in body and 'name="column_co2"' in body

    local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(second=0, microsecond=0, tzinfo=None)
    rows = [(local - dt.timedelta(minutes=10 * i)).strftime("%Y-%m-%d %H:%M") for i in range(1, 6)]
    data = ("时间,温度,CO2\n" + "\n".join(f"{t},{20 + i},{400 + i}" for i, t in enumerate(rows))
            + f"\n{rows[-1][:-1]}9,hot,65535\n").encode("utf-8")
    form = {"csrf_token": csrf_token(client, f"/devices/{device.id}/import"), "time_column": "时间",
            "time_zone": "Asia/Shanghai", "time_format": "auto", "delimiter": "",
            "column_air_temperature": "温度", "unit_air_temperature": "Cel", "column_co2": "CO2", "unit_co2": "ppm",
            "column_air_humidity": "", "column_soil_moisture": "", "column_soil_temperature": "",
            "column_soil_ec": "", "unit_air_humidity": "%RH", "unit_soil_moisture": "%",
            "unit_soil_temperature": "Cel", "unit_soil_ec": "mS/cm"}
    import io

    response = client.post(f"/devices/{device.id}/import", data=dict(form, file=(io.BytesIO(data), "logger.csv")),
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    report = response.get_data(as_text=True)
    report = report[report.index('id="report"'):]
    assert re.search(r'class="imported">10<', report)
    assert re.search(r'class="rejected">2<', report)
    assert "<td>7</td>" in report and "65535" in report  # line 7: the saturated CO2 and the unreadable temperature
    assert Reading.select().where(Reading.device == device).count() == 10

    # A mapping that names a column the file does not have: nothing stored, said in Chinese.
    form["column_co2"] = "二氧化碳浓度"
    response = client.post(f"/devices/{device.id}/import", data=dict(form, file=(io.BytesIO(data), "logger.csv")),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "没有找到" in response.get_data(as_text=True)
    assert Reading.select().where(Reading.device == device).count() == 10


def test_csv_import_page_any_time_zone_a_headerless_file_by_number_and_the_full_report(client, greenhouse):
    """A soil station lent by its German maker, still on Berlin time, exports without a header row: semicolons,
    26.11.2026 06:00 times, decimal commas; its EC probe died, so every row has -9999 there (250 rejections).
    The page used to offer only Beijing time or UTC, took "1" as a header name, and listed 200 rejections."""
    import io

    plot, device, _token = greenhouse
    login(client, "worker_a")
    page = client.get(f"/devices/{device.id}/import").get_data(as_text=True)
    assert 'list="time-zones"' in page and '<option value="Europe/Berlin">' in page

    start = dt.datetime(2026, 11, 18, 6)
    data = "".join(f"{start + dt.timedelta(hours=i):%d.%m.%Y %H:%M};31,{i % 10};11,{i % 10};-9999\n"
                   for i in range(250)).encode()
    form = {"csrf_token": csrf_token(client, f"/devices/{device.id}/import"), "time_column": "0", "header": "no",
            "time_zone": "Europe/Berlin", "time_format": "auto", "delimiter": "",
            "column_soil_moisture": "1", "unit_soil_moisture": "%", "column_soil_temperature": "2",
            "unit_soil_temperature": "Cel", "column_soil_ec": "3", "unit_soil_ec": "uS/cm",
            "column_air_temperature": "", "column_air_humidity": "", "column_co2": "", "unit_air_temperature": "Cel",
            "unit_air_humidity": "%RH", "unit_co2": "ppm"}

    def post(**changes):
        return client.post(f"/devices/{device.id}/import",
                           data=dict(form, **changes, file=(io.BytesIO(data), "SOIL01.CSV")),
                           content_type="multipart/form-data")

    refused = post(time_zone="Mars/Olympus_Mons")
    assert refused.status_code == 422 and "Asia/Shanghai" in refused.get_data(as_text=True)
    assert Reading.select().count() == 0

    response = post()
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    report = response.get_data(as_text=True)
    report = report[report.index('id="report"'):]
    assert re.search(r'class="imported">500<', report) and re.search(r'class="rejected">250<', report)
    assert report.count('<tr class="fail">') == 200
    moisture = {r.ts: r.value for r in Reading.select().where(Reading.metric == "soil_moisture")}
    assert moisture[dt.datetime(2026, 11, 18, 5)] == 31.0  # 06:00 in Berlin (UTC+1) is 05:00 UTC

    link = re.search(rf'href="(/devices/{device.id}/import/[A-Za-z0-9_-]+\.csv)"', report).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    body = download.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8 only with a BOM
    rows = body.decode("utf-8-sig").splitlines()
    assert len(rows) == 251 and rows[0] == "类型,行,列,指标,原因"
    assert rows[1] == "已拒绝,1,3,soil_ec,saturated or error value -9999" and rows[250].startswith("已拒绝,250,3,")

    login(client, "farmer_b")  # another farm: not theirs to read
    assert client.get(link).status_code in (403, 404)


# ---------------------------------------------------------------- the demo


def test_demo_load_puts_stations_with_a_month_of_readings_in_both_greenhouses(app):
    from farms.models import Alert, Farm, Plot
    from web import demo
    from web.clock import local_zone

    now = dt.datetime.now(local_zone()).replace(second=0, microsecond=0)
    with app.app_context():
        summary = demo.load(now=now)
        assert summary["devices"] == 4 and summary["readings"] > 2 * 25_000 + 4 * 24 * 149 + 4 * 24 * 9
        for county in ("360722", "361023"):  # 信丰县, 南丰县
            farm = Farm.get(Farm.county == county)
            devices = list(Device.select().join(Plot).where((Device.farm == farm) & (Plot.kind == "greenhouse")))
            assert len(devices) == 1, county
            device = devices[0]
            count = Reading.select().where(Reading.device == device).count()
            assert 6 * 4300 <= count <= 6 * 4330, count
            newest = Reading.select().where(Reading.device == device).order_by(Reading.ts.desc()).first().ts
            assert now.astimezone(dt.timezone.utc).replace(tzinfo=None) - newest <= dt.timedelta(minutes=10)
            assert Rollup.select().where((Rollup.device == device) & (Rollup.period == "day")).count() >= 30
        again = demo.load(now=now)
        assert not again["devices"] and not again["readings"]
        later = demo.load(now=now + dt.timedelta(hours=1))
        # topped up: an hour of readings every 10 minutes in the greenhouses, one in each orchard
        assert later["readings"] == 2 * 6 * 6 + 4 + 4
        # The alarms are live: the red soil's pH under the navel orange's default 5.5 in both orchards,
        # and the second orchard's detached soil moisture probe reading flat.
        alerts = {(a.plot.name, a.source_key.split(":")[-1] if a.source_key.startswith("device:") else "rule")
                  for a in Alert.select().join(Plot, on=(Alert.plot == Plot.id))
                  .where((Alert.source == "sensor") & Alert.cleared_at.is_null())}
        assert {("1号山地果园", "rule"), ("2号山地果园", "rule"), ("2号山地果园", "flat")} <= alerts, alerts
        assert ("1号山地果园", "flat") not in alerts

    client = app.test_client()
    login(client, "farmer1", demo.PASSWORD)
    body = client.get("/dashboard").get_data(as_text=True)
    assert "土壤pH过低" in body and "土壤含水量读数长时间不变" in body
    login(client, "farmer2", demo.PASSWORD)
    with app.app_context():
        plot = Plot.get((Plot.farm == Farm.get(Farm.county == "361023")) & (Plot.kind == "greenhouse"))
    for range_ in ("24h", "7d", "30d"):
        body = client.get(f"/plots/{plot.id}?range={range_}").get_data(as_text=True)
        assert body.count('<svg class="chart"') == 6, range_
        assert "空气温度" in body and "土壤含水量" in body


# ---------------------------------------------------------------- on a phone


@pytest.fixture
def demo_server(backends, tmp_path_factory, tmp_path):
    """The demo (with its greenhouse stations) served on SQLite; the flow does not depend on the database."""
    from tests.helpers import serve, sqlite_backend
    from web import create_app, db, demo

    backend = sqlite_backend(backends, tmp_path_factory)
    app = create_app({"DATABASE_URL": backend.url_for_test(tmp_path), "DATA_DIR": str(tmp_path / "data"),
                      "SECRET_KEY": "test-secret"})
    with app.app_context():
        demo.load()
    origin, stop = serve(app)
    yield origin
    stop()
    if not db.database.is_closed():
        db.database.close()


@pytest.mark.browser
def test_greenhouse_charts_fit_a_phone(demo_server, phone):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers import ARTIFACTS

    phone.get(demo_server + "/login")
    phone.find_element(By.NAME, "username").send_keys("farmer1")
    phone.find_element(By.NAME, "password").send_keys("demo-password")
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    phone.find_element(By.CSS_SELECTOR, ".list a").click()
    WebDriverWait(phone, 10).until(lambda d: "/farms/" in d.current_url)
    phone.find_element(By.PARTIAL_LINK_TEXT, "育苗大棚").click()
    WebDriverWait(phone, 10).until(lambda d: "/plots/" in d.current_url)
    for range_ in ("24h", "7d", "30d"):
        if range_ != "24h":
            phone.find_element(By.CSS_SELECTOR, f".range-tabs a[href*='range={range_}']").click()
            WebDriverWait(phone, 10).until(lambda d: f"range={range_}" in d.current_url)
        charts = phone.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert len(charts) == 6, range_
        assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
        for chart in charts:
            box = chart.rect
            assert 300 <= box["width"] <= 390 and box["height"] >= 130, (range_, box)
        # Axis labels are at least 11 px tall on screen.
        label = phone.find_element(By.CSS_SELECTOR, "svg.chart text.ylabel")
        assert label.rect["height"] >= 11, label.rect
        assert phone.find_elements(By.CSS_SELECTOR, ".reading .age")
    phone.find_element(By.ID, "sensors").location_once_scrolled_into_view
    ARTIFACTS.mkdir(exist_ok=True)
    phone.save_screenshot(str(ARTIFACTS / "21-plot-sensors.png"))


@pytest.mark.browser
def test_alarm_rules_fit_a_phone_and_pause_with_one_tap(demo_server, phone):
    """farmer1 opens the navel-orange orchard's rules from the plot page on a 390 px phone: the crop's
    defaults (soil moisture band, pH below 5.5) are listed with their buttons, nothing overflows, a tap
    pauses a rule; the screenshots are kept in tests/artifacts/."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers import ARTIFACTS

    phone.get(demo_server + "/login")
    phone.find_element(By.NAME, "username").send_keys("farmer1")
    phone.find_element(By.NAME, "password").send_keys("demo-password")
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    phone.find_element(By.CSS_SELECTOR, ".list a").click()
    WebDriverWait(phone, 10).until(lambda d: "/farms/" in d.current_url)
    phone.find_element(By.PARTIAL_LINK_TEXT, "1号山地果园").click()
    WebDriverWait(phone, 10).until(lambda d: "/plots/" in d.current_url)
    phone.find_element(By.PARTIAL_LINK_TEXT, "报警规则").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/alarm-rules"))
    ARTIFACTS.mkdir(exist_ok=True)
    phone.save_screenshot(str(ARTIFACTS / "22-alarm-rules.png"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    rules = phone.find_elements(By.CSS_SELECTOR, "li.rule")
    assert [r.find_element(By.TAG_NAME, "strong").text for r in rules] == ["土壤含水量 超出 15–35% 的范围",
                                                                          "土壤pH 低于 5.5"]
    assert "正在报警" in rules[1].text  # the red soil's pH is below 5.5 now
    for button in phone.find_elements(By.CSS_SELECTOR, ".rule-actions .button"):
        assert button.rect["height"] >= 44 and button.rect["x"] + button.rect["width"] <= 390, button.rect
    rules[1].find_element(By.XPATH, ".//button[text()='暂停']").click()
    WebDriverWait(phone, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "已暂停" in d.find_element(By.CSS_SELECTOR, "li.rule:nth-child(2)").text)
    phone.find_element(By.PARTIAL_LINK_TEXT, "添加规则").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/alarm-rules/new"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    phone.save_screenshot(str(ARTIFACTS / "23-alarm-rule-form.png"))
