"""Weather pages: who may see and change what."""
from tests.helpers import cap_message, csrf_token, login
from weather import cap, service
from farms.models import NotificationPreference
from weather.models import AdviceRule, Feed


def test_farmer_pages_and_preferences(app, client, world):
    with app.test_request_context():
        warning = service.ingest(cap.parse_alert(cap_message("V-1")))
    login(client, "farmer_b")
    assert "霜冻橙色预警" in client.get("/weather/").get_data(as_text=True)
    page = client.get(f"/weather/warnings/{warning.id}").get_data(as_text=True)
    assert "乡村大喇叭广播稿" in page and "各位村民" in page
    bad = client.post("/weather/preferences", data={"csrf_token": csrf_token(client), "channels": ["sms"],
                                                    "min_level": "yellow"})
    assert bad.status_code == 422 and NotificationPreference.select().count() == 0
    good = client.post("/weather/preferences", data={
        "csrf_token": csrf_token(client), "channels": ["in_app", "sms"], "min_level": "orange",
        "phone": "13800138000", "quiet_start": "22:00", "quiet_end": "06:30"})
    assert good.status_code == 302
    saved = NotificationPreference.get(NotificationPreference.user == world.farmer_b.id)
    assert (saved.channels, saved.min_level, saved.phone) == ("in_app,sms", "orange", "13800138000")


def test_only_admins_manage_feeds_and_the_province_edits_advice(client, world):
    login(client, "farmer_a")
    assert client.get("/weather/feeds").status_code == 403
    assert client.get("/weather/advice").status_code == 403
    login(client, "bureau_county")
    assert client.get("/weather/advice").status_code == 403  # advice is province-wide
    login(client, "admin")
    response = client.post("/weather/feeds", data={"csrf_token": csrf_token(client), "name": "省台",
                                                   "url": "http://alarm.weather.example.cn/feed.xml", "format": "atom",
                                                   "interval_seconds": "300", "enabled": "y"})
    assert response.status_code == 302 and Feed.select().count() == 1
    login(client, "bureau_province")
    rule = AdviceRule.select().where(AdviceRule.event_type == "frost").first()
    edited = client.post(f"/weather/advice/{rule.id}", data={
        "csrf_token": csrf_token(client), "text_zh": "（已修改）夜间灌水防霜。", "text_en": "(edited) Irrigate."})
    assert edited.status_code == 302
    assert AdviceRule.get_by_id(rule.id).text_zh == "（已修改）夜间灌水防霜。"


def test_demo_feed_is_public_cap(client):
    index = client.get("/weather/demo/feed.xml")
    assert index.status_code == 200 and b"/weather/demo/cap/nanfeng-frost.xml" in index.data
    document = client.get("/weather/demo/cap/nanfeng-frost.xml")
    alert = cap.parse_alert(document.data)
    assert alert.msg_type == "Alert" and {i.language for i in alert.infos} == {"zh-CN", "en-US"}
    assert client.get("/weather/demo/cap/nope.xml").status_code == 404
