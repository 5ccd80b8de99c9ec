"""How the web side hands work to the workers: a transactional outbox.

`enqueue()` adds an outbox row in the caller's transaction, so a job exists exactly when the change
that caused it was committed. After commit the row is handed over by name: to Celery (`send_task`) when
REDIS_URL is set, else to an in-process thread (embedded mode). The publish is a best-effort kick; a
periodic relay re-sends whatever is still waiting (the broker was down, a worker died). Delivery is
therefore at-least-once and every handler must be idempotent.
"""
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import JSON, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import BigId, choice, db
from .timestamps import UTCDateTime, utcnow

log = logging.getLogger(__name__)

JOB_STATUSES = ("pending", "done", "dead")
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600
# A job published this long ago and still pending is presumed lost and published again.
REPUBLISH_AFTER = timedelta(seconds=30)
# After a failed publish, skip publishing for a while rather than stall every request on a dead broker.
BROKER_COOLDOWN_SECONDS = 5.0

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


def run_job(job_id: int) -> str:
    """Run one outbox job if it still waits; its handler's changes and the job's state commit together.

    Returns the job's status afterwards ("missing" when there is no such job).
    """
    job = db.session.scalars(
        select(OutboxJob).where(OutboxJob.id == job_id).with_for_update(skip_locked=True)
    ).one_or_none()
    if job is None:
        db.session.rollback()
        return "missing"  # Another worker holds it, or it never committed.
    if job.status != "pending":
        db.session.rollback()
        return job.status
    name, payload = job.name, dict(job.payload)
    try:
        JOB_HANDLERS[name](**payload)
        job.status, job.finished_at, job.last_error = "done", utcnow(), None
        db.session.commit()
        return "done"
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        db.session.rollback()
        log.warning("job %s (%s) failed: %r", job_id, name, exc)
        return _record_failure(job_id, repr(exc))


def _record_failure(job_id: int, error: str) -> str:
    job = db.session.get(OutboxJob, job_id)
    job.attempts += 1
    job.last_error = error[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.status = "dead"
        log.error("job %s (%s) is dead after %s attempts", job_id, job.name, job.attempts)
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
    due = (
        select(OutboxJob)
        .where(OutboxJob.status == "pending", OutboxJob.available_at <= now)
        .where((OutboxJob.published_at.is_(None)) | (OutboxJob.published_at < now - REPUBLISH_AFTER))
        .order_by(OutboxJob.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    jobs = db.session.scalars(due).all()
    for job in jobs:
        job.published_at = now
    ids = [(job.id, job.name) for job in jobs]
    db.session.commit()
    _publish(ids)
    return len(ids)


def retry_dead_job(job_id: int) -> OutboxJob | None:
    """Give a dead job a fresh set of attempts (an admin decided the cause is fixed)."""
    job = db.session.get(OutboxJob, job_id)
    if job is None or job.status != "dead":
        return job
    job.status, job.attempts, job.available_at, job.published_at = "pending", 0, utcnow(), utcnow()
    db.session.info.setdefault("outbox_new", []).append(job)
    return job


class CeleryDispatcher:
    """Publishes job ids to the broker by task name; never raises into the request."""

    def __init__(self, celery_app):
        self.celery = celery_app
        self._cooldown_until = 0.0

    def publish(self, job_id: int, name: str) -> bool:
        if time.monotonic() < self._cooldown_until:
            return False
        try:
            self.celery.send_task(
                name,
                args=[job_id],
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
        self._lock = threading.Lock()
        self._in_flight = 0

    def publish(self, job_id: int, name: str) -> bool:
        with self._lock:
            self._in_flight += 1
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
                    threading.Timer(delay, self.publish, args=(job_id, job.name)).start()
        except Exception:  # noqa: BLE001
            log.exception("embedded job %s crashed", job_id)
        finally:
            with self._lock:
                self._in_flight -= 1

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is running or queued (tests and the CLI use this)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return True
            time.sleep(0.01)
        return False


def dispatcher():
    return current_app.extensions["job_dispatcher"]


def celery_settings(config) -> dict:
    """Celery settings for at-least-once work, shared by the producer (web) and the workers."""
    visibility_timeout = 3600
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
        "task_time_limit": 300,
        "task_soft_time_limit": 240,
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
        _publish(committed)


def _publish(jobs: list[tuple[int, str]]) -> None:
    """Kick each job; those the broker did not take are left for the relay's next round."""
    failed = [job_id for job_id, name in jobs if not dispatcher().publish(job_id, name)]
    if failed:
        with db.engine.begin() as connection:
            connection.execute(
                OutboxJob.__table__.update().where(OutboxJob.id.in_(failed)).values(published_at=None)
            )


def _forget_jobs(session: Session, previous_transaction=None) -> None:
    session.info.pop("outbox_new", None)
    session.info.pop("outbox_committing", None)


def init_app(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        from celery import Celery

        producer = Celery("volunteer_monitor_producer")
        producer.conf.update(celery_settings(app.config))
        app.extensions["job_dispatcher"] = CeleryDispatcher(producer)
        app.extensions["celery_producer"] = producer
    else:
        app.extensions["job_dispatcher"] = EmbeddedDispatcher(app)


# Ids exist after the flush inside commit; publishing waits for the commit itself.
event.listen(Session, "after_flush", _collect_new_jobs)
event.listen(Session, "after_commit", _publish_committed)
event.listen(Session, "after_soft_rollback", _forget_jobs)
