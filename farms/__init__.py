"""Farm management: farms, plots, plantings and the farm log; crop and input catalogues."""
from pathlib import Path

from web.registry import Domain

DOMAIN = Domain(
    name="farms",
    demo_loader="farms.demo:load",
    models="farms.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    reference_loaders=("farms.service:load_catalogues",),
    blueprints=("farms", "farms_api"),
)


def init_app(app):
    from farms import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
