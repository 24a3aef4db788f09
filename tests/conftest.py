"""Shared fixtures. Every test that takes ``app`` runs on SQLite and on PostgreSQL.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server, database
``test``); each run works in a schema of its own, so runs never collide, and
every test starts from the freshly migrated data on both databases (see Backend).
Outside CI an unreachable PostgreSQL skips its half of the tests with a
message; under CI=true it fails them.
"""
import contextlib
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import World, need
from web import create_app, db

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Backend:
    """One database per run, migrated once; every test starts from a fresh copy of it.

    SQLite: the migrated file is copied for each test. PostgreSQL: the run works in a
    schema of its own; after migrating, its rows and sequence values are kept in a second
    schema, and before each test every table is emptied and refilled from there (committed,
    so server threads, workers and browsers see the same data as the test). A test that
    changed the schema itself (a migration test, say) gets the schema rebuilt.
    """

    def __init__(self, name, tmp_root):
        self.name = name
        self.tmp_root = tmp_root
        self.error = None
        self.schema = None
        self._schemas = contextlib.ExitStack()
        self._conn = None
        if name == "sqlite":
            self.template = tmp_root / "template.db"
            self.url = f"sqlite:///{self.template}"
        else:
            import psycopg2

            try:
                self.url, self.schema = self._schemas.enter_context(db.temporary_schema(POSTGRES_URL, "test"))
                _url, self.snapshot = self._schemas.enter_context(db.temporary_schema(POSTGRES_URL, "test_tmpl"))
            except psycopg2.OperationalError as e:
                self.error = f"PostgreSQL not reachable at {POSTGRES_URL} ({str(e).strip()}); " \
                             "install and start postgresql, or set TEST_POSTGRES_URL"
        self.ready = False

    def prepare(self, data_dir):
        """Migrate once per run and load the reference data."""
        if self.ready:
            return
        from web.cli import init_database

        create_app({"DATABASE_URL": self.url, "DATA_DIR": str(data_dir), "SECRET_KEY": "x"})
        init_database()
        db.database.close() if not db.database.is_closed() else None
        # Closed for good, not kept in the pool: SQLite moves its write-ahead log into the file, which
        # each test then copies.
        db.database.obj.close_idle()
        if self.name == "postgres":
            self._take_snapshot()
        self.ready = True

    def url_for_test(self, tmp_path):
        if self.name == "sqlite":
            path = tmp_path / "test.db"
            shutil.copy(self.template, path)
            return f"sqlite:///{path}"
        return self.url

    # ------------------------------------------------------------ PostgreSQL's fresh copy

    def _cursor(self):
        if self._conn is None or self._conn.closed:
            import psycopg2
            from playhouse.db_url import parse

            params = parse(self.url)
            params["dbname"] = params.pop("database")
            self._conn = psycopg2.connect(**params)
            self._conn.autocommit = True
        return self._conn.cursor()

    _FINGERPRINT = """
        SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
            SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                   || ':' || a.attnotnull::text || ':' || a.atthasdef::text AS item
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = %(schema)s::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT c.relname || ':' || c.relkind::text FROM pg_class c
            WHERE c.relnamespace = %(schema)s::regnamespace) items"""

    def _take_snapshot(self):
        """Keep the migrated schema's rows and sequence values, to start every test from them."""
        order = [m._meta.table_name for m in db.all_models()]  # foreign keys point backwards
        with self._cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,))
            tables = {row[0] for row in cur.fetchall()}
            self.tables = sorted(tables - set(order)) + [t for t in order if t in tables]
            cur.execute(self._FINGERPRINT, {"schema": self.schema})
            self.fingerprint = cur.fetchone()[0]
            cur.execute("SELECT sequencename, coalesce(last_value, 1), last_value IS NOT NULL "
                        "FROM pg_sequences WHERE schemaname = %s", (self.schema,))
            sequences = cur.fetchall()
            filled = []
            for table in self.tables:
                cur.execute(f'CREATE TABLE "{self.snapshot}"."{table}" AS SELECT * FROM "{self.schema}"."{table}"')
                if cur.rowcount:
                    filled.append(table)
            cur.execute("SELECT current_setting('is_superuser') = 'on'")
            superuser = cur.fetchone()[0]
        refill = ("".join(f'INSERT INTO "{self.schema}"."{t}" SELECT * FROM "{self.snapshot}"."{t}";' for t in filled)
                  + "".join(f"SELECT setval('\"{self.schema}\".\"{name}\"', {value}, {called});"
                            for name, value, called in sequences))
        if superuser:
            # DELETE with triggers and foreign-key checks off (replica role: the rows put back are the migrated
            # ones): about 7 ms a test, where TRUNCATE of the 47 tables takes about 280 ms.
            self.restore_sql = ("SET session_replication_role = replica;"
                                + "".join(f'DELETE FROM "{self.schema}"."{t}";' for t in self.tables)
                                + refill)  # reset() puts the role back, also when this fails
        else:
            self.restore_sql = "TRUNCATE {} RESTART IDENTITY CASCADE;".format(
                ", ".join(f'"{self.schema}"."{t}"' for t in self.tables)) + refill

    def reset(self):
        """PostgreSQL: back to the freshly migrated data (SQLite copies a file instead)."""
        if self.name != "postgres":
            return
        with self._cursor() as cur:
            cur.execute(self._FINGERPRINT, {"schema": self.schema})
            if cur.fetchone()[0] != self.fingerprint:
                self._rebuild()
                return
            cur.execute("SET lock_timeout = '60s'")
            try:
                cur.execute(self.restore_sql)
            finally:
                cur.execute("SET session_replication_role = DEFAULT")

    def _rebuild(self):
        """A test changed the schema: migrate a fresh one (rare, and slower than a restore)."""
        with self._cursor() as cur:
            cur.execute(f'DROP SCHEMA "{self.schema}" CASCADE; CREATE SCHEMA "{self.schema}"; '
                        f'DROP SCHEMA "{self.snapshot}" CASCADE; CREATE SCHEMA "{self.snapshot}"')
        bound = db.database.obj
        self.ready = False
        self.prepare(self.tmp_root)
        db.database.initialize(bound)  # the test's app keeps its own handle

    def drop(self):
        if self._conn is not None:
            self._conn.close()
        self._schemas.close()


@pytest.fixture(scope="session")
def backends(tmp_path_factory):
    created = {}

    def get(name):
        if name not in created:
            created[name] = Backend(name, tmp_path_factory.mktemp(name))
        return created[name]

    yield get
    for backend in created.values():
        backend.drop()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, backends, tmp_path_factory):
    backend = backends(request.param)
    need(backend.error is None, backend.error or "")
    backend.prepare(tmp_path_factory.mktemp("data"))
    return backend


@pytest.fixture
def app(backend, tmp_path):
    application = create_app({
        "DATABASE_URL": backend.url_for_test(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    })
    backend.reset()
    # No app context is held across requests: each request gets its own, as in production.
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture(autouse=True)
def _python_recursion_limit():
    """Python's default limit, as the app runs with: eth-tester's py-evm raises it to 100,000 when
    imported (tests of the chain import it), and deep input would then overflow the C stack."""
    import sys

    sys.setrecursionlimit(1000)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Hashing is deliberately slow (scrypt, about 0.1 s to hash and again to check at sign-in).
    Tests store one-round PBKDF2 hashes instead, which werkzeug checks by the method the hash
    names; what is tested is that passwords are hashed and checked, not their cost. Programs the
    tests start (scripts/run, the workers) hash as in production."""
    import functools

    from werkzeug.security import generate_password_hash

    from web.accounts import service

    monkeypatch.setattr(service, "generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(app):
    return World()


# ---------------------------------------------------------------- browser tests

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def phone():
    """Debian's Chromium, headless, as a 390 x 844 phone."""
    need(Path(CHROMIUM).exists() and shutil.which("chromedriver"),
         "Chromium not found: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=390,844", "--lang=zh-CN"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 3.0}})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
