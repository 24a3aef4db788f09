"""The web app: factory, shared templates and assets, errors and authentication.

Each domain package (farms, sensors, trace, chain, weather) brings its own
blueprints; ``create_app`` registers them.
"""
import logging

from flask import Flask

# Blueprints of the domain packages, as "module:attribute", registered in order.
BLUEPRINTS = (
    "web.accounts.views:bp",
    "web.api:bp",
    "farms.views:bp",
    "farms.api:bp",
    "trace.api:bp",
    "trace.views:bp",
    "weather.views:bp",
    "sensors.api:bp",
    "sensors.views:bp",
)


def create_app(config: dict | None = None) -> Flask:
    import importlib

    from web import cli, db, errors, i18n, security, settings

    app = Flask(__name__)
    app.config.update(settings.load_settings(config))
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_I18N_ENABLED", True)
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"],
                                x_proto=app.config["TRUSTED_PROXIES"])
    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    for spec in BLUEPRINTS:
        module, attr = spec.split(":")
        app.register_blueprint(getattr(importlib.import_module(module), attr))
    cli.init_app(app)

    if app.config["RUN_SCHEDULER"]:
        from web import scheduler

        scheduler.start_in_process(app)
    return app
