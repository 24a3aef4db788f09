"""The people pages as a JSON API (/api/v1/admin/...): the same rules as the pages.

Administrators manage everybody; a bureau administrator only within the bureau's division; everybody else
gets 403, and a user outside a bureau administrator's division is not found (404). Nothing changes on a
refusal; answers match the OpenAPI document.
"""
import pytest

from tests.helpers import PASSWORD, Contract, bearer, login
from web.accounts.models import AccessLink, Organisation, User
from web.api import PREFIX

NEW_PASSWORD = "river-stone-orchard-42"
ROLES = ["admin", "farmer_a", "worker_a", "operator", "inspector", "bureau_county", "bureau_city", "stranger"]


@pytest.fixture
def contract(client):
    return Contract(client.get(f"{PREFIX}/openapi.json").get_json())


class Api:
    """Calls as one user (by bearer token), each answer checked against the document."""

    def __init__(self, client, user, contract):
        self.client, self.headers, self.contract = client, bearer(user), contract

    def __call__(self, method, template, status=None, body=None, **ids):
        if body is not None and status is not None and status < 300:
            self.contract.check_request(template, method, body)
        response = self.client.open(PREFIX + template.format(**ids), method=method.upper(), headers=self.headers,
                                    json=body)
        if status is not None:
            self.contract.check(template, method, response, status)
        return response


def snapshot():
    return (sorted((u.username, u.role, u.organisation_id, u.organisation_role, u.division_code, u.active,
                    u.password_hash) for u in User.select()),
            Organisation.select().count(), AccessLink.select().count())


def welcome_path(link):
    return link["url"].split("localhost", 1)[-1]


def test_an_administrator_onboards_a_farmer_through_the_api(app, client, world, contract):
    api = Api(client, world.admin, contract)
    assert "farmer" in api("get", "/admin/roles", 200).json["roles"]
    created = api("post", "/admin/users", 201, {"username": "liu_xiaoming", "display_name": "刘小明",
                                                "role": "farmer"})
    assert created.headers["Cache-Control"] == "no-store"  # the link is shown once
    user, link = created.json["user"], created.json["link"]
    assert (user["username"], user["role"], user["organisation"], user["active"]) == (
        "liu_xiaoming", "farmer", None, True)
    assert link["purpose"] == "welcome" and link["valid_hours"] == 168

    # The new farmer sets a password on the link's page and signs in.
    farmer = app.test_client()
    page = farmer.get(welcome_path(link))
    assert page.status_code == 200 and "liu_xiaoming" in page.get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert farmer.post(welcome_path(link), data={"csrf_token": token, "new_password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD}).status_code == 302
    login(farmer, "liu_xiaoming", NEW_PASSWORD)

    found = api("get", "/admin/users", 200).json["items"]
    assert "liu_xiaoming" in {u["username"] for u in found}
    assert [u["username"] for u in client.get(f"{PREFIX}/admin/users?q=xiaoming",
                                              headers=api.headers).json["items"]] == ["liu_xiaoming"]
    assert api("get", "/admin/users/{user_id}", 200, user_id=user["id"]).json["display_name"] == "刘小明"

    # With a password given there is no link.
    direct = api("post", "/admin/users", 201, {"username": "wang_er", "role": "inspector", "password": NEW_PASSWORD,
                                               "organisation": world.inspector.organisation_id})
    assert direct.json["link"] is None and direct.json["user"]["organisation"]["name"] == "赣州检测中心"
    login(app.test_client(), "wang_er", NEW_PASSWORD)


def test_roles_memberships_deactivation_and_a_reset_link(app, client, world, contract):
    api = Api(client, world.admin, contract)
    coop = world.operator.organisation_id
    moved = api("patch", "/admin/users/{user_id}", 200, {"role": "operator", "organisation": coop},
                user_id=world.stranger.id).json
    assert (moved["role"], moved["organisation"]["id"], moved["organisation_role"]) == ("operator", coop, "member")
    promoted = api("patch", "/admin/users/{user_id}", 200, {"organisation_role": "manager"},
                   user_id=world.stranger.id).json  # only what is sent changes
    assert (promoted["role"], promoted["organisation"]["id"], promoted["organisation_role"]) == (
        "operator", coop, "manager")
    back = api("patch", "/admin/users/{user_id}", 200, {"role": "farmer", "organisation": None},
               user_id=world.stranger.id).json
    assert (back["role"], back["organisation"]) == ("farmer", None)

    # Refused field by field, nothing stored.
    before = snapshot()
    for body, field in (({"role": "bureau"}, "division"), ({"role": "operator"}, "organisation"),
                        ({"role": "king"}, "role"), ({"organisation": 99999}, "organisation"),
                        ({"organisation_role": "boss"}, "organisation_role"), ({"organisation": "coop"}, "organisation"),
                        ({"division": 360722}, "division"), ({"colour": "red"}, "colour")):
        response = api("patch", "/admin/users/{user_id}", 422, body, user_id=world.stranger.id)
        assert response.json["error"]["code"] == "invalid" and field in response.json["error"]["fields"], body
    assert api("post", "/admin/users", 409, {"username": "farmer_a", "role": "farmer"}).json["error"]["fields"] == {
        "username": "already taken"}
    assert set(api("post", "/admin/users", 422, {"username": "a b", "role": "farmer", "password": "123"})
               .json["error"]["fields"]) == {"username"}
    assert set(api("post", "/admin/users", 422, {}).json["error"]["fields"]) == {"username", "role"}
    assert api("post", "/admin/users", 422, {"username": "weak", "role": "farmer", "password": "12345678"}) \
        .json["error"]["fields"].keys() == {"password"}
    assert api("post", "/admin/users", 400).json["error"]["code"] == "bad_request"  # no JSON body
    # The administrator cannot demote or deactivate themselves.
    assert api("patch", "/admin/users/{user_id}", 422, {"role": "farmer"}, user_id=world.admin.id)
    assert api("post", "/admin/users/{user_id}/deactivate", 409, user_id=world.admin.id)
    assert api("get", "/admin/users/{user_id}", 404, user_id=99999)
    assert snapshot() == before

    # Deactivated: the user's token stops working; reactivated, they sign in again.
    farmer_b = bearer(world.farmer_b)
    assert client.get(f"{PREFIX}/me", headers=farmer_b).status_code == 200
    assert api("post", "/admin/users/{user_id}/deactivate", 200, user_id=world.farmer_b.id).json["active"] is False
    assert client.get(f"{PREFIX}/me", headers=farmer_b).status_code == 401
    assert api("post", "/admin/users/{user_id}/links", 409, {"purpose": "reset"}, user_id=world.farmer_b.id)
    assert api("post", "/admin/users/{user_id}/activate", 200, user_id=world.farmer_b.id).json["active"] is True
    login(app.test_client(), "farmer_b")

    # A forgotten password: a reset link (24 hours); a newer link ends the older one.
    first = api("post", "/admin/users/{user_id}/links", 201, {}, user_id=world.farmer_b.id).json
    second = api("post", "/admin/users/{user_id}/links", 201, {"purpose": "reset"}, user_id=world.farmer_b.id).json
    assert first["purpose"] == "reset" and first["valid_hours"] == 24
    assert client.get(welcome_path(first)).status_code == 410 and client.get(welcome_path(second)).status_code == 200
    assert "purpose" in api("post", "/admin/users/{user_id}/links", 422, {"purpose": "forever"},
                            user_id=world.farmer_b.id).json["error"]["fields"]

    # Organisations.
    made = api("post", "/admin/organisations", 201, {"name": "赣南果品物流", "kind": "logistics", "division": "360700",
                                                     "contact_phone": "0797-1234567"}).json
    assert (made["kind"], made["division_code"], made["contact_phone"]) == ("logistics", "360700", "0797-1234567")
    listed = {o["name"]: o for o in api("get", "/admin/organisations", 200).json["items"]}
    assert "赣南果品物流" in listed
    assert {m["username"] for m in listed["信丰脐橙合作社"]["members"]} == {"farmer_a", "operator"}
    assert api("post", "/admin/organisations", 409, {"name": "赣南果品物流", "kind": "logistics"})
    assert "division" in api("post", "/admin/organisations", 422, {"name": "X", "kind": "farm",
                                                                   "division": "999999"}).json["error"]["fields"]
    assert "contact_phone" in api("post", "/admin/organisations", 422, {"name": "Y", "kind": "farm",
                                                                        "contact_phone": "call me"}).json["error"]["fields"]


def test_a_bureau_administrator_manages_only_within_the_division(client, world, contract):
    api = Api(client, world.bureau_county, contract)  # manages 信丰县农业农村局 (360722)
    assert set(api("get", "/admin/roles", 200).json["roles"]) == {"farmer", "operator", "bureau"}
    assert "bureau" not in api("get", "/admin/roles", 200).json["organisation_kinds"]
    assert {u["username"] for u in api("get", "/admin/users", 200).json["items"]} == {
        "farmer_a", "operator", "bureau_county"}
    assert {o["name"] for o in api("get", "/admin/organisations", 200).json["items"]} == {
        "信丰脐橙合作社", "信丰县农业农村局"}
    coop = world.operator.organisation_id
    invited = api("post", "/admin/users", 201, {"username": "xf_grower", "role": "farmer", "organisation": coop})
    assert invited.json["link"]["purpose"] == "welcome"
    before = snapshot()
    other = Organisation.get(Organisation.name == "南丰橘园").id
    for body in ({"username": "x1", "role": "farmer", "organisation": other},   # another county's organisation
                 {"username": "x2", "role": "farmer"},                          # nowhere in the division
                 {"username": "x3", "role": "bureau", "division": "361023"},
                 {"username": "x4", "role": "admin"},
                 {"username": "x5", "role": "inspector", "organisation": coop}):
        assert api("post", "/admin/users", 422, body).json["error"]["code"] == "invalid", body
    assert api("patch", "/admin/users/{user_id}", 422, {"organisation": other}, user_id=world.farmer_a.id)
    assert api("post", "/admin/organisations", 422, {"name": "南丰新社", "kind": "cooperative", "division": "361023"})
    assert api("post", "/admin/organisations", 422, {"name": "信丰新局", "kind": "bureau", "division": "360722"})
    # Outside the division people are not there at all.
    for user in (world.farmer_b, world.admin, world.bureau_city):
        assert api("get", "/admin/users/{user_id}", 404, user_id=user.id)
        assert api("patch", "/admin/users/{user_id}", 404, {"role": "farmer"}, user_id=user.id)
        assert api("post", "/admin/users/{user_id}/links", 404, {"purpose": "reset"}, user_id=user.id)
        assert api("post", "/admin/users/{user_id}/deactivate", 404, user_id=user.id)
        assert api("post", "/admin/users/{user_id}/activate", 404, user_id=user.id)
    assert snapshot() == before
    assert api("post", "/admin/users/{user_id}/links", 201, {"purpose": "reset"}, user_id=world.farmer_a.id)
    assert api("post", "/admin/users/{user_id}/deactivate", 200, user_id=world.farmer_a.id).json["active"] is False


ACTIONS = [
    ("get", "/admin/roles", None),
    ("get", "/admin/users", None),
    ("get", "/admin/organisations", None),
    ("get", "/admin/users/{farmer_a}", None),
    ("post", "/admin/users", {"username": "newcomer", "role": "farmer", "organisation": "{coop}"}),
    ("patch", "/admin/users/{farmer_a}", {"role": "operator"}),
    ("post", "/admin/users/{farmer_a}/links", {"purpose": "reset"}),
    ("post", "/admin/users/{farmer_a}/deactivate", None),
    ("post", "/admin/users/{farmer_a}/activate", None),
    ("post", "/admin/organisations", {"name": "新社", "kind": "cooperative", "division": "360722"}),
]
ALLOWED = {"admin", "bureau_county"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, body", ACTIONS)
def test_every_role_tries_every_endpoint(client, world, contract, role, method, path, body):
    ids = {"farmer_a": world.farmer_a.id, "coop": world.operator.organisation_id}
    path = path.format(**ids)
    if body is not None:
        body = {k: int(v.format(**ids)) if v == "{coop}" else v for k, v in body.items()}
    before = snapshot()
    response = client.open(PREFIX + path, method=method.upper(), headers=bearer(getattr(world, role)),
                           json=body if body is not None else ({} if method != "get" else None))
    if role in ALLOWED:
        assert response.status_code in (200, 201), response.get_data(as_text=True)[:500]
        if method != "get" and not path.endswith("/activate"):  # farmer_a is active already
            assert snapshot() != before
    else:
        assert response.status_code == 403, response.get_data(as_text=True)[:500]
        assert response.json["error"]["code"] == "forbidden"
        assert snapshot() == before


def test_signed_out_and_cross_site_requests_are_refused(app, client, world):
    for method, path, _body in ACTIONS:
        path = path.format(farmer_a=world.farmer_a.id)
        response = client.open(PREFIX + path, method=method.upper(), json={} if method != "get" else None)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthenticated"
    # A signed-in administrator's browser session writes only with the page's CSRF token.
    admin = app.test_client()
    login(admin, "admin", PASSWORD)
    before = snapshot()
    assert admin.post(f"{PREFIX}/admin/users", json={"username": "forged", "role": "admin"}).status_code == 400
    assert snapshot() == before
