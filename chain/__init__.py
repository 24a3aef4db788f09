"""Anchoring journey events on a permissioned EVM: seals, signatures, Merkle roots, proofs, verification."""
import os
from pathlib import Path

from web.registry import Domain

# keccak through pysha3 (two to three times pycryptodome's speed); eth-hash reads this on first use.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

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
    trace.set_verifier(service.page_verification)
