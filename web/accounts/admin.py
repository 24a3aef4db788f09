"""People pages: administrators (and bureau administrators within their division) add users,
invite them by a one-time link, set roles and organisations, deactivate, and issue password
resets; and the public page where such a link is used."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.accounts import service
from web.accounts.forms import NewUserForm, OrganisationForm, PlaceForm, SetPasswordForm
from web.accounts.models import ORGANISATION_KINDS
from web.db import Conflict, ValidationError
from web.forms import apply_errors

bp = Blueprint("people", __name__)

KIND_LABELS = {"farm": _l("Farm"), "cooperative": _l("Cooperative"), "processor": _l("Processor"),
               "logistics": _l("Logistics"), "retailer": _l("Retailer"), "buyer": _l("Buyer"),
               "lab": _l("Testing lab"), "bureau": _l("Agriculture bureau")}
PURPOSE_LABELS = {"welcome": _l("Invitation link"), "reset": _l("Password reset link")}


@bp.app_context_processor
def _people():
    return {"KIND_LABELS": KIND_LABELS, "PURPOSE_LABELS": PURPOSE_LABELS, "administers": service.administers(g.get("user"))}


def _actor():
    if g.user is None:
        abort(401)
    if not service.administers(g.user):
        abort(403)
    return g.user


def _fill_place(form, actor):
    from web.accounts.views import ROLE_LABELS

    # The farmer first: the role most people are given, and never the administrator by default.
    roles = sorted(service.grantable_roles(actor), key=lambda r: r != "farmer")
    form.role.choices = [(r, ROLE_LABELS[r]) for r in roles]
    form.organisation.choices = [(0, _("None"))] + [(o.id, o.name) for o in service.list_organisations(actor)]
    return form


def _link_page(user, token, purpose, status=200):
    link = url_for("people.use_link", token=token, _external=True)
    return render_template("accounts/link.html", target=user, link=link, purpose=purpose,
                           hours=service.LINK_HOURS[purpose]), status


@bp.route("/admin/users", methods=["GET", "POST"])
def users():
    actor = _actor()
    form = _fill_place(NewUserForm(), actor)
    status = 200
    if form.validate_on_submit():
        try:
            user, token = service.invite_user(actor, form.username.data, form.role.data, form.display_name.data,
                                              form.organisation.data, form.organisation_role.data,
                                              form.division.data, form.password.data)
        except (ValidationError, Conflict) as e:
            apply_errors(form, e)
            status = 422
        else:
            if token:
                return _link_page(user, token, "welcome", 201)
            flash(_("%(user)s has been added.", user=user.username), "info")
            return redirect(url_for("people.user_page", user_id=user.id))
    elif form.errors:
        status = 422
    query = request.args.get("q", "")
    return render_template("accounts/admin_users.html", form=form, query=query,
                           users=service.list_users(actor, query)), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
def user_page(user_id):
    actor = _actor()
    target = service.managed_user(actor, user_id)
    form = _fill_place(PlaceForm(obj=None), actor)
    status = 200
    if request.method == "GET":
        form.role.data = target.role
        form.organisation.data = target.organisation_id or 0
        form.organisation_role.data = target.organisation_role
        form.division.data = target.division_code or ""
    elif form.validate_on_submit():
        try:
            service.update_user(actor, target, form.role.data, form.organisation.data, form.organisation_role.data,
                                form.division.data)
        except (ValidationError, Conflict) as e:
            apply_errors(form, e)
            status = 422
        else:
            flash(_("%(user)s has been saved.", user=target.username), "info")
            return redirect(url_for("people.user_page", user_id=target.id))
    else:
        status = 422
    return render_template("accounts/admin_user.html", target=target, form=form), status


@bp.post("/admin/users/<int:user_id>/<any(deactivate, activate):action>")
def set_active(user_id, action):
    actor = _actor()
    target = service.managed_user(actor, user_id)
    service.set_active(actor, target, action == "activate")
    flash(_("%(user)s can no longer sign in.", user=target.username) if action == "deactivate"
          else _("%(user)s can sign in again.", user=target.username), "info")
    return redirect(url_for("people.user_page", user_id=target.id))


@bp.post("/admin/users/<int:user_id>/link")
def issue_link(user_id):
    actor = _actor()
    target = service.managed_user(actor, user_id)
    purpose = request.form.get("purpose", "reset")
    if purpose not in service.LINK_HOURS:
        abort(400)
    token = service.issue_link(actor, target, purpose)
    return _link_page(target, token, purpose)


@bp.route("/admin/organisations", methods=["GET", "POST"])
def organisations():
    actor = _actor()
    form = OrganisationForm()
    kinds = ORGANISATION_KINDS if actor.role == "admin" else service.BUREAU_ORGANISATION_KINDS
    form.kind.choices = [(k, KIND_LABELS[k]) for k in kinds]
    status = 200
    if form.validate_on_submit():
        try:
            organisation = service.admin_create_organisation(actor, form.name.data, form.kind.data,
                                                             form.division.data, form.contact_phone.data)
        except (ValidationError, Conflict) as e:
            apply_errors(form, e)
            status = 422
        else:
            flash(_("%(organisation)s has been added.", organisation=organisation.name), "info")
            return redirect(url_for("people.organisations"))
    elif form.errors:
        status = 422
    orgs = service.list_organisations(actor)
    return render_template("accounts/admin_organisations.html", form=form, organisations=orgs,
                           members={o.id: service.organisation_members(o) for o in orgs}), status


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def use_link(token):
    """Where an invited user, or one who forgot their password, sets a password (no sign-in needed)."""
    link = service.open_link(token)
    if link is None:
        return render_template("accounts/welcome.html", link=None, form=None), 410
    form = SetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.use_link(token, form.new_password.data)
        except ValidationError as e:
            apply_errors(form, e)
            status = 422
        except Conflict:
            return render_template("accounts/welcome.html", link=None, form=None), 410
        else:
            if g.user is not None:  # whoever was signed in on this browser: the link's user signs in next
                locale = session.get("locale")
                session.clear()
                if locale:
                    session["locale"] = locale
            flash(_("Your password is set. Sign in with %(user)s and your new password.", user=user.username),
                  "info")
            return redirect(url_for("accounts.index"))
    elif form.errors:
        status = 422
    response = render_template("accounts/welcome.html", link=link, form=form)
    return response, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
