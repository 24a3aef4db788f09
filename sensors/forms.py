"""Forms of the sensor pages: adding a device, importing a logger's CSV file, alarm rules."""
import math

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, FloatField, IntegerField, SelectField, SelectMultipleField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
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


# ---------------------------------------------------------------- alarm rules

COMPARISON_LABELS = {">": _l("above"), "<": _l("below"), "outside": _l("outside the range")}
SEVERITY_LABELS = {"yellow": _l("Yellow (notice)"), "orange": _l("Orange (act soon)"), "red": _l("Red (act now)")}
MAX_DURATION_MINUTES = 7 * 24 * 60


class AlarmRuleForm(Form):
    """An alarm rule of a plot, on the page and in the API (``validated``): the same fields and checks.

    ``duration_minutes`` is how long the value must stay out of range before the alarm is raised;
    ``hysteresis`` how far back inside it must come before the alarm clears."""

    metric = SelectField(_l("Measurement"), choices=[], validators=[DataRequired()])
    comparison = SelectField(_l("Alarm when the value is"), choices=list(COMPARISON_LABELS.items()),
                             validators=[DataRequired()])
    threshold = FloatField(_l("Threshold"), validators=[Optional()])
    low = FloatField(_l("Lowest allowed"), validators=[Optional()])
    high = FloatField(_l("Highest allowed"), validators=[Optional()])
    duration_minutes = IntegerField(_l("For at least (minutes)"), default=0, validators=[
        Optional(), NumberRange(0, MAX_DURATION_MINUTES, _l("From 0 to %(max)s minutes (7 days)."))])
    hysteresis = FloatField(_l("Clears once back inside by"), default=0, validators=[
        Optional(), NumberRange(0, None, _l("0 or more."))])
    severity = SelectField(_l("Level"), choices=list(SEVERITY_LABELS.items()), default="yellow")
    enabled = BooleanField(_l("Active (untick to pause)"), default=True)
    advice_zh = TextAreaField(_l("Advice (Chinese)"), validators=[Optional(), Length(max=500)])
    advice_en = TextAreaField(_l("Advice (English)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save the rule"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if hasattr(self, "metric"):
            self.metric.choices = metric_choices()

    def validate(self, extra_validators=None):
        """Field checks, then the ones across fields: the threshold a comparison needs, low below high,
        values inside what the metric can measure. Fields left out of a partial form are not judged."""
        ok = super().validate(extra_validators)
        fields = self._fields
        comparison = fields["comparison"].data if "comparison" in fields else None
        metric = METRICS.get(fields["metric"].data) if "metric" in fields else None

        def fail(name, message):
            if name in fields:
                fields[name].errors = list(fields[name].errors) + [message]
            return False

        for name in ("threshold", "low", "high", "hysteresis"):
            if name in fields and fields[name].data is not None and not math.isfinite(fields[name].data):
                fields[name].data = None
                ok = fail(name, _l("Give a number."))
        if comparison in (">", "<") and "threshold" in fields and fields["threshold"].data is None \
                and not fields["threshold"].errors:
            ok = fail("threshold", _l("Give the threshold."))
        if comparison == "outside":
            for name in ("low", "high"):
                if name in fields and fields[name].data is None and not fields[name].errors:
                    ok = fail(name, _l("Give the lowest and highest allowed values."))
            low, high = (fields[n].data if n in fields else None for n in ("low", "high"))
            if low is not None and high is not None and low >= high:
                ok = fail("high", _l("The highest allowed must be above the lowest."))
        if metric is not None:
            for name in ("threshold", "low", "high"):
                value = fields[name].data if name in fields else None
                if value is not None and not metric.low <= value <= metric.high:
                    ok = fail(name, _l("%(label)s is measured from %(low)g to %(high)g.",
                                       label=metric_label(metric.name), low=metric.low, high=metric.high))
        return ok


def rule_values(data):
    """The service's fields (``sensors.alarms.RULE_FIELDS``) of the form's data (all of it, or the
    part a partial API request sent): minutes become seconds, an empty hysteresis 0."""
    values = {name: data[name] for name in ("metric", "comparison", "threshold", "low", "high", "hysteresis",
                                            "severity", "enabled", "advice_zh", "advice_en") if name in data}
    if "duration_minutes" in data:
        values["duration_seconds"] = (data["duration_minutes"] or 0) * 60
    if "hysteresis" in values and values["hysteresis"] is None:
        values["hysteresis"] = 0.0
    for name in ("advice_zh", "advice_en"):
        if name in values:
            values[name] = (values[name] or "").strip()
    return values
