"""The agriculture bureau: county -> city -> province summaries from tallies kept by a refresh job, the
bureau's dashboard, drill-down and printable report, and the summary API (JSON or CSV)."""
from pathlib import Path

from web.registry import Domain

DOMAIN = Domain(
    name="bureau",
    models="bureau.models",
    openapi=Path(__file__).resolve().parent / "openapi.yaml",
    demo_loader="bureau.demo:load",
    blueprints=("bureau", "bureau_api"),
    commands=("bureau",),
    jobs=("bureau.refresh", "bureau.monthly_reports"),
    homes=(("bureau", "bureau.dashboard"),),
)


def init_app(app):
    from bureau import api, cli, jobs, reports, views  # noqa: F401  (jobs and reports register the scheduled jobs)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.bureau)
