"""JSON API for batches, journey events, lineage, recall and EPCIS (documented in trace/openapi.yaml)."""
import json

from flask import g, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from trace import service
from trace.forms import (BatchBody, CorrectionBody, EventBody, MergeBody, PlotInspectionBody, SplitBody,
                         TransformBody)
from web.api import ApiError, api_blueprint, json_body, paginated, validated
from web.clock import from_utc_naive
from web.permissions import Denied

bp = api_blueprint("trace_api", __name__)


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
    batch = service.create_batch(g.user, validated(BatchBody, json_body()))
    return jsonify(batch_json(batch)), 201


@bp.get("/batches/<int:batch_id>")
def get_batch(batch_id):
    return jsonify(batch_json(_batch(batch_id)))


@bp.get("/batches/<int:batch_id>/events")
def list_events(batch_id):
    batch = _batch(batch_id)
    return jsonify({"items": [event_json(event, erroneous) for event, _doc, erroneous in service.journey(batch)]})


@bp.post("/batches/<int:batch_id>/events")
def record_event(batch_id):
    batch = _batch(batch_id)
    event = service.record_event(g.user, batch, validated(EventBody, json_body()))
    return jsonify(event_json(event)), 201


@bp.post("/events/<int:event_id>/corrections")
def correct_event(event_id):
    event = service.find_event(event_id)
    if event is None:
        raise Denied(404, _("event not found"))
    service.get_batch(g.user, event.batch_id)
    data = validated(CorrectionBody, json_body())
    reason = data.pop("reason") or "incorrect_data"
    changes = {key: value for key, value in data.items() if value is not None}
    corrected = service.correct_event(g.user, event, changes, reason)
    return jsonify(event_json(corrected)), 201


# --------------------------------------------------------------- lineage

@bp.post("/batches/<int:batch_id>/split")
def split(batch_id):
    batch = _batch(batch_id)
    data = validated(SplitBody, json_body())
    children = service.split(g.user, batch, data["quantities"], data["lot_numbers"], data["event_time"])
    return jsonify({"items": [batch_json(child) for child in children]}), 201


@bp.post("/batches/merge")
def merge():
    data = validated(MergeBody, json_body())
    output = service.merge(g.user, [_batch(i) for i in data["batches"]], data["lot_number"], data["event_time"])
    return jsonify(batch_json(output)), 201


@bp.post("/batches/transform")
def transform():
    data = validated(TransformBody, json_body())
    inputs = [(_batch(item["batch"]), item["quantity"]) for item in data["inputs"]]
    product = {"zh": data["product"]["zh"], "en": data["product"].get("en", "")}
    output = service.transform(g.user, inputs, product, data["quantity"], data["unit"], data["lot_number"],
                               data["event_time"], gtin=data["gtin"])
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
    inspection = service.record_plot_inspection(g.user, plot_id, validated(PlotInspectionBody, json_body()))
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
