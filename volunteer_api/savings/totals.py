"""The totals the agency publishes: recomputed by the workers in SQL, never summed in Python.

One statement aggregates every scope (overall, district, site, volunteer, category, month) and upserts
the results into savings_totals; a second deletes the keys that no longer have savings. A recompute
reads the source rows afresh, so running it twice, or concurrently, gives the same answer. Milestones
(every 50 million KZT of approved savings) are recorded behind a primary key, their alerts behind the
alerts' unique key: each threshold alerts the admins once.
"""
import logging
from datetime import datetime

from sqlalchemy import bindparam, func, select, text

from ..alerts.services import admin_recipients, create_alerts
from ..extensions import db
from ..jobs import OutboxJob, current_job, job_handler, periodic
from ..money import TIYN_PER_KZT, format_tiyn
from ..timestamps import UTCDateTime, format_utc, utcnow
from .models import SavingsMilestone, SavingsTotal

log = logging.getLogger(__name__)

OVERALL_KEY = "all"
MILESTONE_STEP_TIYN = 50_000_000 * TIYN_PER_KZT
# When one recompute crosses more thresholds than this (an enormous approval), only the highest is
# recorded and alerted; the next run continues from it.
MAX_MILESTONE_ALERTS_PER_RUN = 5
# pg_advisory_xact_lock key: serialises recomputes so an older, slower run never overwrites a newer one.
RECOMPUTE_LOCK_KEY = 0x5A5_7074  # "savings totals"
RECOMPUTE_JOB = "savings.recompute_totals"

_SUMS = """
    CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN amount_tiyn ELSE 0 END), 0) AS BIGINT) AS approved_tiyn,
    CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) AS approved_count,
    CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN amount_tiyn ELSE 0 END), 0) AS BIGINT) AS pending_tiyn,
    CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS pending_count
"""

# PostgreSQL: one scan of savings_reports feeds every scope. GROUPING() is a bitmask of the columns
# NOT grouped in a row's set (first argument = highest bit), which names the scope.
_PG_AGGREGATE = f"""
    SELECT
        CASE GROUPING(district, site_id, volunteer_id, category, month)
            WHEN 31 THEN 'overall' WHEN 15 THEN 'district' WHEN 23 THEN 'site'
            WHEN 27 THEN 'volunteer' WHEN 29 THEN 'category' ELSE 'month' END AS scope,
        CASE GROUPING(district, site_id, volunteer_id, category, month)
            WHEN 31 THEN '{OVERALL_KEY}' WHEN 15 THEN district WHEN 23 THEN CAST(site_id AS TEXT)
            WHEN 27 THEN CAST(volunteer_id AS TEXT) WHEN 29 THEN category ELSE month END AS key,
        {_SUMS}
    FROM (
        SELECT status, amount_tiyn, district, site_id, volunteer_id, category,
               to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month
        FROM savings_reports
        WHERE status IN ('approved', 'pending')
    ) AS live
    GROUP BY GROUPING SETS ((), (district), (site_id), (volunteer_id), (category), (month))
    -- The month scope is approvals by approval month: the NULL-month group holds only pending reports.
    HAVING NOT (GROUPING(month) = 0 AND month IS NULL)
"""

# Portable form (SQLite, embedded mode): one GROUP BY per scope in a single statement.
_PORTABLE_AGGREGATE = f"""
    SELECT 'overall' AS scope, '{OVERALL_KEY}' AS key, {_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending')
    UNION ALL
    SELECT 'district', district, {_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY district
    UNION ALL
    SELECT 'site', CAST(site_id AS TEXT), {_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY site_id
    UNION ALL
    SELECT 'volunteer', CAST(volunteer_id AS TEXT), {_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY volunteer_id
    UNION ALL
    SELECT 'category', category, {_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY category
    UNION ALL
    SELECT 'month', strftime('%Y-%m', reviewed_at), {_SUMS}
        FROM savings_reports WHERE status = 'approved' GROUP BY strftime('%Y-%m', reviewed_at)
"""

# `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT (its documented ambiguity).
_UPSERT = """
    INSERT INTO savings_totals (scope, key, approved_tiyn, approved_count, pending_tiyn, pending_count, computed_at)
    SELECT scope, key, approved_tiyn, approved_count, pending_tiyn, pending_count, :now
    FROM ({aggregate}) AS agg
    WHERE true
    ON CONFLICT (scope, key) DO UPDATE SET
        approved_tiyn = excluded.approved_tiyn,
        approved_count = excluded.approved_count,
        pending_tiyn = excluded.pending_tiyn,
        pending_count = excluded.pending_count,
        computed_at = excluded.computed_at
"""


def aggregate_sql(dialect: str) -> str:
    """The SELECT that aggregates every scope for this database (the benchmark times it alone)."""
    return _PG_AGGREGATE if dialect == "postgresql" else _PORTABLE_AGGREGATE


def recompute_totals(*, now: datetime | None = None) -> dict:
    """Recompute every stored total from the savings reports and record crossed milestones (no commit)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECOMPUTE_LOCK_KEY})
        # The planner overestimates the groups (a few thousand, ~1 MB of hash tables) and, at the default
        # work_mem, sorts via an index scan: 3 s instead of 1.2 s over 1M rows (bench/totals.py).
        db.session.execute(text("SET LOCAL work_mem = '256MB'"))
    # Taken after the lock, so a run that waited stamps a later time than the run it waited for.
    now = now or utcnow()
    stamp = bindparam("now", value=now, type_=UTCDateTime)
    db.session.execute(text(_UPSERT.format(aggregate=aggregate_sql(dialect))).bindparams(stamp))
    # Every key that still has savings was just stamped `now`; the others lost their last report.
    db.session.execute(text("DELETE FROM savings_totals WHERE computed_at <> :now").bindparams(stamp))
    approved_tiyn = db.session.scalar(
        select(SavingsTotal.approved_tiyn).where(SavingsTotal.scope == "overall", SavingsTotal.key == OVERALL_KEY)
    ) or 0
    milestones = record_milestones(approved_tiyn=approved_tiyn, now=now)
    return {"approved_tiyn": approved_tiyn, "computed_at": now, "new_milestones": milestones}


def record_milestones(*, approved_tiyn: int, now: datetime) -> list[int]:
    """Record each threshold the approved total has crossed; alert the admins about the new ones."""
    reached = approved_tiyn // MILESTONE_STEP_TIYN
    highest = db.session.scalar(select(func.max(SavingsMilestone.threshold_tiyn))) or 0
    first = highest // MILESTONE_STEP_TIYN + 1
    if first > reached:
        return []
    steps = range(first, reached + 1)
    if len(steps) > MAX_MILESTONE_ALERTS_PER_RUN:
        # One enormous approval would otherwise flood every admin's inbox; the highest says it all.
        steps = range(reached, reached + 1)
    rows = [{"threshold_tiyn": step * MILESTONE_STEP_TIYN, "reached_at": now, "total_tiyn": approved_tiyn}
            for step in steps]
    new = sorted(_insert_new_thresholds(rows))
    recipients = admin_recipients()
    for threshold in new:
        create_alerts(
            kind="milestone",
            event_key=f"milestone:{threshold}",
            subject_type="milestone",
            subject_id=threshold,
            recipients=recipients,
            params={"threshold_tiyn": threshold, "total_tiyn": approved_tiyn,
                    "threshold_kzt": format_tiyn(threshold), "total_kzt": format_tiyn(approved_tiyn),
                    "reached_at": format_utc(now), "crossed_in_this_run": reached - first + 1},
        )
    if new:
        log.info("savings milestones reached: %s", [format_tiyn(t) for t in new])
    return new


def _insert_new_thresholds(rows: list[dict]) -> list[int]:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING: the thresholds this run recorded first."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(SavingsMilestone).values(rows).on_conflict_do_nothing().returning(
        SavingsMilestone.threshold_tiyn)
    return list(db.session.scalars(statement))


@job_handler(RECOMPUTE_JOB)
def recompute_totals_job() -> dict | None:
    """Recompute the totals after a report changed, unless a later recompute is already due.

    Approvals in a burst each enqueue this job. Any other due recompute job will take its snapshot
    after this one releases the lock, so it sees everything this one would: skip and let it run.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECOMPUTE_LOCK_KEY})
    later = select(OutboxJob.id).where(
        OutboxJob.name == RECOMPUTE_JOB, OutboxJob.status == "pending", OutboxJob.available_at <= utcnow())
    own = current_job()
    if own is not None:
        later = later.where(OutboxJob.id != own.id)
    if db.session.scalar(later.limit(1)) is not None:
        return None
    return recompute_totals()


@periodic("savings.recompute_totals_scheduled", every_seconds=300)
def recompute_totals_scheduled() -> dict:
    """Recompute the totals on the beat schedule (also catches anything a lost job missed)."""
    result = recompute_totals()
    db.session.commit()
    return {"approved_tiyn": result["approved_tiyn"], "new_milestones": result["new_milestones"]}
