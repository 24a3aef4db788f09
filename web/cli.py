"""Flask CLI commands of the app itself: flask --app web init-db | load-demo | create-user | worker | make-migration.

Domains add their own commands in their ``init_app`` (sensors: mqtt-worker, import-csv).
"""
import click
from flask import current_app

from web import db


def init_database():
    """Apply migrations and load the reference data (web's divisions, then each domain's); safe to run again."""
    from web import registry

    db.migrate()
    with db.database.connection_context():
        for load in registry.reference_loaders():
            load()


def init_app(app):
    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the schema and load divisions and catalogues."""
        init_database()
        click.echo(f"database ready: {_redacted(current_app.config['DATABASE_URL'])}")

    @app.cli.command("load-demo")
    @click.option("--if-empty", is_flag=True, help="Only load when there are no users yet.")
    def load_demo_command(if_empty):
        """Load the demo farms and accounts (password demo-password); idempotent."""
        from web import demo

        init_database()
        with db.database.connection_context():
            if if_empty and not demo.database_is_empty():
                click.echo("database already has users; demo not loaded")
                return
            summary = demo.load()
        click.echo(f"demo loaded: {summary}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(["admin", "farmer", "operator", "inspector", "bureau"]))
    @click.option("--division", default=None, help="GB/T 2260 code, for bureau users.")
    @click.option("--organisation", default=None, help="Organisation name, for operators.")
    @click.password_option()
    def create_user_command(username, role, division, organisation, password):
        """Create a user."""
        from web.accounts import service
        from web.accounts.models import Organisation

        with db.database.connection_context():
            org = Organisation.get_or_none(Organisation.name == organisation) if organisation else None
            if organisation and org is None:
                raise click.ClickException(f"no organisation named {organisation}")
            try:
                user = service.create_user(username, password, role, organisation=org, division_code=division)
            except (db.ValidationError, db.Conflict) as e:
                raise click.ClickException(f"{e.message}: {e.fields}") from None
        click.echo(f"created {user.username} ({user.role})")

    @app.cli.command("worker")
    def worker_command():
        """Run the scheduled jobs (one such process per database)."""
        from web import scheduler

        if not scheduler.run_worker(current_app._get_current_object()):
            raise click.ClickException("another process already runs the scheduler")

    @app.cli.command("make-migration")
    @click.argument("name")
    def make_migration_command(name):
        """Write a migration for the model changes no migration describes yet."""
        with db.database.connection_context():
            created = db.migration_router().create(name, auto=db.all_models())
        click.echo(f"written: {created}" if created else "no changes")


def _redacted(url):
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(parts.password, "***")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
