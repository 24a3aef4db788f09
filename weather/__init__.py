"""Weather-bureau warnings: CAP 1.2 feeds, life cycle, farm matching, advice, notifications."""
from web.registry import Domain

DOMAIN = Domain(
    name="weather",
    demo_loader="weather.demo:load",
    models="weather.models",
    reference_loaders=("weather.advice:load_rules",),
    blueprints=("weather",),
    jobs=("weather.poll", "weather.expire", "weather.deliver", "weather.escalate"),
)


def init_app(app):
    from weather import notify, service, views  # noqa: F401  (service and notify register their jobs)

    app.register_blueprint(views.bp)
