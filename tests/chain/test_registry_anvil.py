"""The contract and its client against a real anvil process (mining at once, and every second)."""
import socket
import threading
import time

import pytest
from eth_utils import keccak

from chain import registry as R
from chain.node import Anvil, AnvilError, anvil_binary, dev_account, free_port
from tests.chain.registry_checks import check_key_paths, force_send
from tests.helpers import need


def _have_anvil():
    try:
        anvil_binary()
        return True
    except AnvilError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _anvil_installed():
    need(_have_anvil(), "anvil not found: run scripts/setup (npm ci installs @foundry-rs/anvil)")


# block_time=1 runs on the shanghai hardfork, the EVM the contract is compiled for.
@pytest.fixture(scope="module", params=[None, 1], ids=["instant", "block-time-1"])
def node(request):
    hardfork = "shanghai" if request.param else None
    with Anvil(block_time=request.param, hardfork=hardfork) as anvil:
        yield anvil


ADMIN, WRITER, OTHER = dev_account(0), dev_account(1), dev_account(2)


def test_key_paths(node):
    check_key_paths(R.connect(node.url), ADMIN, WRITER, OTHER)


def test_non_writer_transaction_is_refused(node):
    w3 = R.connect(node.url)
    reg = R.Registry(w3, R.deploy(w3, ADMIN))
    root = keccak(text="not mine")
    with pytest.raises(R.NotWriter, match=f"{OTHER.address} does not hold the WRITER role"):
        reg.send_anchor(OTHER, root, 1, b"")
    # Sent anyway, with a fixed gas limit: mined with status 0, reported with its reason.
    tx_hash = force_send(w3, OTHER, reg.contract, "anchor", [root, 1, b"\0" * 32])
    with pytest.raises(R.TransactionReverted) as reverted:
        reg.wait(tx_hash, timeout=10)
    assert reverted.value.tx_hash == tx_hash
    assert isinstance(reverted.value.reason, R.NotWriter)
    assert reg.anchor_of(root) is None


def test_send_then_wait_and_back_to_back_anchors(node):
    w3 = R.connect(node.url)
    reg = R.Registry(w3, R.deploy(w3, ADMIN))
    reg.grant_writer(ADMIN, WRITER.address)
    roots = [keccak(text=f"root {i}") for i in range(5)]
    hashes = [reg.send_anchor(WRITER, root, i + 1, b"") for i, root in enumerate(roots)]
    results = [reg.wait(h, timeout=10) for h in hashes]
    assert [r["tx_hash"] for r in results] == hashes
    for i, root in enumerate(roots):
        assert reg.anchor_of(root).count == i + 1


def test_unreachable_node_fails_fast():
    closed = free_port()
    started = time.monotonic()
    with pytest.raises(R.NodeUnavailable, match=f"127.0.0.1:{closed}"):
        R.connect(f"http://127.0.0.1:{closed}", timeout=2)
    assert time.monotonic() - started < 2


def test_silent_node_times_out():
    """A port that accepts connections but never answers: NodeUnavailable after the timeout, no hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(R.NodeUnavailable):
            R.connect(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1)
        assert time.monotonic() - started < 3
    finally:
        server.close()


def test_node_going_away_is_reported(tmp_path):
    with Anvil() as anvil:
        w3 = R.connect(anvil.url, timeout=2)
        reg = R.Registry(w3, R.deploy(w3, ADMIN))
        anvil.kill()
        assert anvil.process.returncode == -9
        with pytest.raises(R.NodeUnavailable):
            reg.anchor_of(keccak(text="x"))
        with pytest.raises(R.NodeUnavailable):
            reg.send_anchor(WRITER, keccak(text="x"), 1, b"")


def test_state_file_keeps_anchors_across_a_clean_restart(tmp_path):
    state = tmp_path / "anvil-state.json"
    with Anvil(state_path=state) as anvil:
        w3 = R.connect(anvil.url)
        address, _ = R.ensure_deployed(w3, ADMIN, None)
        reg = R.Registry(w3, address)
        reg.grant_writer(ADMIN, WRITER.address)
        root = keccak(text="durable")
        result = reg.anchor(WRITER, root, 7, b"")
        anvil.stop()  # SIGTERM: anvil writes its state
        assert state.exists() and anvil.log_path.exists()
        anvil.start()
        w3 = R.connect(anvil.url)
        assert R.ensure_deployed(w3, ADMIN, address) == (address, False)
        reg = R.Registry(w3, address)
        assert reg.anchor_of(root) == R.AnchorRecord(result["timestamp"], WRITER.address, 7, result["block_number"])
        assert reg.is_writer(WRITER.address)
        # The nonce carried over too: the writer can anchor again.
        assert reg.anchor(WRITER, keccak(text="after restart"), 1, b"")["block_number"] > result["block_number"]


def test_node_refusal_is_a_chain_error(node):
    """A writer without funds: the node refuses the transaction, reported as a ChainError with its message."""
    from eth_account import Account

    w3 = R.connect(node.url)
    reg = R.Registry(w3, R.deploy(w3, ADMIN))
    poor = Account.create()
    reg.grant_writer(ADMIN, poor.address)
    with pytest.raises(R.ChainError, match="(?i)insufficient funds"):
        reg.anchor(poor, keccak(text="unpaid"), 1, b"")
