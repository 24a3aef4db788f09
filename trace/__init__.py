"""Traceability: harvest batches, EPCIS journey events, lineage, QR codes."""
from pathlib import Path

from web.registry import Domain

DOMAIN = Domain(
    name="trace",
    demo_loader="trace.demo:load",
    models="trace.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    blueprints=("trace_api", "trace"),
)


def init_app(app):
    from trace import api, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
