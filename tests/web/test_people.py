"""Administrators onboard people from pages alone: users, organisations, roles, one-time links.

Every action is tried by every role: the allowed ones work, the others get 403 (not an
administrator) or 404 (a user outside a bureau administrator's division), and nothing changes.
"""
import datetime as dt
import re

import pytest

from tests.helpers import PASSWORD, csrf_token, login
from web.accounts.models import AccessLink, ApiToken, Organisation, User

NEW_PASSWORD = "river-stone-orchard-42"
ROLES = ["admin", "farmer_a", "worker_a", "operator", "inspector", "bureau_county", "bureau_city", "stranger"]


def signed_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def csrf_from_login(client):
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def post(client, path, data, token_page="/account"):
    return client.post(path, data={"csrf_token": csrf_token(client, token_page), **data})


def people(client, path="/admin/users"):
    """The usernames listed on the people page."""
    html = client.get(path).get_data(as_text=True)
    listing = re.search(r'<ul class="plain people">(.*?)</ul>', html, re.S).group(1)
    return set(re.findall(r'<span class="muted">([\w.-]+) · ', listing))


def signed_out(client):
    response = client.get("/account")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def link_of(response):
    match = re.search(r'<code class="token">(https?://[^<]+/welcome/[^<]+)</code>', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1).split("localhost", 1)[-1]


def snapshot():
    return (sorted((u.username, u.role, u.organisation_id, u.organisation_role, u.division_code, u.active,
                    u.password_hash) for u in User.select()),
            Organisation.select().count(), AccessLink.select().count())


def test_an_administrator_onboards_a_farmer_from_pages_alone(app, world):
    admin = signed_in(app, "admin")
    assert admin.get("/admin/users").status_code == 200
    created = post(admin, "/admin/users", {"username": "liu_xiaoming", "display_name": "刘小明", "role": "farmer",
                                          "organisation": "0", "organisation_role": "member", "division": "",
                                          "password": ""})
    assert created.status_code == 201
    page = created.get_data(as_text=True)
    assert "liu_xiaoming" in page and "168" in page  # the welcome link works for 7 days
    link = link_of(created)
    # Before choosing a password the new farmer cannot sign in with anything they know.
    assert User.get(User.username == "liu_xiaoming").active

    farmer = app.test_client()
    form_page = farmer.get(link)
    assert form_page.status_code == 200 and "liu_xiaoming" in form_page.get_data(as_text=True)
    assert form_page.headers["Referrer-Policy"] == "no-referrer"
    weak = post(farmer, link, {"new_password": "12345678", "confirm": "12345678"}, token_page=link)
    assert weak.status_code == 422
    done = post(farmer, link, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_page=link)
    assert done.status_code == 302
    assert farmer.get(link).status_code == 410  # used once, never again

    login(farmer, "liu_xiaoming", NEW_PASSWORD)
    made = post(farmer, "/farms/new", {"name": "刘家脐橙园", "county_code": "360722"}, token_page="/farms/new")
    assert made.status_code == 302
    farm_page = farmer.get(made.headers["Location"])
    assert farm_page.status_code == 200 and "刘家脐橙园" in farm_page.get_data(as_text=True)


def test_a_forgotten_password_is_reset_through_the_administrator(app, world):
    admin = signed_in(app, "admin")
    target = world.farmer_b
    old = signed_in(app, "farmer_b")
    first = link_of(post(admin, f"/admin/users/{target.id}/link", {"purpose": "reset"},
                         token_page=f"/admin/users/{target.id}"))
    issued = post(admin, f"/admin/users/{target.id}/link", {"purpose": "reset"},
                  token_page=f"/admin/users/{target.id}")
    assert "24" in issued.get_data(as_text=True)
    second = link_of(issued)
    user = app.test_client()
    assert user.get(first).status_code == 410  # a newer link ends the older one
    assert post(user, second, {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                token_page=second).status_code == 302
    login(user, "farmer_b", NEW_PASSWORD)
    assert signed_out(old)  # sessions from before the reset end
    # A link expires.
    third = link_of(post(admin, f"/admin/users/{target.id}/link", {"purpose": "reset"},
                         token_page=f"/admin/users/{target.id}"))
    AccessLink.update(expires_at=dt.datetime(2000, 1, 1)).execute()
    assert app.test_client().get(third).status_code == 410
    assert app.test_client().get("/welcome/not-a-token").status_code == 410


def test_roles_organisations_and_deactivation(app, world):
    admin = signed_in(app, "admin")
    coop = world.operator.organisation_id
    page = f"/admin/users/{world.stranger.id}"
    saved = post(admin, page, {"role": "operator", "organisation": str(coop), "organisation_role": "member",
                               "division": ""}, token_page=page)
    assert saved.status_code == 302
    stranger = User.get_by_id(world.stranger.id)
    assert (stranger.role, stranger.organisation_id, stranger.organisation_role) == ("operator", coop, "member")
    # A bureau user needs a division; an operator an organisation: refused field by field, nothing stored.
    before = snapshot()
    bad = post(admin, page, {"role": "bureau", "organisation": "0", "organisation_role": "member", "division": ""},
               token_page=page)
    assert bad.status_code == 422 and "division" in bad.get_data(as_text=True).lower() or "行政区划" in bad.get_data(as_text=True)
    assert post(admin, page, {"role": "operator", "organisation": "0", "organisation_role": "member",
                              "division": ""}, token_page=page).status_code == 422
    assert post(admin, page, {"role": "king", "organisation": "0", "organisation_role": "member",
                              "division": ""}, token_page=page).status_code == 422
    assert post(admin, page, {"role": "farmer", "organisation": "99999", "organisation_role": "member",
                              "division": ""}, token_page=page).status_code == 422
    assert post(admin, "/admin/users", {"username": "farmer_a", "role": "farmer", "organisation": "0",
                                        "organisation_role": "member"}, token_page="/admin/users").status_code == 422
    assert snapshot() == before
    # The administrator cannot demote or deactivate themselves.
    me = f"/admin/users/{world.admin.id}"
    assert post(admin, me, {"role": "farmer", "organisation": "0", "organisation_role": "manager",
                            "division": ""}, token_page=me).status_code == 422
    assert post(admin, f"{me}/deactivate", {}, token_page=me).status_code == 409
    assert snapshot() == before

    session = signed_in(app, "farmer_b")
    assert post(admin, f"/admin/users/{world.farmer_b.id}/deactivate", {},
                token_page="/admin/users").status_code == 302
    assert signed_out(session)
    refused = app.test_client()
    refused.get("/login")
    assert refused.post("/login", data={"username": "farmer_b", "password": PASSWORD,
                                        "csrf_token": csrf_from_login(refused)}).status_code == 401
    assert post(admin, f"/admin/users/{world.farmer_b.id}/activate", {}, token_page="/admin/users").status_code == 302
    login(app.test_client(), "farmer_b")

    assert people(admin, "/admin/users?q=farmer") == {"farmer_a", "farmer_b"}
    assert {"admin", "inspector", "stranger", "bureau_city"} <= people(admin)

    made = post(admin, "/admin/organisations", {"name": "赣南果品物流", "kind": "logistics", "division": "360700",
                                                "contact_phone": "0797-1234567"}, token_page="/admin/organisations")
    assert made.status_code == 302
    assert "赣南果品物流" in admin.get("/admin/organisations").get_data(as_text=True)
    assert post(admin, "/admin/organisations", {"name": "赣南果品物流", "kind": "logistics"},
                token_page="/admin/organisations").status_code == 422
    assert post(admin, "/admin/organisations", {"name": "X", "kind": "farm", "division": "999999"},
                token_page="/admin/organisations").status_code == 422


def test_a_bureau_administrator_invites_only_within_the_division(app, world):
    bureau = signed_in(app, "bureau_county")  # manages 信丰县农业农村局 (360722)
    # The 信丰 cooperative's people and the county bureau; not 南丰 (another county), nor the city, nor admins.
    assert people(bureau) == {"farmer_a", "operator", "bureau_county"}
    coop = world.operator.organisation_id
    invited = post(bureau, "/admin/users", {"username": "xf_grower", "role": "farmer", "organisation": str(coop),
                                            "organisation_role": "member", "division": "", "password": ""},
                   token_page="/admin/users")
    assert invited.status_code == 201
    assert User.get(User.username == "xf_grower").organisation_id == coop
    before = snapshot()
    other = Organisation.get(Organisation.name == "南丰橘园").id
    for data in ({"username": "x1", "role": "farmer", "organisation": str(other)},      # another county's org
                 {"username": "x2", "role": "farmer", "organisation": "0"},             # nowhere in the division
                 {"username": "x3", "role": "bureau", "organisation": "0", "division": "361023"},
                 {"username": "x4", "role": "admin", "organisation": "0"},
                 {"username": "x5", "role": "inspector", "organisation": str(coop)}):
        response = post(bureau, "/admin/users", {"organisation_role": "member", "division": "", "password": "",
                                                 **data}, token_page="/admin/users")
        assert response.status_code == 422, data
    assert post(bureau, "/admin/organisations", {"name": "南丰新社", "kind": "cooperative", "division": "361023"},
                token_page="/admin/organisations").status_code == 422
    assert post(bureau, "/admin/organisations", {"name": "信丰新局", "kind": "bureau", "division": "360722"},
                token_page="/admin/organisations").status_code == 422
    # Outside the division people are not there at all.
    for user in (world.farmer_b, world.admin, world.bureau_city):
        assert bureau.get(f"/admin/users/{user.id}").status_code == 404
        assert post(bureau, f"/admin/users/{user.id}/link", {"purpose": "reset"},
                    token_page="/admin/users").status_code == 404
        assert post(bureau, f"/admin/users/{user.id}/deactivate", {}, token_page="/admin/users").status_code == 404
    assert snapshot() == before
    assert post(bureau, f"/admin/users/{world.farmer_a.id}/link", {"purpose": "reset"},
                token_page="/admin/users").status_code == 200


ACTIONS = [
    ("get", "/admin/users", None),
    ("get", "/admin/organisations", None),
    ("get", "/admin/users/{farmer_a}", None),
    ("post", "/admin/users", {"username": "newcomer", "role": "farmer", "organisation": "{coop}",
                              "organisation_role": "member", "division": "", "password": ""}),
    ("post", "/admin/users/{farmer_a}", {"role": "operator", "organisation": "{coop}", "organisation_role": "member",
                                         "division": ""}),
    ("post", "/admin/users/{farmer_a}/link", {"purpose": "reset"}),
    ("post", "/admin/users/{farmer_a}/deactivate", {}),
    ("post", "/admin/organisations", {"name": "新社", "kind": "cooperative", "division": "360722"}),
]
ALLOWED = {"admin", "bureau_county"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path, data", ACTIONS)
def test_every_role_tries_every_action(app, world, role, method, path, data):
    ids = {"farmer_a": world.farmer_a.id, "coop": world.operator.organisation_id}
    client = signed_in(app, getattr(world, role).username)
    path = path.format(**ids)
    before = snapshot()
    if method == "get":
        response = client.get(path)
    else:
        response = post(client, path, {k: v.format(**ids) for k, v in data.items()})
    if role in ALLOWED:
        assert response.status_code in (200, 201, 302), response.get_data(as_text=True)[:500]
        if method == "post":
            assert snapshot() != before
    else:
        assert response.status_code in (403, 404)
        assert snapshot() == before
        assert "/admin/users" not in client.get("/account").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, world):
    anonymous = app.test_client()
    for path in ("/admin/users", "/admin/organisations", f"/admin/users/{world.farmer_a.id}"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the account page and API tokens


def test_tokens_live_on_a_developer_page_and_ask_before_acting(app, world):
    client = signed_in(app, "farmer_a")
    account = client.get("/account").get_data(as_text=True)
    assert "Authorization" not in account and "Bearer" not in account
    assert 'href="/account/developer"' in account
    page = client.get("/account/developer").get_data(as_text=True)
    assert "Authorization: Bearer" in page

    token = csrf_token(client, "/account/developer")
    asked = client.post("/account/developer", data={"tk-csrf_token": token, "tk-name": "灌溉脚本", "tk-submit": "1"})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert ApiToken.select().count() == 0
    confirm_fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', asked.get_data(as_text=True)))
    made = client.post("/account/developer", data=confirm_fields)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    plain = re.search(r'<code class="token">(fk_[^<]+)</code>', made.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    assert "(1)" in client.get("/account").get_data(as_text=True)

    asked = post(client, "/account/tokens/revoke-all", {})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    done = post(client, "/account/tokens/revoke-all", {"confirm": "yes"})
    assert done.status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
