"""Sign-in and session hardening, and the headers every answer carries.

Seen when the product was tried as an attacker would: 50 wrong passwords in 5.6 s were all
answered at once; 11111111 was accepted as a password; SameSite was never set (Flask's default
None won over the code's attempt); a copied session cookie still worked after logout and after a
password change; no Content-Security-Policy, X-Content-Type-Options or frame-ancestors, so "rotate
device token" could be clicked through in a frame.
"""
import re
import uuid
from pathlib import Path

import pytest

from tests.helpers import PASSWORD, csrf_token, login
from web.accounts import service as accounts
from web.db import ValidationError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("password", ["11111111", "password1", "qwertyuiop", "12345678", "woaini1314",
                                      "farmer_a2026", "abcdefgh"])
def test_common_and_guessable_passwords_are_refused(app, world, password):
    with app.app_context(), pytest.raises(ValidationError) as refused:
        accounts.create_user("newfarmer", password, "farmer", display_name="farmer_a")
    assert "password" in refused.value.fields
    with app.app_context(), pytest.raises(ValidationError):
        accounts.change_password(world.farmer_a, PASSWORD, password)


def test_a_password_change_from_the_page_refuses_a_common_one(client, world):
    login(client, "farmer_a")
    token = csrf_token(client)
    response = client.post("/account", data={"csrf_token": token, "pw-old_password": PASSWORD,
                                             "pw-new_password": "11111111", "pw-confirm": "11111111",
                                             "pw-submit": "1"})
    assert response.status_code in (200, 422)
    assert "11111111" not in response.get_data(as_text=True)
    login(client, "farmer_a")  # the old password still works


def _cookie_header(response):
    return "; ".join(response.headers.getlist("Set-Cookie"))


def test_the_session_cookie_is_samesite_lax_and_httponly(client, world):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "farmer_a", "password": PASSWORD, "csrf_token": token})
    cookie = _cookie_header(response)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_behind_https(backend, tmp_path):
    from web import create_app

    app = create_app({"DATABASE_URL": backend.url_for_test(tmp_path), "SECRET_KEY": "x", "DATA_DIR": str(tmp_path),
                      "PUBLIC_BASE_URL": "https://trace.example.cn"})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_logout_ends_every_session_even_a_copied_cookie(app, world):
    browser = app.test_client()
    login(browser, "farmer_a")
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    assert thief.get("/account").status_code == 200  # the copy works while the session lives
    browser.post("/logout", data={"csrf_token": csrf_token(browser)})
    assert thief.get("/account").status_code == 302  # sent to sign in
    assert thief.get("/api/v1/me").status_code == 401


def test_a_password_change_ends_the_other_sessions(app, world):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "farmer_a")
    login(laptop, "farmer_a")
    response = laptop.post("/account", data={"csrf_token": csrf_token(laptop), "pw-old_password": PASSWORD,
                                             "pw-new_password": "橘园-春雨-2027-Nanfeng", "pw-confirm": "橘园-春雨-2027-Nanfeng",
                                             "pw-submit": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert phone.get("/api/v1/me").status_code == 401
    login(phone, "farmer_a", "橘园-春雨-2027-Nanfeng")


def _attempt(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_wrong_passwords_are_throttled_per_account_with_retry_after(app, world):
    client = app.test_client()
    answers = [_attempt(client, "farmer_a", f"wrong-{n}").status_code for n in range(10)]
    assert answers == [401] * 10
    limited = _attempt(client, "farmer_a", "wrong-again")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many attempts" in limited.get_data(as_text=True) or "尝试次数过多" in limited.get_data(as_text=True)
    # Even the right password waits: guessing cannot continue by luck.
    assert _attempt(client, "farmer_a", PASSWORD).status_code == 429
    # Another account from elsewhere is not locked out by it.
    other = app.test_client()
    assert _attempt(other, "farmer_b", PASSWORD).status_code == 302


def test_wrong_passwords_are_throttled_per_address_across_accounts(app, world):
    client = app.test_client()
    names = ["farmer_a", "farmer_b", "worker_a", "operator", "inspector", "stranger", "admin", "nobody"]
    answers = [_attempt(client, names[n % len(names)], "wrong").status_code for n in range(20)]
    assert set(answers) == {401}
    assert _attempt(client, "bureau_city", "wrong").status_code == 429


def test_successful_sign_ins_do_not_count(app, world):
    client = app.test_client()
    for _ in range(12):
        assert _attempt(client, "farmer_a", PASSWORD).status_code == 302


@pytest.mark.parametrize("path", ["/login", "/dashboard", "/api/v1/openapi.json", "/static/app.css"])
def test_every_answer_carries_the_security_headers(client, world, path):
    login(client, "farmer_a")
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_template_has_inline_script_the_policy_would_block():
    offenders = []
    for template in ROOT.glob("*/templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"<script(?![^>]*\bsrc=)", text) \
                or re.search(r'\sstyle\s*=', text) or "<style" in text:
            offenders.append(str(template.relative_to(ROOT)))
    assert not offenders


def _app_with(app, **config):
    """Another app process on the same database (as a second gunicorn worker would be), with ``config``."""
    from web import create_app

    return create_app({"DATABASE_URL": app.config["DATABASE_URL"], "DATA_DIR": app.config["DATA_DIR"],
                       "SECRET_KEY": "test-secret", "TESTING": True, **config})




def test_with_redis_the_attempts_count_across_web_processes(app, world):
    """Several gunicorn workers share the counts through Redis (the real one at 127.0.0.1:6379): attempts
    spread over two processes still meet the limit."""
    from tests.helpers import listening, need

    need(listening(6379), "Redis not reachable at 127.0.0.1:6379: apt-get install redis-server")
    # Keys of this test's own: runs side by side (and this test on the other database) never share counts.
    shared = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
              "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"LIMITS-test-{uuid.uuid4().hex}"}}
    first = _app_with(app, **shared).test_client()
    assert [_attempt(first, "farmer_a", f"wrong-{n}").status_code for n in range(10)] == [401] * 10
    second = _app_with(app, **shared).test_client()  # a fresh process: nothing counted in its memory
    assert _attempt(second, "farmer_a", "wrong-again").status_code == 429


def test_with_redis_down_sign_in_still_works_and_is_still_throttled(app, world):
    """Redis away (restarting, say): sign-in neither fails with a 500 nor goes unthrottled; the process counts
    on its own until Redis is back."""
    down = _app_with(app, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0").test_client()
    assert _attempt(down, "farmer_b", PASSWORD).status_code == 302
    answers = [_attempt(down, "farmer_a", f"wrong-{n}").status_code for n in range(11)]
    assert answers == [401] * 10 + [429]
