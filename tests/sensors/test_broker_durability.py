"""What a broker crash loses, measured with the production configuration (docs/deploy/mosquitto.conf):
Mosquitto keeps messages in memory and writes them to disk every ``autosave_interval`` seconds, so a SIGKILL
loses what it acknowledged since the last save. The test measures that loss and asserts the documented bound
(about one autosave interval of messages); README "Production" quotes the figure."""
import json
import re
import signal
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.helpers import DEPLOY, production_mosquitto_conf, spare_port, start_mosquitto

UP = "farms/+/devices/+/up"
RATE = 200  # messages a second, about what 12,000 devices sending once a minute give
SECONDS = 8


def _worker_session(port, received):
    """The ingest worker's persistent session (fixed client id, clean_start off); returns the client."""
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="durable-ingest",
                         protocol=mqtt.MQTTv5)
    client.username_pw_set("ingest", "ingest-password")
    client.on_message = lambda c, u, m: received.add(json.loads(m.payload)["n"])
    subscribed = threading.Event()
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(UP, qos=1)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=False, properties=properties)
    client.loop_start()
    assert subscribed.wait(10)
    return client


def test_a_broker_sigkill_loses_at_most_one_autosave_interval_of_acknowledged_messages(tmp_path):
    from sensors.broker import Admin

    autosave = int(re.search(r"^autosave_interval (\d+)$", (DEPLOY / "mosquitto.conf").read_text(), re.M)[1])
    port = spare_port()
    conf = production_mosquitto_conf(tmp_path, port)
    broker = start_mosquitto(conf, port)
    try:
        with Admin(f"mqtt://admin:admin-password@127.0.0.1:{port}") as admin:
            admin.run({"command": "createRole", "rolename": "ingest",
                       "acls": [{"acltype": "subscribePattern", "topic": UP, "allow": True}]},
                      {"command": "createRole", "rolename": "device",
                       "acls": [{"acltype": "publishClientSend", "topic": "farms/1/devices/d1/up", "allow": True}]},
                      {"command": "createClient", "username": "ingest", "password": "ingest-password",
                       "roles": [{"rolename": "ingest"}]},
                      {"command": "createClient", "username": "d1", "password": "device-password",
                       "roles": [{"rolename": "device"}]})
        received = set()
        worker = _worker_session(port, received)
        worker.disconnect()  # the worker is down: everything below waits in its session
        worker.loop_stop()
        time.sleep(autosave + 1)  # the session and its subscription reach the disk (see README)

        device = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="d1",
                             protocol=mqtt.MQTTv5)
        device.username_pw_set("d1", "device-password")
        device.connect("127.0.0.1", port)
        device.loop_start()
        acknowledged = 0
        started = time.monotonic()
        for n in range(RATE * SECONDS):
            info = device.publish("farms/1/devices/d1/up", json.dumps({"n": n}), qos=1)
            info.wait_for_publish(5)
            acknowledged += info.is_published()
            time.sleep(max(0.0, started + (n + 1) / RATE - time.monotonic()))
        broker.send_signal(signal.SIGKILL)  # right after the last acknowledgement
        broker.wait(timeout=10)
        device.loop_stop()
    finally:
        if broker.poll() is None:
            broker.kill()

    broker = start_mosquitto(conf, port)
    try:
        worker = _worker_session(port, received)
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 2:  # until nothing more arrives for 2 s
            if len(received) != last:
                last, quiet_since = len(received), time.monotonic()
            time.sleep(0.1)
        worker.disconnect()
        worker.loop_stop()
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    lost = acknowledged - len(received)
    print(f"\nbroker SIGKILL with autosave_interval {autosave}: {lost} of {acknowledged} acknowledged messages "
          f"lost ({lost / RATE:.1f} s at {RATE}/s); {len(received)} delivered after the restart")
    assert acknowledged == RATE * SECONDS
    assert received <= set(range(acknowledged))
    assert len(received) > 0, "nothing survived: persistence is not working"
    assert lost <= RATE * (autosave + 1)
