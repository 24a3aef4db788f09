"""Forms for farms, plots, plantings and logs; the JSON API validates through them too."""
import json

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, FloatField, MultipleFileField, IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from farms.models import (ACTIVITY_KINDS, CERTIFICATION_KINDS, INPUT_CATEGORIES, LOG_KINDS, PESTICIDE_CATEGORIES, PLOT_KINDS,
                          START_METHODS)
from web.fields import TimestampField
from web.forms import Form

PLOT_KIND_LABELS = {"field": _l("Open field"), "orchard": _l("Orchard"), "pond": _l("Pond"),
                    "greenhouse": _l("Greenhouse")}
LOG_KIND_BADGES = {"seeding": _l("Seeding"), "input": _l("Input"), "activity": _l("Activity"),
                   "observation": _l("Observation"), "harvest": _l("Harvest")}
LOG_KIND_LABELS = {"seeding": _l("Seeding"), "input": _l("Input (fertiliser or pesticide)"),
                   "activity": _l("Activity"), "observation": _l("Observation"), "harvest": _l("Harvest")}
ACTIVITY_LABELS = {"irrigation": _l("Irrigation"), "pruning": _l("Pruning"), "weeding": _l("Weeding"),
                   "thinning": _l("Fruit thinning"), "bagging": _l("Fruit bagging"), "tillage": _l("Tillage"),
                   "mowing": _l("Mowing"), "feeding": _l("Feeding"), "water_change": _l("Water change"),
                   "other": _l("Other")}
INPUT_CATEGORY_LABELS = {"insecticide": _l("Insecticide"), "fungicide": _l("Fungicide"),
                         "acaricide": _l("Acaricide"), "herbicide": _l("Herbicide"),
                         "fertiliser": _l("Fertiliser"), "growth_regulator": _l("Growth regulator"),
                         "other": _l("Other")}
CERTIFICATION_LABELS = {"green_food": _l("Green food"), "organic": _l("Organic"),
                        "geographical_indication": _l("Geographical indication")}
START_METHOD_LABELS = {"sown": _l("Sown"), "transplanted": _l("Transplanted")}
AREA_UNITS = [("mu", _l("mu (亩)")), ("m2", _l("m²"))]


def choices(labels, keys):
    return [(key, labels[key]) for key in keys]


def _validate_geometry(form, field):
    if not field.data:
        return
    try:
        geometry = json.loads(field.data)
    except ValueError:
        raise ValidationError(_l("Not valid GeoJSON.")) from None
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise ValidationError(_l("The geometry must be a GeoJSON Polygon."))
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise ValidationError(_l("The polygon has no coordinates."))
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4 or ring[0] != ring[-1]:
            raise ValidationError(_l("Each polygon ring needs at least four points and must be closed."))
        for point in ring:
            if (not isinstance(point, list) or len(point) < 2
                    or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point[:2])
                    or not -180 <= point[0] <= 180 or not -90 <= point[1] <= 90):
                raise ValidationError(_l("Each point must be [longitude, latitude] in range."))


class FarmForm(Form):
    name = StringField(_l("Farm name"), validators=[DataRequired(), Length(max=120)])
    county_code = SelectField(_l("County"), validators=[DataRequired()], choices=[], validate_choice=True)
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    contact_phone = StringField(_l("Phone"), description=_l("Printed on the farm's certificates of conformity."),
                                validators=[Optional(), Length(max=32), Regexp(
                                    r"^\+?[0-9][0-9 ()\-]{4,30}$",
                                    message=_l("Digits, spaces, dashes and brackets only, e.g. 0797-3321234."))])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    certifications = SelectMultipleField(_l("Certifications"),
                                         choices=choices(CERTIFICATION_LABELS, CERTIFICATION_KINDS))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from web import divisions

        self.county_code.choices = [("", "—")] + [(d.code, d.name) for d in divisions.counties()]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        present = [name for name in ("latitude", "longitude") if name in self._fields]
        if len(present) == 2 and not self.latitude.errors and not self.longitude.errors \
                and (self.latitude.data is None) != (self.longitude.data is None):
            self.longitude.errors = list(self.longitude.errors) + [
                _l("Give both latitude and longitude, or neither.")]
            return False
        return ok


class PlotForm(Form):
    name = StringField(_l("Plot name"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("Kind"), choices=choices(PLOT_KIND_LABELS, PLOT_KINDS))
    area = FloatField(_l("Area"), validators=[InputRequired(), NumberRange(min=0.01, max=1_000_000)])
    area_unit = SelectField(_l("Area unit"), choices=AREA_UNITS, default="mu")
    geometry = TextAreaField(_l("Boundary (GeoJSON Polygon, optional)"),
                             validators=[Optional(), Length(max=100_000), _validate_geometry])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save"))


class PlantingForm(Form):
    crop = SelectField(_l("Crop"), coerce=int, choices=[], validators=[InputRequired()])
    variety = StringField(_l("Variety"), validators=[Optional(), Length(max=80)])
    start_method = SelectField(_l("Started by"), choices=choices(START_METHOD_LABELS, START_METHODS), default="sown")
    start_date = DateField(_l("Sowing or transplant date"), validators=[InputRequired()])
    expected_harvest = DateField(_l("Expected harvest"), validators=[Optional()])
    ended_on = DateField(_l("Ended on"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from flask_babel import get_locale

        from farms import service

        english = str(get_locale() or "zh").startswith("en")
        self.crop.choices = [(c.id, c.name_en if english else c.name_zh) for c in service.crops()]

    # With a partial (PATCH) form the start date may be absent; the service
    # then checks the order against the stored dates.
    def validate_expected_harvest(self, field):
        if field.data and "start_date" in self._fields and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The harvest cannot come before the start date."))

    def validate_ended_on(self, field):
        if field.data and "start_date" in self._fields and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end cannot come before the start date."))


def _product_option(p, english):
    label = _l("%(name)s · PHI %(days)d d", name=p.name_en if english else p.name_zh, days=p.phi_days) \
        if p.category in PESTICIDE_CATEGORIES else (p.name_en if english else p.name_zh)
    return (p.id, label, {"data-ingredient": p.active_ingredient, "data-phi": p.phi_days,
                          "data-category": p.category, "data-unit": p.default_unit})


def product_choices(products, english, recent_ids=(), crop_ids=()):
    """The product picker: recently used on the farm first, then those registered for the plot's
    crop, then every pesticide and every fertiliser; each option carries its ingredient and
    interval for the form's script. No product is chosen in advance."""
    by_id = {p.id: p for p in products}
    groups = {}
    recent = [by_id[i] for i in recent_ids if i in by_id]
    if recent:
        groups[str(_l("Used recently on this farm"))] = [_product_option(p, english) for p in recent]
    shown = {p.id for p in recent}
    for_crop = [p for p in products if p.id in set(crop_ids) and p.id not in shown]
    if for_crop:
        groups[str(_l("Registered for this crop"))] = [_product_option(p, english) for p in for_crop]
    groups[str(_l("Pesticides"))] = [_product_option(p, english) for p in products
                                     if p.category in PESTICIDE_CATEGORIES]
    groups[str(_l("Fertilisers and others"))] = [_product_option(p, english) for p in products
                                                 if p.category not in PESTICIDE_CATEGORIES]
    return groups


class LogForm(Form):
    kind = SelectField(_l("Kind"), choices=choices(LOG_KIND_LABELS, LOG_KINDS))
    timestamp = TimestampField(_l("Date and time"), validators=[InputRequired()])
    # Archived plots are not offered, but a log naming one (an entry made offline before it was archived)
    # reaches the service, which refuses it with the reason; it checks every plot belongs to the farm.
    plots = SelectMultipleField(_l("Plots"), coerce=int, choices=[], validators=[DataRequired()],
                                validate_choice=False)
    planting = SelectField(_l("Planting"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                           choices=[], validators=[Optional()], validate_choice=False)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    quantity = FloatField(_l("Quantity"), validators=[Optional(), NumberRange(min=0)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=16)])
    # input
    input_product = SelectField(_l("Product"), coerce=lambda v: int(v) if v not in (None, "", "None") else None,
                                choices=[], validators=[Optional()], validate_choice=False)
    input_category = SelectField(_l("Input type"), choices=[], validators=[Optional()])
    product_name = StringField(_l("Product name"), validators=[Optional(), Length(max=120)])
    active_ingredient = StringField(_l("Active ingredient"), validators=[Optional(), Length(max=120)])
    dose = FloatField(_l("Dose"), validators=[Optional(), NumberRange(min=0)])
    dose_unit = StringField(_l("Dose unit"), validators=[Optional(), Length(max=16)])
    phi_days = IntegerField(_l("Pre-harvest interval (days)"), validators=[Optional(), NumberRange(min=0, max=365)])
    input_lot = StringField(_l("Input lot number"), validators=[Optional(), Length(max=64)])
    # activity
    activity_kind = SelectField(_l("Activity"), choices=[("", "—")] + choices(ACTIVITY_LABELS, ACTIVITY_KINDS),
                                validators=[Optional()])
    # harvest
    lot_number = StringField(_l("Harvest lot number"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Save log"))

    def __init__(self, *args, farm=None, **kwargs):
        super().__init__(*args, **kwargs)
        from flask_babel import get_locale

        from farms import service

        english = str(get_locale() or "zh").startswith("en")
        self.plots.choices = [(p.id, p.name) for p in service.plots_of(farm) if p.archived_at is None] if farm else []
        self.input_product.choices = product_choices(service.input_products(), english)
        self.input_category.choices = [("", "—")] + choices(INPUT_CATEGORY_LABELS, INPUT_CATEGORIES)


class NewLogForm(LogForm):
    """A new log from the page: an observation or input log also takes photos from the phone's camera
    (a correction keeps the photos of the log it corrects). The JSON API takes them as multipart parts."""

    photos = MultipleFileField(_l("Photos"), render_kw={"accept": "image/*", "capture": "environment"})
    keep_location = BooleanField(_l("Keep the photo's location"))

    PHOTO_FIELDS = ("photos", "keep_location")

    def log_data(self):
        """What the log says, without its photos (they are passed on their own, checked and made safe)."""
        return {key: value for key, value in self.data.items() if key not in self.PHOTO_FIELDS}


class LogCorrectionForm(LogForm):
    reason = StringField(_l("Why is it corrected?"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save the correction"))


class VoidLogForm(Form):
    reason = StringField(_l("Why is it voided?"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Void this log"))


class FarmInvitationForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[("worker", _l("worker")), ("owner", _l("owner"))], default="worker")
    submit = SubmitField(_l("Invite"))
