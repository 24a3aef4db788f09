"""Forms of the sensor pages: adding a device, importing a logger's CSV file."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from sensors import csv_import
from sensors.metrics import METRICS, unit_label
from sensors.service import metric_label
from web.forms import Form

# What a simple greenhouse station reports; preselected on the add-device form.
DEFAULT_METRICS = ("air_temperature", "air_humidity", "co2", "soil_moisture", "soil_temperature")


def metric_choices():
    return [(name, f"{metric_label(name)} ({unit_label(m.unit) or m.unit})") for name, m in METRICS.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeviceForm(Form):
    name = StringField(_l("Device name"), validators=[DataRequired(), Length(max=80)])
    uid = StringField(_l("Device id (optional)"), validators=[
        Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, - _ . only."))])
    metrics = MultiCheckboxField(_l("What it measures"), validators=[DataRequired()], choices=[])
    submit = SubmitField(_l("Add the device"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics.choices = metric_choices()


DELIMITERS = [("", _l("Detect")), ("comma", _l("Comma")), ("semicolon", _l("Semicolon")), ("tab", _l("Tab"))]
HEADERS = [("", _l("Detect")), ("yes", _l("The first row with names")), ("no", _l("None: columns by number"))]


def time_zone_valid(form, field):
    """Any IANA time zone (Asia/Shanghai, Europe/Berlin), UTC, or a fixed offset such as UTC+08:00."""
    try:
        csv_import.check_timezone(field.data or "")
    except csv_import.CsvImportError:
        raise ValidationError(_l("Unknown time zone: use a name such as Asia/Shanghai or an offset such as "
                                 "UTC+08:00.")) from None


def column_ref(text):
    """A column as typed on the form: digits are a 0-based column number, anything else a header name."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else text


def csv_form(device, formdata=None):
    """The CSV import form for ``device``: the file, its time column and one column per metric."""

    class CsvImportForm(Form):
        file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
        time_column = StringField(_l("Time column"), default="time",
                                  validators=[DataRequired(), Length(max=80)])
        time_zone = StringField(_l("Times are in (time zone)"), default=lambda: current_app.config["TIMEZONE"],
                                validators=[DataRequired(), Length(max=64), time_zone_valid])
        header = SelectField(_l("Header row"), choices=HEADERS, default="")
        time_format = StringField(_l("Time format"), default="auto", validators=[DataRequired(), Length(max=60)])
        delimiter = SelectField(_l("Separator"), choices=DELIMITERS, default="")
        submit = SubmitField(_l("Import"))

    for name in device.metric_names:
        metric = METRICS.get(name)
        if metric is None:
            continue
        setattr(CsvImportForm, f"column_{name}", StringField(metric_label(name), default=name,
                                                             validators=[Optional(), Length(max=80)]))
        setattr(CsvImportForm, f"unit_{name}", SelectField(
            _l("Unit"), default=metric.unit,
            choices=[(u, unit_label(u) or u) for u in metric.units]))
    return CsvImportForm(formdata=formdata) if formdata is not None else CsvImportForm()


def csv_columns(form, device):
    """[(metric, column, unit)] of the metrics the form maps to a column (a name, or a number from 0)."""
    mapped = []
    for name in device.metric_names:
        column = getattr(form, f"column_{name}", None)
        if column is not None and (column.data or "").strip():
            mapped.append((name, column_ref(column.data), getattr(form, f"unit_{name}").data))
    return mapped
