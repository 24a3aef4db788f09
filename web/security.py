"""Authentication: session login for the browser, bearer tokens for machines, CSRF."""
from flask import abort, g, request, session
from flask_wtf.csrf import CSRFProtect

from web.accounts import service as accounts

csrf = CSRFProtect()


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def login_required(blueprint, public=()):
    """Every page of ``blueprint`` needs a signed-in user (401 otherwise), except the endpoints in ``public``."""
    public = frozenset(public)

    @blueprint.before_request
    def _signed_in():
        if request.endpoint not in public and g.user is None:
            abort(401)

    return blueprint


def login(user):
    session.clear()
    session["user_id"] = user.id
    session.permanent = True


def logout():
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def init_app(app):
    csrf.init_app(app)

    @app.before_request
    def _load_user():
        g.user = None
        g.auth = None
        token = bearer_token()
        if token is not None:
            # A machine: the token alone decides; an invalid token is never
            # silently downgraded to the session.
            g.user = accounts.user_for_token(token)
            g.auth = "token" if g.user else "bad-token"
            return
        user_id = session.get("user_id")
        if user_id is not None:
            g.user = accounts.get_user(user_id)
            if g.user is None:
                session.pop("user_id", None)
            else:
                g.auth = "session"

    @app.context_processor
    def _inject_user():
        return {"current_user": g.get("user")}
