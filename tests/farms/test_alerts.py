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
