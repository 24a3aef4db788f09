"""web/ only assembles: each package in DOMAINS contributes what its Domain record declares, and
web/ imports no domain anywhere (the registry finds them by name)."""
import importlib
import re
from pathlib import Path

from web import DOMAINS, db, registry, scheduler
from web.api import openapi_document

WEB = Path(__file__).resolve().parents[2] / "web"
WEB_BLUEPRINTS = {"accounts", "people", "people_api", "api"}  # people(_api): the administrators' pages and JSON of web.accounts
WEB_COMMANDS = {"init-db", "load-demo", "create-user", "worker", "make-migration"}


def test_every_domain_declares_itself():
    assert len(set(DOMAINS)) == len(DOMAINS)
    for name in DOMAINS:
        package = importlib.import_module(name)
        assert package.DOMAIN.name == name
        assert callable(package.init_app), name
    assert [d.name for d in registry.domains()] == list(DOMAINS)


def test_models_reference_and_demo_loaders_come_from_the_records():
    models = {model.__module__ for model in db.all_models()}
    for domain in registry.domains():
        if domain.models:
            assert domain.models.split(".")[0] == domain.name
            assert domain.models in models, f"{domain.name}: no model found in {domain.models}"
        for spec in domain.reference_loaders + ((domain.demo_loader,) if domain.demo_loader else ()):
            assert spec.split(".")[0] == domain.name, spec
            assert callable(registry.resolve(spec)), spec
    assert models == set(registry.model_modules())
    loaders = registry.reference_loaders()
    assert len(loaders) == len(registry.CORE_REFERENCE_LOADERS) + sum(
        len(d.reference_loaders) for d in registry.domains())
    assert [name for name, _ in registry.demo_loaders()] == [d.name for d in registry.domains() if d.demo_loader]


def test_openapi_fragments_are_merged_in_order():
    import yaml

    document = openapi_document()
    files = registry.openapi_files()
    assert files[0] == registry.CORE_OPENAPI
    for domain in registry.domains():
        if domain.openapi:
            assert domain.openapi.parent.name == domain.name and domain.openapi in files
            fragment = yaml.safe_load(domain.openapi.read_text(encoding="utf-8"))
            assert fragment.get("paths"), domain.name
            for path in fragment["paths"]:
                assert document["paths"][path] == fragment["paths"][path], path


def test_init_app_registers_what_is_declared_and_nothing_else(tmp_path):
    from web import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DATA_DIR": str(tmp_path),
                      "SECRET_KEY": "x"})
    declared_blueprints = set(WEB_BLUEPRINTS)
    declared_commands = set(WEB_COMMANDS)
    for domain in registry.domains():
        for name in domain.blueprints:
            assert name in app.blueprints, f"{domain.name} declares blueprint {name}"
            assert app.blueprints[name].import_name.split(".")[0] == domain.name
        for name in domain.commands:
            assert name in app.cli.commands, f"{domain.name} declares command {name}"
            command = app.cli.commands[name]
            callbacks = [command.callback] if command.callback else \
                [sub.callback for sub in command.commands.values()]  # a group of commands
            assert callbacks and all(c.__module__.split(".")[0] == domain.name for c in callbacks)
        for job in domain.jobs:
            assert job in scheduler.JOBS, f"{domain.name} declares job {job}"
            assert scheduler.JOBS[job].func.__module__.split(".")[0] == domain.name
        declared_blueprints |= set(domain.blueprints)
        declared_commands |= set(domain.commands)
    assert set(app.blueprints) == declared_blueprints
    assert set(app.cli.commands) == declared_commands
    assert set(scheduler.JOBS) == {job for d in registry.domains() for job in d.jobs}


def test_sensors_listeners_are_registered_by_init_app(app):
    from sensors import alarms, service

    assert alarms.evaluate in service.INGEST_LISTENERS and alarms.check_rejections in service.INGEST_LISTENERS
    assert len(service.INGEST_LISTENERS) == len(set(service.INGEST_LISTENERS))


def test_web_imports_no_domain():
    """Outside web/migrations/, web/ names the domains only in the DOMAINS tuple (as strings)."""
    pattern = re.compile(r"(from|import) (farms|sensors|trace|weather|chain)\b")
    found = []
    for path in WEB.rglob("*.py"):
        if "migrations" in path.relative_to(WEB).parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(WEB.parent)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
