#!/usr/bin/env python3
"""MQTT ingest with 1, 2 and 3 worker processes sharing the device topics (MQTT 5 shared subscription).

For each database (a fresh SQLite file; a fresh schema of ``BENCH_POSTGRES_URL``) and a local mosquitto on a
free port (no queue limit), ``--readings`` readings in messages of ``--pack`` (6) readings, published at QoS 1
by one publisher in its own process, are stored by N ``flask --app web mqtt-worker`` processes in the shared
group ``$share/bench/…`` (each its own client id and persistent session), for each N of ``--workers``:

* **backlog**: the workers subscribe, stop, the messages are published (the broker queues them in the workers'
  sessions, spread over the group), and the workers start again: timed from the first worker's subscription
  (the interpreter's start-up left out) until every reading is stored. What the workers alone take, without the publisher sharing the two cores.
* **live**: the workers are running while the publisher sends; timed from the first publish to the last store.

Each run checks that exactly ``--readings`` rows arrived. The baseline is the raw insert of the same number of
rows in the same run, one transaction per 10,000 (sqlite3's executemany; psycopg2's execute_values, a
multi-row INSERT: ``bench_ingest.bench_raw_*``). Prints the figures; not a
test. Goal on the 2-core machine: 50,000 readings/s at 6 readings per message, with nothing lost.

    .venv/bin/python scripts/bench_mqtt_workers.py [--db sqlite|postgres|both] [--workers 1 2 3] [--rounds 2]
"""
import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_ingest as bi  # noqa: E402

GOAL = 50_000


class Workers:
    """N ``flask mqtt-worker`` processes in one shared group; ``start()`` returns once each has subscribed."""

    def __init__(self, count, db_url, broker, data_dir):
        # A group of its own, and the same client ids for all of its runs: a member that never comes back stays
        # in the group (its session) and the broker keeps queueing its share to it until the session expires.
        run = uuid.uuid4().hex[:8]
        self.envs = [dict(os.environ, DATABASE_URL=db_url, DATA_DIR=data_dir, SECRET_KEY="bench", LOG_LEVEL="INFO",
                          RUN_SCHEDULER="0", PYTHONUNBUFFERED="1", MQTT_URL=broker, MQTT_SHARE_GROUP=f"bench-{run}",
                          MQTT_CLIENT_ID=f"bench-{run}-{n}", DATABASE_TIMEOUT="600")
                     for n in range(count)]
        self.procs = []
        self.first_subscribed = None  # perf_counter when the first worker subscribed: consumption starts there

    def start(self):
        self.first_subscribed = None
        ready = []
        for env in self.envs:
            proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "web", "mqtt-worker"], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
            event = threading.Event()
            threading.Thread(target=self._read, args=(proc, event), daemon=True).start()
            self.procs.append(proc)
            ready.append(event)
        for event in ready:
            if not event.wait(60):
                self.stop()
                raise RuntimeError("a worker did not subscribe within 60 s")

    def _read(self, proc, event):
        for line in proc.stdout:
            if "subscribed to" in line:
                if self.first_subscribed is None:
                    self.first_subscribed = time.perf_counter()
                event.set()
            elif "Traceback" in line or "ERROR" in line:
                print("worker:", line.rstrip(), flush=True)

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []


def backlog(workers, device, token, broker, messages, total):
    workers.start()  # subscribe once, so that the broker keeps a session for each
    workers.stop()
    before, rows_before = bi.rolled_up(device.id), bi.count_readings(device.id)
    bi.publish_all(broker, device, token, messages)
    try:
        workers.start()
        seconds = bi.wait_stored(device, before, total, workers.first_subscribed)
    finally:
        workers.stop()
    if bi.count_readings(device.id) - rows_before != total:
        raise RuntimeError("the rollups and the raw rows disagree")
    return seconds


def live(workers, device, token, broker, messages, total):
    workers.start()
    try:
        before, rows_before = bi.rolled_up(device.id), bi.count_readings(device.id)
        started, _published = bi.publish_all(broker, device, token, messages)
        seconds = bi.wait_stored(device, before, total, started)
    finally:
        workers.stop()
    if bi.count_readings(device.id) - rows_before != total:
        raise RuntimeError("the rollups and the raw rows disagree")
    return seconds


def run(name, args):
    from bench_db import bench_database
    from web import create_app
    from web.cli import init_database

    postgres = name == "postgres"
    bench = contextlib.ExitStack()
    results = {}
    try:
        url, tmp = bench.enter_context(bench_database(postgres, "bench_mqtt_workers_", bi.POSTGRES_URL))
        data_dir = str(tmp / "data")
        app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
                          "DATABASE_TIMEOUT": 600, "RUN_SCHEDULER": False})
        with app.app_context():
            init_database()
        devices = bi.make_devices(app, ["bench-mqtt", "bench-raw"])
        device, token = devices["bench-mqtt"]
        raw_device, _ = devices["bench-raw"]
        with app.app_context():
            from sensors.models import DeviceCredential, Reading

            credential_id = DeviceCredential.get(DeviceCredential.device == raw_device).id
        offset = int(time.time()) - 300 * 86400
        with bi.mosquitto(tmp) as broker:
            for round_ in range(args.rounds):
                rows = bi.raw_rows(raw_device.id, credential_id, offset, max(1, args.readings // 10_000), 10_000,
                                   as_text=not postgres)
                count, seconds = (bi.bench_raw_postgres(url, rows, "values") if postgres
                                  else bi.bench_raw_sqlite(str(tmp / "bench.db"), rows))
                with app.app_context():
                    Reading.delete().where(Reading.device == raw_device.id).execute()
                results.setdefault("raw insert", []).append(count / seconds)
                print(f"[{name}] round {round_ + 1}: raw insert {count / seconds:,.0f} rows/s", flush=True)
                for n in args.workers:
                    workers = Workers(n, url, broker, data_dir)
                    for mode, measure in (("backlog", backlog), ("live", live)):
                        messages = bi.mqtt_messages(device, args.readings, args.pack, offset)
                        offset += (args.readings // len(bi.METRICS) + 10) * bi.STEP
                        with app.app_context():
                            seconds = measure(workers, device, token, broker, messages, args.readings)
                        rate = args.readings / seconds
                        results.setdefault(f"{n} worker(s), {mode}", []).append(rate)
                        print(f"[{name}] round {round_ + 1}: {n} worker(s), {mode}: {args.readings:,} readings in "
                              f"{len(messages):,} messages stored in {seconds:.2f} s = {rate:,.0f} readings/s, "
                              "none lost", flush=True)
        return name, results
    finally:
        bench.close()  # closes the connection, drops the PostgreSQL schema, deletes the folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--readings", type=int, default=60_000)
    parser.add_argument("--pack", type=int, default=6, help="readings per MQTT message")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    reports = [run(name, args) for name in (["sqlite", "postgres"] if args.db == "both" else [args.db])]
    print()
    print(f"MQTT shared-subscription workers: {args.readings:,} readings, {args.pack} a message, QoS 1; median of "
          f"{args.rounds} round(s); ratio = readings/s over the raw insert rows/s of the same run "
          "(sqlite3 executemany; psycopg2 execute_values)")
    header = f"{'db':<10} {'path':<26} {'readings/s':>11} {'range':>17} {'x raw':>6}"
    print(header)
    print("-" * len(header))
    for name, results in reports:
        raw = statistics.median(results["raw insert"])
        for label, rates in results.items():
            rates = sorted(rates)
            spread = f"{rates[0]:,.0f}-{rates[-1]:,.0f}" if len(rates) > 1 else ""
            print(f"{name:<10} {label:<26} {statistics.median(rates):>11,.0f} {spread:>17} "
                  f"{statistics.median(rates) / raw:>6.2f}")
    print(f"goal: {GOAL:,} readings/s at 6 readings a message on this machine, none lost")


if __name__ == "__main__":
    main()
