"""Sensor alarms: rules with duration and hysteresis, crop defaults, faulty/silent/stuck devices, the daily record.

Readings go through the real HTTP ingest with explicit epoch timestamps.
"""
import datetime as dt
import json
import time
from zoneinfo import ZoneInfo

import pytest

from farms import service as farms
from farms.models import Alert, Crop, Log, LogPlot
from sensors import alarms
from sensors.models import AlarmRule, AlarmState, DailyRecord, Device
from tests.helpers import ingest, login
from web.accounts.models import utcnow
from web.permissions import Denied

SHANGHAI = ZoneInfo("Asia/Shanghai")


def post(client, token, batch):
    response = ingest(client, token, batch)
    assert response.status_code in (200, 422), response.get_data(as_text=True)
    return response.json


def readings(metric, start, values, step=60):
    """A plain batch: ``values`` of ``metric`` every ``step`` seconds from epoch ``start``."""
    return [{"metric": metric, "ts": start + i * step, "value": v} for i, v in enumerate(values)]


def sensor_alerts(farm=None, key_prefix=""):
    query = Alert.select().where((Alert.source == "sensor") & Alert.source_key.startswith(key_prefix))
    if farm is not None:
        query = query.where(Alert.farm == farm)
    return list(query.order_by(Alert.id))


def open_(alerts):
    return [a for a in alerts if a.cleared_at is None]


def zh(alert):
    return json.loads(alert.content)["zh"]


def rule_of(plot, metric, comparison):
    return next(r for r in alarms.rules_for(plot.id) if r.metric == metric and r.comparison == comparison)


def test_listeners_are_registered(app):
    """Making the app registers them (sensors.init_app), whatever ran before."""
    from sensors import service

    assert alarms.evaluate in service.INGEST_LISTENERS
    assert alarms.check_rejections in service.INGEST_LISTENERS


def test_greenhouse_heat_raises_after_ten_minutes_and_clears_below_35_minus_hysteresis(client, world, greenhouse):
    plot, device, token = greenhouse
    t0 = int(time.time()) - 3600
    rule = rule_of(plot, "air_temperature", ">")
    assert (rule.threshold, rule.duration_seconds, rule.hysteresis, rule.severity) == (35, 600, 1, "orange")
    key = f"rule:{rule.id}:device:{device.id}"

    # Fine before, then 36 °C from t0: nine minutes of breach raise nothing.
    assert post(client, token, readings("air_temperature", t0 - 120, [28.0, 30.0]))["accepted"] == 2
    assert post(client, token, readings("air_temperature", t0, [36.0] * 10))["accepted"] == 10
    assert not sensor_alerts()
    state = AlarmState.get((AlarmState.rule == rule.id) & (AlarmState.device == device.id))
    assert state.breach_started_at == dt.datetime.fromtimestamp(t0, dt.timezone.utc).replace(tzinfo=None)
    assert not state.active

    # The reading at t0 + 10 min completes the ten minutes.
    post(client, token, readings("air_temperature", t0 + 600, [36.5]))
    [alert] = open_(sensor_alerts())
    assert (alert.source_key, alert.severity, alert.farm_id, alert.plot_id) == (key, "orange", world.farm_a.id, plot.id)
    text = zh(alert)
    assert "1号大棚" in text["title"] and "空气温度" in text["title"]
    assert "36.5 °C" in text["message"] and "35 °C" in text["message"] and "10 分钟" in text["message"]
    since = dt.datetime.fromtimestamp(t0, SHANGHAI).strftime("%m-%d %H:%M")
    assert since in text["message"]
    assert text["advice"] and "通风" in text["advice"][0]
    assert json.loads(alert.content)["en"]["title"] == "1号大棚: Air temperature too high"
    from farms.models import Delivery
    assert Delivery.select().where(Delivery.alert == alert.id).count() >= 1  # the farm's people are notified

    # Still hot: one alert, not a second one.
    post(client, token, readings("air_temperature", t0 + 660, [37.0]))
    assert len(sensor_alerts()) == 1

    # Below 35 but not below 35 - 1: stays open. Below 34: clears.
    post(client, token, readings("air_temperature", t0 + 720, [34.5]))
    assert open_(sensor_alerts())
    post(client, token, readings("air_temperature", t0 + 780, [33.8]))
    assert not open_(sensor_alerts())
    state = AlarmState.get_by_id(state.id)
    assert not state.active and state.breach_started_at is None and state.last_value == 33.8

    # Readings older than what was judged already are not judged again.
    post(client, token, readings("air_temperature", t0 + 30, [40.0] * 20, step=1))
    assert not open_(sensor_alerts())


def test_a_dip_below_the_threshold_restarts_the_breach(client, world, greenhouse):
    plot, device, token = greenhouse
    t0 = int(time.time()) - 3600
    values = [36.0] * 6 + [34.9] + [36.0] * 10  # 0-5 min hot, 6 min fine, 7-16 min hot
    post(client, token, readings("air_temperature", t0, values))
    assert not sensor_alerts()
    post(client, token, readings("air_temperature", t0 + 17 * 60, [36.0]))  # 10 min after 7 min
    assert len(open_(sensor_alerts())) == 1


def test_history_older_than_a_day_raises_nothing(client, world, greenhouse):
    _plot, _device, token = greenhouse
    t0 = int(time.time()) - 3 * 86400
    assert post(client, token, readings("air_temperature", t0, [39.0] * 30))["accepted"] == 30
    assert not sensor_alerts()


def test_a_reused_device_object_counts_each_ingests_rejections(app, world, greenhouse):
    """CSV import and the MQTT worker call ingest several times with one Device object."""
    from sensors import service

    _plot, device, _token = greenhouse
    device = Device.get_by_id(device.id)
    now = utcnow()
    t0 = int(now.replace(tzinfo=dt.timezone.utc).timestamp()) - 600

    def items(metric, values, start):
        return [(i, metric, float(start + i), v, None) for i, v in enumerate(values)]

    with app.test_request_context():
        service.ingest(device, None, items("soil_moisture", [65535.0] * 3, t0))
        assert open_(sensor_alerts(key_prefix=f"device:{device.id}:faulty"))
        service.ingest(device, None, items("soil_moisture", [30.0] * 5, t0 + 100))
        assert not open_(sensor_alerts(key_prefix=f"device:{device.id}:faulty"))


def test_greenhouse_cold_and_disabled_rules(client, world, greenhouse):
    plot, device, token = greenhouse
    cold = rule_of(plot, "air_temperature", "<")
    assert (cold.threshold, cold.duration_seconds) == (5, 1800)
    with client.application.test_request_context():
        alarms.save_rule(world.farmer_a, plot.id, {"enabled": False}, rule_id=cold.id)
    t0 = int(time.time()) - 7200
    post(client, token, readings("air_temperature", t0, [2.0] * 40))
    assert not sensor_alerts()
    with client.application.test_request_context():
        alarms.save_rule(world.farmer_a, plot.id, {"enabled": True}, rule_id=cold.id)
    post(client, token, readings("air_temperature", t0 + 40 * 60, [2.0] * 31))
    [alert] = open_(sensor_alerts())
    assert "过低" in zh(alert)["title"] and "30 分钟" in zh(alert)["message"]


def test_citrus_default_soil_moisture_band_for_a_navel_orange_plot(app, client, world):
    from sensors import service

    rule, ph = alarms.rules_for(world.plot_a.id)  # an orchard with a navel orange planting
    assert (rule.metric, rule.comparison, rule.low, rule.high) == ("soil_moisture", "outside", 15, 35)
    assert (rule.duration_seconds, rule.severity, rule.enabled) == (6 * 3600, "yellow", True)
    assert rule.origin.startswith("default:navel_orange:")
    assert (ph.metric, ph.comparison, ph.threshold, ph.duration_seconds) == ("soil_ph", "<", 5.5, 12 * 3600)
    assert [r.id for r in alarms.rules_for(world.plot_a.id)] == [rule.id, ph.id]  # copied once
    assert AlarmRule.select().count() == 2

    # A farmer edits the copy; it stays edited.
    with app.test_request_context():
        alarms.save_rule(world.farmer_a, world.plot_a.id, {"low": 18.0}, rule_id=rule.id)
        with pytest.raises(Denied):
            alarms.save_rule(world.farmer_b, world.plot_a.id, {"low": 10.0}, rule_id=rule.id)
        device, token = service.create_device(world.farmer_a, world.plot_a.id, "土壤墒情", ["soil_moisture"],
                                              uid="a-soil")
    assert alarms.rules_for(world.plot_a.id)[0].low == 18

    # Dry for six hours (readings every 30 min) raises the yellow alarm.
    t0 = int(time.time()) - 8 * 3600
    post(client, token, readings("soil_moisture", t0, [12.0] * 12, step=1800))  # 0 .. 5.5 h
    assert not sensor_alerts()
    post(client, token, readings("soil_moisture", t0 + 12 * 1800, [11.5]))
    [alert] = open_(sensor_alerts())
    assert alert.severity == "yellow" and "土壤含水量" in zh(alert)["title"]
    assert "18–35%" in zh(alert)["message"] and "6 小时" in zh(alert)["message"]
    # Back to 19 % (inside, but not by the 2 % margin) keeps it; 21 % clears it.
    post(client, token, readings("soil_moisture", t0 + 13 * 1800, [19.0]))
    assert open_(sensor_alerts())
    post(client, token, readings("soil_moisture", t0 + 14 * 1800, [21.0]))
    assert not open_(sensor_alerts())


def test_greenhouse_vegetables_get_the_humidity_rule_and_plots_without_defaults_none(app, world, greenhouse):
    plot, _device, _token = greenhouse
    tomato = Crop.get(Crop.code == "tomato")
    farms.create_planting(world.farmer_a, plot, {"crop": tomato.id, "start_date": dt.date(2026, 3, 1)})
    metrics = {(r.metric, r.comparison) for r in alarms.rules_for(plot.id)}
    assert metrics == {("air_temperature", ">"), ("air_temperature", "<"), ("air_humidity", ">"),
                       ("soil_moisture", "<")}
    field = farms.create_plot(world.farmer_a, world.farm_a, {"name": "稻田", "kind": "field", "area": 3})
    rice = Crop.get(Crop.code == "rice")
    farms.create_planting(world.farmer_a, field, {"crop": rice.id, "start_date": dt.date(2026, 4, 1)})
    assert alarms.rules_for(field.id) == []


def test_default_rules_file_is_valid():
    rules = alarms.default_rules()
    assert len({r.origin for r in rules}) == len(rules)
    assert any(r.applies_to == ("greenhouse",) and r.metric == "air_temperature" and r.threshold == 35
               for r in rules)


def test_mostly_saturated_readings_raise_a_faulty_sensor_alert(client, world, greenhouse):
    _plot, device, token = greenhouse
    t0 = int(time.time()) - 600
    batch = (readings("soil_moisture", t0, [65535.0] * 4) + readings("soil_ec", t0, [25.0])
             + readings("air_humidity", t0, [60.0]))
    result = post(client, token, batch)
    assert result["accepted"] == 1 and len(result["rejected"]) == 5
    [alert] = open_(sensor_alerts(key_prefix=f"device:{device.id}:faulty"))
    assert "传感器读数异常" in zh(alert)["title"] and "5 条被拒收" in zh(alert)["message"]
    # One bad reading among many good ones does not; a clean ingest clears it.
    post(client, token, readings("air_humidity", t0 + 60, [61.0, 62.0, 63.0]))
    assert not open_(sensor_alerts(key_prefix=f"device:{device.id}:faulty"))
    post(client, token, readings("air_humidity", t0 + 300, [61.0, 62.0, 63.0]) + readings("co2", t0, [65535.0]))
    assert not open_(sensor_alerts(key_prefix=f"device:{device.id}:faulty"))


def test_silent_device_alert_and_its_clearing_by_the_next_reading(app, client, world, greenhouse):
    _plot, device, token = greenhouse
    with app.app_context():
        assert alarms.check_silent() == []  # never reported: not installed yet, not silent
    post(client, token, readings("co2", int(time.time()) - 60, [420.0]))

    def last_seen(minutes_ago):
        Device.update(last_seen_at=utcnow() - dt.timedelta(minutes=minutes_ago)).where(Device.id == device.id).execute()

    with app.app_context():
        last_seen(29)
        assert alarms.check_silent() == []
        last_seen(31)
        assert [d.id for d in alarms.check_silent()] == [device.id]
        assert [d.id for d in alarms.check_silent()] == [device.id]  # again: still one alert
    [alert] = sensor_alerts(key_prefix=f"device:{device.id}:silent")
    assert alert.cleared_at is None and "设备无数据" in zh(alert)["title"] and "30 分钟" in zh(alert)["message"]
    post(client, token, readings("co2", int(time.time()) - 30, [430.0]))
    assert sensor_alerts(key_prefix=f"device:{device.id}:silent")[0].cleared_at is not None
    # A device switched off while silent has its alert cleared by the job.
    with app.app_context():
        last_seen(40)
        alarms.check_silent()
        assert open_(sensor_alerts(key_prefix=f"device:{device.id}:silent"))
        Device.update(active=False).where(Device.id == device.id).execute()
        assert alarms.check_silent() == []
    assert not open_(sensor_alerts(key_prefix=f"device:{device.id}:silent"))


def test_alarm_settings_have_defaults(monkeypatch):
    from web.settings import load_settings

    monkeypatch.delenv("SENSOR_SILENT_MINUTES", raising=False)
    monkeypatch.setenv("SENSOR_STUCK_HOURS", "12")
    settings = load_settings({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    assert (settings["SENSOR_SILENT_MINUTES"], settings["SENSOR_STUCK_HOURS"]) == (30, 12)


def test_stuck_values_are_found_from_hourly_rollups(app, client, world, greenhouse):
    _plot, device, token = greenhouse
    now = utcnow()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=6)
    epoch = int(start.replace(tzinfo=dt.timezone.utc).timestamp())
    post(client, token, readings("soil_temperature", epoch, [21.0] * 18, step=1200)  # six hours, unchanged
         + readings("air_temperature", epoch, [20.0 + i % 5 for i in range(18)], step=1200)
         + readings("co2", epoch + 4 * 3600, [400.0] * 6, step=600))  # only the last two hours
    with app.app_context():
        assert alarms.check_stuck(now=now) == [(device.id, "soil_temperature")]
        assert alarms.check_stuck(now=now, hours=7) == []  # the window is not covered
        alarms.check_stuck(now=now)
    [alert] = sensor_alerts(key_prefix=f"device:{device.id}:soil_temperature:stuck")
    assert alert.cleared_at is None and "读数不变" in zh(alert)["title"] and "21 °C" in zh(alert)["message"]
    post(client, token, readings("soil_temperature", epoch + 300, [21.4]))
    with app.app_context():
        assert alarms.check_stuck(now=now) == []
    assert sensor_alerts(key_prefix=f"device:{device.id}:soil_temperature:stuck")[0].cleared_at is not None


def test_daily_record_writes_one_observation_log_per_local_day(app, client, world, greenhouse):
    plot, device, token = greenhouse
    today = dt.datetime.now(SHANGHAI).date()
    day = today - dt.timedelta(days=1)
    midnight = int(dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).timestamp())
    # Every half hour of the local day: 20 °C at 00:00 up to 43 °C at 23:00 (36..43 from 16:00: 8 hours > 35).
    temps = [{"metric": "air_temperature", "ts": midnight + h * 3600 + m, "value": 20.0 + h}
             for h in range(24) for m in (0, 1800)]
    humid = readings("air_humidity", midnight, [80.0] * 24, step=3600)
    before = [{"metric": "air_temperature", "ts": midnight - 1800, "value": 60.0}]  # the day before, 23:30
    assert post(client, token, temps + humid + before)["accepted"] == 48 + 24 + 1

    with app.app_context():
        entry = alarms.write_daily_record(plot.id, day)
        assert alarms.write_daily_record(plot.id, day) is None  # once
    entry = Log.get_by_id(entry.id)
    assert (entry.kind, entry.farm_id, entry.created_by_id) == ("observation", world.farm_a.id, None)
    assert [lp.plot_id for lp in LogPlot.select().where(LogPlot.log == entry.id)] == [plot.id]
    local = entry.timestamp.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI)
    assert local.date() == day
    notes = entry.notes
    assert f"传感器日报（Sensor daily record）{day.isoformat()} · 1号大棚" in notes
    assert "空气温度（Air temperature）：最低（min）20 °C，最高（max）43 °C，平均（mean）31.5 °C，48 条读数" in notes
    assert "空气湿度（Air humidity）：最低（min）80%，最高（max）80%，平均（mean）80%" in notes
    assert "· 空气温度 > 35 °C：8 小时（h）" in notes
    assert "· 空气温度 < 5 °C：0 小时（h）" in notes
    assert "空气湿度 >" not in notes  # no vegetables in this greenhouse

    # The job covers the missed days too, and never writes a day twice.
    with app.app_context():
        written = alarms.write_daily_records()
        assert [w.timestamp.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date() for w in written] == [
            day - dt.timedelta(days=1)]
        assert alarms.write_daily_records() == []
    assert Log.select().where(Log.kind == "observation").count() == 2
    assert DailyRecord.select().count() == 2
    earlier = Log.get_by_id(written[0].id).notes
    assert "最低（min）60 °C" in earlier and "1 条读数" in earlier

    # The farmer sees it in the farm log.
    login(client, "farmer_a")
    assert "传感器日报" in client.get(f"/logs/{entry.id}").get_data(as_text=True)
    assert "传感器日报" in client.get("/dashboard").get_data(as_text=True)


def test_alerts_show_on_the_dashboard_of_the_farm_only(client, world, greenhouse):
    _plot, _device, token = greenhouse
    t0 = int(time.time()) - 3600
    post(client, token, readings("air_temperature", t0, [38.0] * 11))
    html = login(client, "farmer_a").get("/dashboard").get_data(as_text=True)
    assert "1号大棚：空气温度过高" in html and "打开顶窗和侧窗通风" in html and "sev-orange" in html
    other = client.application.test_client()
    html = login(other, "farmer_b").get("/dashboard").get_data(as_text=True)
    assert "空气温度过高" not in html


def test_retention_job_purges_old_raw_readings_only(app, client, world, greenhouse):
    from sensors.models import Reading, Rollup

    _plot, _device, token = greenhouse
    old = int(time.time()) - 20 * 86400
    post(client, token, readings("co2", old, [400.0]) + readings("co2", int(time.time()) - 60, [410.0]))
    app.config["RAW_RETENTION_DAYS"] = 10
    with app.app_context():
        alarms.retention_job(app)
    assert Reading.select().count() == 1 and Rollup.select().count() == 4


def test_jobs_are_registered():
    from web.scheduler import JOBS

    assert {"sensors.silent", "sensors.stuck", "sensors.retention", "sensors.daily_record"} <= set(JOBS)
