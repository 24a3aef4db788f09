"""The OpenAPI document at /api/v1/openapi.json: valid, complete, and true to the API.

Responses of real calls are checked against the schema the document gives for
that path, method and status code, so an undocumented status fails as well as
a wrong body.
"""
import re

import pytest
from openapi_spec_validator import validate as validate_spec

from tests.helpers import Contract, bearer
from web.api import PREFIX

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "options", "head", "trace")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
FLASK_ARGUMENT = re.compile(r"<(?:(?P<converter>[^<>:]+):)?(?P<name>[^<>:]+)>")
PAST = "2025-10-01T09:00:00+08:00"


# ------------------------------------------------------------------ helpers


def flask_operations(app):
    """{(path, method): {argument: converter}} for every rule under the API prefix."""
    operations = {}
    for rule in app.url_map.iter_rules():
        if rule.rule != PREFIX and not rule.rule.startswith(PREFIX + "/"):
            continue
        path = FLASK_ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule[len(PREFIX):])
        converters = {m["name"]: m["converter"] or "default" for m in FLASK_ARGUMENT.finditer(rule.rule)}
        for method in sorted(rule.methods - IGNORED_METHODS):
            operations[(path, method.lower())] = converters
    return operations


def documented_operations(document):
    return {(path, method): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


@pytest.fixture
def document(client):
    response = client.get(f"{PREFIX}/openapi.json")  # no credentials: the document is public
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


@pytest.fixture
def contract(document):
    return Contract(document)


# ------------------------------------------------------------------ the document


def test_served_document_is_valid_openapi_without_login(document):
    assert document["openapi"].startswith("3.1")
    validate_spec(document)


def test_document_is_consistent(document):
    operations = documented_operations(document)
    ids = [op.get("operationId") for op in operations.values() if op.get("operationId")]
    assert len(ids) == len(set(ids)), f"duplicate operationIds: {sorted(i for i in ids if ids.count(i) > 1)}"
    declared = {tag["name"] for tag in document.get("tags", [])}
    undeclared = sorted({f"{tag} ({method.upper()} {path})" for (path, method), op in operations.items()
                         for tag in op.get("tags", []) if tag not in declared})
    assert not undeclared, f"tags used but not declared: {undeclared}"
    # Everything that needs credentials says what happens without them.
    no_401 = sorted(f"{method.upper()} {path}" for (path, method), op in operations.items()
                    if op.get("security", document.get("security")) and "401" not in op["responses"])
    assert not no_401, f"operations that need credentials but document no 401: {no_401}"


def test_every_api_route_is_documented_and_every_documented_operation_exists(app, document):
    assert [server["url"] for server in document["servers"]] == [PREFIX]
    routes = flask_operations(app)
    documented = documented_operations(document)
    missing = sorted(f"{method.upper()} {path}" for path, method in set(routes) - set(documented))
    invented = sorted(f"{method.upper()} {path}" for path, method in set(documented) - set(routes))
    assert not missing and not invented, \
        f"routes missing from the document: {missing}; documented operations with no route: {invented}"


def test_path_parameters_match_the_route_converters(app, contract):
    wrong = []
    for (path, method), converters in flask_operations(app).items():
        pointer = contract.operation_pointer(path, method)
        declared = {}
        for location in (pointer.rsplit("/", 1)[0] + "/parameters", pointer + "/parameters"):
            try:
                parameters = contract.node(location)
            except KeyError:
                continue
            for index in range(len(parameters)):
                _, parameter = contract.follow(f"{location}/{index}")
                if parameter["in"] == "path":
                    declared[parameter["name"]] = parameter
        if set(declared) != set(converters):
            wrong.append(f"{method.upper()} {path}: declares {sorted(declared)}, route has {sorted(converters)}")
            continue
        for name, converter in converters.items():
            if converter == "int" and declared[name]["schema"].get("type") != "integer":
                wrong.append(f"{method.upper()} {path}: {name} is an int in the route")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------ real responses


def test_farmer_responses_match_their_schemas(client, world, contract):
    headers = bearer(world.farmer_a)

    farms = contract.check("/farms", "get", client.get(f"{PREFIX}/farms", headers=headers), 200)
    assert [farm["id"] for farm in farms["items"]] == [world.farm_a.id]

    farm = contract.check("/farms/{farm_id}", "get",
                          client.get(f"{PREFIX}/farms/{world.farm_a.id}", headers=headers), 200)
    assert farm["latitude"] == pytest.approx(25.38)

    plots = contract.check("/farms/{farm_id}/plots", "get",
                           client.get(f"{PREFIX}/farms/{world.farm_a.id}/plots", headers=headers), 200)
    assert [plot["id"] for plot in plots["items"]] == [world.plot_a.id]

    body = {"kind": "observation", "timestamp": PAST, "plots": [world.plot_a.id],
            "planting": world.planting_a.id, "notes": "第二次生理落果"}
    contract.check_request("/farms/{farm_id}/logs", "post", body)
    log = contract.check("/farms/{farm_id}/logs", "post",
                         client.post(f"{PREFIX}/farms/{world.farm_a.id}/logs", headers=headers, json=body), 201)
    assert log["plots"] == [world.plot_a.id] and log["planting_id"] == world.planting_a.id


def test_every_other_operation_answers_as_documented(client, world, contract):
    headers = bearer(world.farmer_a)
    farm_id, plot_id = world.farm_a.id, world.plot_a.id

    def call(method, template, status, body=None, query="", **ids):
        if body is not None:
            contract.check_request(template, method, body)
        response = client.open(PREFIX + template.format(**ids) + query, method=method.upper(),
                               headers=headers, json=body)
        return contract.check(template, method, response, status)

    # Farms
    created = call("post", "/farms", 201, {"name": "C 茶园", "county_code": "360722", "address": "大塘埠镇",
                                           "latitude": 25.4, "longitude": 114.9,
                                           "certifications": ["green_food", "organic"]})
    assert created["certifications"] == ["green_food", "organic"]
    changed = call("patch", "/farms/{farm_id}", 200, {"address": "新地址", "certifications": ["organic"]},
                   farm_id=created["id"])
    assert changed["address"] == "新地址" and changed["certifications"] == ["organic"]

    # Plots, with a boundary
    polygon = {"type": "Polygon", "coordinates": [[[114.90, 25.30], [114.91, 25.30], [114.91, 25.31],
                                                    [114.90, 25.30]]]}
    plot = call("post", "/farms/{farm_id}/plots", 201,
                {"name": "2号园", "kind": "orchard", "area": 3, "area_unit": "mu", "geometry": polygon},
                farm_id=farm_id)
    assert plot["geometry"] == polygon and plot["area_mu"] == pytest.approx(3)
    call("get", "/plots/{plot_id}", 200, plot_id=plot["id"])
    plot = call("patch", "/plots/{plot_id}", 200, {"notes": "向阳坡", "geometry": None}, plot_id=plot["id"])
    assert plot["geometry"] is None

    # Plantings
    planting = call("post", "/plots/{plot_id}/plantings", 201,
                    {"crop": world.planting_a.crop_id, "variety": "纽荷尔", "start_method": "transplanted",
                     "start_date": "2024-03-01", "expected_harvest": "2026-11-15"}, plot_id=plot["id"])
    call("get", "/plantings/{planting_id}", 200, planting_id=planting["id"])
    call("patch", "/plantings/{planting_id}", 200, {"ended_on": "2026-11-20", "start_date": "2024-03-01"},
         planting_id=planting["id"])
    plantings = call("get", "/plots/{plot_id}/plantings", 200, plot_id=plot_id)
    assert [p["id"] for p in plantings["items"]] == [world.planting_a.id]

    # Logs of every kind, then the filtered list and each log alone
    bodies = [
        {"kind": "seeding", "timestamp": PAST, "plots": [plot["id"]], "quantity": 2, "unit": "kg"},
        {"kind": "input", "timestamp": PAST, "plots": [plot_id], "product_name": "腐熟羊粪",
         "input_category": "fertiliser", "dose": 500, "dose_unit": "kg/亩"},
        {"kind": "activity", "timestamp": PAST, "plots": [plot_id, plot["id"]], "activity_kind": "irrigation",
         "quantity": 20, "unit": "m³"},
        {"kind": "harvest", "timestamp": PAST, "plots": [plot_id], "planting": world.planting_a.id,
         "quantity": 1200, "unit": "kg", "lot_number": "XF-2025-001"},
    ]
    logs = [call("post", "/farms/{farm_id}/logs", 201, body, farm_id=farm_id) for body in bodies]
    for log in logs:
        call("get", "/logs/{log_id}", 200, log_id=log["id"])
    call("get", "/logs/{log_id}", 200, log_id=world.log_a.id)  # an input log from the catalogue
    page = call("get", "/farms/{farm_id}/logs", 200, farm_id=farm_id,
                query=f"?kind=input&plot={plot_id}&from=2025-01-01&to=2026-12-31&page=1&per_page=1")
    assert page["total"] == 2 and page["pages"] == 2 and len(page["items"]) == 1
    call("get", "/farms/{farm_id}/logs", 200, farm_id=farm_id)

    # Catalogues
    assert call("get", "/crops", 200)["items"]
    assert call("get", "/input-products", 200)["items"]
    call("get", "/me", 200)


def test_error_responses_match_the_error_schema(client, world, contract):
    headers = bearer(world.farmer_a)
    farm_a, farm_b = world.farm_a.id, world.farm_b.id

    # 422: an activity log without its activity; the schema says so too.
    bad_log = {"kind": "activity", "timestamp": PAST, "plots": [world.plot_a.id]}
    assert contract.request_errors("/farms/{farm_id}/logs", "post", bad_log)
    error = contract.check("/farms/{farm_id}/logs", "post",
                           client.post(f"{PREFIX}/farms/{farm_a}/logs", headers=headers, json=bad_log), 422)
    assert error["error"]["code"] == "invalid" and "activity_kind" in error["error"]["fields"]

    # 422: a field the API does not know.
    unknown = {"kind": "observation", "timestamp": PAST, "plots": [world.plot_a.id], "colour": "red"}
    assert contract.request_errors("/farms/{farm_id}/logs", "post", unknown)
    error = contract.check("/farms/{farm_id}/logs", "post",
                           client.post(f"{PREFIX}/farms/{farm_a}/logs", headers=headers, json=unknown), 422)
    assert "colour" in error["error"]["fields"]

    # 404: another farmer's farm is not disclosed.
    error = contract.check("/farms/{farm_id}", "get", client.get(f"{PREFIX}/farms/{farm_b}", headers=headers), 404)
    assert error["error"]["code"] == "not_found"
    contract.check("/farms/{farm_id}/logs", "post",
                   client.post(f"{PREFIX}/farms/{farm_b}/logs", headers=headers,
                               json={"kind": "observation", "timestamp": PAST, "plots": [world.plot_b.id]}), 404)

    # 401: no credentials, and a bad token.
    error = contract.check("/farms", "get", client.get(f"{PREFIX}/farms"), 401)
    assert error["error"]["code"] == "unauthenticated"
    error = contract.check("/crops", "get", client.get(f"{PREFIX}/crops",
                                                       headers={"Authorization": "Bearer nope"}), 401)
    assert error["error"]["code"] == "invalid_token"

    # 403: a worker may log on the farm but not change it.
    error = contract.check("/farms/{farm_id}", "patch",
                           client.patch(f"{PREFIX}/farms/{farm_a}", headers=bearer(world.worker_a),
                                        json={"address": "x"}), 403)
    assert error["error"]["code"] == "forbidden"

    # 409: a second farm of the same name in the same organisation.
    error = contract.check("/farms", "post",
                           client.post(f"{PREFIX}/farms", headers=headers,
                                       json={"name": world.farm_a.name, "county_code": "360722"}), 409)
    assert error["error"]["code"] == "conflict" and "name" in error["error"]["fields"]

    # 400: bad pagination, a bad filter, a body that is not JSON.
    contract.check("/farms", "get", client.get(f"{PREFIX}/farms?per_page=0", headers=headers), 400)
    contract.check("/farms/{farm_id}/logs", "get",
                   client.get(f"{PREFIX}/farms/{farm_a}/logs?kind=party", headers=headers), 400)
    contract.check("/farms/{farm_id}/logs", "post",
                   client.post(f"{PREFIX}/farms/{farm_a}/logs", headers=headers, data="kind=seeding"), 400)
