"""Weather pages fit the people who read them: advice fits the crop it is shown for, warnings on
the reader's own farms are marked, the advice editor names crops, and nothing is cut off on a phone."""
import csv
import importlib
import re

from tests.helpers import cap_message, csrf_token, login
from weather import advice, cap, service
from weather.models import AdviceRule
from web.db import database

# Sheds and pens of farm animals (the drinking water "for people and livestock" in a drought is for everyone).
LIVESTOCK = re.compile(r"畜禽|圈舍|livestock (shed|housing)|into sheds", re.I)


def cold_wave(identifier="CW-1", geocodes=("360722",), area="信丰县"):
    # As the county observatory sends a cold-wave warning: one zh-CN and one en-US block, GB/T 2260 geocode.
    return cap.parse_alert(cap_message(identifier, geocodes=geocodes, area=area, event_zh="寒潮黄色预警",
                                       event_en="Cold Wave Yellow Warning"))


def test_no_advice_for_every_crop_speaks_of_livestock():
    with open(advice.ADVICE_CSV, encoding="utf-8", newline="") as fh:
        general = [row for row in csv.DictReader(fh) if row["crop"] == "*"]
    assert general and not [row for row in general if LIVESTOCK.search(row["text_zh"] + row["text_en"])]


def test_a_citrus_farm_gets_no_livestock_advice(app, client, world):
    with app.test_request_context():
        service.ingest(cold_wave())
    login(client, "farmer_a")  # a navel-orange orchard in 信丰
    home = client.get("/dashboard").get_data(as_text=True)
    assert "果园、茶园和菜地覆盖防寒" in home
    assert not LIVESTOCK.search(home)
    lines = advice.advice_for("cold_wave", "yellow", {"crops": ["navel_orange"], "categories": ["fruit"]})
    assert lines and not [line for line in lines if LIVESTOCK.search(line)]
    # A farm that keeps livestock still gets the livestock line.
    kept = advice.advice_for("cold_wave", "yellow", {"crops": [], "categories": ["livestock"]})
    assert "畜禽舍封好门窗挡风。" in kept


def test_the_migration_corrects_shipped_rows_and_keeps_edited_ones(app):
    migration = importlib.import_module("web.migrations.018_onboarding")
    shipped = AdviceRule.get((AdviceRule.event_type == "cold_wave") & (AdviceRule.level == "yellow")
                             & (AdviceRule.crop == "*") & (AdviceRule.position == 2))
    edited = AdviceRule.get((AdviceRule.event_type == "hail") & (AdviceRule.level == "yellow")
                            & (AdviceRule.crop == "*") & (AdviceRule.position == 2))
    # As an install from before the fix holds them: one row as shipped, one a bureau rewrote.
    AdviceRule.update(text_zh="大棚夜间关闭通风口，畜禽舍封好门窗挡风。").where(AdviceRule.id == shipped.id).execute()
    AdviceRule.update(text_zh="本局改写：畜禽赶进圈舍。").where(AdviceRule.id == edited.id).execute()
    heat = AdviceRule.get((AdviceRule.crop == "livestock") & (AdviceRule.event_type == "heat"))
    AdviceRule.update(crop="*").where(AdviceRule.id == heat.id).execute()
    migration._fix_advice(database)
    assert AdviceRule.get_by_id(shipped.id).text_zh == "果园、茶园和菜地覆盖防寒，大棚夜间关闭通风口。"
    assert AdviceRule.get_by_id(edited.id).text_zh == "本局改写：畜禽赶进圈舍。"
    assert AdviceRule.get_by_id(heat.id).crop == "livestock"


def test_the_advice_editor_names_crops(client, world):
    login(client, "bureau_province")
    page = client.get("/weather/advice?type=typhoon").get_data(as_text=True)
    badges = re.findall(r'<span class="badge">([^<]*)</span>', page)
    assert "所有作物" in badges and "赣南脐橙" in badges and "设施大棚" in badges
    assert "*" not in badges and "navel_orange" not in badges and "greenhouse" not in badges
    rule = AdviceRule.get((AdviceRule.crop == "navel_orange"))
    edit = client.get(f"/weather/advice/{rule.id}").get_data(as_text=True)
    assert "赣南脐橙" in edit and "navel_orange" not in edit


def test_warnings_on_the_readers_farms_are_marked(app, client, world):
    with app.test_request_context():
        service.ingest(cold_wave("CW-XF"))                                        # 信丰: farm A
        service.ingest(cap.parse_alert(cap_message("FR-NF")))                     # 南丰: farm B
    login(client, "farmer_a")
    page = client.get("/weather/").get_data(as_text=True)
    items = re.findall(r'<li class="([^"]*)">(.*?)</li>', page, re.S)
    assert [(cls, "寒潮" in body, "霜冻" in body) for cls, body in items] == [("mine", True, False),
                                                                              ("", False, True)]
    assert "您的农场：A 果园" in page
    login(client, "bureau_county")  # 信丰's bureau oversees farm A
    assert "您的农场：A 果园" in client.get("/weather/").get_data(as_text=True)
    login(client, "inspector")  # sees every farm: none is more theirs
    assert 'class="mine"' not in client.get("/weather/").get_data(as_text=True)


def test_every_channel_is_a_box_to_tick(client, world):
    login(client, "farmer_a")
    page = client.get("/weather/preferences").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="channels"[^>]*type="checkbox"[^>]*value="(\w+)"|'
                       r'<input[^>]*type="checkbox"[^>]*name="channels"[^>]*value="(\w+)"|'
                       r'<input[^>]*name="channels" type="checkbox" value="(\w+)"', page)
    values = {next(v for v in group if v) for group in boxes}
    assert values == {"in_app", "webhook", "wecom", "dingtalk", "sms"}
    assert "<select" not in page.split('name="channels"')[0][-300:]


def test_a_long_feed_address_wraps(client, world):
    login(client, "admin")
    url = "http://alarm.weather.example.cn/api/v1/cap/warnings/jiangxi/ganzhou/xinfeng/latest-warnings-feed.xml?format=cap12"
    client.post("/weather/feeds", data={"csrf_token": csrf_token(client), "name": "信丰", "url": url,
                                        "format": "cap", "interval_seconds": "300", "enabled": "y"})
    page = client.get("/weather/feeds").get_data(as_text=True)
    assert f'<span class="url">{url}</span>' in page.replace("&amp;", "&")
