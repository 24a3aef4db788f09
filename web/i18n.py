"""Language: Chinese unless the user chose English (the switch is on every page).

The JSON API (/api/...) answers in the language of the request's Accept-Language (zh or en) when it
names one of them: API clients say so there, not through the pages' switch."""
from flask import current_app, g, has_request_context, request, session
from flask_babel import Babel, get_locale


def select_locale():
    languages = current_app.config["LANGUAGES"]
    if has_request_context() and request.path.startswith("/api/") and request.accept_languages:
        chosen = request.accept_languages.best_match(list(languages))
        if chosen:
            return chosen
    user = g.get("user")
    if user is not None and user.locale in languages:
        return user.locale
    if not has_request_context():  # a command or a job: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale") or request.cookies.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app):
    Babel(app, locale_selector=select_locale,
          timezone_selector=lambda: app.config["TIMEZONE"])
    app.jinja_env.globals["get_locale"] = get_locale
