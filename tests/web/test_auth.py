"""Sign in, sign out, sessions, CSRF and bearer tokens."""
import re

from tests.helpers import PASSWORD, csrf_token, login


def test_root_is_a_chinese_login_page(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "登录" in html
    assert 'name="csrf_token"' in html


def test_login_and_logout(client, world):
    login(client, "farmer_a")
    assert client.get("/dashboard").status_code == 200
    token = csrf_token(client)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302  # back to the login page


def test_wrong_password_is_refused_in_chinese(client, world):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "farmer_a", "password": "nope-nope",
                                           "csrf_token": token})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_login_without_csrf_token_is_rejected(client, world):
    response = client.post("/login", data={"username": "farmer_a", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302


def test_passwords_are_stored_hashed(app, world):
    from web.accounts.models import User

    stored = User.get(User.username == "farmer_a").password_hash
    assert PASSWORD not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))


def test_bearer_token_works_until_revoked(client, world):
    from web.accounts import service

    token, record = service.create_token(world.farmer_a, "gateway")
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json["username"] == "farmer_a"
    # Writes with a token need no CSRF token.
    created = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers=headers, json={
        "kind": "observation", "timestamp": "2026-10-01T09:00:00+08:00", "plots": [world.plot_a.id],
        "notes": "第二次生理落果"})
    assert created.status_code == 201, created.json
    assert service.revoke_token(world.farmer_a, record.id)
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "invalid_token"


def test_session_api_writes_need_the_csrf_header(client, world):
    login(client, "farmer_a")
    body = {"kind": "observation", "timestamp": "2026-10-01T09:00:00+08:00", "plots": [world.plot_a.id]}
    refused = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", json=body)
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "csrf_failed"
    accepted = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", json=body,
                           headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 201


def test_api_without_credentials_is_401_json(client, world):
    response = client.get("/api/v1/farms")
    assert response.status_code == 401
    assert set(response.json["error"]) == {"code", "message", "fields"}


def test_open_redirect_is_refused(client, world):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login?next=https://evil.example/", data={
        "username": "farmer_a", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
