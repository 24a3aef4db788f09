"""Authentication: session login for the browser, bearer tokens for machines, CSRF, sign-in
throttling, and the security headers every answer carries."""
from flask import abort, g, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from web.accounts import service as accounts

csrf = CSRFProtect()
# Limits are declared where they apply (the sign-in form); storage from RATELIMIT_STORAGE_URI.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

# Pages load nothing from elsewhere and run no inline script: say so, and refuse framing
# (a framed page could be clicked through, "rotate device token" say). Images may also be blob: URLs:
# the photos of the log kept on the phone, shown from IndexedDB until they are sent.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")


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
    session["epoch"] = user.session_epoch
    session.permanent = True


def logout():
    """End this session and every other session of the user (a copied cookie stops working too)."""
    locale = session.get("locale")
    if g.get("user") is not None and g.get("auth") == "session":
        accounts.end_sessions(g.user)
    session.clear()
    if locale:
        session["locale"] = locale


def login_account_key():
    """The per-account throttling key: the account name typed into the sign-in form."""
    return "account:" + (request.form.get("username") or "").strip().lower()[:64]


def init_app(app):
    csrf.init_app(app)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # Flask's own default (None) would win over a setdefault
    if app.config["PUBLIC_BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    limiter.init_app(app)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

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
            if g.user is not None and session.get("epoch", 0) != g.user.session_epoch:
                g.user = None  # signed out everywhere, or the password changed, since this session began
            if g.user is None:
                session.pop("user_id", None)
            else:
                g.auth = "session"

    @app.context_processor
    def _inject_user():
        from web import registry

        user = g.get("user")
        return {"current_user": user, "home_endpoint": registry.home_endpoint(user.role) if user else None}
