"""The people pages as a JSON API under /api/v1/admin: users, their roles and organisations (memberships),
deactivation, one-time sign-in links, and organisations.

The same service functions and rules as the pages (web/accounts/admin.py): administrators manage everybody;
a bureau administrator the people and organisations within the bureau's division, never an administrator.
Anybody else gets 403; a user outside a bureau administrator's division is not found (404).
"""
from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from web.accounts import service
from web.accounts.forms import LinkBody, OrganisationBody, PlaceBody, UserBody
from web.accounts.models import ORGANISATION_KINDS, ORGANISATION_ROLES
from web.api import api_blueprint, json_body, organisation_json, validated
from web.clock import from_utc_naive
from web.permissions import Denied

bp = api_blueprint("people_api", __name__)


def _actor():
    if not service.administers(g.user):
        raise Denied(403, _("Only administrators manage people."))
    return g.user


def _time(value):
    return from_utc_naive(value).isoformat() if value else None


def user_json(user):
    organisation = user.organisation
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "organisation": organisation_json(organisation) if organisation else None,
            "organisation_role": user.organisation_role if organisation else None,
            "division_code": user.division_code, "active": user.active,
            "created_at": _time(user.created_at), "last_login_at": _time(user.last_login_at)}


def _link_json(token, purpose):
    """The one-time link, shown once: only its digest is kept."""
    return {"purpose": purpose, "url": url_for("people.use_link", token=token, _external=True),
            "valid_hours": service.LINK_HOURS[purpose]}


def _no_store(response, status):
    response = jsonify(response)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/roles")
def roles():
    """What the administrator may give: roles, standings in an organisation, kinds of organisation."""
    actor = _actor()
    return jsonify({"roles": list(service.grantable_roles(actor)), "organisation_roles": list(ORGANISATION_ROLES),
                    "organisation_kinds": list(ORGANISATION_KINDS if actor.role == "admin"
                                               else service.BUREAU_ORGANISATION_KINDS)})


@bp.get("/admin/users")
def list_users():
    actor = _actor()
    return jsonify({"items": [user_json(u) for u in service.list_users(actor, request.args.get("q", ""))]})


@bp.post("/admin/users")
def create_user():
    actor = _actor()
    data = validated(UserBody, json_body())
    user, token = service.invite_user(actor, data["username"], data["role"], data["display_name"] or "",
                                      data["organisation"], data["organisation_role"] or "member",
                                      data["division"], data["password"])
    return _no_store({"user": user_json(user), "link": _link_json(token, "welcome") if token else None}, 201)


@bp.get("/admin/users/<int:user_id>")
def get_user(user_id):
    return jsonify(user_json(service.managed_user(_actor(), user_id)))


@bp.patch("/admin/users/<int:user_id>")
def update_user(user_id):
    actor = _actor()
    target = service.managed_user(actor, user_id)
    data = validated(PlaceBody, json_body(), partial=True)
    current = {"role": target.role, "organisation": target.organisation_id,
               "organisation_role": target.organisation_role, "division": target.division_code}
    if "organisation" in data and data["organisation"] != target.organisation_id:
        current["organisation_role"] = "member"  # who joins an organisation is a member unless the body says
    place = {**current, **data}
    user = service.update_user(actor, target, place["role"], place["organisation"],
                               place["organisation_role"] or "member", place["division"])
    return jsonify(user_json(user))


def _set_active(user_id, active):
    actor = _actor()
    target = service.managed_user(actor, user_id)
    return jsonify(user_json(service.set_active(actor, target, active)))


@bp.post("/admin/users/<int:user_id>/deactivate")
def deactivate_user(user_id):
    """Their sessions, tokens and open links stop working."""
    return _set_active(user_id, False)


@bp.post("/admin/users/<int:user_id>/activate")
def activate_user(user_id):
    return _set_active(user_id, True)


@bp.post("/admin/users/<int:user_id>/links")
def issue_link(user_id):
    """A one-time link by which the user sets a password: a reset (24 hours) or a new invitation (7 days).
    Their earlier open links stop working."""
    actor = _actor()
    target = service.managed_user(actor, user_id)
    purpose = validated(LinkBody, json_body())["purpose"] or "reset"
    return _no_store(_link_json(service.issue_link(actor, target, purpose), purpose), 201)


@bp.get("/admin/organisations")
def list_organisations():
    actor = _actor()
    return jsonify({"items": [
        dict(organisation_json(o), contact_phone=o.contact_phone,
             members=[{"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                       "organisation_role": u.organisation_role} for u in service.organisation_members(o)])
        for o in service.list_organisations(actor)]})


@bp.post("/admin/organisations")
def create_organisation():
    actor = _actor()
    data = validated(OrganisationBody, json_body())
    organisation = service.admin_create_organisation(actor, data["name"], data["kind"], data["division"],
                                                     data["contact_phone"] or "")
    return jsonify(dict(organisation_json(organisation), contact_phone=organisation.contact_phone,
                        members=[])), 201
