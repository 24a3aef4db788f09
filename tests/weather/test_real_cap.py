"""Real CAP messages: the traits of what national weather services actually send.

The messages are constructed (tests/data/cap_constructed/, see its README); each test names the
real publisher whose messages it stands for. Database tests run on SQLite and PostgreSQL.
"""
import datetime as dt
from pathlib import Path

import pytest

from farms.models import Alert
from tests.helpers import TZ, cap_message
from weather import cap, service
from weather.models import Feed, WeatherWarning

DATA = Path(__file__).resolve().parents[1] / "data" / "cap_constructed"


def load(name):
    return (DATA / name).read_bytes()


def utc(text):
    """Naive UTC, as the project stores and compares times."""
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def ingest(app, data, now=None):
    with app.test_request_context():
        return service.ingest(cap.parse_alert(data), now=now)


def open_alerts(farm):
    return list(Alert.select().where((Alert.farm == farm) & Alert.cleared_at.is_null()))


# ---------------------------------------------------------------- 12-digit division codes


def test_city_warning_with_a_12_digit_code_reaches_the_farms_of_the_city(app, world, client):
    # Stands for 国家预警信息发布中心 (12379): 赣州市 written as 360700000000.
    warning = ingest(app, load("cn_12379_rainstorm_ganzhou_city_12digit.xml"), now=utc("2026-06-10T09:00:00+08:00"))
    assert warning.state == "active"
    assert open_alerts(world.farm_a)  # 信丰县 lies in 赣州市
    assert not open_alerts(world.farm_b)  # 南丰县 lies in 抚州市
    with app.test_request_context():
        script = service.broadcast_text(warning)
    assert "影响范围是赣州市" in script and "乡镇" not in script, script


@pytest.mark.parametrize("code, hits_a, hits_b", [
    ("360000000000", True, True),    # 江西省, padded: the province covers both farms
    ("361000000000", False, True),   # 抚州市, padded
    ("361023000000", False, True),   # 南丰县, padded
    ("360722101000", True, False),   # a township of 信丰县
    ("370614000000", False, False),  # a county in Shandong, as seen in the wild
])
def test_12_digit_codes_match_at_every_level(app, world, code, hits_a, hits_b):
    # Stands for 国家预警信息发布中心 (12379) messages at province, city, county and township level.
    ingest(app, cap_message(f"G12-{code}", geocodes=(code,)))
    assert (bool(open_alerts(world.farm_a)), bool(open_alerts(world.farm_b))) == (hits_a, hits_b)


# ---------------------------------------------------------------- lifetimes


def test_an_old_warning_without_expires_is_not_listed_as_active(app, world, client, feed_server):
    # Stands for 国家预警信息发布中心 (12379) messages without <expires>, still served years later.
    feed_server.body = load("cn_12379_frost_no_expires.xml")
    feed = Feed.create(name="12379", url=feed_server.url + "/cap.xml", format="cap")
    with app.test_request_context():
        assert service.poll_feed(feed)["new"] == 1
    warning = WeatherWarning.get()
    assert warning.state == "expired" and not open_alerts(world.farm_b)
    assert warning.expires == utc("2023-12-16T17:00:00+08:00")  # effective + 24 h (frost: the "*" default)
    assert "霜冻" not in client.get("/weather/").get_data(as_text=True)


def test_a_warning_without_expires_lasts_its_types_default_lifetime_then_expires(app, world):
    # Stands for 国家预警信息发布中心 (12379) messages without <expires>, polled while fresh.
    app.config["WARNING_LIFETIME_HOURS"] = "*=24,frost=12"
    issued = utc("2023-12-15T17:00:00+08:00")
    warning = ingest(app, load("cn_12379_frost_no_expires.xml"), now=issued + dt.timedelta(hours=1))
    assert warning.state == "active" and open_alerts(world.farm_b)
    assert warning.expires == issued + dt.timedelta(hours=12)
    with app.test_request_context():
        assert service.expire_due(issued + dt.timedelta(hours=11)) == 0
        assert service.expire_due(issued + dt.timedelta(hours=12, minutes=1)) == 1
    assert WeatherWarning.get_by_id(warning.id).state == "expired" and not open_alerts(world.farm_b)
    problems = WeatherWarning.get_by_id(warning.id).document
    assert "no <expires>" in problems and "12 h" in problems


def test_typhoon_lifetime_default_and_the_setting_is_checked(app):
    from web import create_app

    with app.test_request_context():
        assert service.default_lifetime("typhoon") == dt.timedelta(hours=48)
        assert service.default_lifetime("drought") == dt.timedelta(hours=168)
        assert service.default_lifetime("frost") == dt.timedelta(hours=24)
    with pytest.raises(ValueError, match="WARNING_LIFETIME_HOURS"):
        create_app({**app.config, "WARNING_LIFETIME_HOURS": "*=24,monsoon=5"})


def test_onset_after_expires_counts_the_default_lifetime_from_the_onset(app, world):
    # Stands for a 国家预警信息发布中心 (12379) county message whose <expires> precedes its <onset>.
    warning = ingest(app, load("cn_12379_rainstorm_onset_after_expires.xml"),
                     now=utc("2026-06-10T09:00:00+08:00"))
    assert warning.state == "active" and open_alerts(world.farm_a)
    assert warning.onset == utc("2026-06-10T20:00:00+08:00")
    assert warning.expires == utc("2026-06-11T20:00:00+08:00")
    assert "after expires" in warning.document


def test_nws_ends_is_honoured_and_a_hurricane_is_a_typhoon(app, world):
    # Stands for the US National Weather Service alerts API (api.weather.gov) GeoJSON.
    alert, = cap.parse_nws_geojson(load("us_nws_api_hurricane_warning.geojson"))
    sent = utc("2026-09-20T11:00:00-04:00")
    with app.test_request_context():
        warning = service.ingest(alert, now=sent + dt.timedelta(hours=5))  # past <expires>, before ends
        assert (warning.event_type, warning.level, warning.state) == ("typhoon", "red", "active")
        assert warning.expires == utc("2026-09-22T02:00:00-04:00")
        assert service.expire_due(sent + dt.timedelta(hours=5)) == 0
        assert service.expire_due(utc("2026-09-22T02:01:00-04:00")) == 1


@pytest.mark.parametrize("event, expected", [("Hurricane Warning", "typhoon"), ("Hurricane Watch", "typhoon"),
                                             ("Hurricane Force Wind Warning", "gale")])
def test_hurricane_events_are_classified(event, expected):
    # Stands for NWS CAP event names (the NWS event list: Hurricane Warning/Watch, and the marine
    # Hurricane Force Wind Warning, which is a wind warning, not a tropical cyclone).
    from weather import advice

    assert advice.classify({"event": event, "severity": "Extreme"})[0] == expected


def test_the_expiry_job_ends_warnings_stored_without_an_end(app, world):
    # Warnings stored before default lifetimes existed have no end; the job gives them one.
    warning = ingest(app, cap_message("OLD-1"))
    sent = dt.datetime.utcnow() - dt.timedelta(days=3)
    WeatherWarning.update(expires=None, onset=None, sent=sent).where(WeatherWarning.id == warning.id).execute()
    with app.test_request_context():
        assert service.expire_due() == 1
    assert WeatherWarning.get_by_id(warning.id).state == "expired" and not open_alerts(world.farm_b)


# ---------------------------------------------------------------- feed health


@pytest.mark.parametrize("feed_format", ["cap", "nws-geojson"])
def test_an_html_page_served_with_200_is_named_in_the_feed_health(app, world, client, feed_server, feed_format):
    # Stands for the maintenance/error pages that front ends of warning feeds serve with status 200.
    from tests.helpers import login

    feed_server.body = load("html_error_page_200.html")
    feed = Feed.create(name="maintenance", url=feed_server.url + "/cap.xml", format=feed_format)
    with app.test_request_context():
        assert service.poll_feed(feed)["error"] == "the feed returned HTML, not CAP"
    login(client, "admin")
    page = client.get("/weather/feeds").get_data(as_text=True)
    assert "the feed returned HTML, not CAP" in page and "DTD" not in page


def test_defective_optional_parts_are_noted_on_the_warning_and_the_feed(app, world, client, feed_server):
    # Stands for provincial exports of 国家预警信息发布中心 (12379) messages: a non-standard <alerts>
    # root holding two alerts, an Update with an empty <references/>, an empty <polygon/> and GML in
    # place of <polygon>.
    from tests.helpers import login

    feed_server.body = load("cn_provincial_alerts_root_defects.xml")
    feed = Feed.create(name="省级导出", url=feed_server.url + "/alerts.xml", format="cap")
    with app.test_request_context():
        result = service.poll_feed(feed, now=utc("2026-06-10T09:10:00+08:00"))
    assert result["new"] == 2 and result["error"] is None
    assert open_alerts(world.farm_a) and open_alerts(world.farm_b)  # both warnings kept and in force
    update = WeatherWarning.get(WeatherWarning.identifier == "36072241600000_20260610090000")
    thunder = WeatherWarning.get(WeatherWarning.identifier == "36102341600000_20260610090000")

    login(client, "admin")
    page = client.get(f"/weather/warnings/{update.id}").get_data(as_text=True)
    assert "Update without &lt;references&gt;" in page and "polygon[0] is empty" in page
    assert "root &lt;alerts&gt; is not CAP" in page
    page = client.get(f"/weather/warnings/{thunder.id}").get_data(as_text=True)
    assert "{http://www.opengis.net/gml}Polygon&gt; is not a CAP area element" in page
    assert "polygon[0] is empty" not in page

    health = client.get("/weather/feeds").get_data(as_text=True)
    for text in ("36072241600000_20260610090000: alert: msgType Update without &lt;references&gt;",
                 "36072241600000_20260610090000: info[0] area[0]: polygon[0] is empty",
                 "36102341600000_20260610090000: info[0] area[0]: &lt;{http://www.opengis.net/gml}Polygon&gt;",
                 "the document&#39;s root &lt;alerts&gt; is not CAP"):
        assert text in health, text


def test_an_empty_polygon_in_a_real_nws_cap11_message_is_noted_on_its_page(app, world, client):
    # The real NWS CAP 1.1 blizzard warning (tests/data/cap, see SOURCES.md) has <polygon></polygon>.
    from tests.helpers import login

    data = (DATA.parent / "cap" / "us_nws_blizzard_warning_cap11.xml").read_bytes()
    warning = ingest(app, data)
    login(client, "admin")
    page = client.get(f"/weather/warnings/{warning.id}").get_data(as_text=True)
    assert "polygon[0] is empty" in page


# ---------------------------------------------------------------- MeteoAlarm JSON


def test_meteoalarm_json_feed_is_ingested(app, world, client, feed_server):
    # Stands for MeteoAlarm's JSON API (feeds.meteoalarm.org/api/v1/warnings/feeds-<country>).
    from tests.helpers import csrf_token, login

    login(client, "admin")
    response = client.post("/weather/feeds", data={
        "csrf_token": csrf_token(client, "/weather/feeds"), "name": "MeteoAlarm PL",
        "url": feed_server.url + "/api/v1/warnings/feeds-poland", "format": "meteoalarm-json",
        "interval_seconds": "300", "enabled": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    feed = Feed.get()
    assert feed.format == "meteoalarm-json"
    feed_server.body = load("meteoalarm_api_poland.json")
    with app.test_request_context():
        result = service.poll_feed(feed, now=utc("2026-01-15T07:00:00+00:00"))
    assert result["new"] == 2 and result["error"] is None
    wind = WeatherWarning.get(WeatherWarning.identifier == "2.49.0.0.616.0.PL.260115061500.1001.1")
    assert (wind.sender, wind.event_type, wind.level, wind.state) == ("meteoalarm@imgw.pl", "gale", "yellow", "active")
    assert wind.expires == utc("2026-01-16T06:00:00+00:00")
    page = client.get(f"/weather/warnings/{wind.id}").get_data(as_text=True)
    assert "powiat tatrzański" in page or "Strong wind" in page
    health = client.get("/weather/feeds").get_data(as_text=True)
    assert "warnings[2] skipped" in health and "event" in health


@pytest.mark.parametrize("body, message", [
    (b'{"type": "FeatureCollection", "features": []}', "not MeteoAlarm JSON"),
    (b"<alert/>", "not JSON"),
    (b'{"warnings": [{"uuid": "x"}]}', 'no "alert" object'),
])
def test_meteoalarm_json_errors_name_the_format(body, message):
    with pytest.raises(cap.CapError, match=message):
        cap.parse_meteoalarm_json(body)


# ---------------------------------------------------------------- bilingual messages


def test_each_language_uses_its_own_blocks_areas_texts_and_the_coded_level(app, world):
    # Stands for a bilingual message in the Hong Kong Observatory's style (English block first).
    from farms import service as farms

    warning = ingest(app, load("hk_style_bilingual_rainstorm_en_zh.xml"), now=utc("2026-06-12T07:00:00+08:00"))
    assert (warning.event_type, warning.level) == ("rainstorm", "yellow")  # "Amber" must not make it orange
    (alert_a,), (alert_b,) = open_alerts(world.farm_a), open_alerts(world.farm_b)
    zh_a, en_a = farms.alert_text(alert_a, "zh"), farms.alert_text(alert_a, "en")
    assert zh_a["area"] == "大塘埠镇" and en_a["area"] == "Datangbu Town, Xinfeng County"
    assert farms.alert_text(alert_b, "zh")["area"] == "南丰县"
    assert farms.alert_text(alert_b, "en")["area"] == "Nanfeng County"
    assert "黄色" in zh_a["title"] and "预计未来6小时" in zh_a["message"]
    assert "yellow" in en_a["title"].lower() and "amber" not in en_a["title"].lower()
    assert en_a["message"].startswith("Heavy rain")


def test_the_loudspeaker_script_of_a_bilingual_message(app, world):
    # Stands for a bilingual message in the Hong Kong Observatory's style that names the duty forecaster.
    warning = ingest(app, load("hk_style_bilingual_rainstorm_en_zh.xml"), now=utc("2026-06-12T07:00:00+08:00"))
    with app.test_request_context():
        script = service.broadcast_text(warning)
    assert "涉及的乡镇有大塘埠镇。" in script and "影响范围是南丰县。" in script, script
    assert not any(c.isascii() and c.isalpha() for c in script), script  # no English names
    assert "李明" not in script and "预报员" not in script and "Li Ming" not in script, script
    assert "信丰县气象台发布了暴雨黄色预警" in script and "橙色" not in script, script
