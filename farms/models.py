"""Farm management models, after farmOS: farm -> plot -> planting, and the farm log; the farm's
alert inbox and the notification preferences and deliveries of its alerts."""
import peewee as pw

from web.accounts.models import Organisation, User
from web.clock import utcnow
from web.db import BaseModel
from web.divisions import Division

MU_IN_M2 = 2000 / 3  # 1 亩 = 666.67 m²

PLOT_KINDS = ("field", "orchard", "pond", "greenhouse")
CERTIFICATION_KINDS = ("green_food", "organic", "geographical_indication")
CROP_CATEGORIES = ("grain", "fruit", "tea", "oil", "aquatic", "vegetable")
INPUT_CATEGORIES = ("insecticide", "fungicide", "acaricide", "herbicide", "fertiliser",
                    "growth_regulator", "other")
PESTICIDE_CATEGORIES = ("insecticide", "fungicide", "acaricide", "herbicide", "growth_regulator")
LOG_KINDS = ("seeding", "input", "activity", "observation", "harvest")
ACTIVITY_KINDS = ("irrigation", "pruning", "weeding", "thinning", "bagging", "tillage",
                  "mowing", "feeding", "water_change", "other")
MEMBER_ROLES = ("owner", "worker")
START_METHODS = ("sown", "transplanted")


class Farm(BaseModel):
    name = pw.CharField(max_length=120)
    organisation = pw.ForeignKeyField(Organisation, backref="farms")
    county = pw.ForeignKeyField(Division, column_name="county_code")
    address = pw.CharField(max_length=255, default="")
    # The phone printed on the farm's certificates of conformity (承诺达标合格证).
    contact_phone = pw.CharField(max_length=32, default="")
    latitude = pw.FloatField(null=True)
    longitude = pw.FloatField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("organisation", "name"), True),)


class FarmMember(BaseModel):
    farm = pw.ForeignKeyField(Farm, backref="members", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, backref="farm_memberships", on_delete="CASCADE")
    role = pw.CharField(max_length=8)

    class Meta:
        indexes = ((("farm", "user"), True),)


class FarmInvitation(BaseModel):
    """A farm's owner asks a farmer to work on the farm (or own it with them)."""

    farm = pw.ForeignKeyField(Farm, backref="invitations", on_delete="CASCADE")
    invitee = pw.ForeignKeyField(User, backref="farm_invitations", on_delete="CASCADE")
    role = pw.CharField(max_length=8)  # owner or worker
    invited_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    state = pw.CharField(max_length=10, default="pending")  # pending, accepted, declined, revoked
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    answered_at = pw.DateTimeField(null=True)


class Certification(BaseModel):
    farm = pw.ForeignKeyField(Farm, backref="certifications", on_delete="CASCADE")
    kind = pw.CharField(max_length=32)
    number = pw.CharField(max_length=64, default="")
    valid_until = pw.DateField(null=True)


class Plot(BaseModel):
    farm = pw.ForeignKeyField(Farm, backref="plots")
    name = pw.CharField(max_length=80)
    kind = pw.CharField(max_length=16)
    area_m2 = pw.FloatField()
    # Optional GeoJSON Polygon, as text.
    geometry = pw.TextField(null=True)
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)
    # An archived plot keeps its history but takes no new logs.
    archived_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("farm", "name"), True),)

    @property
    def area_mu(self):
        return self.area_m2 / MU_IN_M2


class Crop(BaseModel):
    code = pw.CharField(max_length=32, unique=True)
    name_zh = pw.CharField(max_length=64)
    name_en = pw.CharField(max_length=64)
    category = pw.CharField(max_length=16)
    default_unit = pw.CharField(max_length=16, default="kg")


class Planting(BaseModel):
    plot = pw.ForeignKeyField(Plot, backref="plantings")
    crop = pw.ForeignKeyField(Crop)
    variety = pw.CharField(max_length=80, default="")
    start_method = pw.CharField(max_length=16, default="sown")
    start_date = pw.DateField()
    expected_harvest = pw.DateField(null=True)
    ended_on = pw.DateField(null=True)
    notes = pw.TextField(default="")
    created_at = pw.DateTimeField(default=utcnow)


class InputProduct(BaseModel):
    """Catalogue of common inputs; the pre-harvest interval is the usual label value."""

    code = pw.CharField(max_length=48, unique=True)
    name_zh = pw.CharField(max_length=64)
    name_en = pw.CharField(max_length=64)
    category = pw.CharField(max_length=20)
    active_ingredient = pw.CharField(max_length=120, default="")
    phi_days = pw.IntegerField(default=0)
    default_unit = pw.CharField(max_length=16, default="ml/亩")
    # Crop codes the product is registered for (space-separated; the usual ICAMA label uses).
    crops = pw.CharField(max_length=255, default="")


class Log(BaseModel):
    """One entry of the farm log. Kind-specific columns are empty for other kinds."""

    farm = pw.ForeignKeyField(Farm, backref="logs")
    kind = pw.CharField(max_length=16)
    timestamp = pw.DateTimeField()  # UTC
    planting = pw.ForeignKeyField(Planting, null=True, backref="logs")
    notes = pw.TextField(default="")
    # The log's quantity: seed amount, irrigation volume, harvest weight, ...
    quantity = pw.FloatField(null=True)
    unit = pw.CharField(max_length=16, default="")
    # input
    input_product = pw.ForeignKeyField(InputProduct, null=True)
    input_category = pw.CharField(max_length=20, default="")
    product_name = pw.CharField(max_length=120, default="")
    active_ingredient = pw.CharField(max_length=120, default="")
    dose = pw.FloatField(null=True)
    dose_unit = pw.CharField(max_length=16, default="")
    phi_days = pw.IntegerField(null=True)
    input_lot = pw.CharField(max_length=64, default="")
    # activity
    activity_kind = pw.CharField(max_length=20, default="")
    # harvest
    lot_number = pw.CharField(max_length=64, default="")
    created_by = pw.ForeignKeyField(User, null=True)
    created_at = pw.DateTimeField(default=utcnow)  # when the server stored it (for an offline entry: the sync)
    # Void and correct: a saved log is never edited. A correction is a new log that ``corrects``
    # the old one; the old one is voided (with a reason) and points at it by ``superseded_by``.
    corrects = pw.ForeignKeyField("self", null=True, backref="corrections", on_delete="SET NULL")
    superseded_by = pw.ForeignKeyField("self", null=True, backref="superseded", on_delete="SET NULL")
    voided_at = pw.DateTimeField(null=True)
    voided_by = pw.ForeignKeyField(User, null=True, backref="voided_logs")
    void_reason = pw.CharField(max_length=500, default="")
    # An entry made offline: the phone's UUID for it (the idempotency key), the fingerprint of what was
    # sent under it, and when the farmer made it (UTC).
    client_id = pw.UUIDField(null=True, unique=True)
    client_fingerprint = pw.CharField(max_length=64, null=True)
    recorded_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("farm", "timestamp"), False),)

    @property
    def voided(self):
        return self.voided_at is not None


class LogPlot(BaseModel):
    log = pw.ForeignKeyField(Log, backref="log_plots", on_delete="CASCADE")
    plot = pw.ForeignKeyField(Plot, backref="plot_logs")

    class Meta:
        indexes = ((("log", "plot"), True), (("plot", "log"), False))


PHOTO_LOG_KINDS = ("observation", "input")  # the logs that take photos from the phone's camera


class Photo(BaseModel):
    """A photo of the farm log, kept once by the SHA-256 of its stored bytes (the same photo sent twice,
    or on two logs, is one row). Unless the farmer chose to keep where it was taken, the stored bytes
    carry no location: the server removes EXIF GPS (and XMP) before hashing and storing."""

    sha256 = pw.CharField(max_length=64, unique=True)
    media_type = pw.CharField(max_length=32)
    size = pw.IntegerField()
    width = pw.IntegerField()
    height = pw.IntegerField()
    data = pw.BlobField()
    thumbnail = pw.BlobField()  # a JPEG at most PHOTO_THUMBNAIL px on its long side, no metadata
    # Whose storage it counts against (ATTACHMENT_QUOTA_BYTES): the organisation of the farm it was sent for.
    organisation = pw.ForeignKeyField(Organisation, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class LogPhoto(BaseModel):
    """A photo on a log; where it was taken only if the farmer kept the location."""

    log = pw.ForeignKeyField(Log, backref="log_photos", on_delete="CASCADE")
    photo = pw.ForeignKeyField(Photo, backref="log_photos")
    position = pw.IntegerField(default=0)
    latitude = pw.DoubleField(null=True)  # double precision: PostgreSQL's real keeps 7 digits, ~10 m here
    longitude = pw.DoubleField(null=True)

    class Meta:
        indexes = ((("log", "photo"), True), (("photo",), False))


ALERT_SOURCES = ("sensor", "weather")
ALERT_LEVELS = ("blue", "yellow", "orange", "red")  # the CMA colour scale, used for every alert
CHANNELS = ("in_app", "webhook", "wecom", "dingtalk", "sms")
DELIVERY_STATES = ("pending", "retrying", "sent", "failed")


class Alert(BaseModel):
    """An alert on a farm (or one plot of it): a sensor alarm or a weather warning.

    ``source_key`` names what raised it (a warning, a rule); there is at most one
    alert per (source, source_key, farm). ``content`` is JSON:
    {"zh": {"title", "message", "advice": [...]}, "en": {...}}.
    """

    source = pw.CharField(max_length=16)
    source_key = pw.CharField(max_length=200)
    severity = pw.CharField(max_length=8)
    farm = pw.ForeignKeyField(Farm, backref="alerts")
    plot = pw.ForeignKeyField(Plot, null=True)
    content = pw.TextField()
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    acknowledged_at = pw.DateTimeField(null=True)
    acknowledged_by = pw.ForeignKeyField(User, null=True)
    cleared_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("source", "source_key", "farm"), True), (("farm", "cleared_at"), False))


# ---------------------------------------------------------------- notifying people of alerts
# Shared by every source of alerts (sensor alarms, weather warnings); used through farms.notify.


class NotificationPreference(BaseModel):
    """How a user wants to hear of alerts: channels, minimum level, quiet hours, addresses."""

    user = pw.ForeignKeyField(User, unique=True, on_delete="CASCADE")
    channels = pw.CharField(max_length=100, default="in_app")  # comma-separated CHANNELS
    min_level = pw.CharField(max_length=8, default="blue")
    quiet_start = pw.CharField(max_length=5, null=True)  # "22:00" local time
    quiet_end = pw.CharField(max_length=5, null=True)  # "06:30"
    webhook_url = pw.CharField(max_length=500, null=True)
    wecom_url = pw.CharField(max_length=500, null=True)
    dingtalk_url = pw.CharField(max_length=500, null=True)
    phone = pw.CharField(max_length=20, null=True)

    class Meta:
        table_name = "notification_preference"


class Delivery(BaseModel):
    """One notification of one alert to one user on one channel; retried until sent or given up."""

    alert = pw.ForeignKeyField(Alert, backref="deliveries", on_delete="CASCADE")
    user = pw.ForeignKeyField(User, on_delete="CASCADE")
    channel = pw.CharField(max_length=16)
    round = pw.IntegerField(default=0)  # 0 first notice, 1.. escalations
    status = pw.CharField(max_length=16, default="pending")
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(default=utcnow)
    last_error = pw.TextField(null=True)
    sent_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "delivery"
        indexes = ((("alert", "user", "channel", "round"), True), (("status", "next_attempt_at"), False))
