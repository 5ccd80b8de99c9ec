"""The name of every background job and periodic sweep: the outbox row's `name` and the Celery task's.

What each one does, and on which schedule, is in `handlers.py`.
"""
# Jobs: enqueued by a change, in its transaction (outbox.enqueue), run once it commits.
NOTIFY_INSPECTION_FLAGGED = "alerts.notify_inspection_flagged"
NOTIFY_SAVINGS_PENDING = "alerts.notify_savings_pending"
DELIVER_ALERT = "alerts.deliver"
RECOMPUTE_TOTALS = "savings.recompute_totals"

JOB_NAMES = frozenset({NOTIFY_INSPECTION_FLAGGED, NOTIFY_SAVINGS_PENDING, DELIVER_ALERT, RECOMPUTE_TOTALS})

# Sweeps: run on a schedule (the Celery beat, or the embedded schedule without a broker).
RELAY_OUTBOX = "jobs.relay_outbox"
SEAL_AUDIT_CHAIN = "audit.seal_chain"
ESCALATE_UNREVIEWED = "alerts.escalate_unreviewed"
RECONCILE_TOTALS = "savings.recompute_totals_scheduled"

SWEEP_NAMES = frozenset({RELAY_OUTBOX, SEAL_AUDIT_CHAIN, ESCALATE_UNREVIEWED, RECONCILE_TOTALS})
