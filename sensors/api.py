"""HTTP ingest of sensor readings: POST /api/v1/ingest with the device's bearer token."""

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from sensors import service
from web.api import ApiError, api_blueprint
from web.security import bearer_token

bp = api_blueprint("sensors_api", __name__, public=("ingest",))


@bp.post("/ingest")
def ingest():
    """A SenML pack (RFC 8428, application/senml+json) or a plain batch [{"metric", "ts", "value"}]."""
    device, credential = service.authenticate(bearer_token())
    if device is None:
        raise ApiError(401, "invalid_token", _("Send the device's token as 'Authorization: Bearer dv_...'; "
                                               "this one is unknown or revoked."))
    limit = current_app.config["INGEST_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", _("At most %(mb)d MB per request.", mb=limit // (1024 * 1024)))
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise ApiError(413, "too_large", _("At most %(mb)d MB per request.", mb=limit // (1024 * 1024)))
    try:
        body = current_app.json.loads(raw)  # refuses absurdly deep nesting as invalid
    except (ValueError, UnicodeDecodeError):
        service.reject_all(device, "body is not valid JSON")
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    try:
        items = service.parse_body(body, device)
    except Exception:
        service.reject_all(device, "body is neither a SenML pack nor a plain batch")
        raise
    result = service.ingest(device, credential, items)
    status = 422 if result.rejected and not result.accepted and not result.duplicates else 200
    return jsonify(result.as_dict()), status
