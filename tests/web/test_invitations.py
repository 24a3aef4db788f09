"""Joining an organisation takes an invitation by one of its managers, accepted by the invitee."""
import re

import pytest

from tests.helpers import PASSWORD, bearer as _bearer, login
from web.accounts.models import Invitation, User


@pytest.fixture
def bearer(world):
    return _bearer


def test_a_manager_invites_and_the_invitee_joins(client, world, bearer):
    coop = world.operator.organisation_id
    invited = client.post(f"/api/v1/organisations/{coop}/invitations", headers=bearer(world.operator),
                          json={"username": "stranger", "role": "member"})
    assert invited.status_code == 201, invited.json
    assert invited.json["state"] == "pending" and invited.json["organisation"]["id"] == coop

    stranger = bearer(world.stranger)
    assert client.get("/api/v1/me", headers=stranger).json["organisation_id"] is None  # not before accepting
    mine = client.get("/api/v1/invitations", headers=stranger).json["items"]
    assert [i["id"] for i in mine] == [invited.json["id"]]
    # Nobody else can answer it.
    assert client.post(f"/api/v1/invitations/{invited.json['id']}/accept",
                       headers=bearer(world.worker_a)).status_code == 404

    accepted = client.post(f"/api/v1/invitations/{invited.json['id']}/accept", headers=stranger)
    assert accepted.status_code == 200 and accepted.json["state"] == "accepted"
    me = client.get("/api/v1/me", headers=stranger).json
    assert me["organisation_id"] == coop and me["organisation_role"] == "member"
    members = client.get(f"/api/v1/organisations/{coop}/members", headers=stranger).json["items"]
    assert "stranger" in [m["username"] for m in members]
    # Answered once: a second answer is a conflict.
    assert client.post(f"/api/v1/invitations/{invited.json['id']}/decline", headers=stranger).status_code == 409
    # A member is not a manager: they invite nobody and see no invitations.
    assert client.post(f"/api/v1/organisations/{coop}/invitations", headers=stranger,
                       json={"username": "worker_a"}).status_code == 403
    assert client.get(f"/api/v1/organisations/{coop}/invitations", headers=stranger).status_code == 403


@pytest.mark.parametrize("inviter, body, status, field", [
    ("farmer_b", {"username": "stranger"}, 404, None),          # not their organisation: not even shown
    ("operator", {"username": "nobody"}, 422, "username"),
    ("operator", {"username": "farmer_b"}, 409, "username"),    # belongs to another organisation
    ("operator", {"username": "farmer_a"}, 409, "username"),    # a member already
    ("operator", {"username": "admin"}, 422, "username"),
    ("operator", {"username": "stranger", "role": "owner"}, 422, "role"),
    ("operator", {"username": "stranger", "colour": "red"}, 422, "colour"),
])
def test_bad_invitations_are_refused_and_store_nothing(client, world, bearer, inviter, body, status, field):
    coop = world.operator.organisation_id
    response = client.post(f"/api/v1/organisations/{coop}/invitations", headers=bearer(getattr(world, inviter)),
                           json=body)
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["error"]["fields"]
    assert Invitation.select().count() == 0


def test_a_withdrawn_invitation_cannot_be_accepted(client, world, bearer):
    coop = world.operator.organisation_id
    manager = bearer(world.operator)
    invited = client.post(f"/api/v1/organisations/{coop}/invitations", headers=manager,
                          json={"username": "stranger"}).json
    again = client.post(f"/api/v1/organisations/{coop}/invitations", headers=manager, json={"username": "stranger"})
    assert again.status_code == 409  # one open invitation per person
    assert client.delete(f"/api/v1/invitations/{invited['id']}", headers=bearer(world.farmer_b)).status_code == 404
    assert client.delete(f"/api/v1/invitations/{invited['id']}", headers=manager).status_code == 204
    refused = client.post(f"/api/v1/invitations/{invited['id']}/accept", headers=bearer(world.stranger))
    assert refused.status_code == 409
    assert User.get_by_id(world.stranger.id).organisation_id is None


def test_invitation_pages(client, world):
    login(client, "operator")
    page = client.get("/organisation").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/organisation", data={"csrf_token": token, "username": "nobody", "role": "member"})
    assert response.status_code == 422 and "nobody" in response.get_data(as_text=True)
    response = client.post("/organisation", data={"csrf_token": token, "username": "stranger", "role": "member"})
    assert response.status_code == 302
    assert "stranger" in client.get("/organisation").get_data(as_text=True)

    client.post("/logout", data={"csrf_token": token})
    other = client.application.test_client()
    login(other, "stranger", PASSWORD)
    home = other.get("/dashboard").get_data(as_text=True)
    assert "信丰脐橙合作社" in home
    accept = re.search(r'action="(/invitations/\d+/accept)"', home).group(1)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', home).group(1)
    response = other.post(accept, data={"csrf_token": token, "next": "/dashboard"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")
    assert User.get_by_id(world.stranger.id).organisation_id == world.operator.organisation_id
    assert "信丰脐橙合作社" in other.get("/account").get_data(as_text=True)
