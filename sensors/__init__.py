"""Sensors: devices, reading ingest (HTTP/SenML and MQTT), alarms and records."""
from pathlib import Path

from web.registry import Domain

DOMAIN = Domain(
    name="sensors",
    demo_loader="sensors.demo:load",
    models="sensors.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    blueprints=("sensors_api", "sensors"),
    commands=("mqtt-worker", "import-csv", "mqtt-broker"),
    jobs=("sensors.silent", "sensors.stuck", "sensors.flat", "sensors.retention", "sensors.daily_record",
          "sensors.broker_sync"),
)


def init_app(app):
    from sensors import alarms, api, cli, views

    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    cli.init_app(app)
    alarms.init_app(app)  # the ingest listeners; importing alarms registered its jobs ; broker.py registers broker_sync
