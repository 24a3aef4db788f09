"""The one Alert model that sensor alarms and weather warnings share."""
import pytest

from farms import service
from tests.helpers import csrf_token, login


def content(title):
    return {"zh": {"title": title, "message": "注意", "advice": ["覆盖幼树"]},
            "en": {"title": "Frost", "message": "Take care", "advice": ["Cover young trees"]}}


def test_one_alert_per_source_key_and_farm(app, world):
    alert, new = service.raise_alert(world.farm_a.id, "weather", "w:1", "yellow", content("霜冻黄色预警"))
    assert new
    again, more = service.raise_alert(world.farm_a.id, "weather", "w:1", "yellow", content("霜冻黄色预警"))
    assert again.id == alert.id and not more
    worse, more = service.raise_alert(world.farm_a.id, "weather", "w:1", "orange", content("霜冻橙色预警"))
    assert worse.id == alert.id and more and worse.severity == "orange"
    with pytest.raises(ValueError):
        service.raise_alert(world.farm_a.id, "weather", "w:2", "purple", content("x"))


def test_farmer_sees_acknowledges_and_alert_clears(client, world):
    alert, _ = service.raise_alert(world.farm_a.id, "weather", "w:9", "orange", content("霜冻橙色预警"))
    service.raise_alert(world.farm_b.id, "weather", "w:9", "orange", content("B 的预警"))
    login(client, "farmer_a")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "霜冻橙色预警" in html and "覆盖幼树" in html and "B 的预警" not in html
    assert client.post(f"/alerts/{alert.id}/ack", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert service.get_alert(world.farmer_a, alert.id).acknowledged_at is not None
    other = service.open_alerts(world.farmer_b)[0]
    assert client.post(f"/alerts/{other.id}/ack", data={"csrf_token": csrf_token(client)}).status_code == 404
    assert service.clear_alerts("weather", "w:9") == 2
    assert "霜冻橙色预警" not in client.get("/dashboard").get_data(as_text=True)


def test_bureau_sees_but_cannot_acknowledge(client, world):
    alert, _ = service.raise_alert(world.farm_a.id, "sensor", "rule:1", "red", content("大棚高温"))
    login(client, "bureau_county")
    assert "大棚高温" in client.get("/dashboard", follow_redirects=True).get_data(as_text=True)  # the bureau's home
    assert client.post(f"/alerts/{alert.id}/ack", data={"csrf_token": csrf_token(client)}).status_code == 403


def test_a_sensor_alert_on_the_dashboard_links_to_its_plot(client, world):
    """A sensor alarm is raised on the plot its device sits on: the dashboard names the plot and links to
    it; a weather warning (a whole farm) has no plot link."""
    import re

    service.raise_alert(world.farm_a.id, "sensor", "rule:7", "red", content("土壤湿度过低"), plot_id=world.plot_a.id)
    weather, _ = service.raise_alert(world.farm_a.id, "weather", "w:3", "yellow", content("大风黄色预警"))
    login(client, "worker_a")
    html = client.get("/dashboard").get_data(as_text=True)
    articles = dict(re.findall(r'<article class="alert[^"]*" id="alert-(\d+)">(.*?)</article>', html, re.S))
    sensor = next(body for body in articles.values() if "土壤湿度过低" in body)
    link = re.search(r'<a class="alert-plot" href="([^"]+)">([^<]+)</a>', sensor)
    assert link.group(1) == f"/plots/{world.plot_a.id}" and "1号园" in link.group(2)
    assert "A 果园 · 1号园 · " in sensor
    assert 'class="alert-plot"' not in articles[str(weather.id)]
    assert client.get(link.group(1)).status_code == 200
