"""The demo's path on a real anvil: anchor, kill the node mid-run, restart it from its state file,
and every event ends anchored exactly once and verifies; the standalone verifier checks the
downloaded proof file against the node, and refuses it after one byte is changed.

Runs on SQLite: what is under test here is the node and the anchoring job, not the database.
"""
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from chain.models import Root, Seal
from chain.node import Anvil, AnvilError, anvil_binary, dev_account
from tests.helpers import bearer, need
from web import db

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 1000


@pytest.fixture(scope="module", autouse=True)
def _anvil_installed():
    try:
        anvil_binary()
        found = True
    except AnvilError:
        found = False
    need(found, "anvil not found: run scripts/setup (npm ci installs @foundry-rs/anvil)")


@pytest.fixture(params=["sqlite"])
def backend(request, backends, tmp_path_factory):
    backend = backends(request.param)
    backend.prepare(tmp_path_factory.mktemp("data"))
    return backend


def _many_events(app, world, journey, count):
    """A batch with ``count`` storing events, recorded as the co-op would (one a minute)."""
    from trace import service as trace

    with app.app_context(), db.database.connection_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        start = journey.at(2)
        for n in range(count):
            trace.record_event(world.operator, batch, {"biz_step": "storing", "place": f"冷库 {n % 7}",
                                                        "event_time": start + dt.timedelta(minutes=n)})
        return batch.id, batch.code


def _run_jobs(app, stop):
    from chain import service

    while not stop.is_set():
        with app.app_context(), db.database.connection_context():
            Root.update(next_try_at=None).where(Root.next_try_at.is_null(False)).execute()  # no backoff wait here
            service.anchor_pending()
            service.reconcile()
        time.sleep(0.05)


@pytest.mark.parametrize("block_time", [None, 1], ids=["instant", "block-time-1"])
def test_killed_node_loses_nothing_and_anchors_nothing_twice(app, client, world, journey, tmp_path, block_time):
    from chain import registry as R
    from chain import service

    node = Anvil(state_path=tmp_path / "anvil" / "state.json", block_time=block_time)
    node.start()
    try:
        app.config.update(CHAIN_RPC_URL=node.url, CHAIN_ADMIN_KEY=dev_account(0).key.hex(),
                          CHAIN_CONFIRMATIONS=0 if block_time is None else 2, CHAIN_ANCHOR_EVENTS=100,
                          CHAIN_TIMEOUT=2)
        result = app.test_cli_runner().invoke(args=["chain", "deploy"])
        assert result.exit_code == 0, result.output
        batch_id, code = _many_events(app, world, journey, EVENTS)

        stop = threading.Event()
        worker = threading.Thread(target=_run_jobs, args=(app, stop), daemon=True)
        worker.start()
        deadline = time.monotonic() + 60
        while Root.select().where(Root.state.in_(("anchored", "confirmed"))).count() < 3:
            assert time.monotonic() < deadline, "nothing was anchored"
            time.sleep(0.05)
        node.kill()  # SIGKILL mid-run: the node may lose its last second of blocks
        time.sleep(1.5)
        node.start()
        deadline = time.monotonic() + 120
        while True:
            total = Root.select().count()
            confirmed = Root.select().where(Root.state == "confirmed").count()
            if total and confirmed == total and not Seal.select().where(Seal.root.is_null()).exists():
                break
            assert time.monotonic() < deadline, (total, confirmed, service.status())
            time.sleep(0.2)
        stop.set()
        worker.join(timeout=30)

        with app.app_context():
            contract = service.registry()
            roots = [r.root for r in Root.select()]
            assert all(contract.anchor_of(bytes.fromhex(r[2:])) is not None for r in roots)
            # Exactly once: one Anchored log per root, whatever was sent again after the crash.
            logs = contract.contract.events.Anchored().get_logs(from_block=0)
            anchored = ["0x" + bytes(log["args"]["root"]).hex() for log in logs]
            assert sorted(anchored) == sorted(roots)
        sealed = Seal.select().where(Seal.batch_id == batch_id).count()
        assert sealed == EVENTS + 1  # and the commissioning event
        assert sum(r.count for r in Root.select()) == Seal.select().count()
        report = client.get(f"/api/v1/batches/{batch_id}/verification", headers=bearer(world.admin)).json
        assert report["status"] == "verified", {e["state"] for e in report["events"]}

        # A buyer with the proof file, the verifier and the node's URL: nothing else of ours.
        proof = client.get(f"/proof/{code}.json").get_data()
        path = tmp_path / "proof.json"
        path.write_bytes(proof)
        checked = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_proof.py"), str(path), node.url],
                                 capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr
        assert f"{EVENTS + 1} of {EVENTS + 1} events verified" in checked.stdout

        # One byte changed: a place name in the middle of the journey.
        document = json.loads(proof)
        text = json.dumps(document, ensure_ascii=False).replace("冷库 3", "冷库 4", 1)
        path.write_text(text, encoding="utf-8")
        refused = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_proof.py"), str(path), node.url],
                                 capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert refused.returncode == 1
        assert f" #4   tampered     the event's content does not give its leaf" in refused.stdout
    finally:
        node.stop()
