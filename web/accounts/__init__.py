"""Organisations, users, sign-in and API tokens (web's own, shared by every domain)."""


def init_app(app):
    from web.accounts import admin, api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
