"""The temporary database of one bench run, shared by the bench scripts."""
import contextlib
import tempfile
from pathlib import Path


@contextlib.contextmanager
def bench_database(postgres, prefix, postgres_url, schema="bench"):
    """Yield (database URL, temporary folder) for one run: a fresh PostgreSQL schema of ``postgres_url``,
    or the SQLite file ``bench.db`` in the folder. On leaving, the app's connection is closed, the schema
    dropped and the folder deleted. The project root must be on sys.path (``web.db``)."""
    from web import db

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, contextlib.ExitStack() as schemas:
        try:
            if postgres:
                url, _schema = schemas.enter_context(db.temporary_schema(postgres_url, schema))
            else:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            yield url, Path(tmp)
        finally:
            if not db.database.is_closed():
                db.database.close()
