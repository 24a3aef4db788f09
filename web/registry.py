"""The domains the app is assembled from, and what each one contributes.

Each package named in ``web.DOMAINS`` has, in its ``__init__.py``:

- ``DOMAIN``, a ``Domain`` record: its model module, OpenAPI fragment, reference-data and
  demo loaders (as "module:function" names), and the blueprints, commands and jobs that its
  ``init_app`` registers. The records are read without an app: migrations and the schema
  check need every model, ``init-db`` every reference loader.
- ``init_app(app)``, which registers the blueprints, CLI commands, scheduled jobs and
  ingest listeners.

Domains are imported here by name only, so ``web`` holds no import of any of them.
"""
import importlib
from dataclasses import dataclass
from pathlib import Path

# web's own model modules and OpenAPI fragment come before the domains'.
CORE_MODEL_MODULES = ("web.divisions", "web.accounts.models")
CORE_REFERENCE_LOADERS = ("web.divisions:load",)
CORE_OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"


@dataclass(frozen=True)
class Domain:
    name: str
    models: str | None = None  # module that defines the domain's models
    openapi: Path | None = None  # its OpenAPI fragment (paths, components, tags)
    reference_loaders: tuple = ()  # "module:function", run by init-db (idempotent)
    demo_loader: str | None = None  # "module:function", called as f(now, users, summary) in an app context
    blueprints: tuple = ()  # names of the blueprints init_app registers
    commands: tuple = ()  # names of the top-level CLI commands init_app adds
    jobs: tuple = ()  # ids of the scheduled jobs init_app registers
    homes: tuple = ()  # (role, endpoint): the home page of users of that role (default farms.dashboard)


def domain_names():
    from web import DOMAINS

    return DOMAINS


def domains():
    """Every domain's record, in ``DOMAINS`` order."""
    return tuple(importlib.import_module(name).DOMAIN for name in domain_names())


def resolve(spec):
    """The object named "module:attribute"."""
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def model_modules():
    return CORE_MODEL_MODULES + tuple(d.models for d in domains() if d.models)


def openapi_files():
    return (CORE_OPENAPI,) + tuple(d.openapi for d in domains() if d.openapi)


def reference_loaders():
    specs = CORE_REFERENCE_LOADERS + tuple(spec for d in domains() for spec in d.reference_loaders)
    return tuple(resolve(spec) for spec in specs)


def demo_loaders():
    """(domain name, loader) in ``DOMAINS`` order."""
    return tuple((d.name, resolve(d.demo_loader)) for d in domains() if d.demo_loader)


def home_endpoint(role):
    """The endpoint of the home page of users of ``role``."""
    for domain in domains():
        for home_role, endpoint in domain.homes:
            if home_role == role:
                return endpoint
    return "farms.dashboard"


def init_app(app):
    for name in domain_names():
        importlib.import_module(name).init_app(app)
