"""Weather-bureau warnings: CAP 1.2 feeds, life cycle, farm matching, advice; their alerts are
notified by the farms' inbox (``farms.notify``)."""
from web.registry import Domain

DOMAIN = Domain(
    name="weather",
    demo_loader="weather.demo:load",
    models="weather.models",
    reference_loaders=("weather.advice:load_rules",),
    blueprints=("weather",),
    jobs=("weather.poll", "weather.expire"),
)


def init_app(app):
    from weather import service, views  # noqa: F401  (service registers its jobs)

    service.lifetimes(app.config["WARNING_LIFETIME_HOURS"])  # a malformed setting stops the start
    app.register_blueprint(views.bp)
