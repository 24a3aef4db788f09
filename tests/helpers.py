"""Helpers shared by the test modules: sign-in, CSRF, local servers, the standard world of
farms and users, the trace journey around it, CAP warnings made to order, and the
OpenAPI contract checks.

Fixtures stay in the conftest.py files; they build on these.
"""
import datetime as dt
import re
import os
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PASSWORD = "test-password"
CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TZ = dt.timezone(dt.timedelta(hours=8))
DOCUMENT_URI = "urn:farm-to-table:openapi"


def need(condition, message):
    """Skip with ``message`` outside CI; fail under CI=true."""
    if condition:
        return
    if CI:
        pytest.fail(f"required under CI: {message}")
    pytest.skip(message)


# ---------------------------------------------------------------- signing in


def login(client, username, password=PASSWORD):
    """Sign in through the real login form (CSRF token included)."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "login form has no CSRF token"
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def csrf_token(client, path="/account"):
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def form_fields(html):
    """The values a browser would submit for the first form with method=post."""
    form = re.search(r'<form method="post"[^>]*>(.*?)</form>', html, re.S).group(1)
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.findall(r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)"[^>]*selected', body)
        values = [a or b for a, b in selected]
        fields[name] = values if "multiple" in form.split(f'name="{name}"')[0][-200:] or len(values) > 1 else \
            (values[0] if values else "")
    return fields


def bearer(user):
    from web.accounts.service import create_token

    token, _record = create_token(user, "t")
    return {"Authorization": f"Bearer {token}"}


def ingest(client, token, body, **kwargs):
    """POST readings to /api/v1/ingest with a device token; ``body`` JSON-able, or raw bytes or text."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, (bytes, str)):
        return client.post("/api/v1/ingest", data=body, headers=headers, content_type="application/json", **kwargs)
    return client.post("/api/v1/ingest", json=body, headers=headers, **kwargs)


# ---------------------------------------------------------------- data


class World:
    """Two farms in two counties and one user of every role around them."""

    def __init__(self):
        from farms import service as farms
        from farms.models import Crop, InputProduct
        from web.accounts import service as accounts

        coop = accounts.create_organisation("信丰脐橙合作社", "cooperative", division_code="360722")
        other = accounts.create_organisation("南丰橘园", "farm", division_code="361023")
        lab = accounts.create_organisation("赣州检测中心", "lab")
        bureau_org = accounts.create_organisation("信丰县农业农村局", "bureau", division_code="360722")

        def user(name, role, **kw):
            return accounts.create_user(name, PASSWORD, role, display_name=name, **kw)

        self.admin = user("admin", "admin")
        self.farmer_a = user("farmer_a", "farmer", organisation=coop)
        self.worker_a = user("worker_a", "farmer")
        self.farmer_b = user("farmer_b", "farmer", organisation=other)
        self.operator = user("operator", "operator", organisation=coop)
        self.inspector = user("inspector", "inspector", organisation=lab)
        self.bureau_county = user("bureau_county", "bureau", organisation=bureau_org, division_code="360722")
        self.bureau_city = user("bureau_city", "bureau", division_code="360700")
        self.bureau_other_city = user("bureau_fuzhou", "bureau", division_code="361000")
        self.bureau_province = user("bureau_province", "bureau", division_code="360000")
        self.stranger = user("stranger", "farmer")

        self.farm_a = farms.create_farm(self.farmer_a, {"name": "A 果园", "county_code": "360722",
                                                        "latitude": 25.38, "longitude": 114.92})
        farms.add_member(self.farm_a, self.worker_a, "worker")
        self.farm_b = farms.create_farm(self.farmer_b, {"name": "B 橘园", "county_code": "361023"})
        self.plot_a = farms.create_plot(self.farmer_a, self.farm_a,
                                        {"name": "1号园", "kind": "orchard", "area": 10, "area_unit": "mu"})
        self.plot_b = farms.create_plot(self.farmer_b, self.farm_b,
                                        {"name": "东坡", "kind": "orchard", "area": 8, "area_unit": "mu"})
        orange = Crop.get(Crop.code == "navel_orange")
        tangerine = Crop.get(Crop.code == "nanfeng_tangerine")
        self.planting_a = farms.create_planting(self.farmer_a, self.plot_a, {
            "crop": orange.id, "variety": "纽荷尔", "start_date": dt.date(2019, 3, 1)})
        self.planting_b = farms.create_planting(self.farmer_b, self.plot_b, {
            "crop": tangerine.id, "start_date": dt.date(2018, 3, 1)})
        when = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        product = InputProduct.get(InputProduct.code == "abamectin_1_8ec")
        self.log_a = farms.create_log(self.farmer_a, self.farm_a, {
            "kind": "input", "timestamp": when, "plots": [self.plot_a.id], "input_product": product.id,
            "dose": 40, "dose_unit": "ml/亩"})
        self.log_b = farms.create_log(self.farmer_b, self.farm_b, {
            "kind": "activity", "timestamp": when, "plots": [self.plot_b.id], "activity_kind": "pruning"})


class Journey:
    def __init__(self, world):
        from farms import service as farms
        from web.accounts import service as accounts

        self.world = world
        self.now = dt.datetime.now(TZ).replace(microsecond=0)
        self.retailer = accounts.create_organisation("南昌果品超市", "retailer", division_code="360121")
        self.processor = accounts.create_organisation("赣南果汁厂", "processor", division_code="360722")
        self.retail_user = accounts.create_user("retail1", PASSWORD, "operator", organisation=self.retailer)
        self.processor_user = accounts.create_user("juice1", PASSWORD, "operator", organisation=self.processor)
        self.harvest = farms.create_log(world.farmer_a, world.farm_a, {
            "kind": "harvest", "timestamp": self.now - dt.timedelta(days=3), "plots": [world.plot_a.id],
            "planting": world.planting_a.id, "quantity": 5000, "unit": "kg", "lot_number": "XF-2611-01"})

    def at(self, days_ago, hours=0):
        return self.now - dt.timedelta(days=days_ago, hours=hours)


def cap_message(identifier, msg_type="Alert", references=(), sender="nanfeng@qx.jiangxi.test",
                sent=None, expires_in=dt.timedelta(hours=12), geocodes=("361023",), polygon=None, circle=None,
                event_zh="霜冻橙色预警", event_en="Frost Orange Warning", status="Actual", area="南丰县"):
    sent = sent or dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(minutes=5)
    expires = sent + expires_in
    refs = " ".join(f"{s},{i},{t}" for s, i, t in references)
    area_xml = f"<areaDesc>{escape(area)}</areaDesc>"
    area_xml += "".join(f"<geocode><valueName>GB/T 2260</valueName><value>{c}</value></geocode>" for c in geocodes)
    if polygon:
        area_xml += "<polygon>" + " ".join(f"{lat},{lon}" for lat, lon in polygon) + "</polygon>"
    if circle:
        area_xml += f"<circle>{circle[0]},{circle[1]} {circle[2]}</circle>"
    infos = ""
    for lang, event in (("zh-CN", event_zh), ("en-US", event_en)):
        infos += f"""<info><language>{lang}</language><category>Met</category><event>{escape(event)}</event>
<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>
<onset>{sent.isoformat()}</onset><expires>{expires.isoformat()}</expires>
<senderName>南丰县气象台</senderName><headline>{escape(event)}</headline>
<description>预计今夜有霜冻。</description><area>{area_xml}</area></info>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>{identifier}</identifier><sender>{sender}</sender>
<sent>{sent.isoformat()}</sent><status>{status}</status><msgType>{msg_type}</msgType><scope>Public</scope>
{f'<references>{refs}</references>' if refs else ''}{infos}</alert>""".encode()


# ---------------------------------------------------------------- servers


def sqlite_backend(backends, tmp_path_factory):
    """For tests whose flow does not depend on the database: they run once, on SQLite."""
    sqlite = backends("sqlite")
    sqlite.prepare(tmp_path_factory.mktemp("data"))
    return sqlite


def serve(app):
    """Serve ``app`` on a free local port in a thread; returns (origin, stop)."""
    import threading

    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop():
        httpd.shutdown()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{httpd.server_port}", stop


# ---------------------------------------------------------------- the OpenAPI contract


def pointer_part(text):
    """``text`` as one part of a JSON pointer."""
    return text.replace("~", "~0").replace("/", "~1")


class Contract:
    """The served document, and checks of requests and responses against it."""

    def __init__(self, document):
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(DOCUMENT_URI, resource)

    def node(self, pointer):
        node = self.document
        for part in pointer.lstrip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def follow(self, pointer):
        """(pointer, node) after following local $refs from ``pointer``."""
        node = self.node(pointer)
        while "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), f"only local references are expected, not {ref}"
            pointer, node = ref[1:], self.node(ref[1:])
        return pointer, node

    def errors(self, schema_pointer, instance):
        validator = Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{schema_pointer}"},
                                         registry=self.registry,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]

    def operation_pointer(self, path, method):
        assert path in self.document["paths"], f"{path} is not documented"
        assert method in self.document["paths"][path], f"{method.upper()} {path} is not documented"
        return f"/paths/{pointer_part(path)}/{method}"

    def request_errors(self, path, method, body):
        pointer, request_body = self.follow(self.operation_pointer(path, method) + "/requestBody")
        assert "application/json" in request_body["content"]
        return self.errors(f"{pointer}/content/application~1json/schema", body)

    def check_request(self, path, method, body):
        errors = self.request_errors(path, method, body)
        assert not errors, f"{method.upper()} {path}: the request body breaks its schema:\n" + "\n".join(errors)

    def check(self, path, method, response, status):
        """Assert ``response`` has ``status``, is documented and matches its schema; return its JSON."""
        body = response.get_json(silent=True)
        assert response.status_code == status, (response.status_code, body)
        operation = self.operation_pointer(path, method)
        responses = self.node(operation + "/responses")
        documented = sorted(responses)
        assert str(status) in responses, \
            f"{method.upper()} {path} answered {status}, which is not documented (only {documented})"
        pointer, definition = self.follow(f"{operation}/responses/{status}")
        assert "application/json" in definition.get("content", {}), \
            f"{method.upper()} {path} {status} documents no application/json body"
        assert body is not None, f"{method.upper()} {path} {status} returned no JSON"
        errors = self.errors(f"{pointer}/content/application~1json/schema", body)
        assert not errors, (f"{method.upper()} {path} {status}: the response breaks its schema:\n"
                            + "\n".join(errors) + f"\nbody: {body}")
        return body


# ---------------------------------------------------------------- a Mosquitto of the test's own

MOSQUITTO = "/usr/sbin/mosquitto"
DYNSEC_PLUGIN = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"


def listening(port, host="127.0.0.1"):
    """Whether something accepts connections on ``host:port`` (a service the test needs)."""
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def spare_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_mosquitto_conf(tmp_path, port, admin_password="admin-password"):
    """docs/deploy/mosquitto.conf with only the machine-specific parts moved into ``tmp_path``: the port, the
    persistence directory, the log and the dynamic-security file (initialised with user admin). Returns its
    path."""
    import re
    import shutil
    import subprocess

    for path in (MOSQUITTO, DYNSEC_PLUGIN):
        need(Path(path).exists(), f"{path} is missing: apt-get install mosquitto")
    need(shutil.which("mosquitto_ctrl"), "mosquitto_ctrl is missing: apt-get install mosquitto-clients")
    state = tmp_path / "dynamic-security.json"
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", str(state), "admin", admin_password], check=True,
                   capture_output=True, timeout=30)
    text = (DEPLOY / "mosquitto.conf").read_text()
    replaced = {r"^listener 1883$": f"listener {port} 127.0.0.1",
                r"^persistence_location .*$": f"persistence_location {tmp_path}/",
                r"^plugin_opt_config_file .*$": f"plugin_opt_config_file {state}",
                r"^log_dest syslog$": f"log_dest file {tmp_path}/mosquitto.log"}
    for pattern, line in replaced.items():
        text, count = re.subn(pattern, line, text, flags=re.M)
        assert count == 1, pattern
    # Started as root, Mosquitto would become "mosquitto" and could not read the test's private directory.
    conf = tmp_path / "mosquitto.conf"
    conf.write_text("user root\n" + text)
    return conf


def start_mosquitto(conf, port):
    """Mosquitto with ``conf``, listening on ``port`` when this returns (the process)."""
    import socket
    import subprocess
    import time

    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"Mosquitto did not start with {conf}:\n" + proc.stdout.read())
            time.sleep(0.05)
