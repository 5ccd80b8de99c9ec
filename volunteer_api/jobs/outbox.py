"""The transactional outbox: how the web side hands work to the workers.

`enqueue()` adds an outbox row in the caller's transaction, so a job exists exactly when the change
that caused it was committed. After commit the row is handed over by name (see dispatch.py): to Celery
(`send_task`) when REDIS_URL is set, else to an in-process thread (embedded mode). The publish is a
best-effort kick; the periodic relay re-sends whatever is still waiting (the broker was down, a worker
died). Delivery is therefore at-least-once and every handler must be idempotent.
"""
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

log = logging.getLogger(__name__)

JOB_STATUSES = ("pending", "done", "dead")
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 600
# What a handler may ask to be told about its run, besides its payload (see Job).
RUN_ARGUMENTS = frozenset({"job_id", "attempt", "last_attempt"})


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


@dataclass(frozen=True)
class Job:
    """What runs a job: `handler(**payload)`, plus the details of the run named in `run_arguments`
    (`job_id`: this job's row; `attempt`: 1 for the first run; `last_attempt`: no retry follows a failure)."""

    handler: Callable[..., object]
    run_arguments: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = set(self.run_arguments) - RUN_ARGUMENTS
        if unknown:
            raise ValueError(f"unknown run arguments {sorted(unknown)}; choose from {sorted(RUN_ARGUMENTS)}")


def job_table() -> dict[str, Job]:
    """The handlers of the running app (jobs/handlers.py, given to dispatch.init_app)."""
    return current_app.extensions["job_handlers"]


def enqueue(name: str, **payload) -> OutboxJob:
    """Record a job in the current transaction; it is handed to the workers once that commits."""
    if name not in job_table():
        raise KeyError(f"no handler for job {name!r} in volunteer_api/jobs/handlers.py")
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
    handler = job_table()[name]
    run = {"job_id": job.id, "attempt": job.attempts, "last_attempt": job.attempts >= MAX_ATTEMPTS}
    try:
        handler.handler(**payload, **{key: run[key] for key in handler.run_arguments})
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


def relay_outbox(batch_size: int = 500) -> int:
    """Publish again every pending job that is due and was never published or seems lost."""
    now = utcnow()
    # A job published this long ago and still pending is presumed lost (a worker died holding it).
    republish_after = timedelta(seconds=current_app.config["OUTBOX_REPUBLISH_AFTER_SECONDS"])
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
    publish(ids)  # Synchronously: the relay runs in a worker, never on a request's path.
    return len(ids)


def publish(jobs: list[tuple[int, str]]) -> None:
    """Kick each job through the app's dispatcher; those it did not take are left for the relay's next round."""
    dispatcher = current_app.extensions["job_dispatcher"]
    failed = [job_id for job_id, name in jobs if not dispatcher.publish(job_id, name)]
    if failed:
        with db.engine.begin() as connection:
            connection.execute(
                OutboxJob.__table__.update()
                .where(OutboxJob.id.in_(failed), OutboxJob.status == "pending")
                .values(published_at=None)
            )


def mark_for_publishing(job: OutboxJob) -> None:
    """Publish this (re-opened) job after the current transaction commits, as enqueue does for a new one."""
    db.session.info.setdefault("outbox_new", []).append(job)
