"""Form fields shared by several domains."""
import datetime as dt
import math

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.validators import StopValidation
from wtforms.widgets import DateTimeLocalInput

from web.clock import local_zone

FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")



def parse_timestamp(text):
    """ISO 8601 with or without an offset; without one, the configured local time zone."""
    text = (text or "").strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in FORMATS:
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    try:  # stored in UTC and shown at any offset: 9999-12-31T23:59:59-14:00 lies past year 9999 in UTC
        if not EARLIEST <= value.astimezone(dt.timezone.utc) <= LATEST:
            raise ValueError(text)
    except OverflowError:
        raise ValueError(text) from None
    return value


EARLIEST = dt.datetime(2, 1, 1, tzinfo=dt.timezone.utc)
LATEST = dt.datetime(9998, 12, 31, tzinfo=dt.timezone.utc)



class TimestampField(StringField):
    """A date and time; the browser shows a date-time picker, the API sends ISO 8601."""

    widget = DateTimeLocalInput()

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = parse_timestamp(valuelist[0])
        except ValueError:
            self.data = None
            raise ValueError(_l("Not a valid date and time (use e.g. 2026-05-01T08:30).")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, dt.datetime):
            return self.data.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")
        return ""




# --------------------------------------------------------------- JSON bodies
#
# Fields of a JSONForm (web/forms.py) take a JSON value as it was sent, without the text round
# trip of HTML forms: a number must be a JSON number (not true, not "5"), a list a JSON list.
# A missing value and null are the same; ``required`` refuses both. Errors are reported by path:
# ``inputs[1].quantity``.

class JSONValue(Field):
    """Any JSON value, as sent; the base of the stricter fields below."""

    def __init__(self, label=None, validators=None, required=False, message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required, self.message = required, message

    def process_data(self, value):
        self.data = None
        if value is not None:
            self.data = self.convert(value)

    def convert(self, value):
        return value

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            raise StopValidation(self.missing_message() if self.required else None)

    def missing_message(self):
        return _l("Required.")

    def path_errors(self, path):
        return {path: list(self.errors)} if self.errors else {}


class JSONNumber(JSONValue):
    """A JSON number (integer or decimal), finite, an integer within 64 bits; with ``positive`` above zero."""

    def __init__(self, label=None, validators=None, positive=False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.positive = positive

    def convert(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(_l("Must be a number."))
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isnan(number):
            raise ValueError(_l("Must be a number."))
        if math.isinf(number) or (isinstance(value, int) and not -MAX_INTEGER <= value <= MAX_INTEGER):
            raise ValueError(_l("Too large a number."))
        if self.positive and value <= 0:
            raise ValueError(_l("Must be above zero."))
        return value


class JSONInteger(JSONValue):
    """A JSON whole number that fits the database (64 bits), e.g. an id."""

    def convert(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(_l("Must be a whole number."))
        if not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise ValueError(_l("Too large a number."))
        return value


MAX_INTEGER = 2 ** 63 - 1


class JSONText(JSONValue):
    """A JSON string of at most ``max_length`` characters, stripped; empty is missing."""

    def __init__(self, label=None, validators=None, max_length=200, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.max_length = max_length

    def convert(self, value):
        if not isinstance(value, str) or len(value) > self.max_length:
            raise ValueError(_l("Text of at most %(n)d characters.", n=self.max_length))
        return value.strip() or None


class JSONBoolean(JSONValue):
    """JSON true or false."""

    def convert(self, value):
        if not isinstance(value, bool):
            raise ValueError(_l("true or false."))
        return value


class JSONTimestamp(JSONValue):
    """An ISO 8601 date and time in a JSON string (see parse_timestamp); empty is missing."""

    def convert(self, value):
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return parse_timestamp(value)
        except ValueError:
            raise ValueError(_l("Not a valid date and time (use e.g. 2026-05-01T08:30:00+08:00).")) from None


class JSONObject(JSONValue):
    """A nested JSON object checked by a JSONForm; its data is the form's data without the
    values that were missing or null."""

    def __init__(self, form_class, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.form_class, self.form, self.unknown = form_class, None, []

    def convert(self, value):
        if not isinstance(value, dict):
            raise ValueError(self.message or _l("An object."))
        self.unknown = sorted(set(value) - set(self.form_class.api_fields()))
        self.form = self.form_class(data={k: v for k, v in value.items() if k not in self.unknown})
        return self._present()

    def _present(self):
        return {name: value for name, value in self.form.data.items() if value is not None}

    def validate(self, form, extra_validators=()):
        super().validate(form, extra_validators)
        if self.form is not None and not self.errors:
            self.form.validate()
            self.data = self._present()
        return not self.path_errors(self.name)

    def path_errors(self, path):
        errors = super().path_errors(path)
        if self.form is not None and not self.errors:
            errors.update({f"{path}.{name}": [_l("Unknown field.")] for name in self.unknown})
            errors.update(self.form.path_errors(prefix=path + "."))
        return errors


class JSONList(JSONValue):
    """A JSON list whose every item is checked by ``field`` (an unbound JSON field); with
    ``required`` it must not be empty, with ``unique`` (a function of an item) no two items may
    share a key."""

    def __init__(self, field, label=None, validators=None, unique=None, unique_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.field, self.unique, self.unique_message, self.entries = field, unique, unique_message, []

    def convert(self, value):
        if not isinstance(value, list):
            raise ValueError(self.message or self.missing_message())
        self.entries = []
        for index, item in enumerate(value):
            entry = self.field.bind(form=None, name=f"{self.name}[{index}]", _meta=self.meta,
                                    translations=self._translations)
            entry.process(None, item)
            self.entries.append(entry)
        return [entry.data for entry in self.entries]

    def missing_message(self):
        return _l("A non-empty list.")

    def pre_validate(self, form):
        super().pre_validate(form)
        if self.required and not self.data:
            raise StopValidation(self.missing_message())

    def validate(self, form, extra_validators=()):
        if super().validate(form, extra_validators) and self.data:
            valid = [entry.validate(form) for entry in self.entries]
            self.data = [entry.data for entry in self.entries]
            if all(valid) and self.unique:
                keys = [self.unique(item) for item in self.data]
                if len(set(keys)) != len(keys):
                    self.errors.append(self.unique_message or _l("Each item only once."))
        return not self.path_errors(self.name)

    def path_errors(self, path):
        errors = super().path_errors(path)
        if not self.process_errors:
            for index, entry in enumerate(self.entries):
                errors.update(entry.path_errors(f"{path}[{index}]"))
        return errors
