"""Background work: job and sweep names (names.py), the outbox (outbox.py), who runs them (dispatch.py),
and the table of every job and sweep with its handler and schedule (handlers.py)."""
from .outbox import OutboxJob, RetryLater, enqueue, run_job

__all__ = ["OutboxJob", "RetryLater", "enqueue", "run_job"]
