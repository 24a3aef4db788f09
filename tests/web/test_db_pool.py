"""Database connections are pooled per process: a request borrows one and gives it back, and a
PostgreSQL connection the server dropped (a restart, an administrator's pg_terminate_backend) is
replaced before it is lent, so the next request is answered instead of failing."""
from web import db


def _idle(pool):
    return [conn for _opened, _n, conn in pool._connections]


def _scan(client):
    # The consumer page of an unknown batch: anonymous, and it asks the database.
    response = client.get("/t/NOSUCHCODE")
    assert response.status_code == 404
    return response


def test_requests_borrow_and_return_one_connection(app, client):
    _scan(client)
    pool = db.database.obj
    idle = _idle(pool)
    assert len(idle) == 1 and not pool._in_use
    for _ in range(3):
        _scan(client)
    assert _idle(pool) == idle  # the same connection, lent again: nothing opened per request


def test_a_connection_the_server_dropped_is_replaced(app, client, backend):
    _scan(client)
    pool = db.database.obj
    [conn] = _idle(pool)
    if backend.name == "postgres":
        import psycopg2
        from playhouse.db_url import parse

        params = parse(app.config["DATABASE_URL"])
        params["dbname"] = params.pop("database")
        killer = psycopg2.connect(**params)
        killer.autocommit = True
        with killer.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (conn.get_backend_pid(),))
            assert cur.fetchone()[0] is True
        killer.close()
    else:
        conn.close()  # SQLite: a connection closed under the pool
    _scan(client)
    [replacement] = _idle(pool)
    assert replacement is not conn
