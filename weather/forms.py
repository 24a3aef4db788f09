from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, Length, NumberRange, Optional, URL

from web.forms import Form

CHANNEL_LABELS = {"in_app": _l("In the app"), "webhook": _l("Webhook"), "wecom": _l("WeCom group robot"),
                  "dingtalk": _l("DingTalk group robot"), "sms": _l("SMS")}
LEVEL_LABELS = {"blue": _l("Blue"), "yellow": _l("Yellow"), "orange": _l("Orange"), "red": _l("Red")}


class PreferencesForm(Form):
    # Boxes to tick, not a multiple select: a phone shows a select's first rows only (短信 was cut off).
    channels = SelectMultipleField(_l("Channels"), choices=list(CHANNEL_LABELS.items()),
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    min_level = SelectField(_l("Notify from level"), choices=list(LEVEL_LABELS.items()), default="blue")
    quiet_start = StringField(_l("Quiet from (HH:MM)"), validators=[Optional(), Length(max=5)])
    quiet_end = StringField(_l("Quiet until (HH:MM)"), validators=[Optional(), Length(max=5)])
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=500)])
    wecom_url = StringField(_l("WeCom robot URL"), validators=[Optional(), Length(max=500)])
    dingtalk_url = StringField(_l("DingTalk robot URL"), validators=[Optional(), Length(max=500)])
    phone = StringField(_l("Mobile number for SMS"), validators=[Optional(), Length(max=20)])
    submit = SubmitField(_l("Save"))


class FeedForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    url = StringField(_l("Feed URL"), validators=[DataRequired(), URL(require_tld=False), Length(max=500)])
    format = SelectField(_l("Format"), choices=[("cap", "CAP"), ("atom", "Atom"), ("rss", "RSS"),
                                                ("nws-geojson", "NWS GeoJSON"),
                                                ("meteoalarm-json", "MeteoAlarm JSON")])
    interval_seconds = IntegerField(_l("Interval (seconds)"), default=300,
                                    validators=[DataRequired(), NumberRange(30, 86400)])
    enabled = BooleanField(_l("Enabled"), default=True)
    submit = SubmitField(_l("Save"))


class AdviceForm(Form):
    text_zh = TextAreaField(_l("Advice (Chinese)"), validators=[DataRequired(), Length(max=500)])
    text_en = TextAreaField(_l("Advice (English)"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save"))
