"""Recording the farm log: a log checked in full before anything is written (by a user, once per
offline entry) and observations written by the system."""
import datetime as dt

import peewee as pw
from flask_babel import gettext as _

from farms import catalogue
from farms._access import access_to
from farms._logphotos import _attach_photos, _check_photos, _distinct_photos
from farms._offline import _fingerprint, _offline_log, _refuse_harvest_inside_safe_interval
from farms.models import LOG_KINDS, PESTICIDE_CATEGORIES, InputProduct, Log, LogPlot, Planting, Plot
from web.clock import to_utc_naive, utcnow
from web.db import ValidationError, database
from web.permissions import Access, require


REQUIRED_BY_KIND = {
    "input": ("product_name", "dose", "dose_unit"),
    "activity": ("activity_kind",),
    "harvest": ("quantity", "unit"),
}


def create_log(user, farm, data, offline=None, photos=()):
    """Add a log to the farm log; everything is checked before anything is written.

    ``offline`` (an OfflineEntry) is a log the farmer made on the phone without a connection: it is
    stored once under its UUID however often it is sent, keeps the time it was made, and a harvest in
    it is refused inside a pesticide's safe interval unless the farmer confirmed it.

    ``photos`` (PreparedPhoto, from ``prepare_photo``) go with an observation or input log; each is
    kept once by its SHA-256 whatever the logs it is on, and counts against the organisation's
    ATTACHMENT_QUOTA_BYTES."""
    require(access_to(user, farm), Access.LOG)
    photos = _distinct_photos(photos)
    if offline is not None:
        offline.fingerprint = _fingerprint(data, offline, photos)
        existing = _offline_log(user, farm, offline)
        if existing is not None:
            return existing
    checked = _checked_log(farm, data, offline)
    row, plots = checked
    if photos:
        _check_photos(farm, row["kind"], photos)
    if offline is not None:
        row.update(client_id=offline.client_id, client_fingerprint=offline.fingerprint,
                   recorded_at=to_utc_naive(offline.recorded_at) if offline.recorded_at else None)
    try:
        with database.atomic():
            log = _write_log(user, farm, checked)
            _attach_photos(log, farm, photos)
    except pw.IntegrityError:
        # The same entry sent twice at once: the other request stored it first.
        existing = _offline_log(user, farm, offline) if offline is not None else None
        if existing is None:
            raise
        return existing
    log.just_created = True
    return log


def _checked_log(farm, data, offline=None):
    """The row and plots of a new log from ``data``, or ValidationError naming every bad field."""
    kind = data.get("kind")
    if kind not in LOG_KINDS:
        raise ValidationError(_("Unknown log kind."), {"kind": _("Choose a log kind.")})
    values = {key: data.get(key) for key in (
        "notes", "quantity", "unit", "input_category", "product_name", "active_ingredient", "dose",
        "dose_unit", "phi_days", "input_lot", "activity_kind", "lot_number")}
    errors = {}

    plot_ids = sorted(set(data.get("plots") or []))
    plots = list(Plot.select().where((Plot.id.in_(plot_ids)) & (Plot.farm == farm))) if plot_ids else []
    if not plot_ids or len(plots) != len(plot_ids):
        errors["plots"] = _("Choose one or more plots of this farm.")
    elif any(plot.archived_at for plot in plots):
        errors["plots"] = _("The plot %(name)s has been archived and takes no new logs.",
                            name=", ".join(plot.name for plot in plots if plot.archived_at))

    planting = None
    if data.get("planting"):
        planting = Planting.get_or_none(Planting.id == data["planting"])
        if planting is None or planting.plot_id not in plot_ids:
            errors["planting"] = _("The planting must be on one of the chosen plots.")

    if kind == "input":
        product = None
        if data.get("input_product"):
            product = InputProduct.get_or_none(InputProduct.id == data["input_product"])
            if product is None:
                errors["input_product"] = _("Unknown product.")
        if product is not None:
            # The catalogue fills in what the farmer left empty.
            values["product_name"] = values["product_name"] or product.name_zh
            values["active_ingredient"] = values["active_ingredient"] or product.active_ingredient
            values["input_category"] = values["input_category"] or product.category
            if values["phi_days"] is None:
                values["phi_days"] = product.phi_days
            values["dose_unit"] = values["dose_unit"] or product.default_unit
        values["input_product"] = product
        if values["input_category"] and values["input_category"] not in catalogue.INPUT_CATEGORIES:
            errors["input_category"] = _("Unknown input type.")
        if values["input_category"] in PESTICIDE_CATEGORIES and values["phi_days"] is None:
            errors["phi_days"] = _("A pesticide needs its pre-harvest interval.")
    if kind == "input" and not values.get("product_name") and "input_product" not in errors:
        # One message, on the picker the farmer sees (the name field is the fallback under "more").
        errors["input_product"] = _("Choose a product, or type its name under More details.")
    for field in REQUIRED_BY_KIND.get(kind, ()):
        if field in ("product_name", "dose_unit") and "input_product" in errors:
            continue  # the product, once chosen, gives its name and usual unit
        if values.get(field) in (None, ""):
            errors.setdefault(field, _("Required for this kind of log."))
    if kind != "input":
        for field in ("input_category", "product_name", "active_ingredient", "dose", "dose_unit",
                      "phi_days", "input_lot"):
            if values.get(field) not in (None, ""):
                errors.setdefault(field, _("Only input logs have this field."))
        values.pop("input_product", None)
    if kind != "activity" and values.get("activity_kind"):
        errors["activity_kind"] = _("Only activity logs have this field.")
    if kind != "harvest" and values.get("lot_number"):
        errors["lot_number"] = _("Only harvest logs have this field.")
    if (values.get("quantity") is None) != (not values.get("unit")) \
            and "quantity" not in errors and "unit" not in errors:
        errors["unit"] = _("Give a quantity together with its unit.")

    timestamp = data.get("timestamp")
    if not isinstance(timestamp, dt.datetime):
        errors["timestamp"] = _("Required.")
    elif to_utc_naive(timestamp) > utcnow() + dt.timedelta(days=1):
        errors["timestamp"] = _("A log cannot be more than a day in the future.")
    if offline is not None:
        errors.update(offline.errors())
    if errors:
        raise ValidationError(_("The log was not saved; please correct the marked fields."), errors)
    if offline is not None and kind == "harvest" and not offline.confirm_safe_interval:
        _refuse_harvest_inside_safe_interval(plot_ids, to_utc_naive(timestamp))

    row = {key: ("" if value is None and key not in ("quantity", "dose", "phi_days", "input_product")
                 else value) for key, value in values.items()}
    row.update(kind=kind, timestamp=to_utc_naive(timestamp), planting=planting)
    return row, plots


def _write_log(user, farm, checked, corrects=None):
    row, plots = checked
    log = Log.create(farm=farm, created_by=user, corrects=corrects, **row)
    LogPlot.insert_many([{"log": log.id, "plot": plot.id} for plot in plots]).execute()
    return log


def record_observation(farm_id, plot_ids, timestamp_utc, notes, quantity=None, unit=""):
    """Write an observation log on behalf of the system (a sensor daily record, say): no user.

    For callers that judge access themselves (scheduled jobs); the log has ``created_by`` None.
    """
    plot_ids = sorted(set(plot_ids))
    found = Plot.select(Plot.id).where(Plot.id.in_(plot_ids or [0]) & (Plot.farm == farm_id)).count()
    if not plot_ids or found != len(plot_ids):
        raise ValidationError(_("Choose one or more plots of this farm."), {"plots": "not on this farm"})
    if (quantity is None) != (not unit):
        raise ValidationError(_("Give a quantity together with its unit."), {"unit": "with quantity"})
    if timestamp_utc.tzinfo is not None:
        timestamp_utc = to_utc_naive(timestamp_utc)
    with database.atomic():
        log = Log.create(farm=farm_id, kind="observation", timestamp=timestamp_utc, notes=notes,
                         quantity=quantity, unit=unit or "", created_by=None)
        LogPlot.insert_many([{"log": log.id, "plot": plot_id} for plot_id in plot_ids]).execute()
    return log
