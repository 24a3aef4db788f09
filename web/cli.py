"""Flask CLI commands: flask --app web init-db | load-demo | create-user | worker | mqtt-worker | import-csv."""
import click
from flask import current_app

from web import db


def init_database():
    """Apply migrations and load the reference data; safe to run again."""
    from farms import service as farms
    from weather import advice
    from web import divisions

    db.migrate()
    with db.database.connection_context():
        divisions.load()
        farms.load_catalogues()
        advice.load_rules()


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

    @app.cli.command("mqtt-worker")
    def mqtt_worker_command():
        """Ingest sensor readings from the MQTT broker (MQTT_URL) until SIGTERM or Ctrl-C."""
        from sensors import mqtt

        mqtt.run(current_app._get_current_object())

    @app.cli.command("make-migration")
    @click.argument("name")
    def make_migration_command(name):
        """Write a migration for the model changes no migration describes yet."""
        with db.database.connection_context():
            created = db.migration_router().create(name, auto=db.all_models())
        click.echo(f"written: {created}" if created else "no changes")

    @app.cli.command("import-csv")
    @click.argument("device_uid")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--time-column", required=True, help="Header name, or 0-based index, of the time column.")
    @click.option("--format", "time_format", default="auto", show_default=True,
                  help="auto, iso, epoch, or a strptime format such as '%d.%m.%Y %H:%M'.")
    @click.option("--tz", "timezone", default="Asia/Shanghai", show_default=True,
                  help="Time zone of times without an offset: IANA name or e.g. UTC+08:00.")
    @click.option("--column", "columns", multiple=True, required=True, metavar="METRIC=COL[:UNIT]",
                  help="A metric and its column (header name or 0-based index), optionally its unit; repeat.")
    @click.option("--header/--no-header", default=None, help="Whether the file has a header row [default: detect].")
    @click.option("--delimiter", type=click.Choice(["auto", "comma", "semicolon", "tab"]), default="auto",
                  show_default=True)
    @click.option("--decimal", type=click.Choice(["auto", ".", ","]), default="auto", show_default=True)
    @click.option("--encoding", default=None, help="Default: UTF-8 (with or without BOM), else GB18030.")
    def import_csv_command(device_uid, file, time_column, time_format, timezone, columns, header, delimiter,
                           decimal, encoding):
        """Import a data logger's CSV export into DEVICE_UID's readings (same checks as the ingest API)."""
        from sensors import csv_import
        from sensors.models import Device

        mapping = csv_import.Mapping(
            time_column=_column(time_column), columns=_column_specs(columns), time_format=time_format,
            timezone=timezone, header=header, delimiter=None if delimiter == "auto" else delimiter,
            decimal=None if decimal == "auto" else decimal, encoding=encoding)
        with open(file, "rb") as f:
            data = f.read(csv_import.MAX_BYTES + 1)
        with db.database.connection_context():
            device = Device.get_or_none(Device.uid == device_uid)
            if device is None:
                raise click.ClickException(f"no device with uid {device_uid}")
            try:
                report = csv_import.import_csv(device, data, mapping)
            except db.ValidationError as e:
                raise click.ClickException(e.message) from None
        where = f"header on line {report.header_line}, " if report.header_line else "no header, "
        click.echo(f"{device.uid}: {report.rows_read} rows read ({report.encoding}, {where}"
                   f"data from line {report.first_data_line}); {report.imported} readings imported, "
                   f"{report.duplicates} duplicates, {report.rejected_count} rejected")
        for entry in report.repeated:
            click.echo(f"line {entry['line']}, {entry['column']}: same time as line {entry['first_line']}; "
                       "kept the first")
        for entry in report.rejected:
            click.echo(f"line {entry['line']}, {entry['column']}: {entry['reason']}")
        if report.rejected_count > len(report.rejected):
            click.echo(f"... and {report.rejected_count - len(report.rejected)} more rejected")


def _column(text):
    """A column given on the command line: digits are a 0-based index, anything else a header name."""
    text = text.strip()
    return int(text) if text.isdigit() else text


def _column_specs(specs):
    """{metric: (column, unit)} from METRIC=COL[:UNIT] options (the unit is after the last colon)."""
    columns = {}
    for spec in specs:
        metric, sep, rest = spec.partition("=")
        if not sep or not metric.strip() or not rest.strip():
            raise click.BadParameter(f"{spec!r} is not METRIC=COL[:UNIT]", param_hint="--column")
        column, colon, unit = rest.rpartition(":")
        if not colon:
            column, unit = rest, ""
        if metric.strip() in columns:
            raise click.BadParameter(f"{metric.strip()} is given twice", param_hint="--column")
        columns[metric.strip()] = (_column(column), unit.strip() or None)
    return columns


def _redacted(url):
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(parts.password, "***")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
