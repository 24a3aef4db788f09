"""Sensor commands: flask --app web mqtt-worker | import-csv (added to the app's CLI by ``sensors.init_app``)."""
import click
from flask import current_app
from flask.cli import with_appcontext

from web import db

DEFAULT_MAX_REJECTED = 5.0  # percent of a file's readings; a few bad cells are normal for a logger, more is not


@click.command("mqtt-worker")
@with_appcontext
def mqtt_worker_command():
    """Ingest sensor readings from the MQTT broker (MQTT_URL) until SIGTERM or Ctrl-C."""
    from sensors import mqtt

    mqtt.run(current_app._get_current_object())


@click.group("mqtt-broker")
def mqtt_broker_group():
    """Keep the MQTT broker's accounts (Mosquitto dynamic security, MQTT_ADMIN_URL) in step with the devices."""


@mqtt_broker_group.command("setup")
@with_appcontext
def mqtt_broker_setup_command():
    """Create the ingest role and the ingest worker's account (MQTT_URL's user and password), then disable
    the accounts of devices without a live token. Devices made before the broker authenticated need a new
    token (rotate it on the device's page): tokens are kept only as hashes, so the broker cannot be given
    the old ones."""
    from sensors import broker

    try:
        with db.database.connection_context():
            lines = broker.setup(current_app)
    except (broker.BrokerError, db.Unavailable) as e:
        raise click.ClickException(str(e)) from None
    for line in lines:
        click.echo(line)


@mqtt_broker_group.command("sync")
@with_appcontext
def mqtt_broker_sync_command():
    """Disable broker accounts whose device has no live token (what the sensors.broker_sync job does)."""
    from sensors import broker

    try:
        with db.database.connection_context():
            lines = broker.sync(current_app)
    except (broker.BrokerError, db.Unavailable) as e:
        raise click.ClickException(str(e)) from None
    click.echo("\n".join(lines) or "every enabled device account has a live token")


@click.command("import-csv")
@click.argument("device_uid")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--time-column", required=True, help="Header name, or 0-based index, of the time column.")
@click.option("--format", "time_format", default="auto", show_default=True,
              help="auto, iso, epoch, or a strptime format such as '%d.%m.%Y %H:%M'.")
@click.option("--tz", "timezone", default=None,
              help="Time zone of times without an offset: IANA name or e.g. UTC+08:00 [default: the TIMEZONE "
                   "setting].")
@click.option("--column", "columns", multiple=True, required=True, metavar="METRIC=COL[:UNIT]",
              help="A metric and its column (header name or 0-based index), optionally its unit; repeat.")
@click.option("--header/--no-header", default=None, help="Whether the file has a header row [default: detect].")
@click.option("--delimiter", type=click.Choice(["auto", "comma", "semicolon", "tab"]), default="auto",
              show_default=True)
@click.option("--decimal", type=click.Choice(["auto", ".", ","]), default="auto", show_default=True)
@click.option("--encoding", default=None, help="Default: UTF-8 (with or without BOM), else GB18030.")
@click.option("--max-rejected", type=click.FloatRange(0, 100), default=DEFAULT_MAX_REJECTED, show_default=True,
              metavar="PERCENT", help="Exit with status 1 when more than this share of the file's readings is "
                                      "rejected (what was accepted stays stored).")
@with_appcontext
def import_csv_command(device_uid, file, time_column, time_format, timezone, columns, header, delimiter,
                       decimal, encoding, max_rejected):
    """Import a data logger's CSV export into DEVICE_UID's readings (same checks as the ingest API).

    Exit status: 0 when the file is stored; 1 when no reading of it is in the database (none stored now
    nor before), when more than --max-rejected percent of its readings are rejected, or when the file
    or the options cannot be used (then nothing is stored)."""
    from sensors import csv_import, service

    mapping = csv_import.Mapping(
        time_column=_column(time_column), columns=_column_specs(columns), time_format=time_format,
        timezone=timezone or current_app.config["TIMEZONE"], header=header,
        delimiter=None if delimiter == "auto" else delimiter,
        decimal=None if decimal == "auto" else decimal, encoding=encoding)
    with open(file, "rb") as f:
        data = f.read(csv_import.MAX_BYTES + 1)
    with db.database.connection_context():
        device = service.device_by_uid(device_uid)
        if device is None:
            raise click.ClickException(f"no device with uid {device_uid}")
        try:
            report = csv_import.import_csv(device, data, mapping,
                                           retention_days=current_app.config["RAW_RETENTION_DAYS"])
        except db.ValidationError as e:
            raise click.ClickException(e.message) from None
    where = f"header on line {report.header_line}, " if report.header_line else "no header, "
    click.echo(f"{device.uid}: {report.rows_read} rows read ({report.encoding}, {where}"
               f"data from line {report.first_data_line}); {report.imported} readings imported, "
               f"{report.duplicates} duplicates, {report.conflict_count} conflicting, "
               f"{report.rejected_count} rejected")
    if report.older_than_retention:
        click.echo(f"{report.older_than_retention} readings are older than the raw retention "
                   f"({report.retention_days} days): their hourly and daily rollups are stored; the nightly "
                   "clean-up deletes their raw values")
    for entry in report.repeated:
        click.echo(f"line {entry['line']}, {entry['column']}: same time as line {entry['first_line']}; "
                   "kept the first")
    for entry in report.conflicts:
        click.echo(f"line {entry['line']}, {entry['column']}: same time as line {entry['first_line']} but "
                   f"{entry['value']:g} instead of {entry['first_value']:g}; kept line {entry['first_line']}'s")
    for entry in report.backwards:
        click.echo(f"line {entry['line']}: time goes back to {entry['time']} (line {entry['previous_line']}: "
                   f"{entry['previous_time']})")
    for entry in report.rejected:
        click.echo(f"line {entry['line']}, {entry['column']}: {entry['reason']}")
    if report.rejected_count > len(report.rejected):
        click.echo(f"... and {report.rejected_count - len(report.rejected)} more rejected")
    readings = report.rows_read * len(report.columns)
    if report.imported + report.duplicates == 0:
        raise click.ClickException("nothing of the file is stored")
    share = 100 * report.rejected_count / readings if readings else 0
    if share > max_rejected:
        raise click.ClickException(f"{share:.1f}% of the readings were rejected (more than --max-rejected "
                                   f"{max_rejected:g}%); the others are stored")


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


def init_app(app):
    app.cli.add_command(mqtt_worker_command)
    app.cli.add_command(import_csv_command)
    app.cli.add_command(mqtt_broker_group)
