"""Alarm rules a farmer sets on a plot (pages and JSON API), who may change them and acknowledge
alerts, and flat-reading detection: HTTP in, page/JSON out; readings in, alert out.

world.plot_a is a navel-orange orchard (信丰县), so its crop's default rules apply: soil moisture
outside 15–35 % and soil pH below 5.5 (the red soil's acidity).
"""
import datetime as dt
import json
import math
import re

import pytest

from farms import service as farms
from farms.models import Alert
from sensors import alarms
from sensors.models import AlarmRule
from tests.helpers import Contract, bearer, csrf_token, ingest, login
from web.clock import utcnow

API = "/api/v1"


@pytest.fixture
def contract(client):
    return Contract(client.get(f"{API}/openapi.json").get_json())


@pytest.fixture
def orchard(app, world):
    """A soil station on farm A's navel-orange orchard; returns (plot, device, token)."""
    from sensors import service

    with app.test_request_context():
        device, token = service.create_device(world.farmer_a, world.plot_a.id, "1号果园土壤墒情站", [
            "soil_moisture", "soil_temperature", "soil_ph"], uid="xf-orchard-soil")
    return world.plot_a, device, token


def rules_url(plot):
    return f"{API}/plots/{plot.id}/alarm-rules"


def sensor_alerts(key_part):
    return list(Alert.select().where((Alert.source == "sensor") & Alert.source_key.contains(key_part))
                .order_by(Alert.id))


def zh(alert):
    return json.loads(alert.content)["zh"]


def epoch(when):
    return int(when.replace(tzinfo=dt.timezone.utc).timestamp())


# ---------------------------------------------------------------- the JSON API


def test_api_lists_the_crops_defaults_and_adds_changes_pauses_and_deletes_a_rule(client, world, contract):
    headers = bearer(world.farmer_a)
    path = "/plots/{plot_id}/alarm-rules"
    listed = contract.check(path, "get", client.get(rules_url(world.plot_a), headers=headers), 200)
    assert listed["can_edit"] is True and listed["defaults_missing"] == 0
    by_metric = {r["metric"]: r for r in listed["items"]}
    assert set(by_metric) == {"soil_moisture", "soil_ph"}
    assert (by_metric["soil_ph"]["comparison"], by_metric["soil_ph"]["threshold"]) == ("<", 5.5)
    assert by_metric["soil_ph"]["from_defaults"] and by_metric["soil_ph"]["text"] == "低于 5.5"
    assert (by_metric["soil_moisture"]["low"], by_metric["soil_moisture"]["high"]) == (15, 35)

    body = {"metric": "soil_temperature", "comparison": ">", "threshold": 32, "duration_minutes": 120,
            "hysteresis": 1.5, "severity": "orange", "advice_zh": "树盘覆草降温"}
    contract.check_request(path, "post", body)
    rule = contract.check(path, "post", client.post(rules_url(world.plot_a), headers=headers, json=body), 201)
    assert (rule["duration_seconds"], rule["hysteresis"], rule["enabled"], rule["from_defaults"]) == \
        (7200, 1.5, True, False)
    one = "/alarm-rules/{rule_id}"
    assert contract.check(one, "get", client.get(f"{API}/alarm-rules/{rule['id']}", headers=headers), 200) == rule

    paused = contract.check(one, "patch", client.patch(f"{API}/alarm-rules/{rule['id']}", headers=headers,
                                                       json={"enabled": False}), 200)
    assert paused["enabled"] is False and paused["threshold"] == 32  # the rest is kept
    changed = contract.check(one, "patch", client.patch(f"{API}/alarm-rules/{rule['id']}", headers=headers,
                                                        json={"enabled": True, "threshold": 30.5}), 200)
    assert changed["enabled"] is True and changed["threshold"] == 30.5 and changed["duration_minutes"] == 120
    assert client.delete(f"{API}/alarm-rules/{rule['id']}", headers=headers).status_code == 204
    assert client.get(f"{API}/alarm-rules/{rule['id']}", headers=headers).status_code == 404


def test_api_refuses_bad_rules_with_422_and_stores_nothing(client, world, contract):
    headers = bearer(world.farmer_a)
    client.get(rules_url(world.plot_a), headers=headers)  # the defaults are copied on first use
    before = AlarmRule.select().count()
    bad = [
        ({"metric": "soil_wetness", "comparison": "<", "threshold": 5}, "metric"),
        ({"metric": "soil_ph", "comparison": "<"}, "threshold"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 15}, "threshold"),  # pH runs 0..14
        ({"metric": "soil_moisture", "comparison": "outside", "low": 30, "high": 20}, "high"),
        ({"metric": "soil_moisture", "comparison": "outside", "low": 20}, "high"),
        ({"metric": "soil_ph", "comparison": "equals", "threshold": 5}, "comparison"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": "five"}, "threshold"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "duration_minutes": -5}, "duration_minutes"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "duration_minutes": 20000}, "duration_minutes"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "hysteresis": -1}, "hysteresis"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": "NaN"}, "threshold"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "severity": "purple"}, "severity"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "colour": "red"}, "colour"),
        ({"metric": "soil_ph", "comparison": "<", "threshold": 5, "advice_zh": "施" * 501}, "advice_zh"),
    ]
    for body, field in bad:
        response = client.post(rules_url(world.plot_a), headers=headers, json=body)
        error = contract.check("/plots/{plot_id}/alarm-rules", "post", response, 422)["error"]
        assert error["code"] == "invalid" and field in error["fields"], (body, error)
    rule = AlarmRule.get((AlarmRule.plot == world.plot_a.id) & (AlarmRule.metric == "soil_ph"))
    response = client.patch(f"{API}/alarm-rules/{rule.id}", headers=headers,
                            json={"comparison": "outside", "low": 5.0})  # "outside" needs high as well
    assert response.status_code == 422 and "high" in response.get_json()["error"]["fields"]
    response = client.patch(f"{API}/alarm-rules/{rule.id}", headers=headers, json={"threshold": 20})
    assert response.status_code == 422 and "threshold" in response.get_json()["error"]["fields"]  # pH 0..14
    assert client.patch(f"{API}/alarm-rules/{rule.id}", headers=headers, data="{",
                        content_type="application/json").status_code == 400
    assert AlarmRule.select().count() == before
    assert AlarmRule.get_by_id(rule.id).comparison == "<"


def test_the_crops_default_rules_come_back_in_one_request(client, world, contract):
    headers = bearer(world.farmer_a)
    rules = client.get(rules_url(world.plot_a), headers=headers).get_json()["items"]
    ph = next(r for r in rules if r["metric"] == "soil_ph")
    moisture = next(r for r in rules if r["metric"] == "soil_moisture")
    client.patch(f"{API}/alarm-rules/{moisture['id']}", headers=headers, json={"low": 12, "enabled": False})
    assert client.delete(f"{API}/alarm-rules/{ph['id']}", headers=headers).status_code == 204
    # The last rule cannot go: the defaults would come back in its place; pausing it is the way.
    response = client.delete(f"{API}/alarm-rules/{moisture['id']}", headers=headers)
    assert contract.check("/alarm-rules/{rule_id}", "delete", response, 409)["error"]["code"] == "conflict"
    assert client.get(rules_url(world.plot_a), headers=headers).get_json()["defaults_missing"] == 1

    path = "/plots/{plot_id}/alarm-rules/defaults"
    added = contract.check(path, "post", client.post(f"{rules_url(world.plot_a)}/defaults", headers=headers), 201)
    assert added["added"] == 1 and added["items"][0]["metric"] == "soil_ph" and added["items"][0]["threshold"] == 5.5
    again = contract.check(path, "post", client.post(f"{rules_url(world.plot_a)}/defaults", headers=headers), 200)
    assert again == {"added": 0, "items": []}
    items = client.get(rules_url(world.plot_a), headers=headers).get_json()["items"]
    kept = next(r for r in items if r["metric"] == "soil_moisture")
    assert (kept["low"], kept["enabled"]) == (12, False)  # the farmer's change is not undone
    assert len(items) == 2


def test_only_those_who_manage_the_farm_change_rules_the_others_read_them(client, world):
    rules = client.get(rules_url(world.plot_a), headers=bearer(world.farmer_a)).get_json()["items"]
    rule_id = rules[0]["id"]
    body = {"metric": "soil_ph", "comparison": "<", "threshold": 5}
    for user in (world.worker_a, world.operator, world.inspector, world.bureau_county):
        headers = bearer(user)
        listed = client.get(rules_url(world.plot_a), headers=headers)
        assert listed.status_code == 200 and listed.get_json()["can_edit"] is False, user.username
        assert client.get(f"{API}/alarm-rules/{rule_id}", headers=headers).status_code == 200
        assert client.post(rules_url(world.plot_a), headers=headers, json=body).status_code == 403
        assert client.patch(f"{API}/alarm-rules/{rule_id}", headers=headers,
                            json={"enabled": False}).status_code == 403
        assert client.delete(f"{API}/alarm-rules/{rule_id}", headers=headers).status_code == 403
        assert client.post(f"{rules_url(world.plot_a)}/defaults", headers=headers).status_code == 403
    for user in (world.farmer_b, world.bureau_other_city):  # may not see the farm at all
        headers = bearer(user)
        assert client.get(rules_url(world.plot_a), headers=headers).status_code == 404
        assert client.get(f"{API}/alarm-rules/{rule_id}", headers=headers).status_code == 404
        assert client.patch(f"{API}/alarm-rules/{rule_id}", headers=headers, json={}).status_code == 404
    assert client.get(rules_url(world.plot_a)).status_code == 401
    assert AlarmRule.get_by_id(rule_id).enabled


# ---------------------------------------------------------------- readings in, alert out


def test_a_rule_set_through_the_api_raises_on_readings_and_pausing_clears_it(client, world, orchard):
    plot, device, token = orchard
    headers = bearer(world.farmer_a)
    rule = client.post(rules_url(plot), headers=headers, json={
        "metric": "soil_temperature", "comparison": ">", "threshold": 30, "duration_minutes": 60,
        "hysteresis": 1, "severity": "orange"}).get_json()
    start = epoch(utcnow()) - 2 * 3600
    batch = [{"metric": "soil_temperature", "ts": start + i * 600, "value": 31.0 + (i % 3) * 0.2} for i in range(12)]
    assert ingest(client, token, batch).get_json()["accepted"] == 12
    [alert] = sensor_alerts(f"rule:{rule['id']}:")
    assert alert.cleared_at is None and alert.severity == "orange" and alert.plot_id == plot.id
    assert "土壤温度过高" in zh(alert)["title"] and "高于 30 °C" in zh(alert)["message"]
    assert client.get(f"{API}/alarm-rules/{rule['id']}", headers=headers).get_json()["alarming"] is True
    # It shows on the dashboard and on the plot, with 知道了 for the farmer.
    login(client, "farmer_a")
    for page in ("/dashboard", f"/plots/{plot.id}"):
        body = client.get(page).get_data(as_text=True)
        assert "土壤温度过高" in body and f"/alerts/{alert.id}/ack" in body, page
    assert client.patch(f"{API}/alarm-rules/{rule['id']}", headers=headers, json={"enabled": False}).status_code == 200
    assert Alert.get_by_id(alert.id).cleared_at is not None
    # Paused, further readings raise nothing.
    ingest(client, token, [{"metric": "soil_temperature", "ts": start + 7300, "value": 33.0}])
    assert [a.id for a in sensor_alerts(f"rule:{rule['id']}:") if a.cleared_at is None] == []


def test_the_navel_orange_default_raises_on_acid_red_soil(app, client, world, orchard):
    """The red soil of 信丰's orchards reads pH 5.2–5.4; the crop's default (< 5.5 for 12 h) raises."""
    plot, device, token = orchard
    start = epoch(utcnow()) - 14 * 3600
    batch = [{"metric": "soil_ph", "ts": start + i * 3600, "value": 5.32 + 0.02 * (i % 4)} for i in range(14)]
    ingest(client, token, batch)
    [alert] = [a for a in sensor_alerts("rule:") if a.cleared_at is None]
    assert "土壤pH过低" in zh(alert)["title"] and "石灰" in zh(alert)["advice"][0]


# ---------------------------------------------------------------- pages


def test_rules_page_lists_adds_edits_pauses_and_deletes(client, world, orchard):
    plot, _device, _token = orchard
    login(client, "farmer_a")
    page = client.get(f"/plots/{plot.id}/alarm-rules")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "报警规则" in body
    assert "土壤pH 低于 5.5" in body and "土壤含水量 超出 15–35% 的范围" in body and "作物默认" in body
    assert "至少持续 12 小时" in body and "石灰" in body
    assert f'href="/plots/{plot.id}/alarm-rules"' in client.get(f"/plots/{plot.id}").get_data(as_text=True)

    new = f"/plots/{plot.id}/alarm-rules/new"
    form = client.get(new).get_data(as_text=True)
    assert 'name="duration_minutes"' in form and 'name="hysteresis"' in form
    token = csrf_token(client, new)
    bad = client.post(new, data={"csrf_token": token, "metric": "soil_moisture", "comparison": "outside",
                                 "low": "30", "high": "20", "duration_minutes": "60", "hysteresis": "1",
                                 "severity": "yellow", "enabled": "y"})
    assert bad.status_code == 422 and "最高允许值必须大于最低允许值" in bad.get_data(as_text=True)
    count = AlarmRule.select().count()
    done = client.post(new, data={"csrf_token": token, "metric": "soil_temperature", "comparison": ">",
                                  "threshold": "32", "duration_minutes": "90", "hysteresis": "1",
                                  "severity": "orange", "enabled": "y", "advice_zh": "树盘覆草"})
    assert done.status_code == 302 and AlarmRule.select().count() == count + 1
    rule = AlarmRule.select().order_by(AlarmRule.id.desc()).first()
    assert (rule.metric, rule.threshold, rule.duration_seconds, rule.severity) == ("soil_temperature", 32, 5400,
                                                                                    "orange")
    listing = client.get(f"/plots/{plot.id}/alarm-rules").get_data(as_text=True)
    assert "土壤温度 高于 32 °C" in listing and "至少持续 90 分钟" in listing and "恢复余量 1 °C" in listing

    edit = f"/alarm-rules/{rule.id}/edit"
    assert 'value="32.0"' in client.get(edit).get_data(as_text=True) or 'value="32"' in client.get(edit).get_data(
        as_text=True)
    assert client.post(edit, data={"csrf_token": token, "metric": "soil_temperature", "comparison": ">",
                                   "threshold": "31", "duration_minutes": "90", "hysteresis": "1",
                                   "severity": "red", "enabled": "y"}).status_code == 302
    assert AlarmRule.get_by_id(rule.id).threshold == 31 and AlarmRule.get_by_id(rule.id).severity == "red"

    assert client.post(f"/alarm-rules/{rule.id}/toggle", data={"csrf_token": token}).status_code == 302
    assert not AlarmRule.get_by_id(rule.id).enabled
    assert "已暂停" in client.get(f"/plots/{plot.id}/alarm-rules").get_data(as_text=True)
    assert client.post(f"/alarm-rules/{rule.id}/toggle", data={"csrf_token": token}).status_code == 302
    assert AlarmRule.get_by_id(rule.id).enabled

    confirm = client.get(f"/alarm-rules/{rule.id}/delete").get_data(as_text=True)
    assert "删除这条报警规则？" in confirm and "土壤温度 高于 31 °C" in confirm
    assert client.post(f"/alarm-rules/{rule.id}/delete", data={"csrf_token": token}).status_code == 302
    assert AlarmRule.get_or_none(AlarmRule.id == rule.id) is None
    assert client.post(f"/alarm-rules/{rule.id}/toggle", data={"csrf_token": token}).status_code == 404


def test_rules_page_offers_the_missing_defaults_as_one_button(client, world):
    login(client, "farmer_a")
    page = f"/plots/{world.plot_a.id}/alarm-rules"
    client.get(page)
    ph = AlarmRule.get((AlarmRule.plot == world.plot_a.id) & (AlarmRule.metric == "soil_ph"))
    token = csrf_token(client, page)
    assert client.post(f"/alarm-rules/{ph.id}/delete", data={"csrf_token": token}).status_code == 302
    body = client.get(page).get_data(as_text=True)
    assert "添加作物默认规则" in body and "土壤pH 低于 5.5" in body  # named in the offer
    assert client.post(f"{page}/defaults", data={"csrf_token": token}).status_code == 302
    body = client.get(page).get_data(as_text=True)
    assert "已添加 1 条作物默认规则" in body and "添加作物默认规则" not in body
    # The last rule is not deleted (the defaults would return); the page says to pause it.
    moisture = AlarmRule.get((AlarmRule.plot == world.plot_a.id) & (AlarmRule.metric == "soil_moisture"))
    client.post(f"/alarm-rules/{AlarmRule.get((AlarmRule.plot == world.plot_a.id) & (AlarmRule.metric == 'soil_ph')).id}"
                "/delete", data={"csrf_token": token})
    refused = client.post(f"/alarm-rules/{moisture.id}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "请改为暂停" in refused.get_data(as_text=True) and AlarmRule.get_or_none(AlarmRule.id == moisture.id)


@pytest.mark.parametrize("username", ["worker_a", "operator", "inspector", "bureau_county"])
def test_others_see_rules_read_only_and_a_translated_403(client, world, username):
    rule = alarms.rules_for(world.plot_a.id)[0]
    login(client, username)
    body = client.get(f"/plots/{world.plot_a.id}/alarm-rules").get_data(as_text=True)
    assert "土壤pH 低于 5.5" in body and "只有农场主可以修改这些规则" in body
    assert f"/alarm-rules/{rule.id}/edit" not in body and "添加规则" not in body and "暂停</button>" not in body
    for path in (f"/alarm-rules/{rule.id}/edit", f"/plots/{world.plot_a.id}/alarm-rules/new"):
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code == 403 and "您没有执行此操作的权限" in text, path
        assert "you may not" not in text and "permission" not in text.lower(), path
    token = csrf_token(client, f"/plots/{world.plot_a.id}/alarm-rules")
    assert client.post(f"/alarm-rules/{rule.id}/toggle", data={"csrf_token": token}).status_code == 403
    assert AlarmRule.get_by_id(rule.id).enabled


def test_a_hidden_plot_is_a_translated_404(client, world):
    login(client, "farmer_b")
    page = client.get(f"/plots/{world.plot_a.id}/alarm-rules")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and "页面不存在" in text and "not found" not in text
    missing = client.get("/no-such-page").get_data(as_text=True)
    assert "页面不存在" in missing and "requested URL" not in missing


@pytest.mark.parametrize("username,acknowledges", [("farmer_a", True), ("worker_a", True), ("operator", False),
                                                   ("inspector", False), ("bureau_county", False)])
def test_got_it_is_offered_only_to_those_who_may_act_on_the_farm(client, world, username, acknowledges):
    alert, _new = farms.raise_alert(world.farm_a.id, "sensor", "device:1:soil_moisture:flat", "yellow", {
        "zh": {"title": "1号园：土壤含水量读数长时间不变", "message": "", "advice": []},
        "en": {"title": "flat", "message": "", "advice": []}}, plot_id=world.plot_a.id)
    login(client, username)
    pages = ("/dashboard", f"/plots/{world.plot_a.id}")
    if username == "bureau_county":  # a bureau's home is its own dashboard; it reads the farm's plot page
        assert client.get("/dashboard").headers["Location"].endswith("/bureau/")
        pages = pages[1:]
    for page in pages:
        body = client.get(page).get_data(as_text=True)
        assert "土壤含水量读数长时间不变" in body, page
        assert (f"/alerts/{alert.id}/ack" in body) is acknowledges, page
        assert ("知道了" in body) is acknowledges, page


# ---------------------------------------------------------------- flat readings


def stuck_probe_series(end, hours_flat=60, days_before=3):
    """Hourly soil moisture shaped like a capacitance probe (an EC-5-style 10 cm probe in red clay):
    before it fails, drying about 0.6 %/day with a few tenths of daily ripple from soil temperature and
    a jump of about 8 % at each morning's drip irrigation; then the clay shrinks away from its rods and
    it reads the air gap: 18 % with the converter's 0.1 % flicker, irrigation or not."""
    start = end - dt.timedelta(hours=hours_flat + 24 * days_before)
    failed = end - dt.timedelta(hours=hours_flat)
    rows, level = [], 27.0
    t = start
    while t < end:
        hour_local = (t.hour + 8) % 24
        if t < failed:
            if hour_local == 7:
                level = min(35.0, level + 8.0)
            level -= 0.6 / 24
            value = level + 0.3 * math.sin((hour_local - 9) / 24 * 2 * math.pi)
        else:
            value = 18.0 + (0.1 if (t.hour * 7 + t.day) % 5 == 0 else 0.0)
        rows.append({"metric": "soil_moisture", "ts": epoch(t), "value": round(value, 1)})
        rows.append({"metric": "soil_moisture", "ts": epoch(t + dt.timedelta(minutes=30)),
                     "value": round(value if t >= failed else value - 0.01, 1)})
        t += dt.timedelta(hours=1)
    return rows


def drying_soil_series(end, hours=60):
    """A probe in firm contact in a dry spell: no water for days, drying slowly (0.3 %/day) with the daily
    ripple of the soil's temperature; it looks flat on a chart but it is not."""
    rows = []
    for h in range(hours):
        t = end - dt.timedelta(hours=hours - h)
        value = 19.0 - 0.3 * h / 24 + 0.25 * math.sin(((t.hour + 8) % 24 - 9) / 24 * 2 * math.pi)
        rows.append({"metric": "soil_moisture", "ts": epoch(t), "value": round(value, 2)})
    return rows


def test_a_stuck_soil_probe_raises_a_flat_alert_and_drying_soil_does_not(app, client, world, orchard):
    plot, device, token = orchard
    from sensors import service

    with app.test_request_context():
        other, other_token = service.create_device(world.farmer_a, plot.id, "2号墒情站", ["soil_moisture"],
                                                   uid="xf-orchard-soil-2")
    now = utcnow()
    end = now.replace(minute=0, second=0, microsecond=0)
    assert ingest(client, token, stuck_probe_series(end)).status_code == 200
    assert ingest(client, other_token, drying_soil_series(end)).status_code == 200
    with app.app_context():
        assert alarms.check_flat(now=now, hours=72) == []  # the probe still moved 72 h ago
        assert alarms.check_flat(now=now) == [(device.id, "soil_moisture")]
    [alert] = sensor_alerts(f"device:{device.id}:soil_moisture:flat")
    assert alert.cleared_at is None and alert.plot_id == plot.id and alert.severity == "yellow"
    text = zh(alert)
    assert "读数长时间不变" in text["title"] and "48 小时" in text["message"] and "18–18.1%" in text["message"]
    assert "脱开" in text["advice"][0]
    assert sensor_alerts(f"device:{other.id}:") == []

    # The probe is pushed back into the soil: its readings move, and the next check clears the alert.
    later = now + dt.timedelta(hours=2)
    ingest(client, token, [{"metric": "soil_moisture", "ts": epoch(end + dt.timedelta(minutes=m)), "value": v}
                           for m, v in ((10, 24.5), (40, 24.3), (70, 24.2), (100, 24.1))])
    with app.app_context():
        assert alarms.check_flat(now=later) == []
    assert Alert.get_by_id(alert.id).cleared_at is not None


def test_flat_alert_replaces_a_stuck_alert_and_follows_the_setting(app, client, world, orchard):
    plot, device, token = orchard
    now = utcnow()
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=30)
    ingest(client, token, [{"metric": "soil_temperature", "ts": epoch(start + dt.timedelta(minutes=20 * i)),
                            "value": 21.0} for i in range(90)])
    with app.app_context():
        assert alarms.check_stuck(now=now) == [(device.id, "soil_temperature")]
        assert alarms.check_flat(now=now) == []  # 48 h are not covered
        app.config["SENSOR_FLAT_HOURS"] = 24
        alarms.flat_job(app)
    [flat] = sensor_alerts(f"device:{device.id}:soil_temperature:flat")
    assert flat.cleared_at is None and "24 小时" in zh(flat)["message"]
    [stuck] = sensor_alerts(f"device:{device.id}:soil_temperature:stuck")
    assert stuck.cleared_at is not None  # one alert for one probe
    with app.app_context():
        assert alarms.check_stuck(now=now) == []


def test_saturated_humidity_and_steady_ph_are_not_flat(app, client, world, orchard):
    """Days of rain hold an air humidity sensor at 99 %; soil pH truly stays put; neither is a fault."""
    from sensors import service

    plot, device, token = orchard
    with app.test_request_context():
        station, station_token = service.create_device(world.farmer_a, plot.id, "果园气象站", ["air_humidity"],
                                                       uid="xf-orchard-air")
    now = utcnow()
    end = now.replace(minute=0, second=0, microsecond=0)
    hours = [end - dt.timedelta(hours=h) for h in range(50, 0, -1)]
    ingest(client, station_token, [{"metric": "air_humidity", "ts": epoch(t), "value": 99.0 + (t.hour % 2) * 0.5}
                                   for t in hours])
    ingest(client, token, [{"metric": "soil_ph", "ts": epoch(t), "value": 5.6 + (t.hour % 3) * 0.01} for t in hours])
    with app.app_context():
        assert alarms.check_flat(now=now) == []


def test_sensor_flat_hours_is_a_documented_setting(app):
    from pathlib import Path

    assert app.config["SENSOR_FLAT_HOURS"] == 48
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert re.search(r"\| `SENSOR_FLAT_HOURS` \| `48`", readme)
