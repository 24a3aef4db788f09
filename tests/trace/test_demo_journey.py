"""The demo scenario end to end over HTTP, with the demo accounts:
farmer1 makes a navel-orange batch, coop1 ships and receives it, inspector1 adds a passing
residue test, and a phone that decodes the printed QR code sees the whole journey."""
import datetime as dt
import io
from urllib.parse import urlsplit

import zxingcpp
from PIL import Image

from tests.helpers import login
from trace.models import Batch

DEMO_PASSWORD = "demo-password"
IN_SEASON = dt.datetime(2025, 12, 5, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def token_for(username):
    from web.accounts import service
    from web.accounts.models import User

    token, _ = service.create_token(User.get(User.username == username), "demo")
    return {"Authorization": f"Bearer {token}"}


def test_demo_journey_from_orchard_to_phone(app, client):
    from farms.models import Crop, Farm, Log, Planting
    from web import demo
    from web.accounts.models import Organisation

    with app.app_context():
        demo.load(now=IN_SEASON, only=("farms",))  # accounts, farms and logs: the batch is made below
    farm = Farm.get(Farm.name == "信丰县安西镇脐橙果园")
    harvest = (Log.select().join(Planting).join(Crop)
               .where((Log.farm == farm) & (Log.kind == "harvest") & (Crop.code == "navel_orange"))
               .order_by(Log.timestamp.desc()).first())

    # farmer1 makes the batch from the harvest log.
    created = client.post("/api/v1/batches", headers=token_for("farmer1"), json={"harvest_log": harvest.id})
    assert created.status_code == 201, created.json
    batch_id = created.json["id"]

    coop = token_for("coop1")
    packing_house = Organisation.get(Organisation.name == "信丰县绿源脐橙专业合作社")
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0) - dt.timedelta(hours=3)
    for step, headers, body in (
            ("shipping", coop, {"destination": packing_house.id, "place": "安西镇果园"}),
            ("receiving", coop, {"place": "信丰县绿源合作社分拣中心"}),
            ("inspecting", token_for("inspector1"), {"passed": True, "items": [
                {"name": "阿维菌素", "result": 0.003, "limit": 0.02, "unit": "mg/kg"},
                {"name": "螺螨酯", "result": 0.01, "limit": 0.4, "unit": "mg/kg"}]})):
        now += dt.timedelta(minutes=30)
        response = client.post(f"/api/v1/batches/{batch_id}/events", headers=headers,
                               json=dict(biz_step=step, event_time=now.isoformat(), **body))
        assert response.status_code == 201, (step, response.json)

    # The printed QR code (farmer1 prints the labels), decoded as a phone would.
    login(client, "farmer1", DEMO_PASSWORD)
    png = client.get(f"/batches/{batch_id}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    url = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))[0].text
    assert url.endswith("/t/" + Batch.get_by_id(batch_id).code)

    phone = app.test_client()  # no login
    page = phone.get(urlsplit(url).path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for seen in ("赣南脐橙", "信丰县安西镇脐橙果园", "江西省 赣州市 信丰县", "安西镇果园", "信丰县绿源合作社分拣中心",
                 "赣州市农产品质量安全检测中心", "阿维菌素", "合格"):
        assert seen in html, seen

    assert "刘建华" not in html and "钟丽萍" not in html  # no names of the people who recorded it


def test_demo_batch_shows_what_the_orchard_soil_station_saw(app):
    """Inside the app the demo makes the batch itself, after its stations' history: the consumer page
    of that batch shows the orchard's soil over the season, from the hashed commissioning event."""
    from web import demo

    with app.app_context():
        demo.load(now=IN_SEASON)
        batch = Batch.get()
    assert batch.plot.name == "1号山地果园"
    html = app.test_client().get(f"/t/{batch.code}").get_data(as_text=True)
    conditions = html.split('class="card conditions"')[1].split("</section>")[0]
    for seen in ("土壤含水量", "土壤温度", "土壤pH", "土壤电导率", "平均", "天的记录"):
        assert seen in conditions, seen
    assert "暂无传感器记录" not in html
