"""Sign in and out, language, and the user's own account page."""
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_wtf.csrf import generate_csrf
from flask_babel import lazy_gettext as _l

from web import registry, security
from web.accounts import service
from web.accounts.forms import (PARTNER_KIND_LABELS, ContactForm, InvitationForm, LoginForm, PartnerForm, PasswordForm,
                                TokenForm)
from web.db import Conflict, ValidationError
from web.clock import from_utc_naive
from web.forms import apply_errors, submit

bp = Blueprint("accounts", __name__)

ROLE_LABELS = {"admin": _l("Administrator"), "farmer": _l("Farmer"), "operator": _l("Supply-chain operator"),
               "inspector": _l("Inspector"), "bureau": _l("Agriculture bureau")}


@bp.app_context_processor
def _role_labels():
    return {"ROLE_LABELS": ROLE_LABELS, "local_time": from_utc_naive}


def _safe_next(target):
    """Only redirect to paths on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/", methods=["GET"])
def index():
    if g.user is None:
        return render_template("accounts/login.html", form=LoginForm())
    return redirect(url_for(registry.home_endpoint(g.user.role)))


def _failed(response):
    """Only failed sign-ins count against the limits (a success redirects)."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@security.limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
                        deduct_when=_failed, scope="login-address")
@security.limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
                        key_func=security.login_account_key, deduct_when=_failed, scope="login-account")
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(form.username.data, form.password.data)
        if user is not None:
            locale = session.get("locale")
            security.login(user)
            if locale and not user.locale:
                service.set_locale(user, locale)
            return redirect(_safe_next(request.args.get("next")) or url_for("farms.dashboard"))
        flash(_("Wrong username or password."), "error")
        return render_template("accounts/login.html", form=form), 401
    status = 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    security.logout()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.index"))


@bp.get("/lang/<code>")
def set_language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    if g.user is not None:
        service.set_locale(g.user, code)
    response = make_response(redirect(_safe_next(request.args.get("next")) or url_for("accounts.index")))
    response.set_cookie("locale", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/account", methods=["GET", "POST"])
def account():
    if g.user is None:
        abort(401)
    password_form = PasswordForm(prefix="pw")
    if password_form.submit.data and password_form.validate_on_submit():
        try:
            service.change_password(g.user, password_form.old_password.data, password_form.new_password.data)
        except ValidationError:
            password_form.old_password.errors.append(_("Wrong password."))
        else:
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", password_form=password_form,
                           invitations=service.invitations_for(g.user),
                           live_tokens=sum(1 for t in service.tokens_of(g.user) if t.revoked_at is None))


@bp.route("/account/developer", methods=["GET", "POST"])
def developer():
    """API tokens, for those who connect programs: apart from the farmer's everyday account page."""
    if g.user is None:
        abort(401)
    token_form = TokenForm(prefix="tk")
    new_token = None
    if token_form.submit.data and token_form.validate_on_submit():
        if request.form.get("confirm") != "yes":
            return _confirm(_("Create token"), _("Anyone holding the token acts as you through the API until it "
                                                  "is revoked. Create it?"),
                            url_for("accounts.developer"), {"tk-name": token_form.name.data, "tk-submit": "1",
                                                             "tk-csrf_token": generate_csrf()})
        new_token, _record = service.create_token(g.user, token_form.name.data)
    response = make_response(render_template("accounts/developer.html", token_form=token_form, new_token=new_token,
                                              tokens=service.tokens_of(g.user)))
    if new_token:
        response.headers["Cache-Control"] = "no-store"
    return response


def _confirm(title, message, action, fields=None, danger=False):
    return render_template("confirm.html", title=title, message=message, action=action, fields=fields,
                           button=title, danger=danger, cancel=url_for("accounts.developer"))


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id):
    if g.user is None:
        abort(401)
    if not service.revoke_token(g.user, token_id):
        abort(404)
    flash(_("The token has been revoked."), "info")
    return redirect(url_for("accounts.developer"))


@bp.post("/account/tokens/revoke-all")
def revoke_all_tokens():
    if g.user is None:
        abort(401)
    if request.form.get("confirm") != "yes":
        return _confirm(_("Revoke all tokens"), _("Every program using one of your tokens stops working at once."),
                        url_for("accounts.revoke_all_tokens"), danger=True)
    count = service.revoke_all_tokens(g.user)
    flash(ngettext("%(num)d token has been revoked.", "%(num)d tokens have been revoked.", count), "info")
    return redirect(url_for("accounts.developer"))


def _own_organisation():
    if g.user is None:
        abort(401)
    organisation = g.user.organisation
    if organisation is None:
        abort(404)
    return organisation


def _organisation_page(organisation, form=None, contact_form=None, status=200):
    manages = service.manages_organisation(g.user, organisation.id)
    return render_template("accounts/organisation.html", organisation=organisation, manages=manages,
                           form=form or InvitationForm(formdata=None),
                           contact_form=contact_form or ContactForm(formdata=None, obj=organisation, prefix="contact"),
                           members=service.organisation_members(organisation),
                           invitations=service.invitations_of_organisation(organisation) if manages else []), status


@bp.route("/organisation", methods=["GET", "POST"])
def organisation():
    """The signed-in user's organisation: its people and contact, and (for managers) inviting more."""
    organisation = _own_organisation()
    manages = service.manages_organisation(g.user, organisation.id)
    form = InvitationForm()
    status = 200
    if manages and form.validate_on_submit():
        try:
            invitation = service.invite(g.user, organisation, form.username.data, form.role.data)
        except (ValidationError, Conflict) as e:
            apply_errors(form, e)
            status = 422
        else:
            flash(_("%(user)s has been invited. They accept the invitation on their account page.",
                    user=invitation.invitee.username), "info")
            return redirect(url_for("accounts.organisation"))
    elif form.errors:
        status = 422
    return _organisation_page(organisation, form=form, status=status)


@bp.post("/organisation/contact")
def organisation_contact():
    """The phone and address the organisation's certificates of conformity print (managers only)."""
    organisation = _own_organisation()
    if not service.manages_organisation(g.user, organisation.id):
        abort(403)
    form = ContactForm(prefix="contact")
    done = submit(form, lambda: service.update_contact(g.user, organisation, form.data), _("Saved."),
                  lambda _organisation: url_for("accounts.organisation"))
    return done or _organisation_page(organisation, contact_form=form, status=422)


@bp.route("/organisations/", methods=["GET", "POST"])
def directory():
    """The directory of trading partners (buyers, processors, logistics, retailers); members of an
    organisation add the ones missing."""
    if g.user is None:
        abort(401)
    form = PartnerForm()
    may_add = g.user.organisation_id is not None or g.user.role == "admin"
    if request.method == "POST" and not may_add:
        abort(403)
    done = may_add and submit(form, lambda: service.add_partner(g.user, form.data),
                              lambda partner: _("%(name)s is in the directory.", name=partner.name),
                              lambda partner: url_for("accounts.partner", organisation_id=partner.id))
    if done:
        return done
    return render_template("accounts/directory.html", partners=service.partner_directory(), form=form,
                           may_add=may_add, KIND_LABELS=PARTNER_KIND_LABELS), 422 if form.errors else 200


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def partner(organisation_id):
    """One organisation of the directory; who manages it (before it is claimed: the organisation that added
    it) invites its people, and the first to accept as manager claims it."""
    if g.user is None:
        abort(401)
    organisation = service.get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    manages = service.manages_organisation(g.user, organisation.id)
    members = service.organisation_members(organisation)
    form = InvitationForm()
    if request.method == "GET" and not members:
        form.role.data = "manager"  # the first to join an unclaimed partner claims it
    status = 200
    if request.method == "POST":
        if not manages:
            abort(403)
        if form.validate_on_submit():
            try:
                invitation = service.invite(g.user, organisation, form.username.data, form.role.data)
            except (ValidationError, Conflict) as e:
                apply_errors(form, e)
            else:
                flash(_("%(user)s has been invited. They accept the invitation on their account page.",
                        user=invitation.invitee.username), "info")
                return redirect(url_for("accounts.partner", organisation_id=organisation.id))
        status = 422
    return render_template("accounts/partner.html", organisation=organisation, manages=manages, form=form,
                           members=members, KIND_LABELS=PARTNER_KIND_LABELS,
                           invitations=service.invitations_of_organisation(organisation) if manages else []), status


@bp.post("/invitations/<int:invitation_id>/<any(accept, decline):answer>")
def answer_invitation(invitation_id, answer):
    if g.user is None:
        abort(401)
    if answer == "accept":
        invitation = service.accept_invitation(g.user, invitation_id)
        flash(_("You have joined %(organisation)s.", organisation=invitation.organisation.name), "info")
    else:
        service.decline_invitation(g.user, invitation_id)
        flash(_("The invitation has been declined."), "info")
    return redirect(_safe_next(request.form.get("next")) or url_for("accounts.account"))


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id):
    if g.user is None:
        abort(401)
    service.revoke_invitation(g.user, invitation_id)
    flash(_("The invitation has been withdrawn."), "info")
    return redirect(url_for("accounts.organisation"))
