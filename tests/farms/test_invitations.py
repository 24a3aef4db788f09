"""A farm's owner brings people onto the farm by invitation; they accept before they may log."""
import datetime as dt
import re

import pytest

from farms.models import FarmInvitation, FarmMember
from tests.helpers import bearer as _bearer, form_fields, login


@pytest.fixture
def bearer(world):
    return _bearer


def observation(client, headers, world):
    return client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers=headers, json={
        "kind": "observation", "timestamp": "2026-10-01T09:00:00+08:00", "plots": [world.plot_a.id],
        "notes": "红蜘蛛"})


def test_an_owner_invites_a_worker_who_then_logs(client, world, bearer):
    owner, stranger = bearer(world.farmer_a), bearer(world.stranger)
    assert observation(client, stranger, world).status_code == 404
    invited = client.post(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=owner,
                          json={"username": "stranger", "role": "worker"})
    assert invited.status_code == 201, invited.json
    assert observation(client, stranger, world).status_code == 404  # not before accepting
    listed = client.get(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=owner).json["items"]
    assert [i["username"] for i in listed] == ["stranger"]
    mine = client.get("/api/v1/farm-invitations", headers=stranger).json["items"]
    assert [(i["farm_id"], i["role"]) for i in mine] == [(world.farm_a.id, "worker")]

    accepted = client.post(f"/api/v1/farm-invitations/{invited.json['id']}/accept", headers=stranger)
    assert accepted.status_code == 200 and accepted.json["state"] == "accepted"
    assert observation(client, stranger, world).status_code == 201
    members = client.get(f"/api/v1/farms/{world.farm_a.id}/members", headers=stranger).json["items"]
    assert {m["username"]: m["role"] for m in members}["stranger"] == "worker"
    # A worker invites nobody and removes nobody.
    assert client.post(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=stranger,
                       json={"username": "farmer_b"}).status_code == 403
    assert client.delete(f"/api/v1/farms/{world.farm_a.id}/members/{world.farmer_a.id}",
                         headers=stranger).status_code == 403
    # The owner removes them; the farm is closed to them again.
    assert client.delete(f"/api/v1/farms/{world.farm_a.id}/members/{world.stranger.id}",
                         headers=owner).status_code == 204
    assert observation(client, stranger, world).status_code == 404


@pytest.mark.parametrize("who, body, status", [
    ("worker_a", {"username": "stranger"}, 403),
    ("farmer_b", {"username": "stranger"}, 404),
    ("farmer_a", {"username": "operator"}, 422),   # only farmers work on farms
    ("farmer_a", {"username": "worker_a"}, 409),   # a member already
    ("farmer_a", {"username": "nobody"}, 422),
    ("farmer_a", {"username": "stranger", "role": "boss"}, 422),
    ("farmer_a", {}, 422),
])
def test_bad_farm_invitations_are_refused_and_store_nothing(client, world, bearer, who, body, status):
    response = client.post(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=bearer(getattr(world, who)),
                           json=body)
    assert response.status_code == status, response.json
    assert FarmInvitation.select().count() == 0


def test_expired_withdrawn_and_foreign_invitations_cannot_be_accepted(client, world, bearer):
    owner, stranger = bearer(world.farmer_a), bearer(world.stranger)
    first = client.post(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=owner,
                        json={"username": "stranger"}).json
    assert client.post(f"/api/v1/farm-invitations/{first['id']}/accept",
                       headers=bearer(world.farmer_b)).status_code == 404
    assert client.delete(f"/api/v1/farm-invitations/{first['id']}", headers=owner).status_code == 204
    assert client.post(f"/api/v1/farm-invitations/{first['id']}/accept", headers=stranger).status_code == 409

    second = client.post(f"/api/v1/farms/{world.farm_a.id}/invitations", headers=owner,
                         json={"username": "stranger", "role": "owner"}).json
    FarmInvitation.update(expires_at=dt.datetime(2020, 1, 1)).where(FarmInvitation.id == second["id"]).execute()
    assert client.post(f"/api/v1/farm-invitations/{second['id']}/accept", headers=stranger).status_code == 409
    assert not FarmMember.select().where(FarmMember.user == world.stranger.id).exists()


def test_the_last_owner_stays(client, world, bearer):
    response = client.delete(f"/api/v1/farms/{world.farm_a.id}/members/{world.farmer_a.id}",
                             headers=bearer(world.admin))
    assert response.status_code == 409
    assert FarmMember.select().where((FarmMember.farm == world.farm_a.id) & (FarmMember.role == "owner")).count() == 1


def test_invite_and_accept_through_the_pages(client, world):
    login(client, "farmer_a")
    page = client.get(f"/farms/{world.farm_a.id}").get_data(as_text=True)
    data = form_fields(page)
    data.update(username="nobody", role="worker")
    response = client.post(f"/farms/{world.farm_a.id}/invitations", data=data)
    assert response.status_code == 422 and "nobody" in response.get_data(as_text=True)
    data.update(username="stranger")
    response = client.post(f"/farms/{world.farm_a.id}/invitations", data=data)
    assert response.status_code == 302
    assert "stranger" in client.get(f"/farms/{world.farm_a.id}").get_data(as_text=True)

    other = client.application.test_client()
    login(other, "stranger")
    home = other.get("/dashboard").get_data(as_text=True)
    assert "A 果园" in home
    accept = re.search(r'action="(/farm-invitations/\d+/accept)"', home).group(1)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', home).group(1)
    response = other.post(accept, data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/farms/{world.farm_a.id}")
    assert "A 果园" in other.get("/dashboard").get_data(as_text=True)
