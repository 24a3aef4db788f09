"""Anchoring journey events on a permissioned EVM: seals, signatures, Merkle roots, proofs, verification."""
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from web.registry import Domain

# keccak through pysha3 (two to three times pycryptodome's speed); eth-hash reads this on first use.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")


@contextmanager
def keep_recursion_limit():
    """py_ecc and py-evm raise Python's recursion limit to 100,000 when imported: deep input (JSON
    nested 100,000 levels, say) would then crash a thread's C stack instead of raising
    RecursionError. Import them inside this, and the limit stays what it was."""
    limit = sys.getrecursionlimit()
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


with keep_recursion_limit():
    import eth_account  # noqa: E402,F401  (imports py_ecc)
    import web3  # noqa: E402,F401

DOMAIN = Domain(
    name="chain",
    models="chain.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    blueprints=("chain_api", "chain"),
    commands=("chain",),
    jobs=("chain.anchor", "chain.reconcile"),
)


def init_app(app):
    from chain import api, cli, jobs, service, views  # noqa: F401  (jobs registers the scheduled jobs)
    from trace import service as trace

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.chain)
    trace.add_event_listener(service.seal_event)
    trace.set_verifier(service.page_verification, key=service.seals_key)
