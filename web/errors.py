"""Errors: JSON ``{"error": {code, message, fields}}`` under /api/, a readable page elsewhere."""
import logging

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from peewee import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from web.api import PREFIX, ApiError, error_body
from web.db import Conflict, Unavailable, ValidationError
from web.permissions import Denied

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid", 429: "too_many_requests", 500: "server_error", 503: "unavailable"}


def _wants_json():
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _page_message(status):
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in first."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist, or you cannot see it."),
        405: _("This action is not allowed here."),
        409: _("This conflicts with something already saved."),
        413: _("The upload is too large."),
        422: _("Some fields need correcting."),
        429: _("Too many attempts. Wait a few minutes, then try again."),
        503: _("The service is briefly unavailable. Please try again."),
    }.get(status, _("Something went wrong on our side. Please try again."))


def respond(status, code, message, fields=None, show_detail=True):
    """The JSON error body under /api/, else a page in the visitor's language: ``show_detail=False``
    keeps an internal (English) message off the page, where the translated summary says it all."""
    if _wants_json():
        return jsonify(error_body(code, message, fields)), status
    if status == 401:
        from flask import redirect, url_for

        return redirect(url_for("accounts.login", next=request.full_path))
    return render_template("errors/error.html", status=status,
                           message=_page_message(status), detail=message if status < 500 and show_detail else None,
                           fields=fields), status


def init_app(app):
    @app.before_request
    def _refuse_nul():
        """NUL has no place in text, and PostgreSQL cannot store it: a path, query or form value
        holding one is refused before it reaches a query (it gave a 500 there)."""
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                          for key, value in request.args.items(multi=True)):
            abort(400, _("The request holds a NUL character."))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and any(
                "\x00" in value for value in request.form.values()):
            abort(400, _("The request holds a NUL character."))

    @app.errorhandler(ApiError)
    def _api_error(e):
        return respond(e.status, e.code, e.message, e.fields)

    @app.errorhandler(ValidationError)
    def _validation(e):
        return respond(422, "invalid", e.message, e.fields)

    @app.errorhandler(Conflict)
    def _conflict(e):
        return respond(409, "conflict", e.message, e.fields)

    @app.errorhandler(Unavailable)
    def _unavailable(e):
        log.warning("unavailable: %s", e.message)
        return respond(503, "unavailable", _("A service this needs is not reachable (%(what)s); nothing was "
                                             "changed. Please try again.", what=e.message))

    @app.errorhandler(Denied)
    def _denied(e):
        return respond(e.status, CODES[e.status], e.message, show_detail=False)

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return respond(400, "csrf_failed", _("The form expired or did not come from this site. "
                                             "Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(e):
        # Werkzeug's own English descriptions give way to ours, in the request's language; one given with
        # abort() is ours, already translated.
        default = not e.description or e.description == type(e).description
        response = respond(e.code, CODES.get(e.code, "error"), _page_message(e.code) if default else e.description,
                           show_detail=not default)
        if e.code == 405 and getattr(e, "valid_methods", None):
            response = app.make_response(response)
            response.headers["Allow"] = ", ".join(sorted(e.valid_methods))
        return response

    @app.errorhandler(IntegrityError)
    def _integrity(e):
        log.warning("integrity error: %s", e)
        return respond(409, "conflict", _("This conflicts with something already saved."))

    @app.errorhandler(OperationalError)
    def _db_down(e):
        log.error("database error: %s", e)
        return respond(503, "unavailable", _("The database is not reachable; nothing was saved."))

    @app.errorhandler(Exception)
    def _unexpected(e):
        log.exception("unhandled error")
        return respond(500, "server_error", _("Something went wrong on our side."))
