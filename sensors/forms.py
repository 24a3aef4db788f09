"""Forms of the sensor pages: adding a device, importing a logger's CSV file."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

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


TIME_ZONES = [("local", _l("Local time (Beijing time)")), ("utc", _l("UTC"))]
DELIMITERS = [("", _l("Detect")), ("comma", _l("Comma")), ("semicolon", _l("Semicolon")), ("tab", _l("Tab"))]


def csv_form(device, formdata=None):
    """The CSV import form for ``device``: the file, its time column and one column per metric."""

    class CsvImportForm(Form):
        file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])
        time_column = StringField(_l("Time column"), default="time",
                                  validators=[DataRequired(), Length(max=80)])
        time_zone = SelectField(_l("Times are in"), choices=TIME_ZONES, default="local")
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
    """[(metric, column, unit)] of the metrics the form maps to a column."""
    mapped = []
    for name in device.metric_names:
        column = getattr(form, f"column_{name}", None)
        if column is not None and (column.data or "").strip():
            mapped.append((name, column.data.strip(), getattr(form, f"unit_{name}").data))
    return mapped
