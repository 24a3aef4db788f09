"""JSON API for farms, plots, plantings and logs (documented in farms/openapi.yaml)."""
import datetime as dt
import json

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from farms import service
from farms.forms import FarmForm, FarmInvitationForm, LogCorrectionForm, LogForm, PlantingForm, PlotForm, VoidLogForm
from web.api import ApiError, api_blueprint, json_body, json_object, paginated, refuse_beyond_64_bits, validated
from web.db import ValidationError
from web.clock import from_utc_naive
from web.permissions import Access, require

bp = api_blueprint("farms_api", __name__)


def _date(value):
    return value.isoformat() if value else None


def farm_json(farm, certifications=None):
    if certifications is None:
        certifications = service.farm_certifications(farm)
    return {"id": farm.id, "name": farm.name, "organisation_id": farm.organisation_id,
            "county_code": farm.county_code, "address": farm.address, "contact_phone": farm.contact_phone,
            "latitude": farm.latitude,
            "longitude": farm.longitude, "certifications": certifications}


def farms_json(farms):
    certifications = service.certifications_of(farms)
    return [farm_json(farm, certifications[farm.id]) for farm in farms]


def logs_json(logs):
    plots = service.plots_of_logs(logs)
    photos = service.photos_of_logs(logs)
    return [log_json(log, plots[log.id], photos[log.id]) for log in logs]


def each(serialize):
    return lambda rows: [serialize(row) for row in rows]


def plot_json(plot):
    return {"id": plot.id, "farm_id": plot.farm_id, "name": plot.name, "kind": plot.kind,
            "area_m2": round(plot.area_m2, 2), "area_mu": round(plot.area_m2 / service.MU_IN_M2, 3),
            "geometry": json.loads(plot.geometry) if plot.geometry else None,
            "notes": plot.notes,
            "archived_at": from_utc_naive(plot.archived_at).isoformat() if plot.archived_at else None}


def planting_json(planting):
    return {"id": planting.id, "plot_id": planting.plot_id, "crop_id": planting.crop_id,
            "crop": planting.crop.code, "variety": planting.variety,
            "start_method": planting.start_method, "start_date": _date(planting.start_date),
            "expected_harvest": _date(planting.expected_harvest), "ended_on": _date(planting.ended_on),
            "notes": planting.notes}


def photo_json(log, link):
    photo = link.photo
    located = link.latitude is not None and link.longitude is not None
    return {"sha256": photo.sha256, "media_type": photo.media_type, "size": photo.size,
            "width": photo.width, "height": photo.height,
            "location": {"latitude": link.latitude, "longitude": link.longitude} if located else None,
            "url": url_for("farms_api.get_log_photo", log_id=log.id, sha256=photo.sha256),
            "thumbnail_url": url_for("farms_api.get_log_photo", log_id=log.id, sha256=photo.sha256,
                                     size="thumbnail")}


def log_json(log, plots=None, photos=None):
    plot_ids = [p.id for p in plots] if plots is not None else \
        [p.id for p in service.plots_of_logs([log])[log.id]]
    body = {"id": log.id, "farm_id": log.farm_id, "kind": log.kind,
            "timestamp": from_utc_naive(log.timestamp).isoformat(), "plots": plot_ids,
            "planting_id": log.planting_id, "notes": log.notes, "quantity": log.quantity,
            "unit": log.unit, "created_by": log.created_by_id,
            "client_id": str(log.client_id) if log.client_id else None,
            "recorded_at": from_utc_naive(log.recorded_at).isoformat() if log.recorded_at else None,
            "created_at": from_utc_naive(log.created_at).isoformat()}
    if log.kind == "input":
        body.update({"input_product_id": log.input_product_id, "input_category": log.input_category,
                     "product_name": log.product_name, "active_ingredient": log.active_ingredient,
                     "dose": log.dose, "dose_unit": log.dose_unit, "phi_days": log.phi_days,
                     "input_lot": log.input_lot})
    elif log.kind == "activity":
        body["activity_kind"] = log.activity_kind
    elif log.kind == "harvest":
        body["lot_number"] = log.lot_number
    if photos is None:
        photos = service.photos_of_logs([log])[log.id]
    body["photos"] = [photo_json(log, p) for p in photos]
    safe = service.safe_harvest_day(log)
    if log.kind == "input":
        body["safe_harvest_date"] = safe.isoformat() if safe else None
    body.update({"voided_at": from_utc_naive(log.voided_at).isoformat() if log.voided_at else None,
                 "void_reason": log.void_reason or None, "corrects": log.corrects_id,
                 "superseded_by": log.superseded_by_id})
    return body


def _validated_farm(partial=False):
    return validated(FarmForm, json_body(), partial=partial)


# --------------------------------------------------------------- farms

@bp.get("/farms")
def list_farms():
    query = service.visible_farms(g.user).order_by(service.Farm.id)
    return paginated(query, farms_json)


@bp.post("/farms")
def create_farm():
    data = _validated_farm()
    farm = service.create_farm(g.user, data)
    return jsonify(farm_json(farm)), 201


@bp.get("/farms/<int:farm_id>")
def get_farm(farm_id):
    return jsonify(farm_json(service.get_farm(g.user, farm_id)))


@bp.patch("/farms/<int:farm_id>")
def update_farm(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    data = _validated_farm(partial=True)
    return jsonify(farm_json(service.update_farm(g.user, farm, data)))


# --------------------------------------------------------------- people on a farm

def farm_invitation_json(invitation):
    return {"id": invitation.id, "farm_id": invitation.farm_id, "farm_name": invitation.farm.name,
            "username": invitation.invitee.username, "role": invitation.role, "state": invitation.state,
            "created_at": from_utc_naive(invitation.created_at).isoformat(),
            "expires_at": from_utc_naive(invitation.expires_at).isoformat()}


@bp.get("/farms/<int:farm_id>/members")
def list_members(farm_id):
    farm = service.get_farm(g.user, farm_id)
    return jsonify({"items": [{"user_id": m.user_id, "username": m.user.username,
                               "display_name": m.user.display_name, "role": m.role}
                              for m in service.farm_members(farm)]})


@bp.delete("/farms/<int:farm_id>/members/<int:user_id>")
def remove_member(farm_id, user_id):
    farm = service.get_farm(g.user, farm_id)
    service.remove_member(g.user, farm, user_id)
    return "", 204


@bp.get("/farms/<int:farm_id>/invitations")
def list_farm_invitations(farm_id):
    farm = service.get_farm(g.user, farm_id)
    return jsonify({"items": [farm_invitation_json(i) for i in service.farm_invitations(g.user, farm)]})


@bp.post("/farms/<int:farm_id>/invitations")
def invite_to_farm(farm_id):
    farm = service.get_farm(g.user, farm_id)
    data = validated(FarmInvitationForm, json_body())
    invitation = service.invite_to_farm(g.user, farm, data["username"], data["role"] or "worker")
    return jsonify(farm_invitation_json(invitation)), 201


@bp.delete("/farm-invitations/<int:invitation_id>")
def revoke_farm_invitation(invitation_id):
    service.revoke_farm_invitation(g.user, invitation_id)
    return "", 204


@bp.get("/farm-invitations")
def my_farm_invitations():
    return jsonify({"items": [farm_invitation_json(i) for i in service.farm_invitations_for(g.user)]})


@bp.post("/farm-invitations/<int:invitation_id>/accept")
def accept_farm_invitation(invitation_id):
    return jsonify(farm_invitation_json(service.answer_farm_invitation(g.user, invitation_id, accept=True)))


@bp.post("/farm-invitations/<int:invitation_id>/decline")
def decline_farm_invitation(invitation_id):
    return jsonify(farm_invitation_json(service.answer_farm_invitation(g.user, invitation_id, accept=False)))


# --------------------------------------------------------------- plots

@bp.get("/farms/<int:farm_id>/plots")
def list_plots(farm_id):
    farm = service.get_farm(g.user, farm_id)
    return paginated(service.plots_of(farm), each(plot_json))


@bp.post("/farms/<int:farm_id>/plots")
def create_plot(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.MANAGE)
    data = validated(PlotForm, _geometry_as_text(json_body()))
    return jsonify(plot_json(service.create_plot(g.user, farm, data))), 201


@bp.get("/plots/<int:plot_id>")
def get_plot(plot_id):
    return jsonify(plot_json(service.get_plot(g.user, plot_id)))


@bp.patch("/plots/<int:plot_id>")
def update_plot(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.MANAGE)
    data = validated(PlotForm, _geometry_as_text(json_body()), partial=True)
    return jsonify(plot_json(service.update_plot(g.user, plot, data)))


def _geometry_as_text(data):
    """The body with its GeoJSON geometry as text, for the page's form: integers beyond 64 bits are
    refused first, since the form sees the geometry only as text."""
    refuse_beyond_64_bits(data)
    if isinstance(data.get("geometry"), dict):
        data = dict(data, geometry=json.dumps(data["geometry"]))
    return data


# --------------------------------------------------------------- plantings

@bp.get("/plots/<int:plot_id>/plantings")
def list_plantings(plot_id):
    plot = service.get_plot(g.user, plot_id)
    return paginated(service.plantings_of(plot), each(planting_json))


@bp.post("/plots/<int:plot_id>/plantings")
def create_planting(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.LOG)
    data = validated(PlantingForm, json_body())
    return jsonify(planting_json(service.create_planting(g.user, plot, data))), 201


@bp.get("/plantings/<int:planting_id>")
def get_planting(planting_id):
    return jsonify(planting_json(service.get_planting(g.user, planting_id)))


@bp.patch("/plantings/<int:planting_id>")
def update_planting(planting_id):
    planting = service.get_planting(g.user, planting_id, Access.LOG)
    data = validated(PlantingForm, json_body(), partial=True)
    return jsonify(planting_json(service.update_planting(g.user, planting, data)))


# --------------------------------------------------------------- logs

def _date_arg(name):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "bad_request", _("invalid filter"), {name: _("a date like 2026-05-01")}) from None


def _int_arg(name):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", _("invalid filter"), {name: _("a whole number")}) from None


@bp.get("/farms/<int:farm_id>/logs")
def list_logs(farm_id):
    farm = service.get_farm(g.user, farm_id)
    kind = request.args.get("kind") or None
    if kind and kind not in service.LOG_KINDS:
        raise ApiError(400, "bad_request", _("invalid filter"), {"kind": f"one of {', '.join(service.LOG_KINDS)}"})
    plot_id = _int_arg("plot")
    query = service.logs_query(g.user, farm=farm, plot=plot_id, kind=kind,
                               since=_date_arg("from"), until=_date_arg("to"))
    return paginated(query, logs_json)


OFFLINE_FIELDS = ("client_id", "recorded_at", "confirm_safe_interval")


def _offline_entry(body):
    """The offline-entry fields of a log body (popped from it): an OfflineEntry, or None."""
    sent = {name: body.pop(name) for name in OFFLINE_FIELDS if name in body}
    return service.offline_entry(sent.get("client_id"), sent.get("recorded_at"),
                                 sent.get("confirm_safe_interval", False))


def _multipart_log():
    """A log sent as multipart/form-data with its photos: the JSON body in the part ``log``, the photos
    in parts ``photo`` (in order), and in the JSON ``keep_photo_location`` and ``photo_locations``."""
    raw = request.form.get("log")
    if raw is None:
        raise ApiError(400, "bad_request", _("Send the log as JSON in the form field 'log', the photos as 'photo'."))
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_request", _("The field 'log' is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _("The field 'log' must be a JSON object."))
    return json_object(body), [upload.read() for upload in request.files.getlist("photo")]


def _photos_of(body, uploads):
    """PreparedPhotos of the uploads, with the locations the body keeps (popped from the body)."""
    keep = body.pop("keep_photo_location", False)
    locations = body.pop("photo_locations", None)
    if not isinstance(keep, bool):
        raise ValidationError(_("Some fields need correcting."), {"keep_photo_location": _("true or false")})
    if locations is not None and (not isinstance(locations, list) or len(locations) != len(uploads)
                                  or any(loc is not None and not isinstance(loc, dict) for loc in locations)):
        raise ValidationError(_("Some fields need correcting."), {"photo_locations": _(
            "A list with one item per photo: {\"latitude\": …, \"longitude\": …} or null.")})
    if len(uploads) > service.PHOTOS_PER_LOG:
        raise ValidationError(_("At most %(n)d photos on one log.", n=service.PHOTOS_PER_LOG),
                              {"photos": _("At most %(n)d photos on one log.", n=service.PHOTOS_PER_LOG)})
    prepared = []
    for index, data in enumerate(uploads):
        where = (locations or [None] * len(uploads))[index] or {}
        prepared.append(service.prepare_photo(data, keep, where.get("latitude"), where.get("longitude"),
                                              field=f"photos[{index}]"))
    return prepared


@bp.post("/farms/<int:farm_id>/logs")
def create_log(farm_id):
    farm = service.get_farm(g.user, farm_id, Access.LOG)
    if request.mimetype == "multipart/form-data":
        body, uploads = _multipart_log()
    else:
        body, uploads = json_body(), []
    offline = _offline_entry(body)
    photos = _photos_of(body, uploads)
    data = validated(LogForm, body, farm=farm)
    log = service.create_log(g.user, farm, data, offline=offline, photos=photos)
    return jsonify(log_json(log)), 201 if getattr(log, "just_created", True) else 200


@bp.get("/logs/<int:log_id>/photos/<sha256>")
def get_log_photo(log_id, sha256):
    """The photo's bytes (or with ?size=thumbnail a small JPEG), for those who may see the log."""
    data, media_type = service.log_photo(g.user, log_id, sha256, thumbnail=request.args.get("size") == "thumbnail")
    return photo_response(data, media_type)


def photo_response(data, media_type):
    from flask import Response

    response = Response(data, mimetype=media_type)
    # Named by its content: the bytes behind a URL never change, but only the signed-in may see them.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/plots/<int:plot_id>/archive")
def archive_plot(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.MANAGE)
    return jsonify(plot_json(service.archive_plot(g.user, plot)))


@bp.post("/plots/<int:plot_id>/unarchive")
def unarchive_plot(plot_id):
    plot = service.get_plot(g.user, plot_id, Access.MANAGE)
    return jsonify(plot_json(service.archive_plot(g.user, plot, archived=False)))


@bp.get("/logs/<int:log_id>")
def get_log(log_id):
    return jsonify(log_json(service.get_log(g.user, log_id)))


@bp.post("/logs/<int:log_id>/void")
def void_log(log_id):
    log = service.get_log(g.user, log_id)
    require(service.access_to(g.user, log.farm), Access.LOG)
    data = validated(VoidLogForm, json_body())
    return jsonify(log_json(service.void_log(g.user, log.id, data["reason"])))


@bp.post("/logs/<int:log_id>/correct")
def correct_log(log_id):
    """The body gives the reason and the fields that change; the others keep the log's values."""
    log = service.get_log(g.user, log_id)
    require(service.access_to(g.user, log.farm), Access.LOG)
    body = json_body()
    given = validated(LogCorrectionForm, body, partial=True, farm=log.farm)
    data = dict(service.correction_defaults(log), **given)
    return jsonify(log_json(service.correct_log(g.user, log.id, data))), 201


# --------------------------------------------------------------- catalogues

@bp.get("/crops")
def list_crops():
    return jsonify({"items": [{"id": c.id, "code": c.code, "name_zh": c.name_zh, "name_en": c.name_en,
                               "category": c.category, "default_unit": c.default_unit}
                              for c in service.crops()]})


@bp.get("/input-products")
def list_input_products():
    return jsonify({"items": [{"id": p.id, "code": p.code, "name_zh": p.name_zh, "name_en": p.name_en,
                               "category": p.category, "active_ingredient": p.active_ingredient,
                               "phi_days": p.phi_days, "default_unit": p.default_unit,
                               "crops": p.crops.split()}
                              for p in service.input_products()]})
