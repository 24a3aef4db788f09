"""Batches: made from a harvest (checking pre-harvest intervals), split, merged and transformed."""
import datetime as dt
import json
import math
import re

from flask_babel import gettext as _

from farms import service as farms
from sensors import service as sensors
from trace import digital_link, permissions
from trace._access import _require_holder
from trace._core import NS, TRANSFORMING, _new_code, canonical_json
from trace._events import (_append, _attachments, _base_document, _check_time, _inspection_items,
                           _last_event_time, _positive, _quantity_element)
from trace._lineage import _locked
from trace.models import Batch, BatchLink, Event, Inspection, PhiRefusal
from web.accounts.models import Organisation
from web.clock import from_utc_naive, local_zone, to_utc_naive
from web.db import Conflict, ValidationError, database
from web.permissions import Denied

def _phi_violations(harvest):
    """Pesticide applications whose pre-harvest interval had not elapsed at harvest."""
    harvest_day = from_utc_naive(harvest.harvested_at).date()
    since = harvest.harvested_at - dt.timedelta(days=366)
    violations = []
    for application in farms.input_applications(harvest.plot_ids, since=since, until=harvest.harvested_at,
                                                pesticides_only=True):
        applied_day = from_utc_naive(application["applied_at"]).date()
        safe_day = applied_day + dt.timedelta(days=application["phi_days"])
        if harvest_day < safe_day:
            violations.append(dict(application, applied_day=applied_day, safe_day=safe_day))
    return violations


def _planting_since(harvest):
    """Start of the harvest's planting (naive UTC), or None."""
    if not harvest.planting_start:
        return None
    return to_utc_naive(dt.datetime.combine(harvest.planting_start, dt.time(), tzinfo=local_zone()))


def _growing_conditions(harvest):
    """What the plots' sensors saw over the season: since planting, at most the year before harvest."""
    year_before = harvest.harvested_at - dt.timedelta(days=365)
    since = max(_planting_since(harvest) or year_before, year_before)
    return sensors.growing_conditions(harvest.plot_ids, since, harvest.harvested_at)


def _applied_inputs(harvest):
    """Every input applied to the plots during the planting up to harvest, for the consumer."""
    since = _planting_since(harvest)
    return [{"product": a["product_name"], "activeIngredient": a["active_ingredient"],
             "category": a["category"], "date": from_utc_naive(a["applied_at"]).date().isoformat(),
             "phiDays": a["phi_days"]}
            for a in farms.input_applications(harvest.plot_ids, since=since, until=harvest.harvested_at)]


def unbatched_quantity(harvest):
    """What of a harvest is not yet in a batch (below zero if its log was corrected down since):
    batches made from the logs it corrects count too."""
    lineage = farms.log_lineage(harvest.log_id)
    already = sum(b.quantity for b in Batch.select(Batch.quantity).where(Batch.harvest_log.in_(lineage)))
    return (harvest.quantity or 0) - already


def _refusal_message(violations):
    first = violations[0]
    return _("%(product)s was applied on %(applied)s; its pre-harvest interval of %(days)d days "
             "ends on %(safe)s. The earliest safe harvest date is %(safe)s.",
             product=first["product_name"], applied=first["applied_day"].isoformat(),
             days=first["phi_days"], safe=max(v["safe_day"] for v in violations).isoformat())


def batch_refusal(user, log_id):
    """Why a batch from harvest log ``log_id`` would be refused now for the pre-harvest interval
    (the message create_batch gives), or None. Only the interval: a residue test overrides it."""
    harvest = farms.harvest_record(user, log_id)
    violations = _phi_violations(harvest)
    return _refusal_message(violations) if violations else None


def batches_recording_log(log):
    """Batches whose recorded (hashed) commissioning event holds this log's data: the batch made
    from a harvest log, or the batches whose applied inputs list this input log. Events are never
    rewritten when a log is corrected; this is what a correction cannot change."""
    if log.kind == "harvest":
        return list(Batch.select().where(Batch.harvest_log == log.id).order_by(Batch.id))
    if log.kind != "input":
        return []
    plot_ids = [p.id for p in farms.plots_of_logs([log])[log.id]]
    harvest_ids = farms.harvest_log_ids(plot_ids, since=log.timestamp)
    if not harvest_ids:
        return []
    applied = {"product": log.product_name, "date": from_utc_naive(log.timestamp).date().isoformat(),
               "phiDays": log.phi_days or 0}
    rows = (Event.select(Event.batch, Event.document)
            .where(Event.batch.in_(Batch.select(Batch.id).where(Batch.harvest_log.in_(harvest_ids)))
                   & (Event.biz_step == "commissioning") & (Event.kind == "event")).tuples())
    found = set()
    for batch_id, document in rows:
        for item in json.loads(document).get("ilmd", {}).get(f"{NS}:inputsApplied", []):
            if all(item.get(key) == value for key, value in applied.items()):
                found.add(batch_id)
    return list(Batch.select().where(Batch.id.in_(sorted(found) or [0])).order_by(Batch.id))


def create_batch(user, data):
    """Make a batch from a harvest log, refusing it while a pesticide's interval has not elapsed.

    ``data``: harvest_log, lot_number (default: the harvest's lot), gtin, quantity (default: the
    harvest's), override_inspection (id of a passing residue test of the plot, to override the rule).
    """
    harvest = farms.harvest_record(user, data.get("harvest_log"))
    violations = _phi_violations(harvest)
    override = None
    if violations:
        override = _override_inspection(data.get("override_inspection"), harvest, violations)
        if override is None:
            PhiRefusal.create(harvest_log=harvest.log_id, farm=harvest.farm_id)
            message = _refusal_message(violations)
            raise ValidationError(message, {"harvest_log": message})
    gtin = data.get("gtin") or None
    if gtin:
        try:
            gtin = digital_link.normalise_gtin(gtin)
        except ValueError as e:
            raise ValidationError(_("Not a valid GTIN."), {"gtin": str(e)}) from None
    lot = (data.get("lot_number") or harvest.lot_number or "").strip()
    if not lot:  # nothing given and the harvest has none: an unguessable one, not a count
        lot = _free_lot(harvest.organisation_id, "LOT")
    try:
        digital_link.check_lot(lot)
    except ValueError as e:
        raise ValidationError(_("Not a valid lot number."), {"lot_number": str(e)}) from None
    available = unbatched_quantity(harvest)
    quantity = data.get("quantity") or available
    if not _positive(quantity) or quantity > available + 1e-9:
        raise ValidationError(_("The quantity must be above zero and at most the unbatched harvest."),
                              {"quantity": _("At most %(q)g %(unit)s.", q=max(available, 0), unit=harvest.unit)})
    organisation = Organisation.get_by_id(harvest.organisation_id)
    with database.atomic():
        if Batch.select().where((Batch.organisation == organisation) & (Batch.lot_number == lot)).exists():
            raise Conflict(_("This lot number is already used by your organisation."),
                           {"lot_number": _("Already used.")})
        batch = Batch.create(
            code=_new_code(), organisation=organisation, holder=organisation, lot_number=lot, gtin=gtin,
            product_name=harvest.crop_name_zh, product_name_en=harvest.crop_name_en, crop_code=harvest.crop_code,
            variety=harvest.variety, farm=harvest.farm_id, plot=harvest.plot_ids[0], harvest_log=harvest.log_id,
            harvest_date=from_utc_naive(harvest.harvested_at).date(), quantity=quantity, remaining=quantity,
            unit=harvest.unit, created_by=user)
        when = from_utc_naive(harvest.harvested_at)
        farm = farms.public_farm(harvest.farm_id)
        document = _base_document(batch, "ObjectEvent", "commissioning", when, organisation, user, harvest.farm_name)
        document.update({
            "action": "ADD", "disposition": "active", "quantityList": [_quantity_element(batch, quantity)],
            "ilmd": {
                f"{NS}:product": {"zh": harvest.crop_name_zh, "en": harvest.crop_name_en, "crop": harvest.crop_code},
                f"{NS}:variety": harvest.variety,
                f"{NS}:harvestDate": batch.harvest_date.isoformat(),
                f"{NS}:farm": {"id": harvest.farm_id, "name": harvest.farm_name,
                               "countyCode": harvest.county_code, "county": farm["county"],
                               "certifications": farm["certifications"]},
                f"{NS}:plots": list(harvest.plot_names),
                f"{NS}:plantingStart": harvest.planting_start.isoformat() if harvest.planting_start else None,
                f"{NS}:inputsApplied": _applied_inputs(harvest),
            },
        })
        conditions = _growing_conditions(harvest)
        if conditions:
            document["ilmd"][f"{NS}:growingConditions"] = conditions
        if override is not None:
            document["ilmd"][f"{NS}:phiOverride"] = {"inspection": override.id, "lab": override.lab.name,
                                                     "sampledAt": from_utc_naive(override.sampled_at).isoformat()}
        _append(batch, document, organisation, user)
    return batch


def _override_inspection(inspection_id, harvest, violations):
    if not inspection_id:
        return None
    inspection = Inspection.get_or_none(Inspection.id == inspection_id)
    latest = max(v["applied_at"] for v in violations)
    if (inspection is None or not inspection.passed or inspection.plot_id not in harvest.plot_ids
            or inspection.sampled_at < latest or inspection.sampled_at > harvest.harvested_at + dt.timedelta(days=3)):
        raise ValidationError(
            _("An override needs a passing residue test of this plot, sampled after the last spraying."),
            {"override_inspection": _("Not a passing residue test of this plot after the spraying.")})
    return inspection


def record_plot_inspection(user, plot_id, data):
    """An inspector's residue test on a plot before harvest (used to override the interval rule)."""
    if not permissions.can_inspect(user):
        raise Denied(403, _("Only inspectors record inspections."))
    plot = farms.get_plot(user, plot_id)
    when = data.get("sampled_at")
    _check_time(when)
    items = _inspection_items(data.get("items"))
    passed = bool(data.get("passed")) and all(item["passed"] for item in items)
    return Inspection.create(lab=user.organisation, inspector=user, plot=plot.id, sampled_at=to_utc_naive(when),
                             passed=passed, items=canonical_json(items),
                             report_sha256=(_attachments(data.get("attachments")) or [{}])[0].get("sha256"))


def _child_batch(parent, organisation, user, lot, quantity, product=None):
    product = product or {}
    return Batch.create(
        code=_new_code(), organisation=organisation, holder=organisation, lot_number=lot,
        gtin=product.get("gtin", parent.gtin), product_name=product.get("zh", parent.product_name),
        product_name_en=product.get("en", parent.product_name_en), crop_code=product.get("crop", parent.crop_code),
        variety=product.get("variety", parent.variety), farm=parent.farm_id if not product.get("multi") else None,
        plot=parent.plot_id if not product.get("multi") else None, harvest_log=None,
        harvest_date=parent.harvest_date, quantity=quantity, remaining=quantity,
        unit=product.get("unit", parent.unit), created_by=user)


def _lot_free(organisation, lot):
    if Batch.select().where((Batch.organisation == organisation) & (Batch.lot_number == lot)).exists():
        raise Conflict(_("This lot number is already used by your organisation."), {"lot_number": lot})
    try:
        digital_link.check_lot(lot)
    except ValueError as e:
        raise ValidationError(_("Not a valid lot number."), {"lot_number": str(e)}) from None


def _transformation(user, inputs, output, when, organisation, kind, place=None):
    """Record the TransformationEvent that made ``output`` from ``inputs`` [(batch, quantity)]."""
    document = _base_document(output, "TransformationEvent", TRANSFORMING, when, organisation, user, place)
    document["inputQuantityList"] = [_quantity_element(batch, qty) for batch, qty in inputs]
    document["outputQuantityList"] = [_quantity_element(output, output.quantity)]
    document["disposition"] = "active"
    document[f"{NS}:lineage"] = kind
    document[f"{NS}:inputs"] = [batch.code for batch, _qty in inputs]
    document[f"{NS}:product"] = {"zh": output.product_name, "en": output.product_name_en}
    for batch, qty in inputs:
        BatchLink.create(parent=batch, child=output, kind=kind, quantity=qty)
    return _append(output, document, organisation, user)


def _use(batch, quantity):
    batch.remaining = round(batch.remaining - quantity, 6)
    if batch.remaining <= 1e-9:
        batch.remaining, batch.status = 0, "consumed"
    batch.save()


def _free_lot(organisation, prefix):
    while True:
        lot = farms.suggest_lot(prefix)
        if not Batch.select().where((Batch.organisation == organisation) & (Batch.lot_number == lot)).exists():
            return lot


def _lots(data_lots, base, count, organisation):
    """The lots given, then suggested ones for the rest: the parent's prefix and a random part (a parent's
    lot plus "-1", "-2" would be found by anyone who knows the parent's lot and the GTIN)."""
    lots = list(data_lots or [])
    prefix = (re.match(r"[A-Za-z0-9]+", base or "") or [""])[0]
    return lots + [_free_lot(organisation, prefix) for _ in range(len(lots) + 1, count + 1)]


def split(user, batch, quantities, lots=None, when=None):
    """Split a batch into new batches of the given quantities (the rest stays in the batch)."""
    when = when or dt.datetime.now(local_zone())
    if not quantities or any(not isinstance(q, (int, float)) or not math.isfinite(q) or q <= 0
                             for q in quantities):
        raise ValidationError(_("Each part needs a quantity above zero."), {"quantities": _("Above zero.")})
    with database.atomic():
        batch = _locked(batch.id)
        _require_holder(user, batch)
        _check_active(batch)
        _check_time(when, _last_event_time(batch))
        if sum(quantities) > batch.remaining + 1e-9:
            raise ValidationError(_("The parts add up to more than the batch holds (%(q)g %(unit)s).",
                                    q=batch.remaining, unit=batch.unit), {"quantities": _("Too much.")})
        children = []
        for lot, quantity in zip(_lots(lots, batch.lot_number, len(quantities), batch.holder_id), quantities):
            _lot_free(batch.holder_id, lot)
            child = _child_batch(batch, batch.holder, user, lot, quantity)
            _transformation(user, [(batch, quantity)], child, when, batch.holder, "split")
            children.append(child)
        _use(batch, sum(quantities))
    return children


def merge(user, batches, lot, when=None):
    """Merge whole batches of one product, held by one organisation, into a new batch."""
    when = when or dt.datetime.now(local_zone())
    if len({b.id for b in batches}) < 2 or len({b.id for b in batches}) != len(batches):
        raise ValidationError(_("Choose at least two different batches to merge."), {"batches": _("Two or more.")})
    with database.atomic():
        batches = [_locked(b.id) for b in batches]
        for batch in batches:
            _require_holder(user, batch)
            _check_active(batch)
            _check_time(when, _last_event_time(batch))
        if len({b.holder_id for b in batches}) != 1:
            raise ValidationError(_("Merged batches must be held by the same organisation."), {"batches": ""})
        if len({(b.crop_code, b.product_name, b.unit) for b in batches}) != 1:
            raise ValidationError(_("Batches of different products cannot be merged; record a transformation "
                                    "instead."), {"batches": _("Different products.")})
        holder = batches[0].holder
        _lot_free(holder.id, lot)
        total = sum(b.remaining for b in batches)
        first = batches[0]
        same_farm = len({b.farm_id for b in batches}) == 1
        output = _child_batch(first, holder, user, lot, total, {"multi": not same_farm})
        _transformation(user, [(b, b.remaining) for b in batches], output, when, holder, "merge")
        for batch in batches:
            _use(batch, batch.remaining)
    return output


def transform(user, inputs, product, quantity, unit, lot, when=None, gtin=None):
    """Process input batches [(batch, quantity)] into a new product (juice from oranges, tea from leaf)."""
    when = when or dt.datetime.now(local_zone())
    if not inputs or len({b.id for b, _used in inputs}) != len(inputs):
        raise ValidationError(_("Choose the input batches, each once."), {"inputs": _("Required.")})
    if not product.get("zh"):
        raise ValidationError(_("Name the new product."), {"product": _("Required.")})
    if not isinstance(quantity, (int, float)) or not math.isfinite(quantity) or quantity <= 0:
        raise ValidationError(_("The output quantity must be above zero."), {"quantity": _("Above zero.")})
    with database.atomic():
        resolved = []
        for batch, used in inputs:
            batch = _locked(batch.id)
            _require_holder(user, batch)
            _check_active(batch)
            _check_time(when, _last_event_time(batch))
            if not isinstance(used, (int, float)) or used <= 0 or used > batch.remaining + 1e-9:
                raise ValidationError(_("Each input needs a quantity above zero and at most what it holds."),
                                      {"inputs": batch.lot_number})
            resolved.append((batch, used))
        if len({b.holder_id for b, _u in resolved}) != 1:
            raise ValidationError(_("All inputs must be held by the same organisation."), {"inputs": ""})
        holder = resolved[0][0].holder
        _lot_free(holder.id, lot)
        if gtin:
            try:
                gtin = digital_link.normalise_gtin(gtin)
            except ValueError as e:
                raise ValidationError(_("Not a valid GTIN."), {"gtin": str(e)}) from None
        same_farm = len({b.farm_id for b, _u in resolved}) == 1
        output = _child_batch(resolved[0][0], holder, user, lot, quantity, {
            "zh": product["zh"], "en": product.get("en", ""), "crop": product.get("crop", ""),
            "variety": "", "unit": unit, "gtin": gtin, "multi": not same_farm})
        _transformation(user, resolved, output, when, holder, "transform")
        for batch, used in resolved:
            _use(batch, used)
    return output


def _check_active(batch):
    if batch.status == "in_transit":
        raise ValidationError(_("The batch is in transit; it must be received first."), {"batch": batch.lot_number})
    if batch.status in ("consumed", "recalled"):
        raise ValidationError(_("This batch can no longer be changed."), {"batch": batch.lot_number})
