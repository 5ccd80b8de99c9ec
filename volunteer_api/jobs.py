"""How the web side hands work to the workers: a transactional outbox.

`enqueue()` adds an outbox row in the caller's transaction, so a job exists exactly when the change
that caused it was committed. After commit the row is handed over by name: to Celery (`send_task`) when
REDIS_URL is set, else to an in-process thread (embedded mode). The publish is a best-effort kick; a
periodic relay re-sends whatever is still waiting (the broker was down, a worker died). Delivery is
therefore at-least-once and every handler must be idempotent.
"""
import contextvars
import logging
import os
import queue
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import JSON, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import BigId, choice, db, parse_id
from .timestamps import UTCDateTime, utcnow

log = logging.getLogger(__name__)

JOB_STATUSES = ("pending", "done", "dead")
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600
# A job published this long ago and still pending is presumed lost (a worker died holding it, the
# broker lost it) and published again. Far below the visibility timeout, so the relay, not Redis's
# restore of unacked messages, is what recovers work a killed worker held. Too short only costs
# duplicate messages, which run_job discards (the row is done, or locked by the run in progress).
DEFAULT_REPUBLISH_AFTER_SECONDS = 30.0
# After a failed publish, skip publishing for a while rather than try a dead broker for every job.
BROKER_COOLDOWN_SECONDS = 5.0
# Longer than any task may run (task_time_limit), or Redis hands a running task to a second worker.
VISIBILITY_TIMEOUT_SECONDS = 900
TASK_TIME_LIMIT_SECONDS = 300

JOB_HANDLERS: dict[str, Callable[..., None]] = {}
PERIODIC_TASKS: dict[str, tuple[Callable[[], object], float]] = {}


class OutboxJob(db.Model):
    """A unit of work for the workers, recorded in the transaction that made it necessary."""

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(choice(*JOB_STATUSES, name="job_status"), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (db.Index("ix_outbox_jobs_status_available_at", "status", "available_at"),)


def job_handler(name: str):
    """Register an idempotent service function as the handler of the job called `name`."""

    def register(func):
        if name in JOB_HANDLERS and JOB_HANDLERS[name] is not func:
            raise RuntimeError(f"job {name!r} registered twice")
        JOB_HANDLERS[name] = func
        return func

    return register


def periodic(name: str, *, every_seconds: float):
    """Register an idempotent sweep that the beat schedule runs every `every_seconds`."""

    def register(func):
        PERIODIC_TASKS[name] = (func, every_seconds)
        return func

    return register


def enqueue(name: str, **payload) -> OutboxJob:
    """Record a job in the current transaction; it is handed to the workers once that commits."""
    if name not in JOB_HANDLERS:
        raise KeyError(f"no handler registered for job {name!r}")
    # Published right after commit; published_at lets the relay tell a fresh job from a lost one.
    job = OutboxJob(name=name, payload=payload, published_at=utcnow())
    db.session.add(job)
    db.session.info.setdefault("outbox_new", []).append(job)
    return job


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempts))


class RetryLater(Exception):
    """Raised by a handler that recorded its own progress (e.g. a failed delivery): its changes are
    committed together with the job's failure, then the job is retried with backoff like any other."""


_current_job: contextvars.ContextVar["OutboxJob | None"] = contextvars.ContextVar("current_job", default=None)


def current_job() -> "OutboxJob | None":
    """The outbox job whose handler is running (its `attempts` counts this run), else None."""
    return _current_job.get()


def _lock_pending(job_id: int) -> "OutboxJob | None":
    return db.session.scalars(
        select(OutboxJob)
        .where(OutboxJob.id == job_id, OutboxJob.status == "pending")
        .with_for_update(skip_locked=True)
    ).one_or_none()


def run_job(job_id: int) -> str:
    """Run one outbox job if it still waits; its handler's changes and the job's state commit together.

    Two transactions: the first counts the attempt and commits it, so a job that kills its worker
    (SIGKILL, out of memory, hard time limit) still reaches `dead` after MAX_ATTEMPTS instead of being
    redelivered forever; the second runs the handler and marks the job done in one commit, so a crash
    at any point leaves either nothing or everything. A duplicate delivery finds the row locked
    (SKIP LOCKED) or no longer pending and does nothing. Returns the job's status afterwards
    ("skipped" when another run holds it or it does not exist).
    """
    job = _lock_pending(job_id)
    if job is None:
        db.session.rollback()
        return _status_of(job_id)
    if job.attempts >= MAX_ATTEMPTS:
        job.status, job.finished_at = "dead", utcnow()
        job.last_error = (job.last_error or "") + f" (gave up after {job.attempts} attempts)"
        log.error("job %s (%s) is dead: its runs never finished", job_id, job.name)
        db.session.commit()
        return "dead"
    job.attempts += 1
    db.session.commit()

    job = _lock_pending(job_id)
    if job is None:
        db.session.rollback()
        return _status_of(job_id)
    name, payload = job.name, dict(job.payload)
    token = _current_job.set(job)
    try:
        JOB_HANDLERS[name](**payload)
        job.status, job.finished_at, job.last_error = "done", utcnow(), None
        db.session.commit()
        return "done"
    except RetryLater as exc:
        log.warning("job %s (%s) will be retried: %s", job_id, name, exc)
        return _record_failure(job, str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        db.session.rollback()
        log.warning("job %s (%s) failed: %r", job_id, name, exc)
        job = _lock_pending(job_id)
        if job is None:
            db.session.rollback()
            return _status_of(job_id)
        return _record_failure(job, repr(exc))
    finally:
        _current_job.reset(token)


def _status_of(job_id: int) -> str:
    status = db.session.scalar(select(OutboxJob.status).where(OutboxJob.id == job_id))
    db.session.rollback()
    return "skipped" if status in (None, "pending") else status


def _record_failure(job: "OutboxJob", error: str) -> str:
    """Commit the failure of a run (its attempt is already counted) on a job row this session has locked."""
    job.last_error = error[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.status, job.finished_at = "dead", utcnow()
        log.error("job %s (%s) is dead after %s attempts", job.id, job.name, job.attempts)
    else:
        job.available_at = utcnow() + timedelta(seconds=backoff_seconds(job.attempts))
        job.published_at = None
    status = job.status
    db.session.commit()
    return status


@periodic("jobs.relay_outbox", every_seconds=5)
def relay_outbox(batch_size: int = 500) -> int:
    """Publish again every pending job that is due and was never published or seems lost."""
    now = utcnow()
    republish_after = timedelta(seconds=current_app.config.get("OUTBOX_REPUBLISH_AFTER_SECONDS",
                                                               DEFAULT_REPUBLISH_AFTER_SECONDS))
    due = (
        select(OutboxJob)
        .where(OutboxJob.status == "pending", OutboxJob.available_at <= now)
        .where((OutboxJob.published_at.is_(None)) | (OutboxJob.published_at < now - republish_after))
        .order_by(OutboxJob.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    jobs = db.session.scalars(due).all()
    for job in jobs:
        job.published_at = now
    ids = [(job.id, job.name) for job in jobs]
    db.session.commit()
    _publish(ids)  # Synchronously: the relay runs in a worker, never on a request's path.
    return len(ids)


def list_jobs(*, status: str | None, limit: int, cursor: str | None):
    """List outbox jobs, newest first, optionally of one status (admins look for the dead ones)."""
    from .pagination import keyset_page

    stmt = select(OutboxJob)
    if status:
        stmt = stmt.where(OutboxJob.status == status)
    return keyset_page(stmt, key_columns=[OutboxJob.id], limit=limit, cursor=cursor)


def retry_dead_job(*, job_id: str) -> "OutboxJob":
    """Give a dead job a fresh set of attempts (an admin decided the cause is fixed); 409 unless dead."""
    from flask_babel import lazy_gettext as _l

    from .audit.services import record_event
    from .errors import Conflict, NotFound

    key = parse_id(job_id)
    job = db.session.get(OutboxJob, key) if key is not None else None
    if job is None:
        raise NotFound()
    if job.status != "dead":
        raise Conflict(_l("Only a dead job can be retried."))
    before = {"status": job.status, "attempts": job.attempts, "last_error": job.last_error}
    job.status, job.attempts, job.available_at, job.published_at, job.finished_at = (
        "pending", 0, utcnow(), utcnow(), None)
    db.session.info.setdefault("outbox_new", []).append(job)
    record_event(action="job.retried", object_type="outbox_job", object_id=job.id, before=before,
                 after={"status": "pending", "attempts": 0})
    db.session.commit()
    return job


class InFlight:
    """Work handed to a background thread and not finished yet, so tests and benches can wait for it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._count = 0

    def started(self) -> None:
        with self._lock:
            self._count += 1

    def finished(self) -> None:
        with self._lock:
            self._count -= 1

    def wait_until_none(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._count == 0:
                    return True
            time.sleep(0.01)
        return False


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
            _publish(jobs)
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
                    _publish(jobs)
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

    def start_schedule(self, periodic_tasks: dict) -> None:
        """Run the periodic sweeps in this process, as the beat would (embedded mode has none)."""
        configured = self.app.config.get("PERIODIC_INTERVALS", {})
        intervals = {name: configured.get(name, every) for name, (_, every) in periodic_tasks.items()}
        thread = threading.Thread(target=self._schedule_loop, args=(dict(periodic_tasks), intervals),
                                  name="embedded-beat", daemon=True)
        thread.start()

    def _schedule_loop(self, tasks: dict, intervals: dict) -> None:
        next_due = {name: time.monotonic() + interval for name, interval in intervals.items()}
        while True:
            now = time.monotonic()
            for name, (sweep, _) in tasks.items():
                if now >= next_due[name]:
                    next_due[name] = now + intervals[name]
                    self.executor.submit(self._run_sweep, name, sweep)
            time.sleep(min(1.0, max(0.05, min(next_due.values()) - time.monotonic())))

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
    return current_app.extensions["job_dispatcher"]


def celery_settings(config) -> dict:
    """Celery settings for at-least-once work, shared by the producer (web) and the workers."""
    # The visibility timeout must outlast the longest run (the hard time limit) or Redis redelivers a
    # task that is still running; and it is set in all three places or it silently isn't (celery #7651).
    visibility_timeout = VISIBILITY_TIMEOUT_SECONDS
    transport = {"visibility_timeout": visibility_timeout, "socket_connect_timeout": 2, "socket_timeout": 5}
    return {
        "broker_url": config["REDIS_URL"],
        "result_backend": config["REDIS_URL"],
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "visibility_timeout": visibility_timeout,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_time_limit": TASK_TIME_LIMIT_SECONDS,
        "task_soft_time_limit": TASK_TIME_LIMIT_SECONDS - 60,
        # A task that lost its broker connection cannot ack; cancel it rather than finish it twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
    }


def _collect_new_jobs(session: Session, flush_context=None) -> None:
    new = session.info.pop("outbox_new", None)
    if new:
        session.info.setdefault("outbox_committing", []).extend((job.id, job.name) for job in new)


def _publish_committed(session: Session) -> None:
    committed = session.info.pop("outbox_committing", None)
    if committed:
        dispatcher().publish_soon(committed)


def _publish(jobs: list[tuple[int, str]]) -> None:
    """Kick each job; those the broker did not take are left for the relay's next round."""
    failed = [job_id for job_id, name in jobs if not dispatcher().publish(job_id, name)]
    if failed:
        with db.engine.begin() as connection:
            connection.execute(
                OutboxJob.__table__.update()
                .where(OutboxJob.id.in_(failed), OutboxJob.status == "pending")
                .values(published_at=None)
            )


def _forget_jobs(session: Session, previous_transaction=None) -> None:
    session.info.pop("outbox_new", None)
    session.info.pop("outbox_committing", None)


def init_app(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        from celery import Celery

        producer = Celery("volunteer_monitor_producer")
        producer.conf.update(celery_settings(app.config))
        app.extensions["job_dispatcher"] = CeleryDispatcher(producer, app)
        app.extensions["celery_producer"] = producer
    else:
        embedded = app.extensions["job_dispatcher"] = EmbeddedDispatcher(app)
        if app.config.get("EMBEDDED_SCHEDULER"):
            _start_schedule_with_first_request(app, embedded)


def _start_schedule_with_first_request(app: Flask, embedded: EmbeddedDispatcher) -> None:
    """Start the sweeps with the first request, not at import: CLI commands (db upgrade) must not run them."""
    started = threading.Event()

    @app.before_request
    def start_embedded_schedule():
        if not started.is_set():
            started.set()
            embedded.start_schedule(PERIODIC_TASKS)


# Ids exist after the flush inside commit; publishing waits for the commit itself.
event.listen(Session, "after_flush", _collect_new_jobs)
event.listen(Session, "after_commit", _publish_committed)
event.listen(Session, "after_soft_rollback", _forget_jobs)
