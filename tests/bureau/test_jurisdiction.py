"""Jurisdiction: a county bureau sees its county, a city bureau its counties, the province everything; any
division outside gets 403 on every bureau page and endpoint, and other roles get 403 everywhere."""
import pytest

from tests.helpers import bearer, login


def urls(division):
    """Every bureau page and endpoint, for one division (a test below checks none is missing)."""
    return {
        "bureau.dashboard": f"/bureau/?division={division}",
        "bureau.farms": f"/bureau/divisions/{division}/farms",
        "bureau.report": f"/bureau/report?division={division}",
        "bureau_api.summary": f"/api/v1/bureau/summary?division={division}",
    }


# Pages of the account's own monthly reports: no division to choose (each account reads only its own folder).
OWN = {"bureau.report_list": "/bureau/reports", "bureau.report_file": "/bureau/reports/2026-11.csv"}


def test_every_bureau_endpoint_is_in_the_jurisdiction_tests(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint.split(".")[0] in ("bureau", "bureau_api")}
    assert endpoints == set(urls("360722")) | set(OWN)


OUTSIDE = [
    ("bureau_county", "361023"),  # 南丰县, another city's county
    ("bureau_county", "360781"),  # 瑞金市, a neighbour in the same city
    ("bureau_county", "360700"),  # its own city
    ("bureau_county", "360000"),  # the province
    ("bureau_city", "361023"),
    ("bureau_city", "361000"),  # another city
    ("bureau_city", "360000"),
    ("bureau_other_city", "360722"),
]


@pytest.mark.parametrize("username, division", OUTSIDE)
def test_divisions_outside_the_jurisdiction_get_403(client, world, username, division):
    user = getattr(world, username)
    login(client, user.username)
    for endpoint, url in urls(division).items():
        response = client.get(url)
        assert response.status_code == 403, (endpoint, url, response.status_code)
    for extra in ("&format=csv", "&group_by=county", "&group_by=month&format=csv"):
        response = client.get(urls(division)["bureau_api.summary"] + extra, headers=bearer(user))
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("username", ["farmer_a", "operator", "inspector", "stranger"])
def test_other_roles_get_403_on_every_bureau_endpoint(client, world, username):
    login(client, username)
    for division in ("360722", "360000"):
        for endpoint, url in urls(division).items():
            assert client.get(url).status_code == 403, (username, endpoint)
    assert client.get("/bureau/").status_code == 403
    assert client.get("/api/v1/bureau/summary").status_code == 403
    for endpoint, url in OWN.items():
        assert client.get(url).status_code == 403, (username, endpoint)


INSIDE = [("bureau_county", "360722"), ("bureau_city", "360722"), ("bureau_city", "360781"),
          ("bureau_city", "360700"), ("bureau_province", "361023"), ("bureau_province", "360700"),
          ("bureau_province", "360000"), ("admin", "361023")]


@pytest.mark.parametrize("username, division", INSIDE)
def test_divisions_inside_the_jurisdiction_open(client, world, username, division):
    login(client, username)
    for endpoint, url in urls(division).items():
        response = client.get(url)
        if endpoint == "bureau.farms" and division.endswith("00"):
            assert response.status_code == 400  # farms are listed per county
        else:
            assert response.status_code == 200, (endpoint, url, response.get_data(as_text=True)[:300])


def test_ganzhou_sees_xinfeng_but_not_nanfeng_and_the_province_both(app, client, world):
    login(client, "bureau_city")
    page = client.get("/bureau/").get_data(as_text=True)
    assert "信丰县" in page and "南丰县" not in page
    assert client.get("/bureau/divisions/361023/farms").status_code == 403
    client = login(app.test_client(), "bureau_province")
    page = client.get("/bureau/").get_data(as_text=True)
    assert "赣州市" in page and "抚州市" in page
    assert "A 果园" in client.get("/bureau/divisions/360722/farms").get_data(as_text=True)
    assert "B 橘园" in client.get("/bureau/divisions/361023/farms").get_data(as_text=True)


def test_unknown_division_is_400_on_pages_and_api(client, world):
    login(client, "bureau_province")
    for endpoint, url in urls("999999").items():
        assert client.get(url).status_code == 400, endpoint
