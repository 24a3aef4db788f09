"""flask --app web bureau refresh [--rebuild]."""
import click
from flask.cli import AppGroup

from bureau import service
from web import db

bureau = AppGroup("bureau", help="The agriculture bureau's tallies.")


@bureau.command("refresh")
@click.option("--rebuild", is_flag=True, help="Recompute five years back instead of what changed.")
def refresh_command(rebuild):
    """Bring the per-county tallies up to date."""
    with db.database.connection_context():
        report = service.refresh(rebuild=rebuild)
    click.echo(f"{report.days} day(s) recomputed, {report.rows} row(s), {report.snapshots} snapshot(s)")
