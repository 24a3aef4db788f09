"""Input any token holder can send gets a 4xx with the usual error body, never a 500.

Seen when the product was tried as an attacker would: an id or page beyond 64 bits gave
OverflowError on API and page routes; JSON nested 1,000 to 100,000 deep gave RecursionError on
every JSON endpoint, ingest included.
"""
import pytest

from tests.helpers import bearer, login

HUGE = str(2 ** 64 + 5)


@pytest.mark.parametrize("path", [f"/api/v1/farms/{HUGE}", f"/api/v1/plots/{HUGE}", f"/api/v1/batches/{HUGE}",
                                  f"/api/v1/logs/{HUGE}", f"/api/v1/batches/{HUGE}/verification"])
def test_ids_beyond_64_bits_are_not_found(client, world, path):
    response = client.get(path, headers=bearer(world.farmer_a))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_pages_beyond_64_bits_are_a_bad_request(client, world):
    response = client.get(f"/api/v1/farms?page={HUGE}", headers=bearer(world.farmer_a))
    assert response.status_code == 400 and "page" in response.json["error"]["fields"]


def test_page_routes_with_huge_ids_are_not_found(client, world):
    login(client, "farmer_a")
    for path in (f"/farms/{HUGE}", f"/plots/{HUGE}", f"/batches/{HUGE}"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/farms", "/api/v1/epcis", "/api/v1/batches"])
def test_deeply_nested_json_is_a_bad_request(client, world, path, depth):
    body = "[" * depth + "]" * depth
    response = client.post(path, data=body, headers=dict(bearer(world.farmer_a), **{
        "Content-Type": "application/json"}))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert set(response.json["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deeply_nested_json_to_ingest_is_a_bad_request(app, client, world, depth):
    from sensors import service as sensors

    with app.app_context():
        device, token = sensors.create_device(world.farmer_a, world.plot_a.id, "深层", ["soil_moisture"])
    response = client.post("/api/v1/ingest", data='{"e":' + "[" * depth + "]" * depth + "}",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
