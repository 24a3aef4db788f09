"""Form fields shared by several domains."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from wtforms import StringField
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


