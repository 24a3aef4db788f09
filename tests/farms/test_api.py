"""The farms JSON API: validation, error shapes, pagination, transactions."""
import pytest

from farms.models import Farm, Log, LogPlot, Plot


@pytest.fixture
def api(client, world):
    from web.accounts import service

    token, _ = service.create_token(world.farmer_a, "test")
    headers = {"Authorization": f"Bearer {token}"}

    class Api:
        def __getattr__(self, method):
            def call(url, **kwargs):
                kwargs.setdefault("headers", headers)
                return getattr(client, method)("/api/v1" + url, **kwargs)
            return call

    return Api()


def assert_error(response, status, code, fields=()):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert error["message"]
    for name in fields:
        assert name in error["fields"], error


def test_pesticide_input_log_round_trip(api, world):
    from farms.models import InputProduct

    product = InputProduct.get(InputProduct.code == "spirodiclofen_24sc")
    created = api.post(f"/farms/{world.farm_a.id}/logs", json={
        "kind": "input", "timestamp": "2026-10-05T16:30:00+08:00", "plots": [world.plot_a.id],
        "input_product": product.id, "dose": 25, "input_lot": "LOT-2026-0815",
        "planting": world.planting_a.id})
    assert created.status_code == 201, created.json
    body = api.get(f"/logs/{created.json['id']}").json
    # The catalogue filled in the name, ingredient, category, interval and unit.
    assert body["product_name"] == "24%螺螨酯悬浮剂"
    assert body["active_ingredient"].startswith("螺螨酯")
    assert body["input_category"] == "acaricide"
    assert body["phi_days"] == 30
    assert body["dose_unit"] == "ml/亩"
    assert body["timestamp"] == "2026-10-05T16:30:00+08:00"
    assert body["plots"] == [world.plot_a.id]


def test_pesticide_without_interval_is_refused(api, world):
    response = api.post(f"/farms/{world.farm_a.id}/logs", json={
        "kind": "input", "timestamp": "2026-10-05T16:30:00+08:00", "plots": [world.plot_a.id],
        "product_name": "某杀虫剂", "input_category": "insecticide", "dose": 10, "dose_unit": "ml/亩"})
    assert_error(response, 422, "invalid", ["phi_days"])


@pytest.mark.parametrize("body, fields", [
    ({"kind": "harvest", "timestamp": "2026-11-20T09:00:00+08:00"}, ["plots"]),
    ({"kind": "harvest", "plots": "east", "timestamp": "2026-11-20T09:00:00+08:00"}, ["plots"]),
    ({"kind": "harvest", "plots": "PLOT", "timestamp": "yesterday"}, ["timestamp"]),
    ({"kind": "harvest", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00"}, ["quantity"]),
    ({"kind": "harvest", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00", "quantity": -5,
      "unit": "kg"}, ["quantity"]),
    ({"kind": "activity", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00"}, ["activity_kind"]),
    ({"kind": "observation", "plots": "PLOT", "timestamp": "2099-01-01T00:00:00+08:00"}, ["timestamp"]),
    ({"kind": "dance", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00"}, ["kind"]),
    ({"kind": "observation", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00",
      "colour": "red"}, ["colour"]),
    ({"kind": "observation", "plots": "PLOT", "timestamp": "2026-11-20T09:00:00+08:00",
      "lot_number": "X"}, ["lot_number"]),
    ({"kind": "observation", "plots": "OTHER", "timestamp": "2026-11-20T09:00:00+08:00"}, ["plots"]),
])
def test_invalid_logs_are_422_and_write_nothing(api, world, body, fields):
    body = dict(body)
    if body.get("plots") == "PLOT":
        body["plots"] = [world.plot_a.id]
    elif body.get("plots") == "OTHER":
        body["plots"] = [world.plot_b.id]  # a plot of another farm
    logs, links = Log.select().count(), LogPlot.select().count()
    assert_error(api.post(f"/farms/{world.farm_a.id}/logs", json=body), 422, "invalid", fields)
    assert (Log.select().count(), LogPlot.select().count()) == (logs, links)


def test_malformed_bodies_are_400(api, world):
    url = f"/farms/{world.farm_a.id}/logs"
    assert_error(api.post(url, data="{not json", content_type="application/json"), 400, "bad_request")
    assert_error(api.post(url, json=[1, 2]), 400, "bad_request")
    assert_error(api.post(url, data="kind=harvest"), 400, "bad_request")


def test_unknown_routes_and_methods_are_json(api, world):
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.delete(f"/logs/{world.log_a.id}"), 405, "method_not_allowed")
    assert_error(api.get("/farms/999999"), 404, "not_found")


def test_duplicate_plot_name_is_409(api, world):
    response = api.post(f"/farms/{world.farm_a.id}/plots", json={"name": "1号园", "kind": "orchard", "area": 2})
    assert_error(response, 409, "conflict", ["name"])
    assert Plot.select().where(Plot.farm == world.farm_a.id).count() == 1


def test_plot_area_in_mu_and_geometry(api, world):
    polygon = {"type": "Polygon", "coordinates": [[[114.92, 25.38], [114.93, 25.38], [114.93, 25.39],
                                                   [114.92, 25.38]]]}
    created = api.post(f"/farms/{world.farm_a.id}/plots", json={
        "name": "大棚1", "kind": "greenhouse", "area": 1, "area_unit": "mu", "geometry": polygon})
    assert created.status_code == 201, created.json
    assert created.json["area_m2"] == pytest.approx(666.67, abs=0.01)
    assert created.json["area_mu"] == pytest.approx(1.0)
    assert created.json["geometry"] == polygon
    bad = api.post(f"/farms/{world.farm_a.id}/plots", json={
        "name": "大棚2", "kind": "greenhouse", "area": 500, "area_unit": "m2",
        "geometry": {"type": "Polygon", "coordinates": [[[114.9, 25.3], [114.91, 25.3]]]}})
    assert_error(bad, 422, "invalid", ["geometry"])


BEYOND_64_BITS = 2 ** 70


def test_integers_beyond_64_bits_are_refused_under_their_field(api, world):
    """A page's form sees numbers as text, and a plot's geometry is passed on as text: an integer no
    column can store is refused under the field that holds it, and nothing is stored."""
    logs, plots = Log.select().count(), Plot.select().count()
    response = api.post(f"/farms/{world.farm_a.id}/logs", json={
        "kind": "observation", "plots": [world.plot_a.id], "timestamp": "2026-11-20T09:00:00+08:00",
        "planting": BEYOND_64_BITS})
    assert_error(response, 422, "invalid", ["planting"])
    assert "64" in response.json["error"]["fields"]["planting"]
    polygon = {"type": "Polygon", "coordinates": [[[114.92, 25.38], [114.93, 25.38], [BEYOND_64_BITS, 25.39],
                                                   [114.92, 25.38]]]}
    response = api.post(f"/farms/{world.farm_a.id}/plots", json={
        "name": "大棚3", "kind": "greenhouse", "area": 1, "geometry": polygon})
    assert_error(response, 422, "invalid", ["geometry"])
    assert "64" in response.json["error"]["fields"]["geometry"]
    assert (Log.select().count(), Plot.select().count()) == (logs, plots)


def test_farm_validation(api, world, client):
    from web.accounts import service

    token, _ = service.create_token(world.farmer_b, "t")
    headers = {"Authorization": f"Bearer {token}"}
    bad = client.post("/api/v1/farms", headers=headers, json={"name": "新园", "county_code": "360700"})
    assert_error(bad, 422, "invalid", ["county_code"])  # a city, not a county
    half = client.post("/api/v1/farms", headers=headers, json={
        "name": "新园", "county_code": "361023", "latitude": 27.2})
    assert_error(half, 422, "invalid", ["longitude"])
    good = client.post("/api/v1/farms", headers=headers, json={
        "name": "新园", "county_code": "361023", "latitude": 27.2, "longitude": 116.5,
        "certifications": ["green_food", "geographical_indication"]})
    assert good.status_code == 201, good.json
    assert good.json["certifications"] == ["geographical_indication", "green_food"]
    assert Farm.select().where(Farm.name == "新园").count() == 1


def test_lists_are_paginated(api, world):
    for day in range(1, 8):
        assert api.post(f"/farms/{world.farm_a.id}/logs", json={
            "kind": "observation", "timestamp": f"2026-10-0{day}T08:00:00+08:00",
            "plots": [world.plot_a.id], "notes": f"day {day}"}).status_code == 201
    page1 = api.get(f"/farms/{world.farm_a.id}/logs?per_page=3").json
    assert page1["total"] == 8 and page1["pages"] == 3 and len(page1["items"]) == 3
    page3 = api.get(f"/farms/{world.farm_a.id}/logs?per_page=3&page=3").json
    assert len(page3["items"]) == 2
    ids = [i["id"] for p in (1, 2, 3) for i in api.get(f"/farms/{world.farm_a.id}/logs?per_page=3&page={p}").json["items"]]
    assert len(set(ids)) == 8
    assert_error(api.get(f"/farms/{world.farm_a.id}/logs?per_page=1000"), 400, "bad_request", ["per_page"])
    assert_error(api.get(f"/farms/{world.farm_a.id}/logs?page=x"), 400, "bad_request", ["page"])


def test_log_filters(api, world):
    api.post(f"/farms/{world.farm_a.id}/logs", json={
        "kind": "harvest", "timestamp": "2026-11-20T09:00:00+08:00", "plots": [world.plot_a.id],
        "quantity": 1200, "unit": "kg", "lot_number": "XF-2026-1120-01"})
    harvests = api.get(f"/farms/{world.farm_a.id}/logs?kind=harvest").json["items"]
    assert [h["lot_number"] for h in harvests] == ["XF-2026-1120-01"]
    in_range = api.get(f"/farms/{world.farm_a.id}/logs?from=2026-11-20&to=2026-11-20").json["items"]
    assert [h["kind"] for h in in_range] == ["harvest"]
    assert api.get(f"/farms/{world.farm_a.id}/logs?from=2026-11-21").json["total"] == 0
    assert_error(api.get(f"/farms/{world.farm_a.id}/logs?from=20-11-2026"), 400, "bad_request", ["from"])
    assert_error(api.get(f"/farms/{world.farm_a.id}/logs?kind=dance"), 400, "bad_request", ["kind"])


def test_error_messages_follow_the_users_language(api, world):
    from web.accounts.models import User

    User.update(locale="en").where(User.id == world.farmer_a.id).execute()
    english = api.post(f"/farms/{world.farm_a.id}/logs", json={"kind": "activity", "plots": [world.plot_a.id],
                                                              "timestamp": "2026-10-01T08:00:00+08:00"})
    assert english.json["error"]["fields"]["activity_kind"] == "Required for this kind of log."
    User.update(locale="zh").where(User.id == world.farmer_a.id).execute()
    chinese = api.post(f"/farms/{world.farm_a.id}/logs", json={"kind": "activity", "plots": [world.plot_a.id],
                                                              "timestamp": "2026-10-01T08:00:00+08:00"})
    assert chinese.json["error"]["fields"]["activity_kind"] != "Required for this kind of log."
