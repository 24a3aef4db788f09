"""What an API client is told when its request is wrong: the field named, the body's real fault, its
own language, and the methods that are allowed."""
import pytest

from farms.models import Plot
from tests.helpers import bearer


def test_a_list_of_nulls_does_not_clear_notes(app, client, world):
    """PATCH {"notes": [null, null]} used to store empty notes without a word."""
    headers = bearer(world.farmer_a)
    assert client.patch(f"/api/v1/plots/{world.plot_a.id}", json={"notes": "东坡滴灌"},
                        headers=headers).status_code == 200
    for notes in ([None, None], ["a", "b"], [None], [{"x": 1}]):
        response = client.patch(f"/api/v1/plots/{world.plot_a.id}", json={"notes": notes}, headers=headers)
        assert response.status_code == 422, (notes, response.json)
        assert set(response.json["error"]["fields"]) == {"notes"}
    assert Plot.get_by_id(world.plot_a.id).notes == "东坡滴灌"


def test_a_list_field_takes_a_list_but_no_nulls_in_it(app, client, world):
    headers = bearer(world.farmer_a)
    response = client.patch(f"/api/v1/farms/{world.farm_a.id}", json={"certifications": [None]}, headers=headers)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"certifications"}


@pytest.mark.parametrize("path", ["/api/v1/farms", "/api/v1/epcis"])
def test_a_null_body_is_called_what_it_is(app, client, world, path):
    headers = dict(bearer(world.farmer_a), **{"Accept-Language": "en"})
    response = client.post(path, data="null", content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["message"] == "The body must be a JSON object, not null."
    broken = client.post(path, data="{", content_type="application/json", headers=headers)
    assert broken.status_code == 400 and broken.json["error"]["message"] == "The body is not valid JSON."


@pytest.mark.parametrize("language, expected", [
    ("en", "batch not found"), ("en-US,en;q=0.9", "batch not found"),
    ("zh-CN,zh;q=0.9", "未找到该批次"), ("fr", "未找到该批次"),  # no English asked for: Chinese, the default
])
def test_api_errors_follow_accept_language(app, client, world, language, expected):
    headers = dict(bearer(world.farmer_a), **{"Accept-Language": language})
    response = client.get("/api/v1/batches/999999", headers=headers)
    assert response.status_code == 404 and response.json["error"]["message"] == expected


def test_api_accept_language_outranks_the_accounts_language(app, client, world):
    """A token of a user whose pages are in Chinese, used by a program that asks for English."""
    headers = dict(bearer(world.farmer_a), **{"Accept-Language": "en"})
    response = client.post("/api/v1/farms", json={"name": ""}, headers=headers)
    assert response.status_code == 422 and response.json["error"]["message"] == "Some fields need correcting."
    unauthenticated = client.get("/api/v1/me", headers={"Accept-Language": "zh"})
    assert unauthenticated.json["error"]["message"] == "请先登录，或发送访问令牌（Bearer）"


@pytest.mark.parametrize("method", ["TRACE", "PUT", "PROPFIND"])
@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/farms", "/"])
def test_an_unsupported_method_answers_405_with_allow(app, client, world, method, path):
    response = client.open(path, method=method, headers=bearer(world.farmer_a))
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert "GET" in allowed and method not in allowed
    if path.startswith("/api/"):
        assert response.json["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/batches", {"harvest_log": 2 ** 63}, "harvest_log"),          # found by tests/web/test_fuzz.py
    ("/api/v1/batches/merge", {"batches": [1, 2 ** 64]}, "batches[1]"),  # by the path of the value
    ("/api/v1/farms", {"name": "x", "county_code": "360722", "latitude": 10 ** 30}, "latitude"),
])
def test_integers_beyond_64_bits_in_a_body_are_a_422(app, client, world, path, body, field):
    response = client.post(path, json=body, headers=bearer(world.farmer_a))
    assert response.status_code == 422 and field in response.json["error"]["fields"], response.json


def test_nan_and_infinity_are_not_numbers_to_store(app, client, world):
    """Python's and JavaScript's JSON writers send NaN and Infinity literally."""
    before = Plot.get_by_id(world.plot_a.id).area_m2
    for literal in ("NaN", "Infinity", "-Infinity"):
        response = client.patch(f"/api/v1/plots/{world.plot_a.id}", data='{"area": %s}' % literal,
                                content_type="application/json", headers=bearer(world.farmer_a))
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"area"}
    assert Plot.get_by_id(world.plot_a.id).area_m2 == before


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_beyond_the_calendar_in_utc_is_a_422(app, client, world, when):
    """Found by tests/web/test_fuzz.py: stored in UTC, these overflowed the date type (500)."""
    from tests.helpers import Journey
    from trace import service as trace

    journey = Journey(world)
    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id, "quantity": 4000})
    response = client.post(f"/api/v1/batches/{batch.id}/events", json={"biz_step": "storing", "event_time": when},
                           headers=bearer(world.operator))
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"event_time"}
    response = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers=bearer(world.farmer_a), json={
        "kind": "activity", "timestamp": when, "plots": [world.plot_a.id], "activity_kind": "pruning"})
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"timestamp"}
