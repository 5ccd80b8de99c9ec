"""The dispatchers: who runs a committed outbox job, and who runs the sweeps on their schedule.

With REDIS_URL the web process publishes job ids to Celery by task name (`CeleryDispatcher`) and the
workers' beat runs the sweeps (workers/). Without it one background thread of the web process runs
both (`EmbeddedDispatcher`). Either way a job is published only after the transaction that enqueued it
commits, by listeners on the app's own session (`db.session`), not on every SQLAlchemy session.
"""
import logging
import os
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..database import db
from ..timestamps import utcnow
from .outbox import Job, OutboxJob, publish, run_job

log = logging.getLogger(__name__)

# After a failed publish, skip publishing for a while rather than try a dead broker for every job.
BROKER_COOLDOWN_SECONDS = 5.0


@dataclass(frozen=True)
class Sweep:
    """A periodic sweep: `function()` every `config[every]` seconds (the setting's default is in config/)."""

    function: Callable[[], object]
    every: str

    def interval(self, config) -> float:
        return float(config[self.every])


class InFlight:
    """Work handed to a background thread and not finished yet, so tests and benches can wait for it."""

    def __init__(self):
        self._idle = threading.Condition()
        self._count = 0

    def started(self) -> None:
        with self._idle:
            self._count += 1

    def finished(self) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def wait_until_none(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout)


class CeleryDispatcher:
    """Publishes job ids to the broker by task name; never raises, and never makes a request wait.

    After a commit the ids go to a background thread of this process (`publish_soon`), because a
    publish can hang while Redis is down (celery #4296, #6911) and a submission must not. Ids the
    broker did not take get `published_at = NULL`, so the relay's next round sends them.
    """

    def __init__(self, celery_app, app: Flask | None = None):
        self.celery = celery_app
        self.app = app
        self._cooldown_until = 0.0
        self._queue: queue.SimpleQueue | None = None
        self._owner_pid = None
        self._start_lock = threading.Lock()
        self._in_flight = InFlight()

    def publish_soon(self, jobs: list[tuple[int, str]]) -> None:
        if self.app is None:
            publish(jobs)
            return
        with self._start_lock:
            if self._owner_pid != os.getpid():  # A forked child (prefork worker) needs its own thread.
                self._queue, self._owner_pid = queue.SimpleQueue(), os.getpid()
                threading.Thread(target=self._drain, name="outbox-publisher", daemon=True).start()
        self._in_flight.started()
        self._queue.put(jobs)

    def _drain(self) -> None:
        own = self._queue
        while True:
            jobs = own.get()
            try:
                with self.app.app_context():
                    publish(jobs)
            except Exception:  # noqa: BLE001 - the relay re-sends whatever this missed
                log.exception("publishing jobs %s failed", jobs)
            finally:
                self._in_flight.finished()

    def wait_published(self, timeout: float = 10.0) -> bool:
        """Block until the background thread has handed over everything given to it (tests, benches)."""
        return self._in_flight.wait_until_none(timeout)

    def publish(self, job_id: int, name: str) -> bool:
        if time.monotonic() < self._cooldown_until:
            return False
        try:
            self.celery.send_task(
                name,
                args=[job_id],
                # Else send_task subscribes to the result store first, and with Redis down that retries
                # for 20 s (celery's result backend reconnect) before the broker is even tried.
                ignore_result=True,
                retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1},
            )
            return True
        except Exception as exc:  # noqa: BLE001 - the outbox row is the record; the relay re-sends it
            self._cooldown_until = time.monotonic() + BROKER_COOLDOWN_SECONDS
            log.warning("could not publish job %s (%s); the relay will retry: %r", job_id, name, exc)
            return False


class EmbeddedDispatcher:
    """Runs jobs in one background thread of the web process (no broker configured)."""

    def __init__(self, app: Flask):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-jobs")
        self._in_flight = InFlight()
        self._schedule_stopped = threading.Event()

    def publish_soon(self, jobs: list[tuple[int, str]]) -> None:
        for job_id, name in jobs:
            self.publish(job_id, name)

    def publish(self, job_id: int, name: str) -> bool:
        self._in_flight.started()
        self.executor.submit(self._run, job_id)
        return True

    def _run(self, job_id: int) -> None:
        try:
            with self.app.app_context():
                status = run_job(job_id)
                if status == "pending":
                    # Failed and waits for its backoff: embedded mode has no beat, so retry here.
                    job = db.session.get(OutboxJob, job_id)
                    delay = max(0.0, (job.available_at - utcnow()).total_seconds())
                    db.session.remove()
                    timer = threading.Timer(delay, self.publish, args=(job_id, job.name))
                    timer.daemon = True
                    timer.start()
        except Exception:  # noqa: BLE001
            log.exception("embedded job %s crashed", job_id)
        finally:
            self._in_flight.finished()

    def start_schedule(self, sweeps: dict[str, "Sweep"]) -> None:
        """Run the periodic sweeps in this process, as the beat would (embedded mode has none)."""
        intervals = {name: sweep.interval(self.app.config) for name, sweep in sweeps.items()}
        thread = threading.Thread(target=self._schedule_loop, args=(dict(sweeps), intervals),
                                  name="embedded-beat", daemon=True)
        thread.start()

    def stop_schedule(self) -> None:
        """End the sweeps' loop (an app built for a while, as tests build them, must not sweep on after)."""
        self._schedule_stopped.set()

    def _schedule_loop(self, sweeps: dict[str, "Sweep"], intervals: dict[str, float]) -> None:
        next_due = {name: time.monotonic() + interval for name, interval in intervals.items()}
        while not self._schedule_stopped.is_set():
            now = time.monotonic()
            for name, sweep in sweeps.items():
                if now >= next_due[name]:
                    next_due[name] = now + intervals[name]
                    self.executor.submit(self._run_sweep, name, sweep.function)
            self._schedule_stopped.wait(min(1.0, max(0.05, min(next_due.values()) - time.monotonic())))

    def _run_sweep(self, name: str, sweep) -> None:
        try:
            with self.app.app_context():
                sweep()
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("embedded periodic task %s failed", name)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is running or queued (tests and the CLI use this)."""
        return self._in_flight.wait_until_none(timeout)


def dispatcher():
    """The app's dispatcher (Celery's publisher, or the embedded runner)."""
    return current_app.extensions["job_dispatcher"]


def init_app(app: Flask, *, jobs: dict[str, Job], sweeps: dict[str, Sweep]) -> None:
    """Give the app its job handlers and sweeps, and the dispatcher that runs them."""
    app.extensions["job_handlers"] = jobs
    app.extensions["sweeps"] = sweeps
    if app.config.get("REDIS_URL"):
        from celery import Celery

        producer = Celery("volunteer_monitor_producer")
        producer.conf.update(app.config["CELERY"])
        app.extensions["job_dispatcher"] = CeleryDispatcher(producer, app)
        app.extensions["celery_producer"] = producer
    else:
        embedded = app.extensions["job_dispatcher"] = EmbeddedDispatcher(app)
        if app.config.get("EMBEDDED_SCHEDULER"):
            _start_schedule_with_first_request(app, embedded, sweeps)
    _listen_to_the_apps_session()


def _start_schedule_with_first_request(app: Flask, embedded: "EmbeddedDispatcher", sweeps: dict[str, Sweep]) -> None:
    """Start the sweeps with the first request, not at import: CLI commands (db upgrade) must not run them."""
    started = threading.Event()

    @app.before_request
    def start_embedded_schedule():
        if not started.is_set():
            started.set()
            embedded.start_schedule(sweeps)


def _collect_new_jobs(session: Session, flush_context=None) -> None:
    new = session.info.pop("outbox_new", None)
    if new:
        session.info.setdefault("outbox_committing", []).extend((job.id, job.name) for job in new)


def _publish_committed(session: Session) -> None:
    committed = session.info.pop("outbox_committing", None)
    if committed:
        dispatcher().publish_soon(committed)


def _forget_jobs(session: Session, previous_transaction=None) -> None:
    session.info.pop("outbox_new", None)
    session.info.pop("outbox_committing", None)


def _listen_to_the_apps_session() -> None:
    """Ids exist after the flush inside commit; publishing waits for the commit itself. Only the sessions
    of `db.session` (Flask-SQLAlchemy's sessionmaker) are watched; other sessions of the process are not."""
    for name, listener in (("after_flush", _collect_new_jobs), ("after_commit", _publish_committed),
                           ("after_soft_rollback", _forget_jobs)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
