"""The demo's own feed: a frost warning for 南丰县 reaches farmer2 with citrus advice in Chinese,
a Cancel clears it, and the loudspeaker text downloads."""
import datetime as dt

from farms.models import Alert
from tests.helpers import cap_message, csrf_token, login, serve
from weather import demo as weather_demo
from weather import service
from weather.models import Feed

DEMO_PASSWORD = "demo-password"


def test_demo_feed_to_farmer2_and_cancel(app, client, feed_server):
    from web import demo

    origin, stop = serve(app)
    try:
        app.config["PUBLIC_BASE_URL"] = origin
        with app.app_context():
            demo.load()
        feed = Feed.get(Feed.url == origin + "/weather/demo/feed.xml")
        with app.test_request_context():
            result = service.poll_feed(feed)
        assert result["error"] is None and result["new"] == len(weather_demo.SAMPLES), result
    finally:
        stop()

    login(client, "farmer2", DEMO_PASSWORD)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "霜冻橙色预警" in page
    assert "柑橘" in page or "橘" in page  # citrus-specific advice, in Chinese
    warning = next(w for w in service.active_warnings() if w.event_type == "frost")

    # The loudspeaker script downloads.
    script = client.get(f"/weather/warnings/{warning.id}/broadcast.txt")
    assert script.status_code == 200 and "南丰县" in script.get_data(as_text=True)

    # farmer2 acknowledges it; then the bureau cancels the warning.
    alert = Alert.get((Alert.source_key == service.alert_key(warning)))
    assert client.post(f"/alerts/{alert.id}/ack", data={"csrf_token": csrf_token(client)}).status_code == 302
    sent = warning.sent.replace(tzinfo=dt.timezone.utc).isoformat()
    feed_server.body = cap_message("cancel-" + warning.identifier, msg_type="Cancel", sender=warning.sender,
                                   references=[(warning.sender, warning.identifier, sent)])
    cancel_feed = Feed.create(name="cancel", url=feed_server.url + "/cancel.xml", format="cap")
    with app.test_request_context():
        assert service.poll_feed(cancel_feed)["new"] == 1
    assert "霜冻橙色预警" not in client.get("/dashboard").get_data(as_text=True)
    assert Alert.get_by_id(alert.id).cleared_at is not None
