"""An authenticated, authorised broker: each test starts its own Mosquitto 2 with the dynamic-security plugin
(the production set-up, see README "Production"), with anonymous clients refused, and the app keeps the
broker's accounts in step with the device registry (sensors.broker).

Before this, the broker was open: any client could subscribe to farms/+/devices/+/up, collect every device's
token from the payloads and post readings as any device."""
import json
import threading
import time

import pytest

from sensors.models import Device, DeviceCredential, Reading
from tests.helpers import csrf_token, login, production_mosquitto_conf, spare_port, start_mosquitto
from web.db import Unavailable

ADMIN_PASSWORD = "admin-test-password"
INGEST_PASSWORD = "ingest-test-password"



@pytest.fixture
def broker(tmp_path):
    """A Mosquitto with the production configuration (docs/deploy/mosquitto.conf) on a port of its own; yields
    its port."""
    port = spare_port()
    proc = start_mosquitto(production_mosquitto_conf(tmp_path, port, admin_password=ADMIN_PASSWORD), port)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def secured(app, broker):
    """The app told to keep the broker's accounts; the ingest role and account set up. Returns the port."""
    from sensors import broker as accounts

    app.config.update(MQTT_ADMIN_URL=f"mqtt://admin:{ADMIN_PASSWORD}@127.0.0.1:{broker}",
                      MQTT_URL=f"mqtt://ingest:{INGEST_PASSWORD}@127.0.0.1:{broker}", MQTT_PAYLOAD_TOKENS=False)
    with app.app_context():
        accounts.setup(app)
    return broker


def _device(app, world, uid):
    from sensors import service

    with app.test_request_context():
        return service.create_device(world.farmer_a, world.plot_a.id, f"站 {uid}", ["air_temperature"], uid=uid)


class Client:
    """A connected MQTT client that records what it receives and the broker's answers to its publishes."""

    def __init__(self, port, username=None, password=None):
        from sensors.mqtt import connect_client

        auth = f"{username}:{password}@" if username else ""
        self.received, self.acks, self.granted = [], {}, threading.Event()
        self.client = connect_client(f"mqtt://{auth}127.0.0.1:{port}", "", timeout=5)
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: (self.codes.extend(rcs), self.granted.set())
        self.codes = []

    def subscribe(self, topic):
        self.client.subscribe(topic, qos=1)
        assert self.granted.wait(5)
        return self.codes

    def publish(self, topic, body):
        info = self.client.publish(topic, json.dumps(body), qos=1)
        info.wait_for_publish(5)
        deadline = time.monotonic() + 5
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.acks[info.mid]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _pack(uid, value):
    return {"senml": [{"bn": f"urn:dev:{uid}:", "bt": int(time.time()) - 60, "n": "air_temperature", "u": "Cel",
                       "v": value}]}


def _connect_refused(port, username, password):
    with pytest.raises(Unavailable) as refused:
        Client(port, username, password)
    return str(refused.value)


def test_only_the_ingest_worker_reads_device_topics_and_a_device_writes_only_its_own(app, world, secured):
    port = secured
    (a, token_a), (b, token_b) = _device(app, world, "station-a"), _device(app, world, "station-b")
    up_a = f"farms/{a.farm_id}/devices/{a.uid}/up"
    up_b = f"farms/{b.farm_id}/devices/{b.uid}/up"

    assert "Not authorized" in _connect_refused(port, None, None)  # nobody without an account
    assert "refused" in _connect_refused(port, a.uid, "dv_guessed")
    ingest = Client(port, "ingest", INGEST_PASSWORD)
    assert not ingest.subscribe("farms/+/devices/+/up")[0].is_failure
    snoop = Client(port, b.uid, token_b)  # a device trying to read every device's messages
    assert snoop.subscribe("farms/+/devices/+/up")[0].is_failure
    device_a = Client(port, a.uid, token_a)
    try:
        assert not device_a.publish(up_a, _pack(a.uid, 21.5)).is_failure  # no token in the payload
        refused = device_a.publish(up_b, _pack(b.uid, 99.9))  # posing as another device
        assert refused.is_failure and "authorized" in str(refused).lower()
        time.sleep(0.5)
        assert [topic for topic, _ in ingest.received] == [up_a]
        assert snoop.received == []
    finally:
        for client in (ingest, snoop, device_a):
            client.close()


def test_a_revoked_device_is_cut_off_and_a_rotated_token_replaces_the_old(app, world, secured):
    from sensors import service

    port = secured
    device, token = _device(app, world, "station-r")
    connected = Client(port, device.uid, token)
    dropped = threading.Event()
    connected.client.on_disconnect = lambda *args: dropped.set()
    with app.test_request_context():
        new_token = service.rotate_token(world.farmer_a, device)
    assert dropped.wait(5), "a connection made with the old token stayed up after the rotation"
    connected.close()
    assert "refused" in _connect_refused(port, device.uid, token)
    Client(port, device.uid, new_token).close()

    with app.test_request_context():
        assert service.revoke_tokens(world.farmer_a, device) == 1
    assert "refused" in _connect_refused(port, device.uid, new_token)


def test_the_worker_stores_what_an_authenticated_device_sends_without_a_token(app, world, secured):
    from sensors.mqtt import Worker

    port = secured
    device, token = _device(app, world, "station-w")
    worker = Worker(app, client_id="ingest-test")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert worker.subscribed.wait(10)
        sender = Client(port, device.uid, token)
        sender.publish(f"farms/{device.farm_id}/devices/{device.uid}/up", _pack(device.uid, 22.25))
        sender.close()
        deadline = time.monotonic() + 10
        while Reading.select().where(Reading.device == device.id).count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        reading = Reading.get(Reading.device == device.id)
        assert reading.value == 22.25 and reading.credential_id is not None
    finally:
        stop.set()
        thread.join(30)


def test_with_the_broker_away_no_token_is_issued_and_a_revocation_reaches_it_later(app, world, secured, client):
    from sensors import broker as accounts
    from sensors import service

    port = secured
    device, token = _device(app, world, "station-x")
    working = app.config["MQTT_ADMIN_URL"]
    app.config["MQTT_ADMIN_URL"] = f"mqtt://admin:{ADMIN_PASSWORD}@127.0.0.1:{spare_port()}"  # nobody there

    login(client, "farmer_a")
    page = client.post(f"/plots/{world.plot_a.id}/devices/new", data={
        "csrf_token": csrf_token(client, f"/plots/{world.plot_a.id}/devices/new"), "name": "新站",
        "uid": "station-new", "metrics": ["air_temperature"]})
    assert page.status_code == 200
    assert "MQTT" in page.get_data(as_text=True)
    assert not Device.select().where(Device.uid == "station-new").exists()  # nothing half made

    page = client.post(f"/devices/{device.id}/rotate", follow_redirects=True,
                       data={"csrf_token": csrf_token(client, f"/devices/{device.id}"), "confirm": "yes"})
    assert "MQTT" in page.get_data(as_text=True)
    with app.app_context():
        assert service.authenticate(token)[0].id == device.id  # the old token still works here
    Client(port, device.uid, token).close()  # and at the broker

    with app.test_request_context():
        assert service.revoke_tokens(world.farmer_a, device) == 1  # holds here at once
    assert DeviceCredential.select().where((DeviceCredential.device == device.id)
                                           & DeviceCredential.revoked_at.is_null()).count() == 0
    Client(port, device.uid, token).close()  # the broker was not told yet
    app.config["MQTT_ADMIN_URL"] = working
    with app.app_context():
        assert accounts.sync(app) == [f"disabled {device.uid}: its device has no live token"]
    assert "refused" in _connect_refused(port, device.uid, token)
