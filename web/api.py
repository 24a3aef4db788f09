"""Shared pieces of the JSON API under /api/v1: auth, errors, pagination, OpenAPI."""
import math

import yaml
from flask import Blueprint, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, SelectMultipleField

from web.accounts import service as accounts
from web.accounts.forms import InvitationForm
from web.forms import JSONForm
from web.db import ValidationError
from web.clock import from_utc_naive
from web.permissions import Denied
from web.security import csrf

PREFIX = "/api/v1"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


MAX_PAGE = 10 ** 9
MAX_JSON_DEPTH = 64  # no document of ours nests deeper; far deeper input would exhaust the stack


def _depth_exceeds(value, limit):
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: an id beyond what the database holds (64 bits) is simply not found,
    instead of overflowing the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing input nested deeper than MAX_JSON_DEPTH as invalid (a ValueError, so
    the request answers 400) instead of letting it reach RecursionError anywhere later."""

    def loads(self, s, **kwargs):
        if ("\\u0000" in s) if isinstance(s, str) else (b"\\u0000" in s):
            raise ValueError("JSON text holds a NUL character, which no text here may hold")
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _depth_exceeds(value, MAX_JSON_DEPTH):
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        return value


class ApiError(Exception):
    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_blueprint(name, import_name, public=()):
    """A blueprint under /api/v1 that authenticates users by session or bearer token.

    Endpoints named in ``public`` authenticate on their own (or not at all)."""
    blueprint = Blueprint(name, import_name, url_prefix=PREFIX)
    csrf.exempt(blueprint)
    PUBLIC_ENDPOINTS.update(f"{name}.{endpoint}" for endpoint in public)

    @blueprint.before_request
    def _authenticate():
        if request.endpoint in PUBLIC_ENDPOINTS:
            return
        if g.get("auth") == "bad-token":
            raise ApiError(401, "invalid_token", _("the bearer token is unknown or revoked"))
        if g.get("user") is None:
            raise ApiError(401, "unauthenticated", _("sign in or send a bearer token"))
        if g.auth == "session" and request.method not in SAFE_METHODS:
            # Browsers must prove the request came from our pages; tokens need not.
            csrf.protect()

    return blueprint


PUBLIC_ENDPOINTS = set()

bp = api_blueprint("api", __name__, public=("openapi",))


def init_app(app):
    app.register_blueprint(bp)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/me")
def me():
    user = g.user
    return jsonify({
        "id": user.id, "username": user.username, "display_name": user.display_name,
        "role": user.role, "organisation_id": user.organisation_id,
        "organisation_role": user.organisation_role if user.organisation_id else None,
        "division_code": user.division_code, "locale": user.locale,
    })


# --------------------------------------------------------------- organisations and invitations

def organisation_json(organisation):
    return {"id": organisation.id, "name": organisation.name, "kind": organisation.kind,
            "division_code": organisation.division_code}


def invitation_json(invitation):
    return {"id": invitation.id, "organisation": organisation_json(invitation.organisation),
            "username": invitation.invitee.username, "role": invitation.role, "state": invitation.state,
            "created_at": from_utc_naive(invitation.created_at).isoformat(),
            "expires_at": from_utc_naive(invitation.expires_at).isoformat()}


def _organisation(organisation_id):
    organisation = accounts.get_organisation(organisation_id)
    if organisation is None or not (accounts.manages_organisation(g.user, organisation.id)
                                    or g.user.organisation_id == organisation.id):
        raise Denied(404, _("organisation not found"))
    return organisation


@bp.get("/organisations/<int:organisation_id>/members")
def organisation_members(organisation_id):
    organisation = _organisation(organisation_id)
    return jsonify({"organisation": organisation_json(organisation), "items": [
        {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
         "organisation_role": u.organisation_role} for u in accounts.organisation_members(organisation)]})


@bp.get("/organisations/<int:organisation_id>/invitations")
def organisation_invitations(organisation_id):
    organisation = _organisation(organisation_id)
    if not accounts.manages_organisation(g.user, organisation.id):
        raise Denied(403, _("only the organisation's managers see its invitations"))
    return jsonify({"items": [invitation_json(i) for i in accounts.invitations_of_organisation(organisation)]})


@bp.post("/organisations/<int:organisation_id>/invitations")
def invite(organisation_id):
    organisation = _organisation(organisation_id)
    data = validated(InvitationForm, json_body())
    invitation = accounts.invite(g.user, organisation, data["username"], data["role"] or "member")
    return jsonify(invitation_json(invitation)), 201


@bp.delete("/invitations/<int:invitation_id>")
def revoke_invitation(invitation_id):
    accounts.revoke_invitation(g.user, invitation_id)
    return "", 204


@bp.get("/invitations")
def my_invitations():
    return jsonify({"items": [invitation_json(i) for i in accounts.invitations_for(g.user)]})


@bp.post("/invitations/<int:invitation_id>/accept")
def accept_invitation(invitation_id):
    return jsonify(invitation_json(accounts.accept_invitation(g.user, invitation_id)))


@bp.post("/invitations/<int:invitation_id>/decline")
def decline_invitation(invitation_id):
    return jsonify(invitation_json(accounts.decline_invitation(g.user, invitation_id)))


def openapi_files():
    """web's OpenAPI fragment, then each domain's, in DOMAINS order: merged in this order."""
    from web import registry

    return registry.openapi_files()


def openapi_document():
    document = None
    for path in openapi_files():
        fragment = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document is None:
            document = fragment
            continue
        document["paths"].update(fragment.get("paths", {}))
        for section, items in fragment.get("components", {}).items():
            document["components"].setdefault(section, {}).update(items)
        document.setdefault("tags", []).extend(fragment.get("tags", []))
    return document


def json_body():
    """The request's JSON object, or a 400 that says why it is not one."""
    if not request.is_json:
        raise ApiError(400, "bad_request", _("Send a JSON body with Content-Type: application/json."))
    try:
        data = request.get_json()
    except BadRequest:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    if data is None:
        raise ApiError(400, "bad_request", _("The body must be a JSON object, not null."))
    return json_object(data)


def json_object(data):
    """``data`` (parsed JSON: a request's body, or a multipart part holding JSON) if it is an object,
    else a 400 that says so (its values are checked by the JSONForm it goes through)."""
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return data


def refuse_beyond_64_bits(data):
    """``data`` (a JSON object), unless it holds at any depth an integer beyond 64 bits: then a
    ValidationError under each top-level key that holds one.

    For bodies a JSONForm does not check (its fields refuse such numbers by their path): a page's
    form sees numbers as text, and a value sent on as text (a plot's geometry) is not looked into.
    """
    too_large = sorted(key for key, value in data.items() if _beyond_64_bits(value))
    if too_large:
        raise ValidationError(_("Some fields need correcting."),
                              {key: _("A whole number beyond what can be stored (64 bits).") for key in too_large})
    return data


def _beyond_64_bits(value):
    """Whether ``value`` holds, at any depth, an integer no database column here can store."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool):
            if not -2 ** 63 <= node < 2 ** 63:
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def validated(form_class, data, partial=False, **form_kwargs):
    """Run a WTForms form over a JSON object: one validation path for pages and API.

    A page's form sees the values as text, as a browser would send them; a JSONForm (a body only
    the API takes) sees them as sent, with its errors by path (``inputs[1].quantity``).

    With ``partial`` only the fields present in ``data`` are validated and returned.
    """
    unknown = sorted(set(data) - set(form_class.api_fields()))
    if unknown:
        raise ValidationError(_("Some fields are unknown."), {name: _("Unknown field.") for name in unknown})
    if issubclass(form_class, JSONForm):
        return _validated_json(form_class, data, partial, **form_kwargs)
    refuse_beyond_64_bits(data)
    formdata = MultiDict()
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            raise ValidationError(_("Some fields need correcting."), {key: _("Must not be an object.")})
        if isinstance(value, list):
            field = getattr(form_class, key)
            if not issubclass(field.field_class, (SelectMultipleField, FieldList)):
                raise ValidationError(_("Some fields need correcting."), {key: _("Must be one value, not a list.")})
            if any(item is None or isinstance(item, (dict, list)) for item in value):
                raise ValidationError(_("Some fields need correcting."),
                                      {key: _("Each item of the list must be a single value, not null.")})
        values = value if isinstance(value, list) else [value]
        if any(isinstance(item, float) and not math.isfinite(item) for item in values):
            raise ValidationError(_("Some fields need correcting."), {key: _("Must be a finite number.")})
        for item in values:
            if isinstance(item, bool):
                item = "y" if item else ""
            formdata.add(key, "" if item is None else str(item))
    form = form_class(formdata=formdata, meta={"csrf": False}, **form_kwargs)
    if partial:
        for name in list(form._fields):
            if name not in data:
                delattr(form, name)
    if not form.validate():
        raise ValidationError(_("Some fields need correcting."),
                              {k: "; ".join(map(str, v)) for k, v in form.errors.items()})
    return {name: field.data for name, field in form._fields.items()}


def _validated_json(form_class, data, partial, **form_kwargs):
    form = form_class(data=data, **form_kwargs)
    if partial:
        for name in list(form._fields):
            if name not in data:
                delattr(form, name)
    if not form.validate():
        raise ValidationError(form.message or _("Some fields need correcting."),
                              {path: "; ".join(map(str, messages)) for path, messages in form.path_errors().items()})
    return {name: field.data for name, field in form._fields.items()}


def page_args():
    """(page, per_page) from the query string, validated."""
    errors = {}
    values = {}
    for name, default, upper in (("page", 1, MAX_PAGE),
                                 ("per_page", current_app.config["API_PAGE_SIZE"],
                                  current_app.config["API_MAX_PAGE_SIZE"])):
        raw = request.args.get(name, default)
        try:
            value = int(raw)
            if value < 1 or (upper and value > upper):
                raise ValueError
            values[name] = value
        except (TypeError, ValueError):
            errors[name] = _("a whole number from 1 to %(upper)d", upper=upper)
    if errors:
        raise ApiError(400, "bad_request", _("invalid pagination"), errors)
    return values["page"], values["per_page"]


def paginated(query, serialize_page):
    """A page of ``query``; ``serialize_page`` turns the page's rows into JSON items at once,
    so related rows are fetched in one query per page, not one per row."""
    page, per_page = page_args()
    total = query.count()
    items = serialize_page(list(query.paginate(page, per_page)))
    pages = max(1, math.ceil(total / per_page))
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total,
                    "pages": pages})
