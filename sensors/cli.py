"""Sensor commands: flask --app web mqtt-worker | import-csv (added to the app's CLI by ``sensors.init_app``)."""
import click
from flask import current_app
from flask.cli import with_appcontext

from web import db


@click.command("mqtt-worker")
@with_appcontext
def mqtt_worker_command():
    """Ingest sensor readings from the MQTT broker (MQTT_URL) until SIGTERM or Ctrl-C."""
    from sensors import mqtt

    mqtt.run(current_app._get_current_object())


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
@with_appcontext
def import_csv_command(device_uid, file, time_column, time_format, timezone, columns, header, delimiter,
                       decimal, encoding):
    """Import a data logger's CSV export into DEVICE_UID's readings (same checks as the ingest API)."""
    from sensors import csv_import
    from sensors.models import Device

    mapping = csv_import.Mapping(
        time_column=_column(time_column), columns=_column_specs(columns), time_format=time_format,
        timezone=timezone or current_app.config["TIMEZONE"], header=header,
        delimiter=None if delimiter == "auto" else delimiter,
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


def init_app(app):
    app.cli.add_command(mqtt_worker_command)
    app.cli.add_command(import_csv_command)
