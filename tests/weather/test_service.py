"""Warnings through their life: feed, parse, store, match farms, alert with advice, update, cancel, expire."""
import datetime as dt

import pytest

from farms import service as farms
from farms.models import Alert
from tests.helpers import TZ, cap_message
from weather import cap, service
from weather.models import Feed, WeatherWarning


def ingest(app, xml):
    with app.test_request_context():
        return service.ingest(cap.parse_alert(xml))


def open_alerts(farm):
    return list(Alert.select().where((Alert.farm == farm) & Alert.cleared_at.is_null()))


def test_frost_warning_reaches_the_farm_in_the_county_with_citrus_advice(app, world):
    warning = ingest(app, cap_message("NF-1"))
    assert (warning.event_type, warning.level, warning.state) == ("frost", "orange", "active")
    alerts = open_alerts(world.farm_b)  # 南丰县 361023, tangerines
    assert len(alerts) == 1 and not open_alerts(world.farm_a)
    text = farms.alert_text(alerts[0], "zh")
    assert "霜冻" in text["title"] and text["advice"]
    assert any("覆盖" in line or "灌水" in line or "灌溉" in line for line in text["advice"]), text["advice"]
    assert farms.alert_text(alerts[0], "en")["advice"][0].isascii()


@pytest.mark.parametrize("code, hits_a, hits_b", [
    ("360000", True, True),      # the province covers everything
    ("360700", True, False),     # 赣州市 covers 信丰县 (farm A), not 南丰县
    ("360722", True, False),     # the county itself
    ("360722101000", True, False),  # a township of 信丰县
    ("361000", False, True),     # 抚州市 covers 南丰县
    ("360121", False, False),    # 南昌县: neither
])
def test_geocodes_match_at_every_level(app, world, code, hits_a, hits_b):
    ingest(app, cap_message(f"G-{code}", geocodes=(code,)))
    assert (bool(open_alerts(world.farm_a)), bool(open_alerts(world.farm_b))) == (hits_a, hits_b)


def test_polygons_and_circles_match_the_farm_point(app, world):
    # Farm A is at 25.38 N, 114.92 E.
    around_a = [(25.3, 114.8), (25.3, 115.0), (25.5, 115.0), (25.5, 114.8), (25.3, 114.8)]
    ingest(app, cap_message("P-1", geocodes=(), polygon=around_a, area="信丰县西部"))
    assert open_alerts(world.farm_a)
    elsewhere = [(28.0, 116.0), (28.0, 116.1), (28.1, 116.1), (28.0, 116.0)]
    ingest(app, cap_message("P-2", geocodes=(), polygon=elsewhere, area="别处"))
    assert len(open_alerts(world.farm_a)) == 1
    ingest(app, cap_message("C-1", geocodes=(), circle=(25.40, 114.95, 10), area="半径10公里"))
    assert len(open_alerts(world.farm_a)) == 2


def test_area_with_nothing_to_match_is_logged_not_guessed(app, world, caplog):
    ingest(app, cap_message("N-1", geocodes=(), area="全县"))
    assert not Alert.select().exists()
    assert "nothing to match" in caplog.text or "no geocode" in caplog.text


def test_update_supersedes_and_cancel_clears(app, world):
    first = ingest(app, cap_message("NF-2"))
    refs = [(first.sender, first.identifier, first.sent.replace(tzinfo=dt.timezone.utc).isoformat())]
    update = ingest(app, cap_message("NF-2-U", msg_type="Update", references=refs,
                                     event_zh="霜冻红色预警", event_en="Frost Red Warning"))
    assert WeatherWarning.get_by_id(first.id).state == "superseded"
    alerts = open_alerts(world.farm_b)
    assert len(alerts) == 1 and alerts[0].severity == "red"
    cancel = ingest(app, cap_message("NF-2-C", msg_type="Cancel",
                                     references=[(update.sender, update.identifier, "x")]))
    assert cancel.state == "cancelled" and WeatherWarning.get_by_id(update.id).state == "cancelled"
    assert not open_alerts(world.farm_b)


def test_out_of_order_update_then_original(app, world):
    sent = dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(hours=1)
    ingest(app, cap_message("NF-3-U", msg_type="Update",
                            references=[("nanfeng@qx.jiangxi.test", "NF-3", sent.isoformat())]))
    original = ingest(app, cap_message("NF-3", sent=sent))
    assert WeatherWarning.get_by_id(original.id).state == "superseded"
    assert len(open_alerts(world.farm_b)) == 1  # only the update's alert


def test_duplicates_are_ignored_and_expiry_ends_a_warning(app, world):
    assert ingest(app, cap_message("NF-4", expires_in=dt.timedelta(minutes=10))) is not None
    assert ingest(app, cap_message("NF-4", expires_in=dt.timedelta(minutes=10))) is None
    assert WeatherWarning.select().count() == 1
    with app.test_request_context():
        assert service.expire_due(dt.datetime.utcnow() + dt.timedelta(minutes=11)) == 1
    assert not open_alerts(world.farm_b)


def test_tests_and_exercises_never_alert(app, world):
    ingest(app, cap_message("T-1", status="Exercise"))
    assert not Alert.select().exists()


def test_feed_is_polled_with_etag_and_keeps_warnings_when_it_fails(app, world, feed_server):
    feed_server.body = cap_message("F-1")
    feed_server.etag = '"v1"'
    feed = Feed.create(name="test", url=feed_server.url + "/cap.xml", format="cap", interval_seconds=60)
    with app.test_request_context():
        assert service.poll_feed(feed)["new"] == 1
        assert service.poll_feed(Feed.get_by_id(feed.id))["new"] == 0
        assert feed_server.requests[-1].get("If-None-Match") == '"v1"'
        assert "GannongTrace" in feed_server.requests[-1].get("User-Agent", "")
        for status, body in ((500, b"oops"), (200, b"not xml at all"),
                             (200, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                   b'<alert>&e;</alert>')):
            feed_server.etag, feed_server.status, feed_server.body = None, status, body
            result = service.poll_feed(Feed.get_by_id(feed.id))
            assert result["error"]
        feed = Feed.get_by_id(feed.id)
        assert feed.failures == 3 and feed.last_error and feed.last_success_at is not None
        assert feed.next_poll_at > feed.last_polled_at + dt.timedelta(seconds=60)  # backed off
    assert WeatherWarning.select().count() == 1 and open_alerts(world.farm_b)


def test_feed_timeout_and_huge_body_are_recorded(app, world, feed_server):
    feed = Feed.create(name="slow", url=feed_server.url + "/cap.xml", format="cap")
    app.config["HTTP_TIMEOUT"] = 1
    feed_server.delay = 2
    with app.test_request_context():
        assert service.poll_feed(feed)["error"]
        feed_server.delay = 0
        feed_server.body = b"<alert>" + b"x" * (cap.MAX_BYTES + 10) + b"</alert>"
        assert "MB" in service.poll_feed(Feed.get_by_id(feed.id))["error"]


def test_atom_index_links_are_followed(app, world, feed_server):
    def body(path):
        if path.endswith("index.xml"):
            return f"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>t</title>
<updated>2026-01-01T00:00:00Z</updated><entry><id>a</id><title>a</title><updated>2026-01-01T00:00:00Z</updated>
<link rel="alternate" type="application/cap+xml" href="{feed_server.url}/a.xml"/></entry></feed>""".encode()
        return cap_message("ATOM-1")

    feed_server.body = body
    feed = Feed.create(name="atom", url=feed_server.url + "/index.xml", format="atom")
    with app.test_request_context():
        assert service.poll_feed(feed)["new"] == 1
    assert open_alerts(world.farm_b)


def test_loudspeaker_script_for_a_warning(app, world, client):
    from tests.helpers import login

    warning = ingest(app, cap_message("NF-5"))
    login(client, "farmer_b")
    response = client.get(f"/weather/warnings/{warning.id}/broadcast.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "南丰县" in text and "霜冻" in text and "村民" in text
