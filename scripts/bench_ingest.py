#!/usr/bin/env python3
"""Sensor ingest throughput: HTTP batches through the real app, raw executemany, MQTT end to end.

For each database (a fresh SQLite file in a temporary directory; a fresh schema of
``BENCH_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``, dropped
afterwards) migrated by ``web.cli.init_database``:

1. **HTTP**: ``POST /api/v1/ingest`` of SenML packs of ``--batch`` (10,000) readings with a
   device token, through the whole Flask app (routing, token check, JSON parsing,
   ``sensors.service.parse_body`` and ``ingest`` with its rollups, one transaction per
   request). ``--via client`` (default) calls the app in-process with werkzeug's test
   client: no sockets, so it measures the app and the database, not the network; ``--via
   server`` serves it with werkzeug on 127.0.0.1 and posts with ``requests``.
2. **raw inserts**: the same number of rows straight into the ``reading`` table with the
   driver's ``executemany`` (sqlite3; on PostgreSQL psycopg2's ``executemany`` once, and its
   ``execute_values`` and a ``COPY``), one transaction per batch: the limit of what storing
   rows costs, without validation, duplicate detection or rollups. ``--rounds`` (3) rounds
   alternate HTTP and raw inserts, so that a busy moment of the machine hits both; the
   summary gives the median and the range, and the HTTP / raw executemany ratio per round.
3. **MQTT** (when ``sensors.mqtt`` and ``mosquitto`` are there): a local mosquitto on a free
   port, ``sensors.mqtt.Worker`` in a thread, ``--mqtt-readings`` readings published at QoS 1
   in messages of ``--mqtt-pack`` readings by one publisher in its own process (a device fleet
   is not in the worker's process); timed from the first publish until every reading is
   stored. It fails if any is missing: it polls the daily rollups (written in the same
   transaction as the readings, and a few rows) and counts the raw rows at the end. Then the
   same amount queued by the broker while the worker was away (its persistent session),
   timed from the worker's start:
   what the worker alone takes, without the publisher sharing the two cores.

Prints the figures; it is not a test. Targets on the 2-core machine: HTTP on SQLite
>= 50,000 readings/s and >= 0.3 x raw executemany; MQTT >= 20,000 readings/s.
``--profile`` adds a cProfile of the HTTP path on SQLite (top functions by own time).

    .venv/bin/python scripts/bench_ingest.py [--db sqlite|postgres|both] [--batches 20] [--rounds 3] [--via client|server]
"""
import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import importlib
import io
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import peewee as pw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
METRICS = ("air_temperature", "air_humidity", "co2", "light", "soil_moisture", "soil_temperature")
TARGET_HTTP = 50_000
TARGET_RATIO = 0.3
TARGET_MQTT = 20_000
STEP = 10  # seconds between two timestamps of the synthetic readings


# ---------------------------------------------------------------- data


def timestamps(start, count):
    return [start + i * STEP for i in range(count)]


def packs(uid, start, batches, size):
    """``batches`` SenML packs (JSON bytes) of ``size`` readings each, consecutive in time."""
    from sensors.simulation import Generator, senml_pack

    generator = Generator(uid)
    per_pack = -(-size // len(METRICS))
    bodies = []
    t = start
    for _ in range(batches):
        rows = []
        for ts in timestamps(t, per_pack):
            for metric in METRICS:
                if len(rows) < size:
                    rows.append((metric, float(ts), generator.value(metric, ts)))
        t += per_pack * STEP
        bodies.append(json.dumps(senml_pack(uid, rows)).encode())
    return bodies


def raw_rows(device_id, credential_id, start, batches, size, as_text):
    out = []
    per_pack = -(-size // len(METRICS))
    t = start
    for _ in range(batches):
        rows = []
        for ts in timestamps(t, per_pack):
            when = dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(tzinfo=None)
            value = str(when) if as_text else when
            for i, metric in enumerate(METRICS):
                if len(rows) < size:
                    rows.append((device_id, metric, value, 20.0 + i, credential_id))
        t += per_pack * STEP
        out.append(rows)
    return out


# ---------------------------------------------------------------- databases


def make_devices(app, names):
    """A farmer, a greenhouse and one device per name; returns {name: (device, token)}."""
    from flask_babel import force_locale

    from farms import service as farms
    from sensors import service
    from web.accounts import service as accounts

    with app.app_context(), force_locale("en"):
        user = accounts.create_user("bench", "bench-password-1", "farmer", display_name="bench")
        farm = farms.create_farm(user, {"name": "bench farm", "county_code": "360722"})
        plot = farms.create_plot(user, farm, {"name": "bench greenhouse", "kind": "greenhouse", "area": 1})
        return {name: service.create_device(user, plot.id, name, list(METRICS), uid=name) for name in names}


def count_readings(device_id):
    from sensors.models import Reading

    return Reading.select().where(Reading.device == device_id).count()


# ---------------------------------------------------------------- 1. HTTP


@contextlib.contextmanager
def http_poster(app, via):
    if via == "client":
        client = app.test_client()

        def post(token, body):
            response = client.post("/api/v1/ingest", data=body, content_type="application/senml+json",
                                   headers={"Authorization": f"Bearer {token}"})
            return response.status_code, response.get_json()

        yield post
        return
    import requests
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    session = requests.Session()
    url = f"http://127.0.0.1:{httpd.server_port}/api/v1/ingest"

    def post(token, body):
        response = session.post(url, data=body, timeout=120, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/senml+json"})
        return response.status_code, response.json()

    try:
        yield post
    finally:
        session.close()
        httpd.shutdown()
        thread.join(timeout=10)


def bench_http(app, device, token, bodies, size, via, profile=None, expect=None):
    with http_poster(app, via) as post:
        status, body = post(token, bodies[0])  # warm-up: first request, imports, caches
        assert status == 200 and body["accepted"] == size, (status, body)
        gc.collect()
        profiler = cProfile.Profile() if profile is not None else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for data in bodies[1:]:
            status, body = post(token, data)
            if status != 200 or body["accepted"] != size:
                raise RuntimeError(f"ingest refused a batch: {status} {str(body)[:300]}")
        if profiler:
            profiler.disable()
            profile.append(profiler)
        seconds = time.perf_counter() - started
    readings = size * (len(bodies) - 1)
    stored = count_readings(device.id)
    expect = expect or size * len(bodies)
    if stored != expect:
        raise RuntimeError(f"stored {stored} readings, expected {expect}")
    return readings, seconds


# ---------------------------------------------------------------- 2. raw executemany


def bench_raw_sqlite(path, rows):
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=normal")
    conn.execute("PRAGMA foreign_keys=1")
    sql = "INSERT INTO reading (device_id, metric, ts, value, credential_id) VALUES (?, ?, ?, ?, ?)"
    started = time.perf_counter()
    for batch in rows:
        conn.execute("BEGIN")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return sum(len(b) for b in rows), seconds


def bench_raw_postgres(url, rows, how):
    """``how``: "executemany", "values" (psycopg2's execute_values: one multi-row INSERT per batch) or
    "copy" (COPY ... FROM STDIN of the batch as text)."""
    import psycopg2
    from psycopg2.extras import execute_values

    conn = psycopg2.connect(url)
    columns = "reading (device_id, metric, ts, value, credential_id)"
    started = time.perf_counter()
    with conn.cursor() as cur:
        for batch in rows:
            if how == "values":
                execute_values(cur, f"INSERT INTO {columns} VALUES %s", batch, page_size=len(batch))
            elif how == "copy":
                text = "".join(f"{d}\t{m}\t{t}\t{v!r}\t{c}\n" for d, m, t, v, c in batch)
                cur.copy_expert(f"COPY {columns} FROM STDIN", io.StringIO(text))
            else:
                cur.executemany(f"INSERT INTO {columns} VALUES (%s, %s, %s, %s, %s)", batch)
            conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return sum(len(b) for b in rows), seconds


# ---------------------------------------------------------------- 3. MQTT


@contextlib.contextmanager
def mosquitto(tmp):
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        raise FileNotFoundError("mosquitto not found (apt-get install mosquitto)")
    from chain.node import free_port

    port = free_port()
    config = Path(tmp) / "mosquitto.conf"
    # No queue limit for the bench: the default (1000 per session) would drop what a lagging worker has
    # not taken yet, and the bench counts every reading.
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      "max_queued_messages 0\nset_tcp_nodelay true\nlog_dest none\n")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("mosquitto did not start")
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def mqtt_messages(device, total, pack_size, start):
    """SenML packs of ``pack_size`` readings (whole timestamps of all metrics), ``total`` readings in all."""
    from sensors.simulation import Generator

    generator = Generator(device.uid)
    messages = []
    per_message = max(1, pack_size // len(METRICS))
    t = start
    made = 0
    while made < total:
        pack = []
        for ts in timestamps(t, per_message):
            for metric in METRICS:
                if made < total:
                    pack.append({"n": metric, "t": float(ts), "v": generator.value(metric, ts)})
                    made += 1
        t += per_message * STEP
        pack[0] = {"bn": f"urn:dev:{device.uid}:", **pack[0]}
        messages.append(pack)
    return messages


def rolled_up(device_id):
    """Readings counted by the device's daily rollups: written in the same transaction as the readings,
    and a handful of rows, so polling it does not load the database the way count(*) would."""
    from sensors.models import Rollup

    return (Rollup.select(pw.fn.COALESCE(pw.fn.SUM(Rollup.count), 0))
            .where((Rollup.device == device_id) & (Rollup.period == "day")).scalar())


def wait_stored(device, before, total, started):
    """Seconds from ``started`` until ``total`` more readings are stored; then checks the raw rows."""
    deadline = time.monotonic() + 300
    stored = 0
    while time.monotonic() < deadline:
        stored = rolled_up(device.id) - before
        if stored >= total:
            break
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    if stored != total:
        raise RuntimeError(f"MQTT: {stored} of {total} readings stored after {seconds:.0f} s")
    return seconds


@contextlib.contextmanager
def mqtt_worker(app, url, client_id):
    from sensors import mqtt

    stop = threading.Event()
    worker = mqtt.Worker(app, url=url, client_id=client_id, publish_errors=False)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        if not worker.subscribed.wait(15):
            raise RuntimeError("the MQTT worker did not subscribe")
        yield worker
    finally:
        stop.set()
        thread.join(timeout=30)


def _publisher_process(url, farm_id, uid, token, messages, ready, go, report):
    """In its own process, so that the publisher does not share the worker's interpreter (and its GIL)."""
    from sensors import mqtt

    with mqtt.Publisher(url, timeout=30) as publisher:
        ready.set()
        go.wait(60)
        started = time.perf_counter()
        infos = [publisher.publish(farm_id, uid, token, senml=pack, qos=1, wait=False) for pack in messages]
        for info in infos:
            info.wait_for_publish(60)
        report.put(time.perf_counter() - started)


def publish_all(url, device, token, messages):
    """Publish every message at QoS 1 from a separate process; returns (start time, seconds to publish).

    perf_counter is the system-wide monotonic clock on Linux, so the start is comparable here."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    ready, go, report = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=_publisher_process,
                              args=(url, device.farm_id, device.uid, token, messages, ready, go, report))
    process.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the publisher process did not connect to the broker")
        started = time.perf_counter()
        go.set()
        published = report.get(timeout=300)
        return started, published
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()


def bench_mqtt(app, url, device, token, total, pack_size, start):
    """Live: the worker is running while one publisher sends; timed from the first publish to the last store."""
    messages = mqtt_messages(device, total, pack_size, start)
    with mqtt_worker(app, url, f"bench-{uuid.uuid4().hex[:8]}"):
        before, rows_before = rolled_up(device.id), count_readings(device.id)
        started, published = publish_all(url, device, token, messages)
        seconds = wait_stored(device, before, total, started)
    if count_readings(device.id) - rows_before != total:
        raise RuntimeError("MQTT: the rollups and the raw rows disagree")
    return total, len(messages), published, seconds


def bench_mqtt_backlog(app, url, device, token, total, pack_size, start):
    """Backlog: messages queued by the broker while the worker was away (its persistent session),
    timed from the worker's start until all are stored: what the worker alone can take."""
    messages = mqtt_messages(device, total, pack_size, start)
    client_id = f"bench-{uuid.uuid4().hex[:8]}"
    with mqtt_worker(app, url, client_id):
        pass  # subscribe once, so the broker keeps a session for it, then go away
    before, rows_before = rolled_up(device.id), count_readings(device.id)
    publish_all(url, device, token, messages)
    started = time.perf_counter()
    with mqtt_worker(app, url, client_id):
        seconds = wait_stored(device, before, total, started)
    if count_readings(device.id) - rows_before != total:
        raise RuntimeError("MQTT: the rollups and the raw rows disagree")
    return total, len(messages), seconds


# ---------------------------------------------------------------- one database


def run(name, args):
    from bench_db import bench_database
    from web import create_app
    from web.cli import init_database

    postgres = name == "postgres"
    bench = contextlib.ExitStack()
    results = []
    try:
        url, tmp = bench.enter_context(bench_database(postgres, "bench_ingest_", POSTGRES_URL))
        app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench",
                          "LOG_LEVEL": "WARNING", "DATABASE_TIMEOUT": 600, "RUN_SCHEDULER": False})
        with app.app_context():
            init_database()
        devices = make_devices(app, ["bench-http", "bench-raw", "bench-mqtt"])
        # Each round takes about 4 days of timestamps over HTTP and 5 over MQTT (different devices), all in
        # the past and well inside the 400 days ingest accepts.
        start = int(time.time()) - max(20, 6 * args.rounds + 2) * 86400
        size = args.batch

        raw_device, _raw_token = devices["bench-raw"]
        device, token = devices["bench-http"]
        with app.app_context():
            from sensors.models import DeviceCredential
            credential_id = DeviceCredential.get(DeviceCredential.device == raw_device).id
        # Rounds alternate the app and the raw insert, so that a busy moment of the machine hits both.
        span = (args.batches + 1) * -(-size // len(METRICS)) * STEP
        rates = {}
        for round_ in range(args.rounds):
            at = start + round_ * span
            bodies = packs("bench-http", at, args.batches + 1, size)
            profiles = [] if (args.profile and not postgres and round_ == 0) else None
            readings, seconds = bench_http(app, device, token, bodies, size, args.via, profiles,
                                           expect=size * len(bodies) * (round_ + 1))
            del bodies
            rates.setdefault(f"HTTP ingest ({args.via})", []).append((readings, seconds))
            print(f"[{name}] round {round_ + 1}: HTTP ingest via {args.via}: {readings:,} readings in "
                  f"{seconds:.2f} s = {readings / seconds:,.0f} readings/s", flush=True)
            rows = raw_rows(raw_device.id, credential_id, at, args.batches, size, as_text=not postgres)
            if postgres:
                raws = [("raw execute_values (psycopg2)", lambda: bench_raw_postgres(url, rows, "values")),
                        ("raw COPY (psycopg2)", lambda: bench_raw_postgres(url, rows, "copy"))]
                if round_ == 0:  # slow: once is enough to show it
                    raws.insert(0, ("raw executemany (psycopg2)",
                                    lambda: bench_raw_postgres(url, rows, "executemany")))
            else:
                raws = [("raw executemany (sqlite3)", lambda: bench_raw_sqlite(str(tmp / "bench.db"), rows))]
            for label, measure in raws:
                count, seconds = measure()
                rates.setdefault(label, []).append((count, seconds))
                print(f"[{name}] round {round_ + 1}: {label}: {count:,} rows in {seconds:.2f} s = "
                      f"{count / seconds:,.0f} rows/s", flush=True)
                with app.app_context():
                    from sensors.models import Reading
                    Reading.delete().where(Reading.device == raw_device.id).execute()
            del rows
        for label, runs in rates.items():
            results.append((label, runs))
        if not postgres:
            ratios = sorted(h[0] / h[1] / (r[0] / r[1]) for h, r in
                            zip(rates[f"HTTP ingest ({args.via})"], rates["raw executemany (sqlite3)"]))
            print(f"[{name}] HTTP / raw executemany per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
                  f"median {statistics.median(ratios):.2f}", flush=True)

        if args.mqtt:
            try:
                importlib.import_module("sensors.mqtt")
            except ImportError as e:
                print(f"[{name}] MQTT skipped: sensors.mqtt not importable ({e})")
            else:
                mqtt_device, mqtt_token = devices["bench-mqtt"]
                try:
                    with mosquitto(tmp) as broker:
                        offset = start
                        mqtt_rates = {}
                        for round_ in range(args.rounds):
                            for pack_size in args.mqtt_pack:
                                total, count, published, seconds = bench_mqtt(
                                    app, broker, mqtt_device, mqtt_token, args.mqtt_readings, pack_size, offset)
                                offset += (total // len(METRICS) + 10) * STEP
                                label = f"MQTT end to end ({pack_size}/message)"
                                mqtt_rates.setdefault(label, []).append((total, seconds))
                                print(f"[{name}] round {round_ + 1}: {label}: {total:,} readings in {count:,} "
                                      f"messages; all published in {published:.2f} s, all stored after "
                                      f"{seconds:.2f} s = {total / seconds:,.0f} readings/s, none lost", flush=True)
                                total, count, seconds = bench_mqtt_backlog(
                                    app, broker, mqtt_device, mqtt_token, args.mqtt_readings, pack_size, offset)
                                offset += (total // len(METRICS) + 10) * STEP
                                label = f"MQTT worker on a backlog ({pack_size}/message)"
                                mqtt_rates.setdefault(label, []).append((total, seconds))
                                print(f"[{name}] round {round_ + 1}: {label}: {total:,} readings in {count:,} "
                                      f"queued messages stored in {seconds:.2f} s = {total / seconds:,.0f} "
                                      "readings/s, none lost", flush=True)
                        results.extend(mqtt_rates.items())
                except FileNotFoundError as e:
                    print(f"[{name}] MQTT skipped: {e}")

        if profiles:
            print_profile(profiles[0])
        return name, results
    finally:
        bench.close()  # closes the connection, drops the PostgreSQL schema, deletes the folder


def print_profile(profiler):
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    print("\ncProfile of the HTTP path on SQLite, top 25 by own time:")
    print(out.getvalue())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats("sensors/service.py")
    print("sensors/service.py functions by cumulative time:")
    print(out.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per database (plus one warm-up)")
    parser.add_argument("--batch", type=int, default=10_000, help="readings per HTTP request (max 10,000)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of HTTP then raw inserts, and of the MQTT runs; the summary gives the "
                             "median and the range")
    parser.add_argument("--via", choices=["client", "server"], default="client",
                        help="werkzeug test client in-process (default) or a local werkzeug server + requests")
    parser.add_argument("--no-mqtt", dest="mqtt", action="store_false")
    parser.add_argument("--mqtt-readings", type=int, default=60_000)
    parser.add_argument("--mqtt-pack", type=int, nargs="+", default=[6, 120],
                        help="readings per MQTT message (one or more runs)")
    parser.add_argument("--profile", action="store_true", help="cProfile the HTTP path on SQLite")
    args = parser.parse_args()

    reports = [run(name, args) for name in (["sqlite", "postgres"] if args.db == "both" else [args.db])]

    print()
    print(f"sensor ingest benchmark: {args.rounds} round(s) of {args.batches} timed batches of {args.batch:,} "
          f"readings after one warm-up; median readings/s of the runs, and their range; "
          f"HTTP via {'werkzeug test client (in-process, no sockets)' if args.via == 'client' else 'a local werkzeug server'}")
    header = f"{'db':<10} {'path':<42} {'runs':>4} {'readings':>10} {'readings/s':>11} {'range':>17}"
    print(header)
    print("-" * len(header))
    for name, results in reports:
        for label, runs in results:
            rates = sorted(count / seconds for count, seconds in runs)
            spread = f"{rates[0]:,.0f}-{rates[-1]:,.0f}" if len(rates) > 1 else ""
            print(f"{name:<10} {label:<42} {len(runs):>4} {runs[0][0]:>10,} {statistics.median(rates):>11,.0f} "
                  f"{spread:>17}")
    print(f"targets: HTTP on SQLite >= {TARGET_HTTP:,}/s and >= {TARGET_RATIO} x raw executemany; "
          f"MQTT >= {TARGET_MQTT:,}/s")


if __name__ == "__main__":
    main()
