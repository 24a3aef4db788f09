#!/usr/bin/env python3
"""Benchmark anchoring journey events on a chain: throughput, gas, the verify pages under load, the verifier.

    .venv/bin/python scripts/bench_chain.py [--sizes 1000,10000] [--clients 50] [--workers 0] [--threads 4]
        [--requests 1000] [--seconds 30] [--cache-seconds 300] [--profile N]

Everything runs on a fresh SQLite file in a temporary directory, migrated with ``init_database``,
and a local anvil (``chain.node.Anvil(block_time=None)``: every transaction is mined at once;
CHAIN_CONFIRMATIONS=0) on which the registry is deployed as ``flask chain deploy`` does.

1. Throughput, one Merkle root per size (CHAIN_ANCHOR_EVENTS = size; all events are one
   organisation's, so one root holds them). The events of one batch are created first, untimed:
   up to ``--service-max`` events through ``trace.service.record_event`` (the sealing listener
   switched off while they are written), above it ``--template`` events that way and the rest
   bulk-inserted as copies of them (a new eventID and time each; canonical JSON and SHA-256 as
   trace stores them). Then the chain domain's own stages are timed on those rows:
   seal = ``service.seal_backlog`` (leaf = keccak of the RFC 8785 canonical JSON of every column
   plus the chain link, EIP-712 signature, a Seal row each); tree = ``service.build_roots``
   (the Merkle tree and every proof, written to the Seal rows); anchor = ``service.anchor_pending``
   (the anchor transaction, its receipt, and the root read back and confirmed).
   The raw baseline on the same rows: keccak of each stored document text, a bare
   ``merkle.Tree`` (root only), and a bare ``Registry.anchor`` (send + receipt) of its root.
2. Gas per event: the anchor transaction's gas used / events in its root.
3. The consumer page ``/t/<code>`` and ``/api/v1/batches/<id>/verification`` for a 50-event batch
   recorded through the service (sealed as written) and anchored, under ``--clients`` concurrent
   keep-alive clients against gunicorn (``--workers`` processes, default one per core as
   ``scripts/run`` starts; ``--threads`` threads each; 127.0.0.1), each endpoint bounded by
   ``--requests`` requests and ``--seconds`` seconds. Server time is gunicorn's own request time
   (access log ``%(D)s``); client time (round trip, queueing included) beside it. The consumer
   page's flood limits are lifted (every client is 127.0.0.1); ``--cache-seconds`` sets
   CHAIN_VERIFY_CACHE_SECONDS (0: verify on every request); ``--profile N`` first prints a cProfile
   of N in-process requests of each endpoint.
4. The independent verifier on that batch's proof file against anvil: ``scripts/verify_proof.py``
   as a subprocess (interpreter start and imports included) and its ``check()`` in-process.

It prints figures; it is not a test.
"""
import argparse
import datetime as dt
import http.client
import importlib.util
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password"
TZ = dt.timezone(dt.timedelta(hours=8))
PAGE_TARGET_MS = 50
PAGE_TARGET_KB = 100
VERIFY_EVENTS = 50
UNLIMITED = "1000000/minute"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


# ---------------------------------------------------------------- the world: one organisation, one farm

class World:
    def __init__(self):
        from farms import service as farms
        from farms.models import Crop
        from web.accounts import service as accounts

        self.coop = accounts.create_organisation("信丰脐橙合作社", "cooperative", division_code="360722")
        self.farmer = accounts.create_user("farmer", PASSWORD, "farmer", display_name="farmer", organisation=self.coop)
        self.farm = farms.create_farm(self.farmer, {"name": "A 果园", "county_code": "360722",
                                                    "latitude": 25.38, "longitude": 114.92})
        self.plot = farms.create_plot(self.farmer, self.farm,
                                      {"name": "1号园", "kind": "orchard", "area": 10, "area_unit": "mu"})
        orange = Crop.get(Crop.code == "navel_orange")
        self.planting = farms.create_planting(self.farmer, self.plot, {
            "crop": orange.id, "variety": "纽荷尔", "start_date": dt.date(2019, 3, 1)})
        self.lots = 0

    def batch(self, harvested):
        """A batch made from a new harvest (its commissioning event is event 1)."""
        from farms import service as farms
        from trace import service as trace

        self.lots += 1
        log = farms.create_log(self.farmer, self.farm, {
            "kind": "harvest", "timestamp": harvested, "plots": [self.plot.id], "planting": self.planting.id,
            "quantity": 5000, "unit": "kg", "lot_number": f"XF-BENCH-{self.lots:03d}"})
        return trace.create_batch(self.farmer, {"harvest_log": log.id})

    def events(self, batch, count, start):
        """``count`` storing events on ``batch``, recorded by the farmer through trace.record_event."""
        from trace import service as trace

        for n in range(count):
            trace.record_event(self.farmer, batch, {"biz_step": "storing", "place": f"冷库 {n % 7}",
                                                    "event_time": start + dt.timedelta(seconds=n)})


@contextmanager
def sealing_off():
    """Trace stores events without the chain domain's listener (they are sealed later, by seal_backlog)."""
    from chain import service
    from trace import service as trace

    trace._EVENT_LISTENERS.remove(service.seal_event)
    try:
        yield
    finally:
        trace.add_event_listener(service.seal_event)


def clone_events(batch, count, start):
    """``count`` more events on ``batch``, copies of its storing events with a new eventID and time each,
    canonical JSON and SHA-256 as trace.service._append stores them (bulk-inserted)."""
    from trace.models import Event
    from trace.service import canonical_json, digest
    from web.db import database

    templates = list(Event.select().where((Event.batch == batch.id) & (Event.biz_step == "storing"))
                     .order_by(Event.id))
    rows = []
    for n in range(count):
        template = templates[n % len(templates)]
        document = json.loads(template.document)
        when = start + dt.timedelta(seconds=n)
        document["eventID"] = f"urn:uuid:{uuid.uuid4()}"
        document["eventTime"] = when.astimezone(TZ).isoformat(timespec="seconds")
        text = canonical_json(document)
        rows.append({"event_id": document["eventID"], "kind": "event", "batch": batch.id, "biz_step": "storing",
                     "event_time": when.astimezone(dt.timezone.utc).replace(tzinfo=None),
                     "organisation": template.organisation_id, "recorded_by": template.recorded_by_id,
                     "corrects": None, "document": text, "hash": digest(text), "recorded_at": template.recorded_at})
    with database.atomic():
        for i in range(0, len(rows), 1000):
            Event.insert_many(rows[i:i + 1000]).execute()


# ---------------------------------------------------------------- 1 and 2: throughput and gas

def throughput(app, world, size, args, anchor_account):
    from eth_hash.auto import keccak

    from chain import merkle, service
    from chain.models import Root, Seal
    from trace.models import Event
    from web.db import database

    app.config["CHAIN_ANCHOR_EVENTS"] = size
    start = dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(days=5)
    made = time.perf_counter()
    through_service = size - 1 if size <= args.service_max else min(args.template, size) - 1
    with sealing_off(), database.atomic():
        batch = world.batch(start - dt.timedelta(hours=1))
        world.events(batch, through_service, start)
    if through_service < size - 1:
        clone_events(batch, size - 1 - through_service, start + dt.timedelta(seconds=through_service))
    made = time.perf_counter() - made
    assert Event.select().where(Event.batch == batch.id).count() == size
    how = "record_event" if through_service == size - 1 else f"record_event {through_service + 1} + bulk copies"
    print(f"[{size:,}] {size:,} events created ({how}) in {made:.1f} s", flush=True)

    # The service's path, stage by stage.
    sealed, t_seal = timed(service.seal_backlog)
    roots, t_tree = timed(service.build_roots)
    report, t_anchor = timed(service.anchor_pending)
    assert sealed == size, (sealed, size)
    assert len(roots) == 1 and roots[0].count == size, [(r.count) for r in roots]
    assert report.anchored == 1 and report.confirmed == 1 and not report.error, report
    root = Root.get_by_id(roots[0].id)
    assert root.state == "confirmed"
    assert not Seal.select().where(Seal.root.is_null()).exists()
    print(f"[{size:,}] service: seal {t_seal:.2f} s, tree+proofs {t_tree:.2f} s, anchor+confirm {t_anchor:.3f} s; "
          f"gas {root.gas_used}", flush=True)

    # The raw baseline on the same rows.
    documents = [text.encode() for (text,) in Event.select(Event.document).where(Event.batch == batch.id)
                 .order_by(Event.id).tuples()]
    hashes, t_hash = timed(lambda: [keccak(d) for d in documents])
    tree, t_bare_tree = timed(merkle.Tree, hashes)
    contract = service.registry()
    receipt, t_bare_anchor = timed(contract.anchor, anchor_account, tree.root, size)
    print(f"[{size:,}] raw: keccak {t_hash:.3f} s, tree {t_bare_tree:.2f} s, anchor {t_bare_anchor:.3f} s; "
          f"gas {receipt['gas_used']}", flush=True)
    return {"size": size, "how": how, "seal": t_seal, "tree": t_tree, "anchor": t_anchor, "gas": root.gas_used,
            "raw_hash": t_hash, "raw_tree": t_bare_tree, "raw_anchor": t_bare_anchor, "raw_gas": receipt["gas_used"],
            "bytes": sum(len(d) for d in documents) / len(documents)}


def per_event_costs(world, samples=1000):
    """What sealing one event costs, by part, on ``samples`` leaf documents shaped like the real ones."""
    from eth_hash.auto import keccak

    from chain import service
    from chain.canonical import canonical_bytes
    from chain.models import Seal
    from trace import service as trace
    from trace.models import Event

    seal = Seal.select().where(Seal.seq == 5).first()
    event = Event.get_by_id(seal.event_pk)
    header = trace.batch_header(event.batch_id)
    documents = [service.leaf_document(header["code"], n, seal.prev, trace.event_record(event)) for n in range(samples)]
    account = service.unlock(service.current_key(world.coop.id))
    _, t_record = timed(lambda: [trace.event_record(event) for _ in range(samples)])
    encoded, t_canonical = timed(lambda: [canonical_bytes(d) for d in documents])
    leaves, t_keccak = timed(lambda: [keccak(b) for b in encoded])
    _, t_sign = timed(lambda: [service.sign_leaf(account, header["code"], n, leaf) for n, leaf in enumerate(leaves)])
    return {"record": t_record / samples, "canonical": t_canonical / samples, "keccak": t_keccak / samples,
            "sign": t_sign / samples, "bytes": sum(len(b) for b in encoded) / samples}


# ---------------------------------------------------------------- 3: the pages under load

def start_gunicorn(env, port, workers, threads, log_path):
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
               "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--keep-alive", "30",
               "--backlog", "256", "--access-logfile", str(log_path),
               "--access-logformat", "%(U)s %(s)s %(D)s %(B)s", "--error-logfile", str(log_path) + ".err",
               "web:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: "
                               f"{Path(str(log_path) + '.err').read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not answer within 60 s")


def redis_answers():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def get(connection, path, headers):
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def load(port, path, headers, clients, requests, seconds):
    """``clients`` threads, one keep-alive connection each, until ``requests`` are done or ``seconds`` pass."""
    lock = threading.Lock()
    issued = [0]
    times, failures = [], []
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        while time.monotonic() < deadline:
            with lock:
                if issued[0] >= requests:
                    break
                issued[0] += 1
            started = time.perf_counter()
            try:
                status, _body = get(connection, path, headers)
            except (OSError, http.client.HTTPException) as e:
                failures.append(repr(e))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    times.append(elapsed)
                else:
                    failures.append(status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, failures, time.perf_counter() - started


def server_times(log_path, path, skip):
    """gunicorn's request times (ms) for ``path`` from its access log, after the first ``skip`` lines."""
    values = []
    with open(log_path) as fh:
        lines = fh.readlines()[skip:]
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0] == path and parts[1] == "200":
            values.append(int(parts[2]) / 1000)
    return values, len(lines)


def pages(app, world, node, tmp, url, args):
    from chain import service
    from web.accounts.service import create_token
    from web.db import database

    start = dt.datetime.now(TZ).replace(microsecond=0) - dt.timedelta(days=2)
    with database.atomic():
        batch = world.batch(start - dt.timedelta(hours=1))
        world.events(batch, VERIFY_EVENTS - 1, start)  # sealed as they are written
    report = service.anchor_pending()
    assert report.confirmed >= 1 and not report.error, report
    assert service.verify_report(batch)["status"] == "verified"
    token, _record = create_token(world.farmer, "bench")
    headers = {"Authorization": f"Bearer {token}"}

    # The clients all come from 127.0.0.1: lift the consumer page's flood limits, which would answer 429.
    env = dict(os.environ, DATABASE_URL=url, DATA_DIR=str(tmp / "data"), SECRET_KEY="bench",
               CHAIN_RPC_URL=node.url, CHAIN_CONFIRMATIONS="0", CHAIN_KEY_PASSWORD="bench", RUN_SCHEDULER="0",
               LOG_LEVEL="WARNING", PYTHONDONTWRITEBYTECODE="1", CONSUMER_LIMIT_PER_ADDRESS=UNLIMITED,
               CONSUMER_LIMIT_PER_PLACE=UNLIMITED, CHAIN_VERIFY_CACHE_SECONDS=str(args.cache_seconds))
    env.pop("CHAIN_ADMIN_KEY", None)  # the web process reads the chain; it never needs the admin
    if args.workers > 1 and "RATELIMIT_STORAGE_URI" not in os.environ and redis_answers():
        # As scripts/run: several workers share their throttling counts through Redis when one answers.
        env["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379"
    print(f"  throttling counts in {env.get('RATELIMIT_STORAGE_URI', 'memory://')}", flush=True)
    from chain.node import free_port

    port = free_port()
    log_path = tmp / "gunicorn-access.log"
    if args.profile:  # in a thread of its own: the app's requests close its own database connection
        profiling = threading.Thread(target=profile, args=(app, batch, headers, args.profile))
        profiling.start()
        profiling.join()
    server = start_gunicorn(env, port, args.workers, args.threads, log_path)
    results = []
    try:
        endpoints = [("consumer page /t/<code>", f"/t/{batch.code}", {}),
                     ("API …/verification", f"/api/v1/batches/{batch.id}/verification", headers)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        sizes = {}
        for label, path, extra in endpoints:
            for _ in range(5):  # warm-up: templates, the chain's records of the roots, the writer's period
                status, body = get(connection, path, extra)
                assert status == 200, (path, status, body[:500])
            sizes[path] = len(body)
            if path.startswith("/t/"):
                assert "verification-verified" in body.decode(), body.decode()[-3000:]
            else:
                assert json.loads(body)["status"] == "verified", json.loads(body)["status"]
        proof_body = get(connection, f"/proof/{batch.code}.json", {})[1]
        connection.close()
        skip = server_times(log_path, "", 0)[1]
        runs = [(label, path, extra, clients, requests) for label, path, extra in endpoints
                for clients, requests in ((1, min(100, args.requests)), (args.clients, args.requests))]
        for label, path, extra, clients, requests in runs:
            times, failures, wall = load(port, path, extra, clients, requests, args.seconds)
            served, skip = server_times(log_path, path, skip)
            if failures:
                print(f"  {label}: {len(failures)} failures, e.g. {failures[:3]}", flush=True)
            results.append({"label": label, "path": path, "clients": clients, "count": len(times), "failures": len(failures),
                            "wall": wall, "rps": len(times) / wall, "kb": sizes[path] / 1024,
                            "server_p50": statistics.median(served), "server_p95": percentile(served, 95),
                            "client_p50": statistics.median(times), "client_p95": percentile(times, 95)})
            r = results[-1]
            print(f"[pages] {label}, {clients} client(s): {r['count']} in {wall:.1f} s ({r['rps']:.0f}/s); server p50 "
                  f"{r['server_p50']:.1f} ms p95 {r['server_p95']:.1f} ms; client p50 {r['client_p50']:.0f} ms "
                  f"p95 {r['client_p95']:.0f} ms; {r['kb']:.1f} KB", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return batch, proof_body, results


def profile(app, batch, headers, runs):
    """cProfile of ``runs`` in-process requests of each endpoint (after the warm-up): where the CPU goes."""
    import cProfile
    import pstats

    app.config.update(CONSUMER_LIMIT_PER_ADDRESS=UNLIMITED, CONSUMER_LIMIT_PER_PLACE=UNLIMITED)
    client = app.test_client()
    for path, extra in ((f"/t/{batch.code}", {}), (f"/api/v1/batches/{batch.id}/verification", headers)):
        for _ in range(3):
            assert client.get(path, headers=extra).status_code == 200
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(runs):
            client.get(path, headers=extra)
        profiler.disable()
        elapsed = (time.perf_counter() - started) / runs * 1000
        print(f"[profile] {path}: {elapsed:.1f} ms a request in-process under cProfile ({runs} requests); "
              "top functions by own time, then by cumulative time:", flush=True)
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(40)


# ---------------------------------------------------------------- 4: the independent verifier

def verifier(proof_body, node, tmp, runs):
    path = tmp / "proof.json"
    path.write_bytes(proof_body)
    document = json.loads(proof_body)
    script = ROOT / "scripts" / "verify_proof.py"
    subprocess_times = []
    for _ in range(runs["subprocess"]):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script), str(path), node.url], capture_output=True, text=True,
                              timeout=120)
        subprocess_times.append(time.perf_counter() - started)
        events = len(document["events"])
        assert done.returncode == 0 and f"{events} of {events} events verified" in done.stdout, \
            done.stdout[-1000:] + done.stderr
    spec = importlib.util.spec_from_file_location("verify_proof", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.check(document, node.url)  # warm-up: the HTTP session
    check_times = []
    for _ in range(runs["check"]):
        verdicts, elapsed = timed(module.check, document, node.url)
        assert all(v[2] == "verified" for v in verdicts) and len(verdicts) == len(document["events"])
        check_times.append(elapsed)
    return {"events": len(document["events"]), "kb": len(proof_body) / 1024,
            "sub_p50": statistics.median(subprocess_times), "sub_max": max(subprocess_times),
            "sub_runs": len(subprocess_times), "check_p50": statistics.median(check_times),
            "check_p95": percentile(check_times, 95), "check_runs": len(check_times)}


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="events per root, comma-separated")
    parser.add_argument("--service-max", type=int, default=10000,
                        help="sizes up to this create every event through record_event")
    parser.add_argument("--template", type=int, default=1000,
                        help="above --service-max: events through record_event, the rest bulk copies")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0,
                        help="gunicorn worker processes (0: one per CPU core, as scripts/run starts)")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker (scripts/run: 2)")
    parser.add_argument("--cache-seconds", type=int, default=300,
                        help="CHAIN_VERIFY_CACHE_SECONDS of the server (0: verify on every request)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="before the load, profile N in-process requests of each endpoint (cProfile) and print "
                             "where the time goes")
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint (at most)")
    parser.add_argument("--seconds", type=float, default=30, help="seconds per endpoint (at most)")
    parser.add_argument("--verifier-runs", type=int, default=5, help="runs of verify_proof.py as a subprocess")
    parser.add_argument("--check-runs", type=int, default=20, help="runs of check() in-process")
    args = parser.parse_args()
    args.workers = args.workers or os.cpu_count() or 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(size < 2 for size in sizes):
        parser.error("sizes are at least 2")

    from chain import service
    from chain.node import Anvil, dev_account
    from web import create_app, db
    from web.cli import init_database

    began = time.perf_counter()
    tmp_dir = tempfile.TemporaryDirectory(prefix="bench_chain_")
    tmp = Path(tmp_dir.name)
    node = Anvil(block_time=None)
    node.start()
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench",
                          "TESTING": True, "LOG_LEVEL": "WARNING", "RUN_SCHEDULER": False,
                          "CHAIN_RPC_URL": node.url, "CHAIN_ADMIN_KEY": dev_account(0).key.hex(),
                          "CHAIN_KEY_PASSWORD": "bench", "CHAIN_CONFIRMATIONS": 0, "CHAIN_TIMEOUT": 30})
        with app.app_context():
            init_database()
            with db.database.connection_context():
                world = World()
            deployed = app.test_cli_runner().invoke(args=["chain", "deploy"])
            assert deployed.exit_code == 0, deployed.output
            with app.test_request_context(), db.database.connection_context():
                anchor_account = service.unlock(service.current_key(world.coop.id))  # holds WRITER
                print(f"anvil {node.url} (instant mining), SQLite {tmp / 'bench.db'}; {deployed.output.strip()}",
                      flush=True)
                rows = [throughput(app, world, size, args, anchor_account) for size in sizes]
                costs = per_event_costs(world) if rows else None
                batch, proof_body, served = pages(app, world, node, tmp, url, args)
        checked = verifier(proof_body, node, tmp, {"subprocess": args.verifier_runs, "check": args.check_runs})
    finally:
        node.stop()
        tmp_dir.cleanup()
    total = time.perf_counter() - began

    print()
    print(f"chain benchmark on {os.cpu_count()} cores, anvil with instant mining, CHAIN_CONFIRMATIONS=0, SQLite; "
          f"{total:.0f} s in all")
    print()
    print("1. events/s through seal -> Merkle tree -> anchor -> recorded (confirmed), one root per size")
    print("   service = seal_backlog (canonical JSON + keccak + EIP-712 signature + Seal row) + build_roots")
    print("   (tree + every proof written) + anchor_pending (transaction, receipt, root read back, confirmed);")
    print("   raw = keccak of each stored document text + merkle.Tree root + bare Registry.anchor (send + receipt);")
    print("   service/raw = how many times longer the service takes than the raw path, same events")
    header = (f"{'events/root':>11}  {'created by':<32} {'seal s':>7} {'tree s':>7} {'anchor s':>8} "
              f"{'service ev/s':>12} {'raw ev/s':>10} {'service/raw':>11}  {'gas':>7} {'gas/event':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        service_total = r["seal"] + r["tree"] + r["anchor"]
        raw_total = r["raw_hash"] + r["raw_tree"] + r["raw_anchor"]
        print(f"{r['size']:>11,}  {r['how']:<32} {r['seal']:>7.2f} {r['tree']:>7.2f} {r['anchor']:>8.3f} "
              f"{r['size'] / service_total:>12,.0f} {r['size'] / raw_total:>10,.0f} "
              f"{raw_total and service_total / raw_total:>10.1f}x  {r['gas']:>7,} {r['gas'] / r['size']:>9.2f}")
    for r in rows:
        print(f"   raw stages at {r['size']:,}: keccak {r['raw_hash'] * 1000:.1f} ms, tree {r['raw_tree'] * 1000:.1f} ms, "
              f"anchor {r['raw_anchor'] * 1000:.1f} ms (gas {r['raw_gas']:,}); documents {r['bytes']:.0f} bytes")
    if costs:
        print(f"   sealing one event, by part (mean of 1,000): event_record {costs['record'] * 1e6:.0f} µs, "
              f"canonical JSON {costs['canonical'] * 1e6:.0f} µs ({costs['bytes']:.0f} bytes), "
              f"keccak {costs['keccak'] * 1e6:.1f} µs, EIP-712 signature {costs['sign'] * 1e6:.0f} µs")
    print()
    print("2. gas per event = gas of the anchor transaction / events in its root (the gas is the same for any size)")
    for r in rows:
        print(f"   {r['size']:>9,} events: {r['gas']:,} gas -> {r['gas'] / r['size']:.2f} gas/event")
    print()
    print(f"3. a {VERIFY_EVENTS}-event anchored batch, 1 client then {args.clients} concurrent keep-alive clients; gunicorn "
          f"{args.workers} worker(s), {args.threads} threads each (gthread), 127.0.0.1; at most {args.requests} "
          f"requests or {args.seconds:.0f} s per endpoint; CHAIN_VERIFY_CACHE_SECONDS={args.cache_seconds}")
    header = (f"   {'endpoint':<26} {'clients':>7} {'requests':>8} {'req/s':>6} {'server p50':>10} {'server p95':>10} "
              f"{'client p50':>10} {'client p95':>10} {'KB':>6}")
    print(header)
    for r in served:
        print(f"   {r['label']:<26} {r['clients']:>7} {r['count']:>8} {r['rps']:>6.0f} {r['server_p50']:>8.1f}ms "
              f"{r['server_p95']:>8.1f}ms {r['client_p50']:>8.0f}ms {r['client_p95']:>8.0f}ms {r['kb']:>6.1f}")
    for r in (r for r in served if r["clients"] == args.clients):
        met = r["server_p95"] <= PAGE_TARGET_MS
        print(f"   {r['label']}: server p95 {r['server_p95']:.1f} ms {'meets' if met else 'MISSES'} the "
              f"{PAGE_TARGET_MS} ms target; {r['kb']:.1f} KB {'within' if r['kb'] <= PAGE_TARGET_KB else 'OVER'} "
              f"{PAGE_TARGET_KB} KB" + (f"; {r['failures']} failed" if r["failures"] else ""))
    print("   (server = gunicorn's request time in the worker, which counts time spent waiting for the GIL behind")
    print("   the other threads' requests; client = round trip, waiting for a free thread included)")
    print()
    print(f"4. independent verifier, {checked['events']}-event proof file ({checked['kb']:.1f} KB) against anvil")
    print(f"   scripts/verify_proof.py as a subprocess: median {checked['sub_p50'] * 1000:.0f} ms, "
          f"max {checked['sub_max'] * 1000:.0f} ms ({checked['sub_runs']} runs; interpreter and imports included)")
    print(f"   check() in-process: median {checked['check_p50'] * 1000:.1f} ms, p95 {checked['check_p95'] * 1000:.1f} ms "
          f"({checked['check_runs']} runs after a warm-up; 2 calls to the node per event)")


if __name__ == "__main__":
    main()
