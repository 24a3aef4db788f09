"""The one database handle, and the schema migrations that keep it current.

Models of every domain subclass ``BaseModel``; the handle is bound to a real
database from ``DATABASE_URL`` when the app starts.
"""
import contextlib
import importlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

import peewee as pw
from playhouse.db_url import connect
from playhouse.pool import PooledDatabase

log = logging.getLogger(__name__)

database = pw.DatabaseProxy()

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class ValidationError(Exception):
    """A domain rule rejected the input; ``fields`` maps field name -> message."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Conflict(Exception):
    """The request clashes with something already stored (a duplicate, say)."""

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Unavailable(Exception):
    """A service the request needs (the MQTT broker, say) cannot be reached; nothing was changed."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def is_postgres():
    """True when the bound database is PostgreSQL (else SQLite)."""
    return isinstance(database.obj, pw.PostgresqlDatabase)


# Connections are kept in a pool per process and lent to one request at a time: opening one costs
# 2 ms on SQLite (its pragmas) and 8 ms on PostgreSQL, more than most pages take to draw. A lent
# PostgreSQL connection is checked first (a server that restarted gives a new one), one left in a
# transaction is rolled back on return, and none is kept longer than POOL_STALE_SECONDS.
POOL_MAX_CONNECTIONS = 32
POOL_STALE_SECONDS = 300


def open_database(url, timeout=10):
    """Connect to ``url`` with a timeout on every call, without opening a connection yet; waiting for
    a free connection of the pool is bounded by ``timeout`` too."""
    scheme, rest = url.split(":", 1) if ":" in url else (url, "")
    pool = {"max_connections": POOL_MAX_CONNECTIONS, "stale_timeout": POOL_STALE_SECONDS, "timeout": timeout}
    if scheme.startswith("sqlite"):
        # A pooled connection may serve another thread than the one that opened it (never two at once);
        # ``timeout`` is the pool's wait here, and busy_timeout SQLite's wait for a lock.
        db = connect(f"sqlite+pool:{rest}", check_same_thread=False, **pool, pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": "normal",
            "busy_timeout": timeout * 1000,
        })
    elif scheme.startswith("postgres"):
        kwargs = {}
        if "connect_timeout" not in url:
            kwargs["connect_timeout"] = timeout
        db = connect(f"postgresql+pool:{rest}", **kwargs, **pool)
        statement_timeout = f"-c statement_timeout={timeout * 1000}"
        options = db.connect_params.get("options", "")
        db.connect_params["options"] = f"{options} {statement_timeout}".strip()
    else:
        raise ValueError(f"DATABASE_URL must be sqlite:// or postgresql://, not {scheme}://")
    return db


def bind(url, timeout=10):
    """Point the one handle at ``url``; the idle connections of the database it pointed at are closed."""
    previous = database.obj
    db = open_database(url, timeout)
    database.initialize(db)
    if isinstance(previous, PooledDatabase):
        previous.close_idle()
    return db


def all_models():
    from web import registry

    models = []
    for name in registry.model_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, BaseModel)
                    and value is not BaseModel and value.__module__ == name):
                models.append(value)
    return pw.sort_models(models)


def migration_router():
    from peewee_migrate import Router

    return Router(database.obj, migrate_dir=str(MIGRATIONS_DIR), ignore=["basemodel"],
                  logger=log)


def migrate():
    """Apply every pending migration; a database that holds data keeps it."""
    all_models()  # import every model module so foreign keys resolve
    sqlite = isinstance(database.obj, pw.SqliteDatabase)
    with database.connection_context():
        if sqlite:
            # SQLite rebuilds a table to change a column; with foreign keys on,
            # dropping the old table would fail or cascade (SQLite's documented
            # 12-step procedure turns them off and checks afterwards).
            database.execute_sql("PRAGMA foreign_keys = OFF")
        try:
            migration_router().run()
            if sqlite:
                broken = database.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise pw.IntegrityError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                database.execute_sql("PRAGMA foreign_keys = ON")


def pending_model_changes():
    """Changes in the models that no migration describes yet (should be empty)."""
    from peewee_migrate.router import compile_migrations

    router = migration_router()
    migrator = router.migrator  # the schema as the applied migrations describe it
    for name in router.diff:
        router.run_one(name, migrator, fake=True)
    return compile_migrations(migrator, all_models()).strip()


def init_app(app):
    bind(app.config["DATABASE_URL"], app.config["DATABASE_TIMEOUT"])

    @app.before_request
    def _open_connection():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_connection(exc):
        if not database.is_closed():
            database.close()


@contextlib.contextmanager
def temporary_schema(url, prefix="tmp", connect_timeout=5):
    """A new, empty schema in the PostgreSQL database at ``url``, dropped with its tables on exit.

    Yields ``(schema_url, name)``: ``schema_url`` is ``url`` with the schema as its search path,
    ready for ``DATABASE_URL``. Tests and benchmarks use it so that runs never collide.
    """
    import uuid

    import psycopg2
    from playhouse.db_url import parse

    params = parse(url)
    params["dbname"] = params.pop("database")
    params.setdefault("connect_timeout", connect_timeout)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(**params)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{name}"')
    finally:
        conn.close()
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-c%20search_path%3D{name}", name
    finally:
        conn = psycopg2.connect(**params)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            conn.close()
