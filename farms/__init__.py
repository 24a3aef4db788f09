"""Farm management: farms, plots, plantings and the farm log; crop and input catalogues; the
alert inbox and the notification of its alerts."""
from pathlib import Path

from web.registry import Domain

DOMAIN = Domain(
    name="farms",
    demo_loader="farms.demo:load",
    models="farms.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    reference_loaders=("farms.service:load_catalogues",),
    blueprints=("farms", "farms_api"),
    # Notification jobs for every alert source; the ids are kept from when weather owned them.
    jobs=("weather.deliver", "weather.escalate"),
)


def init_app(app):
    from farms import api, notify, views  # noqa: F401  (notify registers the delivery jobs)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
