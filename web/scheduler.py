"""The job scheduler: APScheduler, on which each domain registers its periodic jobs.

Exactly one scheduler may run per database, however many web processes there
are: starting one first takes a lock (a PostgreSQL advisory lock, or a file
lock beside an SQLite database). A process that cannot get the lock runs no
jobs. Deploy with ``RUN_SCHEDULER=0`` for gunicorn and one
``flask --app web worker`` process; see the README.
"""
import fcntl
import logging
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)

LOCK_KEY = zlib.crc32(b"farm-to-table scheduler")


@dataclass
class Job:
    id: str
    func: object
    trigger: str
    kwargs: dict = field(default_factory=dict)


JOBS: dict[str, Job] = {}


def register(job_id, trigger, **trigger_args):
    """Decorator: run ``func(app)`` on ``trigger`` ('interval', 'cron', ...)."""

    def decorator(func):
        JOBS[job_id] = Job(job_id, func, trigger, trigger_args)
        return func

    return decorator


class SchedulerLock:
    """Held for as long as this process runs the scheduler."""

    def __init__(self, database_url, data_dir):
        self.url = database_url
        self.data_dir = Path(data_dir)
        self._handle = None

    def acquire(self):
        if urlsplit(self.url).scheme.startswith("postgres"):
            import psycopg2
            from playhouse.db_url import parse

            params = parse(self.url)
            params.setdefault("connect_timeout", 10)
            params["dbname"] = params.pop("database")
            params.pop("options", None)
            conn = psycopg2.connect(**params)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
                got = cur.fetchone()[0]
            if not got:
                conn.close()
                return False
            self._handle = conn
            return True
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.data_dir / "scheduler.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _wrap(app, job):
    def run():
        from web.db import database

        with app.app_context():
            try:
                with database.connection_context():
                    job.func(app)
            except Exception:  # a failing job must not stop the others
                log.exception("job %s failed", job.id)

    return run


def build(app, blocking=False):
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(
        timezone=app.config["TIMEZONE"], job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": 300})
    for job in JOBS.values():
        scheduler.add_job(_wrap(app, job), job.trigger, id=job.id, replace_existing=True, **job.kwargs)
    return scheduler


def _lock_for(app):
    return SchedulerLock(app.config["DATABASE_URL"], app.config["DATA_DIR"])


def start_in_process(app):
    """Embedded default: run the jobs in a background thread of the web process."""
    lock = _lock_for(app)
    if not lock.acquire():
        log.info("another process runs the scheduler; this one runs no jobs")
        return None
    scheduler = build(app)
    scheduler.start()
    app.extensions["scheduler"] = (scheduler, lock)
    log.info("scheduler started in-process with %d job(s)", len(JOBS))
    return scheduler


def run_worker(app, stop_event: threading.Event | None = None):
    """The worker entry point: blocks, running every registered job."""
    lock = _lock_for(app)
    if not lock.acquire():
        log.error("another process already runs the scheduler; exiting")
        return False
    try:
        if stop_event is None:
            build(app, blocking=True).start()
        else:
            scheduler = build(app)
            scheduler.start()
            stop_event.wait()
            scheduler.shutdown()
    finally:
        lock.release()
    return True
