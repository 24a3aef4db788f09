"""The web app: factory, shared templates and assets, errors and authentication.

web/ only assembles: each domain package named in ``DOMAINS`` declares what it
brings (``DOMAIN``, see ``web.registry``) and registers its blueprints, commands,
jobs and listeners in its own ``init_app(app)``.
"""
import logging

from flask import Flask

# The domain packages, by name, in order: their models, OpenAPI fragments, reference data and
# demo data are taken in this order (the demo's sensors come before the batch that records them).
# A new domain is one line here plus its folder.
DOMAINS = (
    "farms",
    "sensors",
    "trace",
    "chain",
    "weather",
    "bureau",
)


def create_app(config: dict | None = None) -> Flask:
    from web import accounts, api, cli, db, errors, i18n, pwa, registry, security, settings

    app = Flask(__name__)
    app.json = api.JSONProvider(app)
    app.url_map.converters["int"] = api.BoundedIntConverter
    app.config.update(settings.load_settings(config))
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("WTF_I18N_ENABLED", True)
    # Redis (RATELIMIT_STORAGE_URI) away: count in this process instead of failing the sign-in with a 500.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
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
    accounts.init_app(app)
    api.init_app(app)
    pwa.init_app(app)
    registry.init_app(app)
    cli.init_app(app)

    if app.config["RUN_SCHEDULER"]:
        from web import scheduler

        scheduler.start_in_process(app)
    return app
