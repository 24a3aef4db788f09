"""The scheduler runs registered jobs, and only one process may run it per database."""
import threading
import time

from web import scheduler


def test_only_one_scheduler_per_database(app):
    first = scheduler.SchedulerLock(app.config["DATABASE_URL"], app.config["DATA_DIR"])
    second = scheduler.SchedulerLock(app.config["DATABASE_URL"], app.config["DATA_DIR"])
    assert first.acquire()
    try:
        assert not second.acquire(), "a second scheduler got the lock"
    finally:
        first.release()
    assert second.acquire(), "the lock was not released"
    second.release()


def test_worker_runs_registered_jobs(app, monkeypatch):
    runs = []
    monkeypatch.setattr(scheduler, "JOBS", {})

    @scheduler.register("test-tick", "interval", seconds=0.2)
    def tick(application):
        from farms.models import Crop

        runs.append(Crop.select().count())  # jobs get a database connection

    stop = threading.Event()
    worker = threading.Thread(target=scheduler.run_worker, args=(app, stop))
    worker.start()
    deadline = time.monotonic() + 10
    while not runs and time.monotonic() < deadline:
        time.sleep(0.05)
    # While it runs, a second worker refuses to start.
    assert scheduler.run_worker(app, threading.Event()) is False
    stop.set()
    worker.join(timeout=10)
    assert runs and runs[0] > 0


def test_a_failing_job_does_not_stop_the_scheduler(app, monkeypatch):
    monkeypatch.setattr(scheduler, "JOBS", {})
    calls = []

    @scheduler.register("boom", "interval", seconds=0.1)
    def boom(application):
        calls.append(1)
        raise RuntimeError("feed down")

    stop = threading.Event()
    worker = threading.Thread(target=scheduler.run_worker, args=(app, stop))
    worker.start()
    deadline = time.monotonic() + 10
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=10)
    assert len(calls) >= 2
