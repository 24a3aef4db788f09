"""Batch pages and the public consumer page, driven through the real forms (CSRF included)."""
import datetime as dt
import html as htmllib
import json
import re

import pytest

from tests.helpers import Journey, World, login
from trace import digital_link
from trace import service as trace
from trace.models import Batch, Event, Scan

GTIN = "06901234567892"
EXTERNAL = re.compile(r'(?:src|href|action)\s*=\s*"(?!/|#)([^"]*)"', re.I)


def _token(page, prefix=""):
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def _text(response):
    return response.get_data(as_text=True)


def _local(when):
    return when.strftime("%Y-%m-%dT%H:%M")


def _batch(app, user, harvest, **data):
    with app.test_request_context():
        return trace.create_batch(user, dict({"harvest_log": harvest.id}, **data))


def _record(app, user, batch, **data):
    with app.test_request_context():
        return trace.record_event(user, Batch.get_by_id(batch.id), data)


def _meta_token(page):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _post_event(client, batch, **fields):
    """Post the event form of the batch page (the page's token: the form may not be offered to this user)."""
    page = _text(client.get(f"/batches/{batch.id}"))
    data = {"event-csrf_token": _meta_token(page)}
    data.update({f"event-{k}": v for k, v in fields.items()})
    return client.post(f"/batches/{batch.id}/events", data=data)


# ---------------------------------------------------------------- creating a batch


def test_harvest_log_offers_a_batch_and_the_form_creates_it(app, client, world, journey):
    login(client, "farmer_a")
    log_page = _text(client.get(f"/logs/{journey.harvest.id}"))
    assert f'href="/batches/new?harvest_log={journey.harvest.id}"' in log_page
    # Not on other kinds of log.
    assert "/batches/new" not in _text(client.get(f"/logs/{world.log_a.id}"))

    page = _text(client.get(f"/batches/new?harvest_log={journey.harvest.id}"))
    assert 'value="XF-2611-01"' in page  # the lot number of the harvest, prefilled
    assert "5000 kg" in page  # not yet batched
    response = client.post(f"/batches/new?harvest_log={journey.harvest.id}", data={
        "csrf_token": _token(page), "harvest_log": journey.harvest.id, "lot_number": "XF-2611-01",
        "quantity": "3000", "gtin": ""})
    assert response.status_code == 302, _text(response)[:2000]
    batch = Batch.get(Batch.lot_number == "XF-2611-01")
    assert response.headers["Location"] == f"/batches/{batch.id}"
    assert (batch.quantity, batch.unit, batch.harvest_log_id) == (3000, "kg", journey.harvest.id)

    detail = _text(client.get(f"/batches/{batch.id}"))
    assert "XF-2611-01" in detail and "赣南脐橙" in detail
    assert f'src="/batches/{batch.id}/qr.svg"' in detail
    assert f"http://127.0.0.1:5000/t/{batch.code}" in detail  # the Digital Link printed in the QR code
    assert f'href="/t/{batch.code}"' in detail
    assert f'href="/api/v1/batches/{batch.id}/epcis"' in detail
    for path in ("labels?n=8", "certificate", "recall"):
        assert f"/batches/{batch.id}/{path}" in htmllib.unescape(detail)
    assert "已采收并建批" in detail  # the commissioning event, translated

    listing = _text(client.get("/batches/"))
    assert "XF-2611-01" in listing and "信丰脐橙合作社" in listing and str(batch.harvest_date) in listing


def test_pre_harvest_interval_refusal_is_shown_with_its_dates(app, client, world, journey):
    from farms import service as farms
    from farms.models import InputProduct

    product = InputProduct.get(InputProduct.code == "spirodiclofen_24sc")  # 30 days
    farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": journey.at(10), "plots": [world.plot_a.id], "input_product": product.id,
        "dose": 25, "dose_unit": "ml/亩"})
    login(client, "farmer_a")
    page = _text(client.get(f"/batches/new?harvest_log={journey.harvest.id}"))
    response = client.post(f"/batches/new?harvest_log={journey.harvest.id}", data={
        "csrf_token": _token(page), "harvest_log": journey.harvest.id, "lot_number": "XF-2611-01"})
    assert response.status_code == 422
    body = _text(response)
    applied = journey.at(10).date()
    safe = applied + dt.timedelta(days=30)
    refusal = re.search(r'<div class="alert sev-red refusal" role="alert">(.*?)</div>', body, re.S)
    assert refusal, body[:3000]
    assert "24%螺螨酯悬浮剂" in refusal.group(1)
    assert applied.isoformat() in refusal.group(1) and safe.isoformat() in refusal.group(1)
    assert body.count("24%螺螨酯悬浮剂") == 1  # shown once, not again as a flash message
    assert 'name="override_inspection"' in body  # the way out: a passing residue test
    assert Batch.select().count() == 0


def test_only_users_who_log_on_the_farm_create_batches(client, world, journey):
    login(client, "stranger")
    assert client.get(f"/batches/new?harvest_log={journey.harvest.id}").status_code == 404
    other = client.application.test_client()
    login(other, "bureau_county")  # may view the farm, not log on it
    assert other.get(f"/batches/new?harvest_log={journey.harvest.id}").status_code == 403
    assert "/batches/new" not in _text(other.get(f"/logs/{journey.harvest.id}"))
    anonymous = client.application.test_client()
    response = anonymous.get(f"/batches/new?harvest_log={journey.harvest.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- journey events


def test_shipping_then_receiving_through_the_pages(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "operator")  # in the cooperative that owns farm A
    page = _text(client.get(f"/batches/{batch.id}"))
    assert 'name="event-csrf_token"' in page and f'<option value="{journey.retailer.id}">' in page
    # Shipping needs a destination: the form says so.
    refused = _post_event(client, batch, biz_step="shipping", event_time=_local(journey.at(2)))
    assert refused.status_code == 422 and "请选择批次的收货单位" in _text(refused)
    response = _post_event(client, batch, biz_step="shipping", event_time=_local(journey.at(2)),
                           place="信丰冷库", destination=journey.retailer.id, notes="冷链车 赣B·12345")
    assert response.status_code == 302, _text(response)[:3000]
    batch = Batch.get_by_id(batch.id)
    assert batch.status == "in_transit" and batch.destination_id == journey.retailer.id
    # While it travels, the cooperative cannot record anything on it.
    assert 'name="event-csrf_token"' not in _text(client.get(f"/batches/{batch.id}"))
    assert _post_event(client, batch, biz_step="storing", event_time=_local(journey.at(1))).status_code == 422

    retail = client.application.test_client()
    login(retail, "retail1")
    page = _text(retail.get(f"/batches/{batch.id}"))
    assert '<option value="receiving">' in page
    response = _post_event(retail, batch, biz_step="receiving", event_time=_local(journey.at(1)),
                           place="南昌果品超市 红谷滩店")
    assert response.status_code == 302, _text(response)[:3000]
    batch = Batch.get_by_id(batch.id)
    assert batch.holder_id == journey.retailer.id and batch.status == "active"

    # The cooperative no longer holds it.
    assert _post_event(client, batch, biz_step="storing", event_time=_local(journey.at(0, 2))).status_code == 403
    # Someone who never held it does not even see it.
    stranger = client.application.test_client()
    login(stranger, "farmer_b")
    assert stranger.get(f"/batches/{batch.id}").status_code == 404
    assert _post_event(retail, batch, biz_step="retail_selling", event_time=_local(journey.at(0, 1))).status_code == 302

    detail = _text(retail.get(f"/batches/{batch.id}"))
    for place in ("信丰冷库", "南昌果品超市 红谷滩店"):
        assert place in detail
    with app.test_request_context():
        steps = [d["bizStep"] for _e, d, _x in trace.journey(batch)]
    assert steps == ["commissioning", "shipping", "receiving", "retail_selling"]


def test_an_event_with_an_attachment(app, client, world, journey):
    import io

    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}"))
    response = client.post(f"/batches/{batch.id}/events", content_type="multipart/form-data", data={
        "event-csrf_token": _token(page, "event"), "event-biz_step": "packing",
        "event-event_time": _local(journey.at(1)), "event-place": "分拣中心",
        "event-attachment": (io.BytesIO(b"%PDF-1.4 packing list"), "packing.pdf", "application/pdf")})
    assert response.status_code == 302, _text(response)[:3000]
    event = Event.select().where(Event.biz_step == "packing").get()
    assert "packing.pdf" in event.document
    assert "packing.pdf" in _text(client.get(f"/batches/{batch.id}"))


def test_inspector_records_a_residue_test(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "inspector")
    page = _text(client.get(f"/batches/{batch.id}"))
    response = client.post(f"/batches/{batch.id}/inspections", data={
        "inspection-csrf_token": _token(page, "inspection"), "inspection-event_time": _local(journey.at(1)),
        "inspection-passed": "pass",
        "inspection-items-0-name": "阿维菌素", "inspection-items-0-result": "0.002",
        "inspection-items-0-limit": "0.01", "inspection-items-0-unit": "mg/kg",
        "inspection-items-1-name": "吡虫啉", "inspection-items-1-result": "0.05",
        "inspection-items-1-limit": "1", "inspection-items-1-unit": "mg/kg"})
    assert response.status_code == 302, _text(response)[:3000]
    with app.test_request_context():
        view = trace.public_view(batch)
    assert view["inspections"][0]["passed"] is True
    assert [i["name"] for i in view["inspections"][0]["items"]] == ["阿维菌素", "吡虫啉"]
    # A farmer has no inspection form, and posting one is refused.
    farmer = client.application.test_client()
    login(farmer, "farmer_a")
    page = _text(farmer.get(f"/batches/{batch.id}"))
    assert "inspection-csrf_token" not in page
    assert farmer.post(f"/batches/{batch.id}/inspections", data={
        "inspection-csrf_token": _token(page, "event"), "inspection-items-0-name": "x"}).status_code == 403
    # A test without any substance is sent back.
    response = client.post(f"/batches/{batch.id}/inspections", data={
        "inspection-csrf_token": _token(_text(client.get(f"/batches/{batch.id}")), "inspection"),
        "inspection-event_time": _local(journey.at(0, 1)), "inspection-passed": "pass"})
    assert response.status_code == 422


def test_corrected_events_are_struck_through_with_the_correction(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    event = _record(app, world.operator, batch, biz_step="storing", event_time=journey.at(2), place="错误的冷库")
    with app.test_request_context():
        trace.correct_event(world.operator, event, {"place": "信丰县绿源合作社冷库"})
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}"))
    struck = re.search(r'<li class="step step-storing erroneous">(.*?)</li>', page, re.S)
    assert struck and "<del>" in struck.group(1) and "错误的冷库" in struck.group(1)
    assert "信丰县绿源合作社冷库" in struck.group(1)  # the correction, next to what it corrects
    # The consumer sees only the corrected place.
    public = _text(client.application.test_client().get(f"/t/{batch.code}"))
    assert "信丰县绿源合作社冷库" in public and "错误的冷库" not in public


def test_split_merge_and_transform_through_the_pages(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}"))
    response = client.post(f"/batches/{batch.id}/split", data={
        "split-csrf_token": _token(page, "split"), "split-quantities": "1000, 500"})
    assert response.status_code == 302, _text(response)[:3000]
    parts = list(Batch.select().where(Batch.id != batch.id).order_by(Batch.id))
    assert [p.quantity for p in parts] == [1000, 500]
    assert Batch.get_by_id(batch.id).remaining == 3500
    too_much = client.post(f"/batches/{batch.id}/split", data={
        "split-csrf_token": _token(page, "split"), "split-quantities": "9000"})
    assert too_much.status_code == 422 and "3500" in _text(too_much)

    page = _text(client.get(f"/batches/{parts[0].id}"))
    assert f'value="{parts[1].id}"' in page  # the other part may be merged in
    response = client.post(f"/batches/{parts[0].id}/merge", data={
        "merge-csrf_token": _token(page, "merge"), "merge-batches": [parts[1].id], "merge-lot_number": "XF-MIX-1"})
    assert response.status_code == 302, _text(response)[:3000]
    merged = Batch.get(Batch.lot_number == "XF-MIX-1")
    assert merged.quantity == 1500 and response.headers["Location"] == f"/batches/{merged.id}"

    page = _text(client.get(f"/batches/{merged.id}"))
    rows = re.findall(r'name="(transform-inputs-\d+)-batch" type="hidden" value="(\d+)"', page)
    assert rows[0][1] == str(merged.id)
    data = {"transform-csrf_token": _token(page, "transform"), "transform-product_zh": "脐橙汁",
            "transform-product_en": "Navel orange juice", "transform-quantity": "600", "transform-unit": "L",
            "transform-lot_number": "JUICE-01"}
    for prefix, value in rows:
        data[f"{prefix}-batch"] = value
    data[f"{rows[0][0]}-quantity"] = "1500"
    response = client.post(f"/batches/{merged.id}/transform", data=data)
    assert response.status_code == 302, _text(response)[:3000]
    juice = Batch.get(Batch.lot_number == "JUICE-01")
    assert (juice.product_name, juice.quantity, juice.unit) == ("脐橙汁", 600, "L")
    # The recall report of the first batch reaches the juice, with its last known place.
    report = _text(client.get(f"/batches/{batch.id}/recall"))
    assert "JUICE-01" in report and "XF-MIX-1" in report and "A 果园" in report
    assert "1.8%阿维菌素乳油" in report and "1号园" in report
    # The juice's consumer page goes back to the orchard.
    public = _text(client.application.test_client().get(f"/t/{juice.code}"))
    assert "脐橙汁" in public and "A 果园" in public and "江西省 赣州市 信丰县" in public
    assert "由其他批次制成" in public and "gx:" not in public  # the processing step, by its name
    detail = _text(client.get(f"/batches/{juice.id}"))
    assert "由其他批次制成" in detail and "gx:transforming" not in detail
    assert f'href="/batches/{merged.id}"' in detail  # lineage: made from the merged batch


# ---------------------------------------------------------------- QR codes, labels, certificate


def test_qr_images(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "farmer_a")
    png = client.get(f"/batches/{batch.id}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    svg = client.get(f"/batches/{batch.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    outsider = client.application.test_client()
    login(outsider, "farmer_b")
    assert outsider.get(f"/batches/{batch.id}/qr.png").status_code == 404


def test_label_sheet_has_n_qr_codes(app, client, world, journey):
    from trace import views

    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "farmer_a")
    page = _text(client.get(f"/batches/{batch.id}/labels?n=8"))
    assert page.count("<svg") == 8
    assert "size: A4" in _text(client.get("/static/app.css"))
    assert "赣南脐橙" in page and "XF-2611-01" in page and "A 果园" in page and str(batch.harvest_date) in page
    assert page.count("<svg") == _text(client.get(f"/batches/{batch.id}/labels?n=1")).count("<svg") * 8
    assert _text(client.get(f"/batches/{batch.id}/labels?n=40")).count("<svg") == 40
    for bad in ("0", "41", "abc", "-3"):
        assert client.get(f"/batches/{batch.id}/labels?n={bad}").status_code == 400, bad

    page = _text(client.get(f"/batches/{batch.id}/labels?n=5&serials=1"))
    links = re.findall(r'data-link="([^"]+)"', page)
    assert len(links) == len(set(links)) == 5
    with app.test_request_context():
        for link in links:
            parsed = digital_link.parse(link)
            assert parsed.batch_code == batch.code and parsed.serial
            assert views.inline_svg(link) in page  # each label's QR code carries its own serial
    next_sheet = re.search(r'href="([^"]*start=6[^"]*)"', page)
    assert next_sheet
    following = _text(client.get(htmllib.unescape(next_sheet.group(1))))
    assert not set(re.findall(r'data-link="([^"]+)"', following)) & set(links)


def test_certificate_of_conformity(app, client, world, journey):
    from web.accounts.models import Organisation

    Organisation.update(contact_phone="0797-3321234").where(Organisation.id == world.farm_a.organisation_id).execute()
    batch = _batch(app, world.farmer_a, journey.harvest, quantity=1200)
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(1), passed=True,
            items=[{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"}])
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert "承诺达标合格证" in page
    assert "赣南脐橙" in page
    assert "1200 kg" in page
    assert "A 果园" in page and "信丰脐橙合作社" in page
    assert "0797-3321234" in page
    assert "江西省 赣州市 信丰县" in page
    assert dt.date.today().isoformat() in page or (dt.date.today() - dt.timedelta(days=1)).isoformat() in page
    assert ("本人承诺不使用禁用农药兽药、停用兽药和非法添加物，常规农药兽药残留不超标，对承诺的真实性负责。") in page
    assert "赣州检测中心" in page and "合格" in page
    assert page.count("<svg") == 1
    client.get(f"/lang/en?next=/batches/{batch.id}/certificate")
    english = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert "Certificate of conformity" in english and "I promise not to use banned pesticides" in english
    assert "本人承诺" in english  # the official Chinese statement stays


# ---------------------------------------------------------------- the consumer page


def _assert_public_page(html):
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)
    assert "<script" not in html
    assert len(html.encode("utf-8")) < 100 * 1024
    from web.accounts.models import User

    for user in User.select():
        for name in {user.username, user.display_name} - {""}:
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", html), f"{name} shown to the public"


def test_consumer_page_shows_what_the_plot_sensors_saw_over_the_season(app, client, world, journey):
    """Daily rollups of the plot's sensors from planting to harvest go into the commissioning event (hashed
    with it) and onto the consumer page; readings after the harvest do not."""
    from sensors import service as sensors

    harvested = journey.now - dt.timedelta(days=3)
    with app.test_request_context():
        device, _token = sensors.create_device(world.farmer_a, world.plot_a.id, "果园气象站",
                                               ["air_temperature", "soil_moisture", "rainfall"])
        items = []
        for day in range(4, 14):  # ten days before the harvest, two readings a day
            for hour, temperature in ((6, 12.0 + day / 10), (14, 30.0 - day / 10)):
                when = (harvested - dt.timedelta(days=day)).replace(hour=hour).timestamp()
                items += [(len(items), "air_temperature", when, temperature, None),
                          (len(items) + 1, "soil_moisture", when, 30.0, "%"),
                          (len(items) + 2, "rainfall", when, 1.5, None)]
        after = (journey.now - dt.timedelta(days=1)).timestamp()
        items += [(len(items), "air_temperature", after, 45.0, None)]
        assert sensors.ingest(device, None, items).accepted == len(items)
    batch = _batch(app, world.farmer_a, journey.harvest)
    commissioning = json.loads(Event.get((Event.batch == batch) & (Event.biz_step == "commissioning")).document)
    conditions = {c["metric"]: c for c in commissioning["ilmd"]["gx:growingConditions"]}
    assert set(conditions) == {"air_temperature", "soil_moisture", "rainfall"}
    air = conditions["air_temperature"]
    assert (air["min"], air["max"], air["mean"], air["unit"]) == (12.4, 29.6, 21.0, "Cel")
    assert air["days"] == 10  # local days
    assert conditions["rainfall"]["total"] == 30.0 and "mean" not in conditions["rainfall"]

    html = _text(client.application.test_client().get(f"/t/{batch.code}"))
    assert "暂无传感器记录" not in html
    assert "空气温度" in html and "12.4 °C 至 29.6 °C，平均 21 °C" in html
    assert "降雨量" in html and "共 30 mm" in html
    assert "45" not in re.sub(r"<[^>]+>", " ", html.split("conditions")[1].split("</section>")[0])
    _assert_public_page(html)


def test_consumer_page_by_batch_code(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.operator, batch, biz_step="shipping", event_time=journey.at(2), place="信丰冷库",
            destination=journey.retailer.id)
    _record(app, journey.retail_user, batch, biz_step="receiving", event_time=journey.at(1),
            place="南昌果品超市 红谷滩店")
    _record(app, world.inspector, batch, biz_step="inspecting", event_time=journey.at(0, 5), passed=True,
            items=[{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"}])
    consumer = client.application.test_client()  # nobody signed in
    response = consumer.get(f"/t/{batch.code}")
    assert response.status_code == 200
    html = _text(response)
    assert '<html lang="zh-CN">' in html
    assert "赣南脐橙" in html and "纽荷尔" in html
    assert "A 果园" in html
    assert "江西省 赣州市 信丰县" in html
    assert str(batch.harvest_date) in html
    assert "暂无传感器记录" in html  # growing conditions: no sensors yet
    assert "1.8%阿维菌素乳油" in html and "2026-09-01" in html and "安全间隔期 14 天" in html
    assert "赣州检测中心" in html and "0.002" in html and "0.01" in html
    for place in ("信丰冷库", "南昌果品超市 红谷滩店", "南昌果品超市"):
        assert place in html
    assert "已发货" in html and "已收货" in html and "已检测" in html
    assert "待上链" in html  # verification pending
    assert 'class="scan-total">1 次' in html
    _assert_public_page(html)

    # A reload from the same network is the same place: counted once a window; another network counts.
    assert 'class="scan-total">1 次' in _text(consumer.get(f"/t/{batch.code}"))
    assert 'class="scan-total">2 次' in _text(consumer.get(f"/t/{batch.code}",
                                                          environ_base={"REMOTE_ADDR": "198.51.100.7"}))
    assert Scan.select().where(Scan.batch == batch).count() == 2
    with app.app_context():
        trace.issue_serials(batch, ["0007"])  # as printing a sheet of serial labels does
    serial = _text(consumer.get(f"/t/{batch.code}/21/0007", environ_base={"REMOTE_ADDR": "203.0.113.50"}))
    assert "0007" in serial and 'class="scan-total">3 次' in serial
    assert Scan.get((Scan.batch == batch) & (Scan.serial == "0007"))

    # The language switch works here too, and comes back to the page.
    switch = consumer.get(f"/lang/en?next=/t/{batch.code}")
    assert switch.status_code == 302 and switch.headers["Location"] == f"/t/{batch.code}"
    english = _text(consumer.get(f"/t/{batch.code}"))
    assert '<html lang="en">' in english and "Gannan navel orange" in english and "Inputs applied" in english
    assert "No sensor records yet." in english


def test_consumer_page_by_gtin_and_lot(app, client, world, journey):
    assert digital_link.is_valid_gtin(GTIN)
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    with app.test_request_context():
        assert trace.batch_url(batch) == f"http://127.0.0.1:5000/01/{GTIN}/10/XF-2611-01"
    consumer = client.application.test_client()
    response = consumer.get(f"/01/{GTIN}/10/XF-2611-01")
    assert response.status_code == 200
    html = _text(response)
    assert "赣南脐橙" in html and "XF-2611-01" in html
    _assert_public_page(html)
    assert consumer.get(f"/01/{GTIN}/10/XF-2611-01/21/A12").status_code == 404  # never printed
    with app.app_context():
        trace.issue_serials(batch, ["A12"])
    assert consumer.get(f"/01/{GTIN}/10/XF-2611-01/21/A12",
                        environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    assert consumer.get(f"/01/{GTIN[:-1]}3/10/XF-2611-01").status_code == 404  # wrong check digit
    assert Scan.select().where(Scan.batch == batch).count() == 2


@pytest.mark.parametrize("path", [
    f"/01/{GTIN}/22/2A/10/XF-2611-01",  # a consumer product variant (AI 22), as GS1 Digital Link 1.2 allows
    f"/01/{GTIN}/22/NAVEL%2F72/10/XF-2611-01/21/A12",
    f"/01/{GTIN}/10/XF-2611-01?linkType=gs1:traceability&17=261231&utm_source=wechat",  # unknown attributes
    f"/01/{GTIN.lstrip('0')}/10/XF%2d2611%2D01",  # a GTIN-13 and over-encoded lot, lower-case hex
])
def test_consumer_page_follows_the_digital_link_grammar(app, client, world, journey, path):
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    with app.app_context():
        trace.issue_serials(batch, ["A12"])  # printed on a label: only issued serials resolve
    response = client.application.test_client().get(path)
    assert response.status_code == 200, path
    assert "XF-2611-01" in _text(response)
    assert Scan.select().where(Scan.batch == batch).count() == 1


def test_consumer_page_ignores_a_fragment_a_client_sends(app, client, world, journey):
    # Browsers keep '#...' to themselves; some scanner apps send it on the request line.
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    sent = f"/01/{GTIN}/22/2A/10/XF-2611-01#provenance"
    response = client.get(f"/01/{GTIN}/22/2A/10/XF-2611-01",
                          environ_overrides={"RAW_URI": sent, "REQUEST_URI": sent})
    assert response.status_code == 200
    assert Scan.select().where(Scan.batch == batch).count() == 1


@pytest.mark.parametrize("path", ["/01/06901234567892/10/NO-SUCH-LOT", "/t/ZZZZZZZZZZ", "/t/bad code",
                                  "/01/123/10/X", "/t/ABCD/10/XY"])
def test_unknown_codes_get_a_friendly_page(client, world, path):
    response = client.get(path)
    assert response.status_code == 404
    html = _text(response)
    assert response.mimetype == "text/html"
    assert "未找到该产品" in html
    _assert_public_page(html)
    assert Scan.select().count() == 0


def test_warning_after_many_scans_in_new_places_after_the_sale(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    _record(app, world.operator, batch, biz_step="shipping", event_time=journey.at(2), destination=journey.retailer.id)
    _record(app, journey.retail_user, batch, biz_step="receiving", event_time=journey.at(1))
    consumer = client.application.test_client()
    assert "scan-warning" not in _text(consumer.get(f"/t/{batch.code}"))
    _record(app, journey.retail_user, batch, biz_step="retail_selling", event_time=journey.at(0, 1))
    with app.test_request_context():
        for network in range(1, 6):
            trace.record_scan(Batch.get_by_id(batch.id), f"10.{network}.7.20")
    html = _text(consumer.get(f"/t/{batch.code}"))
    assert 'class="alert sev-red scan-warning"' in html
    assert "零售售出后，该码在多个新地点被扫描。" in html
    login(client, "retail1")
    assert "scan-warning" in _text(client.get(f"/batches/{batch.id}"))  # the seller sees it too


# ---------------------------------------------------------------- the demo

# The demo follows the season; load it as of the navel-orange harvest, so these tests always run.
IN_SEASON = dt.datetime(2025, 12, 5, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_demo_batch_shows_its_whole_journey(app, client):
    from farms.models import Farm
    from web import demo

    with app.app_context():
        demo.load(now=IN_SEASON)
    farm = Farm.get(Farm.name == "信丰县安西镇脐橙果园")
    batch = Batch.get(Batch.farm == farm)
    with app.test_request_context():
        steps = [d["bizStep"] for _e, d, _x in trace.journey(batch)]
    assert steps == ["commissioning", "shipping", "receiving", "inspecting"]
    html = _text(client.get(f"/t/{batch.code}"))
    assert "信丰县绿源合作社分拣中心" in html and "赣州市农产品质量安全检测中心" in html
    _assert_public_page(html)
    counts = Batch.select().count(), Event.select().count()
    with app.app_context():
        demo.load(now=IN_SEASON)
    assert (Batch.select().count(), Event.select().count()) == counts


def test_demo_journey_passes_the_interval_rule_with_a_residue_test(app):
    """When a spraying's interval had not elapsed at the demo harvest, inspector1's plot test lets it through."""
    from farms import service as farms
    from farms.models import Crop, Farm, InputProduct, Log, LogPlot, Planting
    from trace.models import Inspection
    from web import demo
    from web.accounts.models import User

    with app.app_context():
        demo.load(now=IN_SEASON, only=("farms",))  # accounts, farms and logs, no batch
    farm = Farm.get(Farm.name == "信丰县安西镇脐橙果园")
    assert not Batch.select().where(Batch.farm == farm).exists()
    harvest = (Log.select().join(Planting).join(Crop)
               .where((Log.farm == farm) & (Log.kind == "harvest") & (Crop.code == "navel_orange"))
               .order_by(Log.timestamp.desc()).first())
    plot = LogPlot.get(LogPlot.log == harvest).plot_id
    sprayed = harvest.timestamp.replace(tzinfo=dt.timezone.utc) - dt.timedelta(days=2)
    farms.create_log(User.get(User.username == "farmer1"), farm, {
        "kind": "input", "timestamp": sprayed, "plots": [plot],
        "input_product": InputProduct.get(InputProduct.code == "abamectin_1_8ec").id,
        "dose": 40, "dose_unit": "ml/亩"})
    with app.app_context():
        summary = demo.load(now=IN_SEASON)
    assert summary["batches"] == 1
    batch = Batch.get(Batch.farm == farm)
    test = Inspection.get(Inspection.plot == plot)
    assert test.passed and test.inspector.username == "inspector1"
    document = json.loads(Event.get((Event.batch == batch) & (Event.biz_step == "commissioning")).document)
    assert document["ilmd"]["gx:phiOverride"]["inspection"] == test.id


def test_scans_behind_a_trusted_proxy_count_the_real_client(backend, tmp_path):
    from trace.models import Scan
    from web import create_app

    proxied = create_app({"DATABASE_URL": backend.url_for_test(tmp_path), "DATA_DIR": str(tmp_path / "d"),
                          "SECRET_KEY": "x", "TRUSTED_PROXIES": 1})
    backend.reset()
    world = World()
    journey = Journey(world)
    with proxied.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
    phone = proxied.test_client()
    for client_ip in ("203.0.113.5", "198.51.100.7"):
        assert phone.get(f"/t/{batch.code}", headers={"X-Forwarded-For": client_ip}).status_code == 200
    assert len({s.place for s in Scan.select().where(Scan.batch == batch)}) == 2
