"""The run command (`scripts/run`) as an operator meets it: the whole product on embedded defaults under
supervisord, in a data directory and on ports of the test's own, against the real Mosquitto at 127.0.0.1:1883."""
import json
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import listening, need, spare_port

ROOT = Path(__file__).resolve().parents[2]





def _wait(condition, seconds, what, log):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds} s waiting for {what}\n--- run log ---\n{log()}")


def _stored(db, uid, values):
    with sqlite3.connect(db, timeout=10) as conn:
        marks = ",".join("?" * len(values))
        return conn.execute(f"SELECT COUNT(*) FROM reading JOIN device ON reading.device_id = device.id "
                            f"WHERE device.uid = ? AND reading.value IN ({marks})", [uid, *values]).fetchone()[0]


def test_a_killed_ingest_worker_is_restarted_and_readings_sent_meanwhile_are_stored(tmp_path):
    """SIGKILL of the MQTT worker under `scripts/run` (an out-of-memory kill, a crash): supervisord starts it
    again within seconds and logs it, readings a device publishes while it is down or just after are stored,
    and SIGTERM still stops every process."""
    from sensors.mqtt import Publisher

    need(listening(1883), "Mosquitto not reachable at 127.0.0.1:1883: apt-get install mosquitto")
    run = uuid.uuid4().hex[:10]
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MQTT_", "CHAIN_", "FLASK_"))}
    env.update(DATA_DIR=str(data), PORT=str(spare_port()), CHAIN_PORT=str(spare_port()), SIMULATE="1",
               MQTT_CLIENT_ID=f"gannong-run-test-{run}", MQTT_TOPIC_PREFIX=f"run-{run}/",
               MQTT_SESSION_EXPIRY="120", PYTHONUNBUFFERED="1")
    out = open(tmp_path / "run.log", "w+")
    proc = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)

    def log(whole=False):
        out.flush()
        text = (tmp_path / "run.log").read_text(errors="replace")
        return text if whole else text[-6000:]

    conf = data / "supervisord.conf"
    try:
        _wait(lambda: "Serving on" in log() or proc.poll() is not None, 240, "the product to start", log)
        assert proc.poll() is None, log()
        _wait(lambda: (data / "simulator_tokens.json").exists(), 60, "the simulator's device tokens", log)
        device = json.loads((data / "simulator_tokens.json").read_text())[0]
        # The broker keeps messages for the worker from the moment its subscription exists: a worker killed
        # before it first subscribed (a slow start under load) has nothing kept for it yet.
        _wait(lambda: f"subscribed to run-{run}/" in log(whole=True), 60, "the ingest worker's subscription", log)

        def ctl(*args):
            return subprocess.run([str(ROOT / ".venv" / "bin" / "supervisorctl"), "-c", str(conf), *args],
                                  capture_output=True, text=True, timeout=30).stdout.strip()

        worker_pid = int(ctl("pid", "mqtt-worker"))
        os.kill(worker_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        values = [12.3456 + i / 1000 for i in range(5)]
        # Half-second times: the demo's readings lie on a 10-minute grid and the simulator's on whole seconds, and a
        # reading at the same time as one stored is a duplicate (a run near hh:m0:28 lost one of five to it).
        pack = [{"bn": f"urn:dev:{device['uid']}:", "bt": int(time.time()) - 29.5, "n": "air_temperature",
                 "u": "Cel", "v": values[0]}] + [{"n": "air_temperature", "t": i, "v": v}
                                                  for i, v in enumerate(values) if i]
        with Publisher("mqtt://127.0.0.1:1883", topic_prefix=env["MQTT_TOPIC_PREFIX"]) as publisher:
            publisher.publish(device["farm_id"], device["uid"], device["token"], senml=pack, qos=1, wait=True)
        db = data / "farm.db"
        _wait(lambda: _stored(db, device["uid"], values) == len(values), 30,
              "the readings published after the kill", log)
        stored_after = time.monotonic() - killed_at
        print(f"\nworker SIGKILLed; readings published right after were stored {stored_after:.1f} s later")
        assert stored_after < 15
        new_pid = int(ctl("pid", "mqtt-worker"))
        assert new_pid not in (0, worker_pid)
        supervisor_log = (data / "supervisord.log").read_text()
        assert "exited: mqtt-worker (terminated by SIGKILL; not expected)" in supervisor_log
        assert supervisor_log.count("spawned: 'mqtt-worker'") == 2
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        out.close()
    assert code == 0
    # Everything it started has stopped: no process is left in its session.
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], leftover
