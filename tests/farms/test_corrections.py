"""Void and correct farm logs (history keeps both), the safe harvest date shown after a spray, the
interval warning on harvests, the product picker and the add-a-log button."""
import datetime as dt
import re

import pytest

from farms.models import InputProduct, Log
from tests.helpers import form_fields, login
from web.clock import local_zone


def product(code):
    return InputProduct.get(InputProduct.code == code)


def follow(client, response):
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return response.headers["Location"], client.get(response.headers["Location"]).get_data(as_text=True)


def today():
    return dt.datetime.now(local_zone()).date()


def test_correcting_a_wrong_product_keeps_both_in_history(client, world):
    login(client, "farmer_a")
    old = world.log_a  # 1.8%阿维菌素乳油, 2026-09-01 08:00, 14 days
    page = client.get(f"/logs/{old.id}").get_data(as_text=True)
    link = re.search(r'href="(/logs/\d+/correct)"', page).group(1)
    data = form_fields(client.get(link).get_data(as_text=True))
    data.update(input_product=str(product("spirodiclofen_24sc").id), reason="选错了药，实际喷的是螺螨酯")
    location, new_page = follow(client, client.post(link, data=data))
    new = Log.select().order_by(Log.id.desc()).first()
    assert location.endswith(f"/logs/{new.id}")
    # The confirmation gives the safe date of the corrected product (30 days from 2026-09-01).
    assert "记录已更正" in new_page and "可采收日期 2026-10-01" in new_page
    # The new log carries the new product's own ingredient and interval, not the old ones.
    assert (new.product_name, new.active_ingredient, new.phi_days, new.corrects_id) == (
        "24%螺螨酯悬浮剂", "螺螨酯 spirodiclofen", 30, old.id)
    assert f'href="/logs/{old.id}"' in new_page and "更正了" in new_page
    stored = Log.get_by_id(old.id)
    assert stored.superseded_by_id == new.id and stored.void_reason == "选错了药，实际喷的是螺螨酯"
    old_page = client.get(f"/logs/{old.id}").get_data(as_text=True)
    assert "已更正" in old_page and f'href="/logs/{new.id}"' in old_page and "选错了药" in old_page
    assert 'id="log-actions"' not in old_page  # a corrected log is not corrected twice
    # History: both, the old one struck through with 已更正 and a link to its correction.
    for url in ("/logs/", f"/plots/{world.plot_a.id}", f"/farms/{world.farm_a.id}"):
        html = client.get(url).get_data(as_text=True)
        item = re.search(r'<li class="log kind-input voided">.*?</li>', html, re.S)
        assert item, url
        assert "已更正" in item.group(0) and f'href="/logs/{new.id}"' in item.group(0), url
        assert "24%螺螨酯悬浮剂" in html, url
    # A correction of a corrected log is refused, and nothing is written.
    before = Log.select().count()
    again = client.post(link, data=data)
    assert again.status_code == 302 and Log.select().count() == before


def test_voiding_needs_a_reason_and_the_right_to_log(client, world):
    url = f"/logs/{world.log_a.id}/void"
    login(client, "bureau_county")  # sees the farm, may not log on it
    assert "记录已作废" not in client.get(f"/logs/{world.log_a.id}").get_data(as_text=True)
    assert 'id="log-actions"' not in client.get(f"/logs/{world.log_a.id}").get_data(as_text=True)
    assert client.get(url).status_code == 403
    login(client, "farmer_b")
    assert client.get(url).status_code == 404
    login(client, "worker_a")  # a worker may log, so may void
    form = form_fields(client.get(url).get_data(as_text=True))
    empty = client.post(url, data=dict(form, reason=""))
    assert empty.status_code == 422 and 'class="error"' in empty.get_data(as_text=True)
    assert Log.get_by_id(world.log_a.id).voided_at is None
    _, page = follow(client, client.post(url, data=dict(form, reason="记错了地块")))
    assert "记录已作废" in page and "已作废" in page and "记错了地块" in page
    log = Log.get_by_id(world.log_a.id)
    assert log.voided_by_id == world.worker_a.id and log.superseded_by_id is None


@pytest.fixture
def api(client, world):
    from web.accounts import service

    def headers(user):
        token, _ = service.create_token(user, "test")
        return {"Authorization": f"Bearer {token}"}

    return headers


def test_void_and_correct_through_the_api(client, world, api):
    farmer = api(world.farmer_a)
    old = world.log_a.id
    missing = client.post(f"/api/v1/logs/{old}/correct", json={"dose": 20}, headers=farmer)
    assert missing.status_code == 422 and "reason" in missing.json["error"]["fields"]
    kind = client.post(f"/api/v1/logs/{old}/correct", json={"kind": "harvest", "reason": "x"}, headers=farmer)
    assert kind.status_code == 422 and "kind" in kind.json["error"]["fields"]
    stranger = client.post(f"/api/v1/logs/{old}/correct", json={"dose": 20, "reason": "x"},
                           headers=api(world.farmer_b))
    assert stranger.status_code == 404
    bureau = client.post(f"/api/v1/logs/{old}/void", json={"reason": "x"}, headers=api(world.bureau_county))
    assert bureau.status_code == 403
    assert Log.select().count() == 2 and Log.get_by_id(old).voided_at is None
    corrected = client.post(f"/api/v1/logs/{old}/correct", json={"dose": 20, "reason": "剂量记错"}, headers=farmer)
    assert corrected.status_code == 201, corrected.json
    body = corrected.json
    # Only the dose changes; the rest is the old log's.
    assert (body["corrects"], body["dose"], body["product_name"], body["phi_days"], body["timestamp"]) == (
        old, 20, "1.8%阿维菌素乳油", 14, "2026-09-01T08:00:00+08:00")
    assert body["safe_harvest_date"] == "2026-09-15" and body["voided_at"] is None
    previous = client.get(f"/api/v1/logs/{old}", headers=farmer).json
    assert previous["superseded_by"] == body["id"] and previous["void_reason"] == "剂量记错" and previous["voided_at"]
    again = client.post(f"/api/v1/logs/{old}/void", json={"reason": "再来"}, headers=farmer)
    assert again.status_code == 409
    empty = client.post(f"/api/v1/logs/{body['id']}/void", json={}, headers=farmer)
    assert empty.status_code == 422 and "reason" in empty.json["error"]["fields"]
    voided = client.post(f"/api/v1/logs/{body['id']}/void", json={"reason": "根本没喷"}, headers=farmer)
    assert voided.status_code == 200 and voided.json["void_reason"] == "根本没喷"
    listed = client.get(f"/api/v1/farms/{world.farm_a.id}/logs?kind=input", headers=farmer).json["items"]
    assert {item["id"] for item in listed} == {old, body["id"]}  # both stay in history


def test_a_spray_shows_its_safe_harvest_date(client, world):
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=input"
    data = form_fields(client.get(url).get_data(as_text=True))
    data.update(input_product=str(product("imidacloprid_10wp").id), dose="15")
    _, plot_page = follow(client, client.post(url, data=data))
    safe = (today() + dt.timedelta(days=14)).isoformat()
    assert f"记录已保存。可采收日期 {safe}" in plot_page
    assert re.search(rf'id="safe-harvest"><strong>可采收日期 {safe}</strong>', plot_page)
    # A fertiliser has no interval: no date.
    data.update(input_product=str(product("urea").id), dose="10")
    _, page = follow(client, client.post(url, data=data))
    assert "记录已保存。" in page and "记录已保存。可采收日期" not in page


def test_a_harvest_inside_the_interval_warns_and_offers_no_batch_button(client, world):
    from farms import service

    now = dt.datetime.now(local_zone()).replace(microsecond=0)
    spray = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": now - dt.timedelta(days=2), "plots": [world.plot_a.id],
        "input_product": product("spirodiclofen_24sc").id, "dose": 25})
    safe = ((now - dt.timedelta(days=2)).date() + dt.timedelta(days=30)).isoformat()
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=harvest"
    form_page = client.get(url).get_data(as_text=True)
    assert 'id="interval-warning"' in form_page and safe in form_page and "残留检测" in form_page
    data = form_fields(form_page)
    data.update(quantity="800", lot_number="XF-EARLY-1")
    location, page = follow(client, client.post(url, data=data))
    harvest = Log.select().where(Log.kind == "harvest").get()
    assert location.endswith(f"/logs/{harvest.id}")  # at once, on the harvest's own page
    assert f"记录已保存。采收仍在安全间隔期内，{safe} 起才可采收" in page
    assert 'id="batch-refusal"' in page and safe in page and "24%螺螨酯悬浮剂" in page
    assert "凭残留检测创建批次" in page  # the override path
    batch_form = client.get(f"/batches/new?harvest_log={harvest.id}").get_data(as_text=True)
    assert 'class="alert sev-red refusal"' in batch_form and safe in batch_form  # said before anything is typed
    assert 'value="创建批次"' not in batch_form and 'value="凭残留检测创建批次"' in batch_form
    assert re.search(r'class="button primary"[^>]*>创建批次<', page) is None
    # The spray was logged on the wrong plot: once voided it no longer holds the harvest back.
    service.void_log(world.farmer_a, spray.id, "记错了地块")
    page = client.get(f"/logs/{harvest.id}").get_data(as_text=True)
    assert 'id="batch-refusal"' not in page and re.search(r'class="button primary"[^>]*>创建批次<', page)
    assert 'id="safe-harvest"' not in client.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)


def test_the_product_picker_groups_and_chooses_nothing_in_advance(client, world):
    login(client, "farmer_a")
    html = client.get(f"/plots/{world.plot_a.id}/logs/new?kind=input").get_data(as_text=True)
    picker = re.search(r'<select id="input_product".*?</select>', html, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)">', picker)
    assert groups == ["本场最近用过", "登记用于本作物", "农药", "肥料及其他"]
    recent = re.search(r'<optgroup label="本场最近用过">(.*?)</optgroup>', picker, re.S).group(1)
    assert "1.8%阿维菌素乳油" in recent  # last time's product is first, not pre-selected
    for_crop = re.search(r'<optgroup label="登记用于本作物">(.*?)</optgroup>', picker, re.S).group(1)
    assert "24%螺螨酯悬浮剂" in for_crop and "75%三环唑" not in for_crop  # a rice fungicide is not for oranges
    fertilisers = re.search(r'<optgroup label="肥料及其他">(.*?)</optgroup>', picker, re.S).group(1)
    assert "尿素" in fertilisers and "阿维菌素" not in fertilisers
    assert " selected" not in picker  # nothing is chosen for the farmer
    spiro = product("spirodiclofen_24sc")
    option = re.search(rf'<option value="{spiro.id}"[^>]*>', for_crop).group(0)
    assert 'data-ingredient="螺螨酯 spirodiclofen"' in option and 'data-phi="30"' in option
    # The ingredient and interval the picker fills in sit beside it, not hidden under "more".
    visible = html.split("<details")[0]
    assert 'name="active_ingredient"' in visible and 'name="phi_days"' in visible
    assert "data-product-picker" in client.get("/static/app.js").get_data(as_text=True)


def test_empty_forms_give_one_message_per_field(client, world):
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=input"
    data = form_fields(client.get(url).get_data(as_text=True))
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    errors = dict(re.findall(r'<div class="field has-error">.*?name="(\w+)".*?<small class="error">([^<]+)</small>',
                             html, re.S))
    assert set(errors) == {"input_product", "dose"}, errors
    assert "请选择产品" in errors["input_product"]
    url = f"/plots/{world.plot_a.id}/logs/new?kind=harvest"
    data = form_fields(client.get(url).get_data(as_text=True))
    html = client.post(url, data=data).get_data(as_text=True)
    errors = re.findall(r'<div class="field has-error">.*?name="(\w+)"', html, re.S)
    assert errors == ["quantity"]  # and not also "give a quantity with its unit" on the unit


def test_add_a_log_button_on_home_and_history(client, world):
    login(client, "farmer_a")
    for url in ("/dashboard", "/logs/"):
        html = client.get(url).get_data(as_text=True)
        assert re.search(r'href="/logs/new">\+ 记一笔<', html), url
    one_plot = client.get("/logs/new")
    assert one_plot.status_code == 302 and one_plot.headers["Location"].endswith(f"/plots/{world.plot_a.id}#add-log")
    from farms import service

    second = service.create_plot(world.farmer_a, world.farm_a, {"name": "2号园", "kind": "orchard", "area": 3})
    html = client.get("/logs/new").get_data(as_text=True)
    assert f"/plots/{world.plot_a.id}#add-log" in html and f"/plots/{second.id}#add-log" in html
    login(client, "bureau_county")
    assert "记一笔" not in client.get("/dashboard").get_data(as_text=True)
