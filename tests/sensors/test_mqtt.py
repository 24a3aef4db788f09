"""MQTT ingest against the real broker (Mosquitto at 127.0.0.1:1883), the worker in a process of its own.

The worker is started as ``python -m flask --app web mqtt-worker`` on the test's database, with a client id
and topic prefix unique to the test, so runs never see each other's messages or sessions.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import peewee as pw
import pytest

from sensors.models import Device, Reading, Rollup
from tests.helpers import MOSQUITTO, listening, need, spare_port, start_mosquitto

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
BROKER = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"
ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60  # seconds for the worker to store everything




class WorkerProcess:
    """``flask --app web mqtt-worker`` as a child process; its log is collected in ``lines``."""

    def __init__(self, env):
        self.lines = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "web", "mqtt-worker"],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self.started = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "subscribed to" in line:
                self.ready.set()

    def wait_ready(self, timeout=20):
        if not self.ready.wait(timeout):
            self.stop()
            pytest.fail("the MQTT worker did not subscribe in time:\n" + self.log())
        return self

    def alive(self):
        code = self.proc.poll()
        if code is not None:
            self.lines.append(f"(exited with {code})")
        return code is None

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self):
        return "\n".join(self.lines[-40:])


@pytest.fixture
def mqtt_env(app, tmp_path):
    """Environment for the worker process, and the topic prefix of this test."""
    need(listening(BROKER_PORT, BROKER_HOST),
         "Mosquitto not reachable at 127.0.0.1:1883: apt-get install mosquitto")
    run = uuid.uuid4().hex[:12]
    prefix = f"test-{run}/"
    env = dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], DATA_DIR=str(tmp_path / "worker-data"),
               SECRET_KEY="test-secret", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
               MQTT_URL=BROKER, MQTT_CLIENT_ID=f"gannong-ingest-test-{run}", MQTT_TOPIC_PREFIX=prefix,
               MQTT_SESSION_EXPIRY="120")  # the broker forgets the test's session two minutes after it ends
    return env, prefix


@pytest.fixture
def workers(mqtt_env):
    started = []

    def start(**env):
        worker = WorkerProcess(dict(mqtt_env[0], **env))
        started.append(worker)
        return worker.wait_ready()

    yield start
    for worker in started:
        worker.stop()


def wait_for(condition, what, worker, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.alive(), f"the MQTT worker died while waiting for {what}:\n{worker.log()}"
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}:\n{worker.log()}")


def senml_pack(uid, first_ts, values, metric="air_temperature"):
    """One SenML pack: consecutive seconds from ``first_ts``."""
    pack = [{"bn": f"urn:dev:{uid}:", "bt": first_ts, "bu": "Cel", "n": metric, "v": values[0]}]
    pack += [{"n": metric, "t": i, "v": v} for i, v in enumerate(values) if i]
    return pack


def test_killed_worker_loses_nothing_and_stores_each_reading_once(greenhouse, mqtt_env, workers):
    from sensors.mqtt import Publisher

    _plot, device, token = greenhouse
    _env, prefix = mqtt_env
    messages, per_message = 100, 100
    base = int(time.time()) - 4 * 3600
    values = [15 + (i % 200) / 10 for i in range(messages * per_message)]
    packs = [senml_pack(device.uid, base + m * per_message, values[m * per_message:(m + 1) * per_message])
             for m in range(messages)]

    worker = workers()
    stored_at_kill = published_at_kill = None
    with Publisher(BROKER, topic_prefix=prefix) as publisher:
        pending = []
        for m, pack in enumerate(packs):
            pending.append(publisher.publish(device.farm_id, device.uid, token, senml=pack, wait=False))
            time.sleep(0.01)  # a steady stream, so the kill lands in the middle of it
            if stored_at_kill is None and Reading.select().count() >= 2000:
                worker.kill()
                stored_at_kill, published_at_kill = Reading.select().count(), m + 1
        if stored_at_kill is None:  # a very slow worker: kill it now, with messages still unstored
            worker.kill()
            stored_at_kill, published_at_kill = Reading.select().count(), messages
        for info in pending:  # every message is at the broker (QoS 1) before the worker returns
            info.wait_for_publish(10)
            assert info.is_published()

    assert 0 < stored_at_kill < messages * per_message, stored_at_kill
    assert Reading.select().count() == stored_at_kill  # nothing is stored while the worker is down
    restarted_at = time.monotonic()
    worker = workers()
    wait_for(lambda: Reading.select().count() >= messages * per_message, "all 10,000 readings", worker)
    elapsed = time.monotonic() - restarted_at
    backlog = messages * per_message - stored_at_kill
    print(f"\nkilled after {published_at_kill} messages published and {stored_at_kill} readings stored; "
          f"after the restart {backlog} readings in {elapsed:.2f} s ({backlog / elapsed:.0f} readings/s, "
          f"including the worker's start-up)")
    time.sleep(1)  # let redelivered duplicates, if any, arrive: they must change nothing
    worker.stop()
    assert worker.proc.returncode == 0, worker.log()
    print("\n".join(line for line in worker.lines if "MQTT ingest:" in line))

    assert Reading.select().count() == messages * per_message
    doubled = (Reading.select(Reading.metric, Reading.ts).group_by(Reading.metric, Reading.ts)
               .having(pw.fn.COUNT(Reading.id) > 1).count())
    assert doubled == 0
    stored = {(r.ts, round(r.value, 3)) for r in Reading.select(Reading.ts, Reading.value)}
    assert len(stored) == messages * per_message
    for period in ("day", "hour"):
        count, total = (Rollup.select(pw.fn.SUM(Rollup.count), pw.fn.SUM(Rollup.total))
                        .where((Rollup.device == device.id) & (Rollup.period == period)).scalar(as_tuple=True))
        assert count == messages * per_message, period
        assert total == pytest.approx(sum(values)), period
    device = Device.get_by_id(device.id)
    assert device.rejected_count == 0 and device.last_seen_at is not None


def test_garbage_is_rejected_and_the_worker_keeps_running(app, world, greenhouse, mqtt_env, workers):
    import paho.mqtt.client as mqtt

    from sensors import service
    from sensors.mqtt import Publisher, publish_readings

    plot, device, token = greenhouse
    _env, prefix = mqtt_env
    with app.test_request_context():
        other, _other_token = service.create_device(world.farmer_a, plot.id, "土壤墒情", ["soil_moisture"],
                                                   uid="gh1-soil")
    farm, uid = device.farm_id, device.uid
    topic = f"{prefix}farms/{farm}/devices/{uid}/up"
    now = int(time.time())

    errors = []
    listener = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    listener.on_message = lambda c, u, msg: errors.append((msg.topic, json.loads(msg.payload)))
    subscribed = threading.Event()
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.on_connect = lambda c, *args: c.subscribe(f"{prefix}farms/+/devices/+/error", qos=1)
    listener.connect(BROKER_HOST, BROKER_PORT)
    listener.loop_start()
    assert subscribed.wait(10)

    worker = workers()
    try:
        publish_readings(BROKER, farm, uid, token, senml_pack(uid, now - 600, [21.5]), topic_prefix=prefix)
        wait_for(lambda: Reading.select().count() == 1, "the first reading", worker)
        before = [(r.metric, r.ts, r.value) for r in Reading.select()]

        good = senml_pack(uid, now - 300, [22.0])
        garbage = [
            (topic, b"{not json"),
            (topic, b""),
            (topic, b"\xff\xfe\x00garbage"),
            (topic, b"[" * 100_000),  # nested too deep for the JSON parser
            (topic, json.dumps([{"token": token}])),
            (topic, json.dumps({"senml": good})),  # no token
            (topic, json.dumps({"token": "dv_wrong", "senml": good})),
            (topic, json.dumps({"token": token, "senml": "air_temperature=22"})),
            (topic, json.dumps({"token": token, "senml": good, "readings": []})),
            (topic, json.dumps({"token": token, "senml": {"n": "co2", "v": 400}})),
            (topic, json.dumps({"token": token, "senml": [{"n": 5, "v": 1}]})),  # trips the SenML parser
            # this device's valid token on another device's topic, and on its own uid under another farm
            (f"{prefix}farms/{farm}/devices/{other.uid}/up", json.dumps({"token": token, "senml": good})),
            (f"{prefix}farms/{world.farm_b.id}/devices/{uid}/up", json.dumps({"token": token, "senml": good})),
            # another device's topic with a wrong token counts against that device
            (f"{prefix}farms/{farm}/devices/{other.uid}/up", json.dumps({"token": "dv_x", "senml": good})),
            # unknown devices and odd topics: nothing to count against
            (f"{prefix}farms/{farm}/devices/no-such-device/up", b"{not json"),
            (f"{prefix}farms/999999/devices/{uid}/up", json.dumps({"token": "dv_nope", "senml": good})),
        ]
        with Publisher(BROKER, topic_prefix=prefix) as publisher:
            for garbage_topic, payload in garbage:
                publisher.publish_raw(garbage_topic, payload)
            # afterwards a valid message with one good and one impossible reading
            publisher.publish(farm, uid, token, readings=[
                {"metric": "air_temperature", "ts": now - 120, "value": 23.0},
                {"metric": "air_humidity", "ts": now - 120, "value": 180}])

        expected_rejections = 13 + 1  # the garbage above that names this device, and the 180 %RH
        wait_for(lambda: Device.get_by_id(device.id).rejected_count == expected_rejections
                 and Reading.select().count() == 2, "the garbage to be counted", worker)
        wait_for(lambda: len(errors) >= len(garbage) + 1, "the error messages", worker, timeout=10)
        time.sleep(0.5)
        assert worker.alive(), worker.log()

        stored = [(r.metric, r.ts, r.value) for r in Reading.select().order_by(Reading.ts)]
        assert stored[:1] == before and len(stored) == 2 and stored[1][0] == "air_temperature"
        assert Rollup.select(pw.fn.SUM(Rollup.count)).where(Rollup.period == "day").scalar() == 2
        device = Device.get_by_id(device.id)
        assert device.rejected_count == expected_rejections
        assert "180" in device.last_rejection
        assert Device.get_by_id(other.id).rejected_count == 1
        codes = [payload["error"] for _topic, payload in errors]
        assert set(codes) == {"not_json", "bad_shape", "invalid_token", "topic_mismatch", "bad_body",
                              "rejected_readings"}, codes
        assert errors[-1] == (f"{prefix}farms/{farm}/devices/{uid}/error", {
            "error": "rejected_readings", "message": "1 reading(s) rejected",
            "rejected": [{"index": 1, "reason": errors[-1][1]["rejected"][0]["reason"]}]})

        # still working after all that
        publish_readings(BROKER, farm, uid, token, senml_pack(uid, now - 60, [24.0]), topic_prefix=prefix)
        wait_for(lambda: Reading.select().count() == 3, "a reading after the garbage", worker)

        # A burst, stored together: each message's error names the reading of that message, by its index.
        seen = len(errors)
        with Publisher(BROKER, topic_prefix=prefix) as publisher:
            infos = []
            for k in range(3):
                readings = [{"metric": "air_temperature", "ts": now - 50 + 3 * k + i, "value": 20.0} for i in range(3)]
                readings[k]["value"] = 99.0 + k  # above the 70 °C an air sensor can read
                infos.append(publisher.publish(farm, uid, token, readings=readings, wait=False))
            for info in infos:
                info.wait_for_publish(10)
        wait_for(lambda: len(errors) >= seen + 3, "the burst's error messages", worker, timeout=10)
        burst = sorted((payload["rejected"][0]["index"], payload["rejected"][0]["reason"], len(payload["rejected"]))
                       for _topic, payload in errors[seen:])
        assert [(index, count) for index, _reason, count in burst] == [(0, 1), (1, 1), (2, 1)]
        assert all(f"{99 + index:g} Cel" in reason for index, reason, _count in burst), burst
        assert Reading.select().count() == 3 + 6
    finally:
        listener.disconnect()
        listener.loop_stop()


def test_database_errors_keep_messages_until_the_database_answers(greenhouse, mqtt_env, workers):
    """While another transaction holds the write lock, ingest times out; nothing is acknowledged or lost."""
    from sensors.mqtt import Publisher
    from web.db import database

    _plot, device, token = greenhouse
    _env, prefix = mqtt_env
    worker = workers(DATABASE_TIMEOUT="1")
    base = int(time.time()) - 3600
    values = [20 + i / 100 for i in range(1000)]
    with database.atomic():
        if isinstance(database.obj, pw.PostgresqlDatabase):
            database.execute_sql('LOCK TABLE "reading" IN EXCLUSIVE MODE')  # reads pass, writes wait
        else:
            Device.update(name=Device.name).where(Device.id == device.id).execute()  # SQLite's write lock
        with Publisher(BROKER, topic_prefix=prefix) as publisher:
            for m in range(20):
                publisher.publish(device.farm_id, device.uid, token,
                                  senml=senml_pack(device.uid, base + m * 50, values[m * 50:(m + 1) * 50]))
        wait_for(lambda: any("database error" in line for line in worker.lines), "a database error", worker,
                 timeout=20)
        time.sleep(1.5)  # a retry or two more fail
        assert Reading.select().count() == 0
    wait_for(lambda: Reading.select().count() == 1000, "the readings after the lock is released", worker)
    print("\n" + next(line for line in worker.lines if "database error" in line))
    time.sleep(0.5)
    worker.stop()
    assert Reading.select().count() == 1000
    count, total = (Rollup.select(pw.fn.SUM(Rollup.count), pw.fn.SUM(Rollup.total))
                    .where(Rollup.period == "day").scalar(as_tuple=True))
    assert count == 1000 and total == pytest.approx(sum(values))
    assert Device.get_by_id(device.id).rejected_count == 0


def test_pubacks_go_out_in_the_order_the_messages_came(app):
    """MQTT requires PUBACKs in the order of the PUBLISHes: a batch stored sooner by another storing
    thread waits for the batches before it, and a batch left unstored (stopping) holds back the rest."""
    from sensors.mqtt import Worker, _Entry

    class Message:
        def __init__(self, mid):
            self.mid, self.qos, self.topic = mid, 1, "farms/1/devices/x/up"

    class Client:
        def __init__(self):
            self.acks = []

        def ack(self, mid, qos):
            self.acks.append(mid)

    worker = Worker(app, url="mqtt://127.0.0.1:1", threads=2)
    worker._client = client = Client()
    batches = [[_Entry(worker._generation, Message(mid)) for mid in range(n * 3 + 1, n * 3 + 4)] for n in range(4)]
    stop = threading.Event()
    later = threading.Thread(target=worker._acknowledge, args=(1, batches[1], stop))
    later.start()  # the second batch is done first...
    time.sleep(0.3)
    assert client.acks == []  # ...and waits for the first
    worker._acknowledge(0, batches[0], stop)
    later.join(5)
    assert client.acks == [1, 2, 3, 4, 5, 6]
    worker._acknowledge(2, None, stop)  # not stored: stopping
    worker._acknowledge(3, batches[3], stop)
    assert client.acks == [1, 2, 3, 4, 5, 6]  # batch 3 may not overtake batch 2



def _start_broker(port, tmp_path):
    """A Mosquitto of the test's own on ``port`` (loopback, anonymous, no persistence), up when it returns."""
    need(Path(MOSQUITTO).exists(), "mosquitto is not installed: apt-get install mosquitto")
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return start_mosquitto(conf, port)


def test_worker_is_back_within_seconds_of_a_broker_outage_without_a_storm(greenhouse, mqtt_env, workers,
                                                                           tmp_path):
    """A broker down for 20 s (a restart after an upgrade, a crash): the worker tries again every 1.5-3 s
    while it is away, not in a tight loop, and is subscribed again within a few seconds of its return
    (with the old 30 s cap it came back up to 29 s late), then stores what devices send."""
    from sensors.mqtt import Publisher

    _plot, device, token = greenhouse
    env, prefix = mqtt_env
    port = spare_port()
    broker = _start_broker(port, tmp_path)
    try:
        worker = workers(MQTT_URL=f"mqtt://127.0.0.1:{port}")
        broker.terminate()
        broker.wait(timeout=10)
        wait_for(lambda: any("disconnected from MQTT broker" in line for line in worker.lines),
                 "the worker to notice the broker is gone", worker, timeout=15)
        worker.ready.clear()
        down_from = len(worker.lines)
        time.sleep(20)
        attempts = sum("cannot reach MQTT broker" in line for line in worker.lines[down_from:])
        broker = _start_broker(port, tmp_path)
        back = time.monotonic()
        assert worker.ready.wait(10), "the worker did not subscribe again:\n" + worker.log()
        lag = time.monotonic() - back
        print(f"\n{attempts} connection attempts during a 20 s outage; subscribed again {lag:.2f} s "
              "after the broker returned")
        assert 6 <= attempts <= 16, worker.log()  # about one every 1.5-3 s: it keeps trying, but calmly
        assert lag < 5, worker.log()

        with Publisher(f"mqtt://127.0.0.1:{port}", topic_prefix=prefix) as publisher:
            publisher.publish(device.farm_id, device.uid, token,
                              senml=senml_pack(device.uid, int(time.time()) - 60, [21.5, 21.7, 21.9]))
        wait_for(lambda: Reading.select().count() == 3, "the readings sent after the outage", worker)
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_three_shared_workers_store_every_reading_once_across_a_worker_kill(greenhouse, mqtt_env, workers):
    """Three workers in one MQTT 5 shared subscription, each with its own persistent session; one is SIGKILLed
    mid-stream and started again (as the supervisor does). Every reading is stored exactly once, and the
    broker spread the messages over all three."""
    from sensors.mqtt import Publisher

    _plot, device, token = greenhouse
    env, prefix = mqtt_env
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    ids = [f"{env['MQTT_CLIENT_ID']}-{n}" for n in range(3)]
    running = [workers(MQTT_SHARE_GROUP=group, MQTT_CLIENT_ID=client_id) for client_id in ids]
    messages, per_message = 150, 60
    base = int(time.time()) - 4 * 3600
    values = [10 + (i % 300) / 10 for i in range(messages * per_message)]
    killed = False
    with Publisher(BROKER, topic_prefix=prefix) as publisher:
        pending = []
        for m in range(messages):
            pack = senml_pack(device.uid, base + m * per_message, values[m * per_message:(m + 1) * per_message])
            pending.append(publisher.publish(device.farm_id, device.uid, token, senml=pack, wait=False))
            time.sleep(0.01)
            if not killed and Reading.select().count() >= 1500:
                running[1].kill()
                killed = True
        for info in pending:
            info.wait_for_publish(10)
            assert info.is_published()
    assert killed, "the stream ended before the kill"
    running[1] = workers(MQTT_SHARE_GROUP=group, MQTT_CLIENT_ID=ids[1])  # back, with its own session
    wait_for(lambda: Reading.select().count() >= messages * per_message, "every reading", running[0])
    time.sleep(1)  # redelivered messages, if any, arrive and must change nothing
    for worker in running:
        worker.stop()
    assert Reading.select().count() == messages * per_message
    doubled = (Reading.select(Reading.ts).group_by(Reading.metric, Reading.ts)
               .having(pw.fn.COUNT(Reading.id) > 1).count())
    assert doubled == 0
    day = (Rollup.select(pw.fn.SUM(Rollup.count)).where((Rollup.device == device.id) & (Rollup.period == "day"))
           .scalar())
    assert day == messages * per_message  # rollups counted each reading once too
    assert all(any("subscribed to $share/" in line for line in worker.lines) for worker in running)
    stored_by = [sum(int(line.split(" readings stored")[0].rsplit(", ", 1)[-1]) for line in worker.lines
                     if "MQTT ingest:" in line) for worker in running]
    print(f"\nreadings stored by each worker (the restarted one after its restart): {stored_by}")
    assert stored_by[0] > 0 and stored_by[2] > 0
