"""Forms of the batch pages (a batch from a harvest, journey events, inspections, split, merge, transform)
and the bodies of the JSON API, one form per body."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (BooleanField, FieldList, FloatField, FormField, HiddenField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, SubmitField, TextAreaField)
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from trace import digital_link
from web.clock import local_zone
from web.fields import JSONBoolean, JSONInteger, JSONList, JSONNumber, JSONObject, JSONText, JSONTimestamp, TimestampField
from web.forms import Form, JSONForm

STEP_LABELS = {
    "commissioning": _l("Harvested and batched"), "transforming": _l("Made from other batches"),
    "inspecting": _l("Inspected"), "sampling": _l("Sampled for testing"), "packing": _l("Packed"),
    "storing": _l("Stored"), "shipping": _l("Shipped"), "receiving": _l("Received"),
    "retail_selling": _l("Sold in a shop"),
}
# What the user picks when recording a step (the journey shows STEP_LABELS: what happened).
STEP_CHOICE_LABELS = {
    "shipping": _l("Shipping"), "receiving": _l("Receiving"), "storing": _l("Storage"), "packing": _l("Packing"),
    "retail_selling": _l("Retail sale"), "sampling": _l("Sampling"), "inspecting": _l("Inspection"),
}
LINEAGE_LABELS = {"split": _l("Split from"), "merge": _l("Merged from"), "transform": _l("Processed from")}
STATUS_LABELS = {"active": _l("Active"), "in_transit": _l("In transit"), "consumed": _l("Used up"),
                 "sold": _l("Sold"), "recalled": _l("Recalled")}
SCAN_WARNING_LABELS = {
    "frequent": _l("This code was scanned unusually often in the last hour."),
    "new_places": _l("After its retail sale, this code was scanned in many new places."),
}
# What the consumer page says of each journey event's seal (see the chain domain).
SEAL_LABELS = {"verified": _l("verified"), "pending": _l("pending"), "tampered": _l("changed"),
               "missing": _l("missing"), "unknown_root": _l("not on the chain")}
# The grounds of a certificate's promise (承诺依据), worded as on the official template.
BASIS_LABELS = {"commissioned_test": _l("Commissioned test"), "self_test": _l("Own test"),
                "internal_control": _l("Internal quality control"), "self_commitment": _l("Self-commitment")}
# The units the consumer page shows, as a shopper would have them explained: (shown as, meaning).
UNIT_EXPLANATIONS = {
    "mg/kg": ("mg/kg", _l("milligrams per kilogram: 0.01 mg/kg is a hundredth of a gram in a tonne of produce.")),
    "mS/cm": ("mS/cm", _l("millisiemens per centimetre: how much salt and fertiliser is dissolved in the soil; "
                          "the higher, the saltier.")),
    "pH": ("pH", _l("acidity of the soil: 7 is neutral, below 7 acid, above 7 alkaline.")),
    "%RH": ("%", _l("air humidity: how close the air is to holding all the water vapour it can (100 %).")),
    "ppm": ("ppm", _l("parts per million: the share of carbon dioxide in the air; outdoor air has about 420.")),
    "lx": ("lx", _l("lux, brightness: full midday sun is about 100 000 lx.")),
    "umol/m2/s": ("µmol/m²/s", _l("the light plants can use to grow, per square metre and second.")),
    "mm": ("mm", _l("millimetres of rain: how deep it would stand on flat ground.")),
}
# Organisations a batch may be shipped to (labs and bureaus take samples, not batches).
SHIPPING_KINDS = ("farm", "cooperative", "buyer", "processor", "logistics", "retailer")
MAX_INSPECTION_ITEMS = 5


def _now():
    return dt.datetime.now(local_zone()).replace(second=0, microsecond=0)


def _check_gtin(form, field):
    if field.data and not digital_link.is_valid_gtin(field.data.strip()):
        raise ValidationError(_l("Not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)."))


def _check_lot(form, field):
    if field.data:
        try:
            digital_link.check_lot(field.data.strip())
        except ValueError:
            raise ValidationError(_l("Use 1 to 20 letters, digits or - . / _ characters.")) from None


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class BatchForm(Form):
    harvest_log = HiddenField(validators=[DataRequired()])
    lot_number = StringField(_l("Lot number"), validators=[DataRequired(), Length(max=20), _check_lot])
    quantity = FloatField(_l("Quantity"), validators=[Optional(), NumberRange(min=0.001)])
    gtin = StringField(_l("GTIN (optional)"), validators=[Optional(), Length(max=14), _check_gtin])
    override_inspection = IntegerField(_l("Residue test number (optional)"),
                                       validators=[Optional(), NumberRange(min=1)])
    submit = SubmitField(_l("Create batch"))


class EventForm(Form):
    biz_step = SelectField(_l("Step"), choices=[])
    event_time = TimestampField(_l("Date and time"), validators=[InputRequired()], default=_now)
    place = StringField(_l("Place"), validators=[Optional(), Length(max=120)])
    quantity = FloatField(_l("Quantity"), validators=[Optional(), NumberRange(min=0.001)])
    destination = SelectField(_l("Shipped to"), coerce=_optional_int, choices=[], validate_choice=False,
                              validators=[Optional()])
    # A buyer not yet in the directory, entered while shipping (its people claim it later by invitation).
    new_destination = StringField(_l("Or a new buyer’s name"), validators=[Optional(), Length(max=120)])
    new_destination_kind = SelectField(_l("Kind"), choices=[("buyer", _l("Buyer")), ("processor", _l("Processor")),
                                                            ("logistics", _l("Logistics")),
                                                            ("retailer", _l("Retailer"))], default="buyer")
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=1000)])
    attachment = FileField(_l("Attachment (photo or document, at most 5 MB)"))
    submit = SubmitField(_l("Record"))

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        from web.accounts.models import Organisation

        self.biz_step.choices = [(step, STEP_CHOICE_LABELS[step]) for step in steps]
        self.destination.choices = [("", "—")] + [
            (o.id, o.name) for o in Organisation.select(Organisation.id, Organisation.name)
            .where(Organisation.kind.in_(SHIPPING_KINDS)).order_by(Organisation.name)]

    def validate_destination(self, field):
        if field.data and (self.new_destination.data or "").strip():
            raise ValidationError(_l("Choose an organisation from the list or name a new one, not both."))
        if self.biz_step.data == "shipping" and not field.data and not (self.new_destination.data or "").strip():
            raise ValidationError(_l("Choose where the batch is shipped to."))


class ItemForm(SubForm):
    """One tested substance of an inspection (a sub-form: the page's form carries the CSRF token)."""

    name = StringField(_l("Substance"), validators=[Optional(), Length(max=80)])
    result = FloatField(_l("Result"), validators=[Optional()])
    limit = FloatField(_l("Limit"), validators=[Optional()])
    unit = StringField(_l("Unit"), default="mg/kg", validators=[Optional(), Length(max=16)])


class InspectionForm(Form):
    event_time = TimestampField(_l("Sampled at"), validators=[InputRequired()], default=_now)
    # No result is offered ticked: the inspector says which it was.
    passed = RadioField(_l("Result of the test"), choices=[("pass", _l("Passed")), ("fail", _l("Failed"))],
                        validators=[InputRequired(message=_l("Say whether the sample passed or failed."))])
    items = FieldList(FormField(ItemForm), min_entries=MAX_INSPECTION_ITEMS, max_entries=MAX_INSPECTION_ITEMS)
    attachment = FileField(_l("Test report (optional, at most 5 MB)"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Record inspection"))

    def validate_items(self, field):
        if not any((entry.form.name.data or "").strip() for entry in field.entries):
            raise ValidationError(_l("Name at least one tested substance."))

    def item_list(self):
        return [{"name": e.form.name.data.strip(), "result": e.form.result.data, "limit": e.form.limit.data,
                 "unit": (e.form.unit.data or "").strip()}
                for e in self.items.entries if (e.form.name.data or "").strip()]


def _quantities(text):
    parts = [p.strip() for p in (text or "").replace("，", ",").split(",") if p.strip()]
    return [float(p) for p in parts]


class SplitForm(Form):
    quantities = StringField(_l("Quantities of the new batches"), validators=[DataRequired(), Length(max=400)])
    submit = SubmitField(_l("Split"))

    def validate_quantities(self, field):
        try:
            values = _quantities(field.data)
        except ValueError:
            raise ValidationError(_l("Give numbers separated by commas, e.g. 1000, 500.")) from None
        if not values or any(v <= 0 for v in values):
            raise ValidationError(_l("Each quantity must be above zero."))
        if len(values) > 50:
            raise ValidationError(_l("At most 50 parts at once."))

    def values(self):
        return _quantities(self.quantities.data)


class MergeForm(Form):
    batches = SelectMultipleField(_l("Merge this batch with"), coerce=int, choices=[],
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                  validators=[DataRequired(message=_l("Choose at least one other batch."))])
    lot_number = StringField(_l("Lot number of the merged batch"),
                             validators=[DataRequired(), Length(max=20), _check_lot])
    submit = SubmitField(_l("Merge"))


class InputRow(SubForm):
    batch = HiddenField()
    quantity = FloatField(validators=[Optional(), NumberRange(min=0.001)])


class TransformForm(Form):
    inputs = FieldList(FormField(InputRow))
    product_zh = StringField(_l("New product (Chinese)"), validators=[DataRequired(), Length(max=120)])
    product_en = StringField(_l("New product (English)"), validators=[Optional(), Length(max=120)])
    quantity = FloatField(_l("Output quantity"), validators=[InputRequired(), NumberRange(min=0.001)])
    unit = StringField(_l("Unit"), validators=[DataRequired(), Length(max=16)])
    lot_number = StringField(_l("Lot number"), validators=[DataRequired(), Length(max=20), _check_lot])
    gtin = StringField(_l("GTIN (optional)"), validators=[Optional(), Length(max=14), _check_gtin])
    submit = SubmitField(_l("Record processing"))

    def validate_inputs(self, field):
        if not self.input_list():
            raise ValidationError(_l("Give the quantity used of at least one batch."))

    def input_list(self):
        """[(batch id, quantity)] of the rows with a quantity."""
        rows = []
        for entry in self.inputs.entries:
            try:
                batch_id = int(entry.form.batch.data)
            except (TypeError, ValueError):
                continue
            if entry.form.quantity.data:
                rows.append((batch_id, entry.form.quantity.data))
        return rows


# --------------------------------------------------------------- JSON API bodies (trace/openapi.yaml)

def _attachments():
    return JSONList(JSONText(max_length=64, required=True))


class BatchBody(JSONForm):
    harvest_log = JSONInteger(required=True)
    lot_number = JSONText(max_length=20)
    gtin = JSONText(max_length=14)
    quantity = JSONNumber(positive=True)
    override_inspection = JSONInteger()


class InspectionItemBody(JSONForm):
    name = JSONText(required=True, max_length=80)
    result = JSONNumber()
    limit = JSONNumber()
    unit = JSONText(max_length=16)
    passed = JSONBoolean()


class EventBody(JSONForm):
    biz_step = JSONText(required=True, max_length=32)
    event_time = JSONTimestamp(required=True)
    place = JSONText()
    quantity = JSONNumber(positive=True)
    destination = JSONInteger()
    notes = JSONText(max_length=1000)
    attachments = _attachments()
    passed = JSONBoolean()
    items = JSONList(JSONObject(InspectionItemBody))


class CorrectionBody(JSONForm):
    CORRECTED = ("event_time", "place", "notes", "quantity")

    event_time = JSONTimestamp()
    place = JSONText()
    notes = JSONText(max_length=1000)
    quantity = JSONNumber(positive=True)
    reason = JSONText(max_length=64)

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if all(self[name].data is None for name in self.CORRECTED):
            self.message = _l("Say what to correct.")
            self.place.errors.append(_l("Give at least one corrected field."))
            return False
        return True


class PlotInspectionBody(JSONForm):
    sampled_at = JSONTimestamp(required=True)
    passed = JSONBoolean(required=True)
    items = JSONList(JSONObject(InspectionItemBody))
    attachments = _attachments()


class SplitBody(JSONForm):
    quantities = JSONList(JSONNumber(positive=True, required=True), required=True)
    lot_numbers = JSONList(JSONText(max_length=20, required=True))
    event_time = JSONTimestamp()


class MergeBody(JSONForm):
    batches = JSONList(JSONInteger(required=True), required=True, unique=lambda batch_id: batch_id,
                       unique_message=_l("Each batch only once."))
    lot_number = JSONText(required=True, max_length=20)
    event_time = JSONTimestamp()


class InputBody(JSONForm):
    batch = JSONInteger(required=True)
    quantity = JSONNumber(required=True, positive=True)


class ProductBody(JSONForm):
    zh = JSONText(required=True, max_length=120)
    en = JSONText(max_length=120)


class TransformBody(JSONForm):
    inputs = JSONList(JSONObject(InputBody, required=True), required=True, unique=lambda item: item["batch"],
                      unique_message=_l("Each batch only once."))
    product = JSONObject(ProductBody, required=True, message=_l("An object with zh and en names."))
    quantity = JSONNumber(required=True, positive=True)
    unit = JSONText(required=True, max_length=16)
    lot_number = JSONText(required=True, max_length=20)
    gtin = JSONText(max_length=14)
    event_time = JSONTimestamp()
