"""The permission matrix: every role against every page and API family.

A user who may not see a farm gets 404 for anything on it (its existence is
not disclosed); one who may see it but not change it gets 403.
"""
import pytest

from tests.helpers import login
from web.permissions import Access

# Access of each World user to farm A (信丰县 360722, owned by the cooperative).
ACCESS_A = {
    "admin": Access.MANAGE, "farmer_a": Access.MANAGE, "worker_a": Access.LOG,
    "farmer_b": Access.NONE, "operator": Access.VIEW, "inspector": Access.VIEW,
    "bureau_county": Access.VIEW, "bureau_city": Access.VIEW, "bureau_fuzhou": Access.NONE,
    "bureau_province": Access.VIEW, "stranger": Access.NONE,
}
# Farm B is in 南丰县 361023 (抚州市 361000).
SEES_B = {"admin", "farmer_b", "inspector", "bureau_fuzhou", "bureau_province"}


def expected(level, needed, ok=200):
    if level >= needed:
        return ok
    return 404 if level == Access.NONE else 403


def page_cases(w):
    return [
        (f"/farms/{w.farm_a.id}", Access.VIEW),
        (f"/plots/{w.plot_a.id}", Access.VIEW),
        (f"/plantings/{w.planting_a.id}", Access.VIEW),
        (f"/logs/{w.log_a.id}", Access.VIEW),
        (f"/logs/?farm={w.farm_a.id}", Access.VIEW),
        (f"/plots/{w.plot_a.id}/logs/new?kind=input", Access.LOG),
        (f"/plots/{w.plot_a.id}/plantings/new", Access.LOG),
        (f"/plantings/{w.planting_a.id}/edit", Access.LOG),
        (f"/farms/{w.farm_a.id}/edit", Access.MANAGE),
        (f"/farms/{w.farm_a.id}/plots/new", Access.MANAGE),
    ]


def api_cases(w):
    log_body = {"kind": "activity", "activity_kind": "irrigation", "timestamp": "2026-10-02T07:00:00+08:00",
                "plots": [w.plot_a.id], "quantity": 20, "unit": "m³"}
    return [
        ("get", f"/api/v1/farms/{w.farm_a.id}", None, Access.VIEW, 200),
        ("get", f"/api/v1/farms/{w.farm_a.id}/plots", None, Access.VIEW, 200),
        ("get", f"/api/v1/plots/{w.plot_a.id}", None, Access.VIEW, 200),
        ("get", f"/api/v1/plots/{w.plot_a.id}/plantings", None, Access.VIEW, 200),
        ("get", f"/api/v1/plantings/{w.planting_a.id}", None, Access.VIEW, 200),
        ("get", f"/api/v1/farms/{w.farm_a.id}/logs", None, Access.VIEW, 200),
        ("get", f"/api/v1/logs/{w.log_a.id}", None, Access.VIEW, 200),
        ("post", f"/api/v1/farms/{w.farm_a.id}/logs", log_body, Access.LOG, 201),
        ("patch", f"/api/v1/plantings/{w.planting_a.id}", {"variety": "纽荷尔 Newhall"}, Access.LOG, 200),
        ("post", f"/api/v1/plots/{w.plot_a.id}/plantings",
         {"crop": w.planting_a.crop_id, "start_date": "2026-03-01"}, Access.LOG, 201),
        ("patch", f"/api/v1/farms/{w.farm_a.id}", {"address": "安西镇"}, Access.MANAGE, 200),
        ("patch", f"/api/v1/plots/{w.plot_a.id}", {"notes": "滴灌"}, Access.MANAGE, 200),
        ("post", f"/api/v1/farms/{w.farm_a.id}/plots",
         {"name": "新园", "kind": "orchard", "area": 3}, Access.MANAGE, 201),
    ]


@pytest.mark.parametrize("username", sorted(ACCESS_A))
def test_pages(client, world, username):
    login(client, username)
    assert client.get("/", follow_redirects=True).status_code == 200  # the role's home (bureaus have their own)
    assert client.get("/logs/").status_code == 200
    for url, needed in page_cases(world):
        status = client.get(url).status_code
        assert status == expected(ACCESS_A[username], needed), f"{username} GET {url} -> {status}"


@pytest.mark.parametrize("username", sorted(ACCESS_A))
def test_api(client, world, username):
    from web.accounts import service
    from web.accounts.models import User

    token, _ = service.create_token(User.get(User.username == username), "matrix")
    headers = {"Authorization": f"Bearer {token}"}
    for method, url, body, needed, ok in api_cases(world):
        response = getattr(client, method)(url, json=body, headers=headers)
        want = expected(ACCESS_A[username], needed, ok)
        assert response.status_code == want, f"{username} {method.upper()} {url} -> " \
                                             f"{response.status_code} {response.get_data(as_text=True)[:300]}"
        if want >= 400:
            assert response.json["error"]["code"] in {"forbidden", "not_found"}

    listed = {f["id"] for f in client.get("/api/v1/farms?per_page=200", headers=headers).json["items"]}
    assert (world.farm_a.id in listed) == (ACCESS_A[username] >= Access.VIEW)
    assert (world.farm_b.id in listed) == (username in SEES_B)


def test_dashboard_lists_only_own_farms(client, world):
    login(client, "farmer_b")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "B 橘园" in html and "A 果园" not in html


def test_a_refused_write_changes_nothing(client, world):
    from farms.models import Log

    from web.accounts import service

    token, _ = service.create_token(world.farmer_b, "t")
    before = Log.select().count()
    response = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers={"Authorization": f"Bearer {token}"},
                           json={"kind": "observation", "timestamp": "2026-10-02T07:00:00+08:00",
                                 "plots": [world.plot_a.id]})
    assert response.status_code == 404
    assert Log.select().count() == before


def test_bureau_scope_follows_division_prefixes():
    from web import divisions

    assert divisions.covers("360000", "360722")
    assert divisions.covers("360700", "360722")
    assert divisions.covers("360722", "360722")
    assert divisions.covers("360722", "360722101000")
    assert not divisions.covers("360700", "361023")
    assert not divisions.covers("360722", "360723")
