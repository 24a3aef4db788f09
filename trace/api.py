"""JSON API for batches, journey events, lineage, recall and EPCIS (documented in trace/openapi.yaml)."""
import json
import math

from flask import g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from trace import service
from web.api import ApiError, api_blueprint, json_body, paginated
from web.db import ValidationError
from web.fields import parse_timestamp
from web.clock import from_utc_naive
from web.permissions import Denied

bp = api_blueprint("trace_api", __name__)


# --------------------------------------------------------------- reading JSON

def _number(data, key, required=False, positive=True):
    value = data.get(key)
    if value is None:
        if required:
            raise ValidationError(_("Some fields need correcting."), {key: _("Required.")})
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(_("Some fields need correcting."), {key: _("Must be a number.")})
    if positive and value <= 0:
        raise ValidationError(_("Some fields need correcting."), {key: _("Must be above zero.")})
    return value


def _int(data, key, required=False):
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("Some fields need correcting."), {key: _("Must be a whole number.")})
    return value


def _text(data, key, required=False, limit=200):
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ValidationError(_("Some fields need correcting."), {key: _("Required.")})
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(_("Some fields need correcting."),
                              {key: _("Text of at most %(n)d characters.", n=limit)})
    return value.strip()


def _time(data, key, required=True):
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            raise ValidationError(_("Some fields need correcting."), {key: _("Required.")})
        return None
    try:
        return parse_timestamp(raw) if isinstance(raw, str) else _bad_time(key)
    except ValueError:
        return _bad_time(key)


def _bad_time(key):
    raise ValidationError(_("Some fields need correcting."),
                          {key: _("Not a valid date and time (use e.g. 2026-05-01T08:30:00+08:00).")})


def _only(data, allowed):
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(_("Some fields are unknown."), {name: _("Unknown field.") for name in unknown})


def _list(data, key, required=True):
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise ValidationError(_("Some fields need correcting."), {key: _("A non-empty list.")})
    return value


# --------------------------------------------------------------- JSON out

def batch_json(batch):
    return {"id": batch.id, "code": batch.code, "lot_number": batch.lot_number, "gtin": batch.gtin,
            "product_name": batch.product_name, "product_name_en": batch.product_name_en,
            "crop": batch.crop_code, "variety": batch.variety, "farm_id": batch.farm_id,
            "harvest_date": batch.harvest_date.isoformat() if batch.harvest_date else None,
            "quantity": batch.quantity, "remaining": batch.remaining, "unit": batch.unit, "status": batch.status,
            "organisation_id": batch.organisation_id, "holder_id": batch.holder_id,
            "destination_id": batch.destination_id, "url": service.batch_url(batch)}


def event_json(event, erroneous=False):
    return {"id": event.id, "event_id": event.event_id, "kind": event.kind, "batch_id": event.batch_id,
            "biz_step": event.biz_step, "event_time": from_utc_naive(event.event_time).isoformat(),
            "organisation_id": event.organisation_id, "hash": event.hash, "corrects": event.corrects,
            "erroneous": erroneous, "document": json.loads(event.document)}


def _batch(batch_id):
    return service.get_batch(g.user, batch_id)


# --------------------------------------------------------------- batches

@bp.get("/batches")
def list_batches():
    return paginated(service.visible_batches(g.user), lambda rows: [batch_json(b) for b in rows])


@bp.post("/batches")
def create_batch():
    data = json_body()
    _only(data, ("harvest_log", "lot_number", "gtin", "quantity", "override_inspection"))
    batch = service.create_batch(g.user, {
        "harvest_log": _int(data, "harvest_log", required=True), "lot_number": _text(data, "lot_number", limit=20),
        "gtin": _text(data, "gtin", limit=14), "quantity": _number(data, "quantity"),
        "override_inspection": _int(data, "override_inspection")})
    return jsonify(batch_json(batch)), 201


@bp.get("/batches/<int:batch_id>")
def get_batch(batch_id):
    return jsonify(batch_json(_batch(batch_id)))


@bp.get("/batches/<int:batch_id>/events")
def list_events(batch_id):
    batch = _batch(batch_id)
    return jsonify({"items": [event_json(event, erroneous) for event, _doc, erroneous in service.journey(batch)]})


EVENT_FIELDS = ("biz_step", "event_time", "place", "quantity", "destination", "notes", "attachments",
                "passed", "items")


@bp.post("/batches/<int:batch_id>/events")
def record_event(batch_id):
    batch = _batch(batch_id)
    data = json_body()
    _only(data, EVENT_FIELDS)
    if "passed" in data and not isinstance(data["passed"], bool):
        raise ValidationError(_("Some fields need correcting."), {"passed": _("true or false.")})
    event = service.record_event(g.user, batch, {
        "biz_step": _text(data, "biz_step", required=True, limit=32), "event_time": _time(data, "event_time"),
        "place": _text(data, "place"), "quantity": _number(data, "quantity"),
        "destination": _int(data, "destination"), "notes": _text(data, "notes", limit=1000),
        "attachments": _list(data, "attachments", required=False), "passed": data.get("passed"),
        "items": data.get("items")})
    return jsonify(event_json(event)), 201


@bp.post("/events/<int:event_id>/corrections")
def correct_event(event_id):
    event = service.find_event(event_id)
    if event is None:
        raise Denied(404, _("event not found"))
    service.get_batch(g.user, event.batch_id)
    data = json_body()
    _only(data, ("event_time", "place", "notes", "quantity", "reason"))
    changes = {key: value for key, value in {
        "event_time": _time(data, "event_time", required=False), "place": _text(data, "place"),
        "notes": _text(data, "notes", limit=1000), "quantity": _number(data, "quantity")}.items()
        if value is not None}
    if not changes:
        raise ValidationError(_("Say what to correct."), {"place": _("Give at least one corrected field.")})
    reason = _text(data, "reason", limit=64) or "incorrect_data"
    corrected = service.correct_event(g.user, event, changes, reason)
    return jsonify(event_json(corrected)), 201


# --------------------------------------------------------------- lineage

@bp.post("/batches/<int:batch_id>/split")
def split(batch_id):
    batch = _batch(batch_id)
    data = json_body()
    _only(data, ("quantities", "lot_numbers", "event_time"))
    quantities = _list(data, "quantities")
    if any(isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) for q in quantities):
        raise ValidationError(_("Some fields need correcting."), {"quantities": _("Numbers only.")})
    lots = _list(data, "lot_numbers", required=False)
    children = service.split(g.user, batch, quantities, lots, _time(data, "event_time", required=False))
    return jsonify({"items": [batch_json(child) for child in children]}), 201


def _batches(ids, key):
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationError(_("Some fields need correcting."), {key: _("Batch ids.")})
    if len(set(ids)) != len(ids):
        raise ValidationError(_("Some fields need correcting."), {key: _("Each batch only once.")})
    return [_batch(i) for i in ids]


@bp.post("/batches/merge")
def merge():
    data = json_body()
    _only(data, ("batches", "lot_number", "event_time"))
    batches = _batches(_list(data, "batches"), "batches")
    output = service.merge(g.user, batches, _text(data, "lot_number", required=True, limit=20),
                           _time(data, "event_time", required=False))
    return jsonify(batch_json(output)), 201


@bp.post("/batches/transform")
def transform():
    data = json_body()
    _only(data, ("inputs", "product", "quantity", "unit", "lot_number", "gtin", "event_time"))
    inputs = []
    items = _list(data, "inputs")
    if len({item.get("batch") if isinstance(item, dict) else None for item in items}) != len(items):
        raise ValidationError(_("Some fields need correcting."), {"inputs": _("Each batch only once.")})
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationError(_("Some fields need correcting."), {f"inputs.{index}": _("An object.")})
        batch = _batches([item.get("batch")], f"inputs.{index}.batch")[0]
        inputs.append((batch, _number(item, "quantity", required=True)))
    product = data.get("product")
    if not isinstance(product, dict):
        raise ValidationError(_("Some fields need correcting."), {"product": _("An object with zh and en names.")})
    output = service.transform(
        g.user, inputs, {"zh": _text(product, "zh", required=True, limit=120), "en": _text(product, "en", limit=120)
                         or ""},
        _number(data, "quantity", required=True), _text(data, "unit", required=True, limit=16),
        _text(data, "lot_number", required=True, limit=20), _time(data, "event_time", required=False),
        gtin=_text(data, "gtin", limit=14))
    return jsonify(batch_json(output)), 201


@bp.get("/batches/<int:batch_id>/recall")
def recall(batch_id):
    return jsonify(service.recall(_batch(batch_id)))


@bp.get("/batches/<int:batch_id>/scans")
def scans(batch_id):
    stats = service.scan_stats(_batch(batch_id))
    stats["first"] = from_utc_naive(stats["first"]).isoformat() if stats["first"] else None
    return jsonify(stats)


# --------------------------------------------------------------- inspections and files

@bp.post("/plots/<int:plot_id>/inspections")
def plot_inspection(plot_id):
    data = json_body()
    _only(data, ("sampled_at", "passed", "items", "attachments"))
    if not isinstance(data.get("passed"), bool):
        raise ValidationError(_("Some fields need correcting."), {"passed": _("true or false.")})
    inspection = service.record_plot_inspection(g.user, plot_id, {
        "sampled_at": _time(data, "sampled_at"), "passed": data["passed"], "items": data.get("items"),
        "attachments": _list(data, "attachments", required=False)})
    return jsonify({"id": inspection.id, "plot_id": inspection.plot_id, "passed": inspection.passed,
                    "items": json.loads(inspection.items),
                    "sampled_at": from_utc_naive(inspection.sampled_at).isoformat()}), 201


@bp.post("/attachments")
def upload_attachment():
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "bad_request", _("Send the file as multipart/form-data field 'file'."))
    attachment = service.store_attachment(g.user, upload.filename, upload.read())
    return jsonify({"sha256": attachment.sha256, "filename": attachment.filename,
                    "media_type": attachment.media_type, "size": attachment.size}), 201


# --------------------------------------------------------------- EPCIS interchange

@bp.get("/batches/<int:batch_id>/epcis")
def export_epcis(batch_id):
    from trace import epcis

    response = jsonify(epcis.export_document(_batch(batch_id)))
    response.mimetype = "application/ld+json"
    return response


@bp.post("/epcis")
def import_epcis():
    from trace import epcis

    if request.mimetype not in ("application/json", "application/ld+json"):
        raise ApiError(415, "unsupported_media_type", _("Send an EPCIS 2.0 JSON(-LD) document."))
    try:
        document = request.get_json(force=True)
    except BadRequest:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    if document is None:
        raise ApiError(400, "bad_request", _("The body must be a JSON object, not null."))
    events, duplicates = epcis.import_document(g.user, document)
    return jsonify({"items": [event_json(event) for event in events], "duplicates": duplicates}), \
        201 if events else 200
