"""Every background job and periodic sweep of the system, and the service function that does it.

The one place to look: a job is enqueued by name (names.py) in the transaction of the change that
needs it and runs `handler(**payload)` after commit; a sweep runs on a schedule whose interval is the
named setting (its default and environment variable are in config/ and the README). The workers
register exactly these as Celery tasks; the embedded mode runs the same functions in the web process.
Every handler is idempotent: delivery is at-least-once.
"""
from .. import quotas
from ..alerts import services as alerts
from ..audit import checkpoints
from ..audit import services as audit
from ..audit import verifications
from ..cases import outcomes
from ..cases import services as cases
from ..inspections import services as inspections
from ..open_data import oc4ids
from ..reports import services as reports
from ..risk import services as risk
from ..savings import totals
from . import names
from .dispatch import Sweep
from .outbox import Job, relay_outbox

JOBS: dict[str, Job] = {
    names.NOTIFY_INSPECTION_FLAGGED: Job(alerts.notify_inspection_flagged),
    names.NOTIFY_SAVINGS_PENDING: Job(alerts.notify_savings_pending),
    # The volunteer's inbox, once per return (the payload numbers the round).
    names.NOTIFY_INSPECTION_RETURNED: Job(alerts.notify_inspection_returned),
    # The district again, once per resubmission.
    names.NOTIFY_INSPECTION_RESUBMITTED: Job(alerts.notify_inspection_resubmitted),
    # The 320 and 1280 px previews of a new original (a request before it ran makes its own, once).
    names.MAKE_PHOTO_PREVIEWS: Job(inspections.make_previews),
    # A failed delivery is retried with backoff; the last failure marks the delivery dead.
    names.DELIVER_ALERT: Job(alerts.deliver, run_arguments=("last_attempt",)),
    # Skips itself when a due recompute (not this one) covers the same report.
    names.RECOMPUTE_TOTALS: Job(totals.recompute_totals_job, run_arguments=("job_id",)),
    names.RECOMPUTE_OUTCOMES: Job(outcomes.recompute_outcomes_job),
    names.REASSESS_SITE_RISKS: Job(risk.reassess_site_risks),
    # Sends once: a report already e-mailed is skipped.
    names.EMAIL_MONTHLY_REPORT: Job(reports.email_monthly_report),
    # The signed checkpoint to the admins' webhook and e-mail; retried with backoff when they fail.
    names.SEND_AUDIT_CHECKPOINT: Job(checkpoints.send_checkpoint),
    # The whole chain from seq 1, an admin's request; its signed result is what later checks start from.
    names.VERIFY_AUDIT_CHAIN: Job(verifications.run_full_verification),
    # A new installation's first OC4IDS export, queued by the first request (which is answered 503 meanwhile).
    names.MAKE_FIRST_OC4IDS_EXPORT: Job(oc4ids.make_first_export),
}

SWEEPS: dict[str, Sweep] = {
    names.RELAY_OUTBOX: Sweep(relay_outbox, every="RELAY_INTERVAL_SECONDS"),
    names.SEAL_AUDIT_CHAIN: Sweep(audit.seal_chain, every="AUDIT_SEAL_INTERVAL_SECONDS"),
    names.ESCALATE_UNREVIEWED: Sweep(alerts.escalate_unreviewed, every="ESCALATION_CHECK_INTERVAL_SECONDS"),
    names.RECONCILE_TOTALS: Sweep(totals.recompute_totals_scheduled, every="TOTALS_RECONCILE_INTERVAL_SECONDS"),
    names.RECONCILE_OUTCOMES: Sweep(outcomes.recompute_outcomes_scheduled, every="OUTCOMES_RECONCILE_INTERVAL_SECONDS"),
    names.ESCALATE_UNRESOLVED_CASES: Sweep(cases.escalate_unresolved_cases,
                                           every="CASE_ESCALATION_CHECK_INTERVAL_SECONDS"),
    names.REASSESS_ALL_RISKS: Sweep(risk.reassess_all_risks, every="RISK_REASSESS_INTERVAL_SECONDS"),
    names.MAKE_MONTHLY_REPORT: Sweep(reports.make_last_month_report, every="MONTHLY_REPORT_CHECK_INTERVAL_SECONDS"),
    names.ANCHOR_AUDIT_CHAIN: Sweep(checkpoints.anchor_chain, every="AUDIT_CHECKPOINT_SECONDS"),
    names.FORGET_QUOTA_USAGE: Sweep(quotas.forget_old_usage, every="QUOTA_USAGE_CLEANUP_INTERVAL_SECONDS"),
    # The public OC4IDS export, made from the data as it is then; the endpoint streams the newest.
    names.MAKE_OC4IDS_EXPORT: Sweep(oc4ids.make_oc4ids_export, every="OPEN_DATA_EXPORT_INTERVAL_SECONDS"),
    # The audit chain's tail since the last signed verification, so GET /audit/verify walks little.
    names.VERIFY_AUDIT_TAIL: Sweep(verifications.verify_tail_scheduled, every="AUDIT_VERIFY_INTERVAL_SECONDS"),
}
