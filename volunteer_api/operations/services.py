"""What operators do with the background work: list the jobs, retry a dead one."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.services import record_event
from ..errors import Conflict, NotFound
from ..extensions import db
from ..ids import parse_id
from ..jobs.outbox import OutboxJob, mark_for_publishing
from ..pagination import keyset_page
from ..timestamps import utcnow


def list_jobs(*, status: str | None, limit: int, cursor: str | None):
    """List outbox jobs, newest first, optionally of one status (admins look for the dead ones)."""
    stmt = select(OutboxJob)
    if status:
        stmt = stmt.where(OutboxJob.status == status)
    return keyset_page(stmt, key_columns=[OutboxJob.id], limit=limit, cursor=cursor)


def retry_dead_job(*, job_id: str) -> OutboxJob:
    """Give a dead job a fresh set of attempts (an admin decided the cause is fixed); 409 unless dead."""
    key = parse_id(job_id)
    job = db.session.get(OutboxJob, key) if key is not None else None
    if job is None:
        raise NotFound()
    if job.status != "dead":
        raise Conflict(_l("Only a dead job can be retried."))
    before = {"status": job.status, "attempts": job.attempts, "last_error": job.last_error}
    job.status, job.attempts, job.available_at, job.published_at, job.finished_at = (
        "pending", 0, utcnow(), utcnow(), None)
    mark_for_publishing(job)
    record_event(action="job.retried", object_type="outbox_job", object_id=job.id, before=before,
                 after={"status": "pending", "attempts": 0})
    db.session.commit()
    return job
