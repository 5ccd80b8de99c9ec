"""The name of every background job and periodic sweep: the outbox row's `name` and the Celery task's.

What each one does, and on which schedule, is in `handlers.py`.
"""
# Jobs: enqueued by a change, in its transaction (outbox.enqueue), run once it commits.
NOTIFY_INSPECTION_FLAGGED = "alerts.notify_inspection_flagged"
NOTIFY_SAVINGS_PENDING = "alerts.notify_savings_pending"
DELIVER_ALERT = "alerts.deliver"
RECOMPUTE_TOTALS = "savings.recompute_totals"
NOTIFY_INSPECTION_RETURNED = "alerts.notify_inspection_returned"
NOTIFY_INSPECTION_RESUBMITTED = "alerts.notify_inspection_resubmitted"
MAKE_PHOTO_PREVIEWS = "photos.make_previews"
RECOMPUTE_OUTCOMES = "cases.recompute_outcomes"
REASSESS_SITE_RISKS = "risk.reassess_sites"
EMAIL_MONTHLY_REPORT = "reports.email_monthly"
SEND_AUDIT_CHECKPOINT = "audit.send_checkpoint"
VERIFY_AUDIT_CHAIN = "audit.verify_chain"
MAKE_FIRST_OC4IDS_EXPORT = "open_data.make_first_oc4ids_export"

JOB_NAMES = frozenset({NOTIFY_INSPECTION_FLAGGED, NOTIFY_SAVINGS_PENDING, DELIVER_ALERT, RECOMPUTE_TOTALS,
                       NOTIFY_INSPECTION_RETURNED, NOTIFY_INSPECTION_RESUBMITTED, MAKE_PHOTO_PREVIEWS,
                       RECOMPUTE_OUTCOMES, REASSESS_SITE_RISKS, EMAIL_MONTHLY_REPORT, SEND_AUDIT_CHECKPOINT,
                       VERIFY_AUDIT_CHAIN, MAKE_FIRST_OC4IDS_EXPORT})

# Sweeps: run on a schedule (the Celery beat, or the embedded schedule without a broker).
RELAY_OUTBOX = "jobs.relay_outbox"
SEAL_AUDIT_CHAIN = "audit.seal_chain"
ESCALATE_UNREVIEWED = "alerts.escalate_unreviewed"
RECONCILE_TOTALS = "savings.recompute_totals_scheduled"
RECONCILE_OUTCOMES = "cases.recompute_outcomes_scheduled"
ESCALATE_UNRESOLVED_CASES = "cases.escalate_unresolved"
REASSESS_ALL_RISKS = "risk.reassess_all"
MAKE_MONTHLY_REPORT = "reports.make_last_month"
ANCHOR_AUDIT_CHAIN = "audit.anchor_chain"
FORGET_QUOTA_USAGE = "quotas.forget_old_usage"
MAKE_OC4IDS_EXPORT = "open_data.make_oc4ids_export"
VERIFY_AUDIT_TAIL = "audit.verify_tail"

SWEEP_NAMES = frozenset({RELAY_OUTBOX, SEAL_AUDIT_CHAIN, ESCALATE_UNREVIEWED, RECONCILE_TOTALS, RECONCILE_OUTCOMES,
                         ESCALATE_UNRESOLVED_CASES, REASSESS_ALL_RISKS, MAKE_MONTHLY_REPORT, ANCHOR_AUDIT_CHAIN,
                         FORGET_QUOTA_USAGE, MAKE_OC4IDS_EXPORT, VERIFY_AUDIT_TAIL})
