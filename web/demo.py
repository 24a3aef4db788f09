"""Demo data: ``flask --app web load-demo`` calls ``load()``.

The accounts come first (``web.accounts.demo``); then each domain's demo loader runs, in
``DOMAINS`` order: the farms and their months of farm log (``farms.demo``), the sensor stations
with their history (``sensors.demo``), a batch with its journey that records what those stations
saw (``trace.demo``), and the local feed of sample weather warnings (``weather.demo``).

Everything is written through the service functions, so the demo obeys the same rules as real
input, and loading again adds only what is missing. The loaders need the app (its settings and
translations): loading outside an app context is an error.

Every demo account has the password ``demo-password``; only this loader creates them.
"""
import datetime as dt

from flask import current_app, has_app_context, has_request_context
from flask_babel import force_locale

from web import registry
from web.accounts import demo as accounts_demo
from web.accounts.models import Organisation, User
from web.clock import local_zone
from web.db import database

PASSWORD = accounts_demo.PASSWORD


class Summary(dict):
    """What one ``load()`` created, by kind of row."""

    def __missing__(self, key):
        return 0

    def __str__(self):
        made = ", ".join(f"{count} {kind}" for kind, count in self.items() if count)
        return f"created {made}" if made else "nothing new (the demo was loaded already)"


def database_is_empty():
    return not User.select().exists()


def load(now=None, only=None):
    """Create the demo accounts and each domain's demo data that are missing; returns a ``Summary``.

    ``now`` (aware; default: now in TIMEZONE) dates the demo; ``only`` names the domains whose
    demo to load (default: all).
    """
    if not has_app_context():
        raise RuntimeError("the demo loads inside the app: run flask --app web load-demo, "
                           "or call load() within app.app_context()")
    zone = local_zone()
    now = (now or dt.datetime.now(zone)).astimezone(zone)
    summary = Summary(organisations=0, users=0)
    organisations_before = Organisation.select().count()
    with database.atomic():
        users = accounts_demo.load(summary)
    if has_request_context():
        _run_loaders(now, users, summary, only)
    else:
        # The services' messages are translated; outside a request the locale cannot come from the
        # visitor, so it is fixed here. (A test request context would do too, but ending it runs the
        # request teardown, which closes the database connection the CLI command holds open.)
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            _run_loaders(now, users, summary, only)
    # Besides the demo's own, create_farm makes one for each farmer without an organisation.
    summary["organisations"] = Organisation.select().count() - organisations_before
    return summary


def _run_loaders(now, users, summary, only):
    for name, loader in registry.demo_loaders():
        if only is None or name in only:
            loader(now, users, summary)
