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


GARBAGE = [["a", "b"], 10 ** 30, {"x": 1}, None, True, "", "x" * 10000, 1.5e308, -1]


@pytest.mark.parametrize("field, value", [("username", v) for v in GARBAGE + ["nul\u0000"]]
                         + [("role", v) for v in GARBAGE if v is not None],  # a null role is the default role
                         ids=lambda v: v if isinstance(v, str) and len(v) < 10 else type(v).__name__)
def test_invitation_endpoints_answer_garbage_with_4xx(client, world, field, value):
    from web.accounts.models import Invitation
    from farms.models import FarmInvitation

    org = world.operator.organisation_id
    for path, who in ((f"/api/v1/organisations/{org}/invitations", world.operator),
                      (f"/api/v1/farms/{world.farm_a.id}/invitations", world.farmer_a)):
        body = {"username": "stranger", field: value}
        response = client.post(path, json=body, headers=bearer(who))
        assert 400 <= response.status_code < 500, (path, body, response.status_code)
        assert set(response.json["error"]) == {"code", "message", "fields"}
    assert Invitation.select().count() == 0 and FarmInvitation.select().count() == 0


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_invitation_bodies_that_are_not_objects_are_refused(client, world, body):
    response = client.post(f"/api/v1/organisations/{world.operator.organisation_id}/invitations",
                           json=body, headers=bearer(world.operator))
    assert response.status_code == 400


def test_other_organisations_people_and_proofs_stay_hidden(client, world):
    other = world.farm_b.organisation_id
    headers = bearer(world.farmer_a)
    for path in (f"/api/v1/organisations/{other}/members", f"/api/v1/organisations/{other}/invitations",
                 f"/api/v1/farms/{world.farm_b.id}/invitations", f"/api/v1/farms/{world.farm_b.id}/members"):
        assert client.get(path, headers=headers).status_code == 404, path
    for path in ("/proof/%00%ff.json", "/t/AB%00CD", "/dashboard?farm=%00", "/api/v1/farms?page=%00"):
        assert client.get(path, headers=headers).status_code in (400, 404), path
