"""The consumer page opens with a verdict built from the batch's hashed facts, then the details.

A shopper scans the QR code on a carton of navel oranges; nobody is signed in."""
import datetime as dt
import json
import re

from tests.helpers import login
from trace import service as trace
from trace.models import Batch, Event

EXTERNAL = re.compile(r'(?:src|href|action)\s*=\s*"(?!/|#)([^"]*)"', re.I)
PAGE_BUDGET = 30 * 1024  # the page and its stylesheet, on one bar of signal


def _batch(app, user, harvest, **data):
    with app.test_request_context():
        return trace.create_batch(user, dict({"harvest_log": harvest.id}, **data))


def _record(app, user, batch, **data):
    with app.test_request_context():
        return trace.record_event(user, Batch.get_by_id(batch.id), data)


def _page(client, batch):
    response = client.application.test_client().get(f"/t/{batch.code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _verdict(html):
    match = re.search(r'<section class="card verdict-card verdict-(\w+)"[^>]*>(.*?)</section>', html, re.S)
    assert match, html[:3000]
    line = re.search(r'<p class="verdict-line">(.*?)</p>', match.group(2), re.S).group(1)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(2)))
    return match.group(1), re.sub(r"<[^>]+>", "", line).strip(), text


def _raw(sql, *params):
    """What someone with the database runs behind the application's back (append-only triggers off)."""
    from web import db

    with db.database.connection_context():
        if db.is_postgres():
            with db.database.atomic():
                db.database.execute_sql('ALTER TABLE "event" DISABLE TRIGGER USER')
                db.database.execute_sql(sql.replace("?", "%s"), params)
                db.database.execute_sql('ALTER TABLE "event" ENABLE TRIGGER USER')
        else:
            for name in ("event_no_update", "event_no_delete", "event_append_only"):
                db.database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
            db.database.execute_sql(sql, params)


def _days_from_last_spray(batch):
    ilmd = json.loads(Event.get((Event.batch == batch) & (Event.biz_step == "commissioning")).document)["ilmd"]
    harvested = dt.date.fromisoformat(ilmd["gx:harvestDate"])
    return (harvested - dt.date(2026, 9, 1)).days  # the abamectin spraying of tests.helpers.World


def _nine_residues(passed_all=True):
    """The nine pesticides a county testing centre screens citrus for (limits as in GB 2763, mg/kg)."""
    names = [("阿维菌素", 0.01), ("吡虫啉", 1), ("啶虫脒", 2), ("毒死蜱", 1), ("三唑磷", 0.2),
             ("克百威", 0.02), ("氧乐果", 0.02), ("水胺硫磷", 0.02), ("甲胺磷", 0.05)]
    items = [{"name": n, "result": limit / 10, "limit": limit, "unit": "mg/kg"} for n, limit in names]
    if not passed_all:
        items[3]["result"] = 1.6  # chlorpyrifos over its limit
    return items


def test_a_tested_batch_opens_with_its_verdict_then_the_details(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(2), passed=True,
            items=_nine_residues())
    html = _page(client, batch)
    tone, line, text = _verdict(html)
    days = _days_from_last_spray(batch)
    assert line == f"检测合格 · 最后一次施药距采收 {days} 天 · 记录已封存，即将上链", line
    assert tone == "warn"  # not yet anchored on the chain
    assert "9 项农残检测均未超标" in text
    assert "安全间隔期已遵守：每种农药在采收前都已过了规定的降解天数" in text
    # The verdict comes first, the details after it.
    assert html.index("verdict-line") < html.index('class="card product"') < html.index('class="card inspections"')
    # The nine results are summed up in a line, the table folded under it.
    inspections = html[html.index('class="card inspections"'):]
    assert re.search(r"<details>\s*<summary class=\"test-summary\">9 项农残检测均未超标</summary>\s*<table", inspections)
    assert inspections.count("<tr class=\"\">") == 9
    # Units and the safe interval are said in plain words.
    assert "mg/kg" in html and "毫克每千克" in html
    assert "“遵守”即每种农药都在此之后才采收" in html


def test_an_untested_batch_says_so(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    tone, line, text = _verdict(_page(client, batch))
    assert line.startswith("尚未经实验室检测 · 最后一次施药距采收"), line
    assert "检测合格" not in line and tone == "warn"
    assert "没有实验室检测过这批产品" in text


def test_a_failed_test_turns_the_verdict_red(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(2), passed=True,
            items=_nine_residues(passed_all=False))
    html = _page(client, batch)
    tone, line, text = _verdict(html)
    assert tone == "bad" and line.startswith("检测不合格 · "), line
    assert "9 项中 1 项超标" in text and "请勿食用" in text
    assert '<summary class="test-summary">9 项中 1 项超标</summary>' in html


def test_a_changed_record_is_the_verdict(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(2), passed=True,
            items=_nine_residues())
    event = Event.get((Event.batch == batch) & (Event.biz_step == "commissioning"))
    _raw("UPDATE event SET document = replace(document, '纽荷尔', '脐橙王') WHERE id = ?", event.id)
    tone, line, _text = _verdict(_page(client, batch))
    assert tone == "bad" and line.endswith("记录被改动，请勿轻信本页"), line


def test_a_batch_without_pesticide_says_so(app, client, world, journey):
    from farms.models import Log

    Log.delete().where(Log.id == world.log_a.id).execute()  # as if the farm had sprayed nothing
    batch = _batch(app, world.farmer_a, journey.harvest)
    _tone, line, text = _verdict(_page(client, batch))
    assert "未记录施用农药" in line and "施药距采收" not in line and "安全间隔期" not in text


def test_the_page_stays_small_plain_and_self_contained(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.operator, batch, biz_step="shipping", event_time=journey.at(2), place="信丰冷库",
            destination=journey.retailer.id)
    _record(app, journey.retail_user, batch, biz_step="receiving", event_time=journey.at(1), place="南昌果品超市")
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(0, 5), passed=True,
            items=_nine_residues())
    consumer = client.application.test_client()
    html = consumer.get(f"/t/{batch.code}").get_data(as_text=True)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(sheets) == 1 and re.fullmatch(r"/static/app\.css\?v=[0-9a-f]{12}", sheets[0])
    css = consumer.get(sheets[0]).data
    size = len(html.encode()) + len(css)
    print(f"consumer page {len(html.encode())} B + app.css {len(css)} B = {size} B of {PAGE_BUDGET}")
    assert size < PAGE_BUDGET, f"{size} bytes"
    assert "<script" not in html.lower()
    assert not re.search(r"\son\w+\s*=", html)  # no inline handlers either
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)
    assert "http://" not in html and "https://" not in html
    assert not re.search(rb"url\(\s*['\"]?(?:https?:)?//", css) and b"@import" not in css
    login(client, "operator")  # signed in or not, the public page is the same page
    assert _verdict(client.get(f"/t/{batch.code}").get_data(as_text=True))[1] == _verdict(html)[1]
