"""The totals the agency publishes: recomputed by the workers in SQL, never summed in Python.

Two ways in, both full aggregates of the source rows (never increments), so running either twice, or
concurrently, or in any order, gives the same table:

- `recompute_totals_for_saving()`: the job a filed or decided report enqueues. It recomputes only the
  keys that report touches (its district, site, volunteer, category and approval month), each with an
  indexed aggregate, and derives the overall row from the district rows in the same transaction.
- `recompute_totals()`: the periodic reconciliation. One aggregate over every report into a temporary
  table; only rows whose figures changed are rewritten, keys absent from it are deleted.

Both run under one advisory lock. A row's `computed_at` is when its figures were last written; the
overall row is stamped by every run, so its `computed_at` (the API's `as_of`) is when the totals were
last verified. Milestones (every 50 million KZT of approved savings) are recorded behind a primary key,
their alerts behind the alerts' unique key: each threshold alerts the admins once.
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import bindparam, func, select, text

from ..alerts.services import admin_recipients, create_alerts
from ..database import advisory_lock, db, dialect_insert, insert_new_returning
from ..jobs import OutboxJob, names
from ..money import TIYN_PER_KZT, format_tiyn
from ..timestamps import UTCDateTime, format_utc, utcnow
from .models import SavingsMilestone, SavingsReport, SavingsTotal

log = logging.getLogger(__name__)

OVERALL_KEY = "all"
MILESTONE_STEP_TIYN = 50_000_000 * TIYN_PER_KZT
# When one recompute crosses more thresholds than this (an enormous approval), only the highest is
# recorded and alerted; the next run continues from it.
MAX_MILESTONE_ALERTS_PER_RUN = 5
# pg_advisory_xact_lock key: serialises recomputes so an older, slower run never overwrites a newer one.
RECOMPUTE_LOCK_KEY = 0x5A5_7074  # "savings totals"

_FIGURES = ("approved_tiyn", "approved_count", "pending_tiyn", "pending_count")
# FILTER (PostgreSQL, SQLite >= 3.30) skips the CASE per row. No live row -> SUM is NULL, COUNT 0.
_SUMS = """
    CAST(COALESCE(SUM(amount_tiyn) FILTER (WHERE status = 'approved'), 0) AS BIGINT) AS approved_tiyn,
    COUNT(*) FILTER (WHERE status = 'approved') AS approved_count,
    CAST(COALESCE(SUM(amount_tiyn) FILTER (WHERE status = 'pending'), 0) AS BIGINT) AS pending_tiyn,
    COUNT(*) FILTER (WHERE status = 'pending') AS pending_count
"""
_COLUMNS = ", ".join(_FIGURES)
# The same figures rolled up from partial groups.
_RESUMS = ",\n".join(f"CAST(COALESCE(SUM({column}), 0) AS BIGINT) AS {column}" for column in _FIGURES)

# PostgreSQL: one scan of savings_reports hashes three grouping sets, not six: (site_id, district)
# rolls up to districts, (category, month) to categories, months and the overall row. The month is
# grouped as date_trunc (cheap) and formatted only per group; pending reports have no month (NULL).
# GROUPING(site_id, volunteer_id, category) is a bitmask of the columns NOT grouped (first = highest bit).
_PG_AGGREGATE = f"""
    WITH parts AS (
        SELECT GROUPING(site_id, volunteer_id, category) AS grouping_set,
               site_id, district, volunteer_id, category, month, {_SUMS}
        FROM (
            SELECT status, amount_tiyn, district, site_id, volunteer_id, category,
                   date_trunc('month', reviewed_at AT TIME ZONE 'UTC') AS month
            FROM savings_reports
            WHERE status IN ('approved', 'pending')
        ) AS live
        GROUP BY GROUPING SETS ((site_id, district), (volunteer_id), (category, month))
    )
    SELECT 'site' AS scope, CAST(site_id AS TEXT) AS key, {_RESUMS}
        FROM parts WHERE grouping_set = 3 GROUP BY site_id
    UNION ALL
    SELECT 'district', district, {_RESUMS} FROM parts WHERE grouping_set = 3 GROUP BY district
    UNION ALL
    SELECT 'volunteer', CAST(volunteer_id AS TEXT), {_COLUMNS} FROM parts WHERE grouping_set = 5
    UNION ALL
    SELECT 'category', category, {_RESUMS} FROM parts WHERE grouping_set = 6 GROUP BY category
    UNION ALL
    -- The month scope is approvals by approval month: the NULL-month groups hold only pending reports.
    SELECT 'month', to_char(month, 'YYYY-MM'), {_RESUMS}
        FROM parts WHERE grouping_set = 6 AND month IS NOT NULL GROUP BY month
    UNION ALL
    -- No GROUP BY: one row even when there are no savings at all.
    SELECT 'overall', '{OVERALL_KEY}', {_RESUMS} FROM parts WHERE grouping_set = 6
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

_CHANGED = f"({', '.join('savings_totals.' + c for c in _FIGURES)}) IS DISTINCT FROM " \
           f"({', '.join('excluded.' + c for c in _FIGURES)})"
# Unchanged rows are not rewritten (no dead tuples, computed_at keeps the time the figures last changed);
# the overall row always is: its computed_at says when the totals were last verified.
# `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT (its documented ambiguity).
_UPSERT = f"""
    INSERT INTO savings_totals (scope, key, {_COLUMNS}, computed_at)
    SELECT {{source_columns}}, :now FROM {{source}}
    WHERE {{source_filter}}
    ON CONFLICT (scope, key) DO UPDATE SET
        {', '.join(f'{c} = excluded.{c}' for c in _FIGURES)},
        computed_at = excluded.computed_at
    WHERE savings_totals.scope = 'overall' OR {_CHANGED}
"""
_FRESH = "savings_totals_fresh"


def aggregate_sql(dialect: str) -> str:
    """The SELECT that aggregates every scope for this database (the benchmark times it alone)."""
    return _PG_AGGREGATE if dialect == "postgresql" else _PORTABLE_AGGREGATE


def _lock() -> None:
    """One recompute at a time, holding until commit, so an older run never overwrites a newer one."""
    advisory_lock(RECOMPUTE_LOCK_KEY, sqlite_table="savings_totals")


def recompute_totals(*, now: datetime | None = None) -> dict:
    """Reconcile every stored total with the savings reports and record crossed milestones (no commit)."""
    dialect = db.session.get_bind().dialect.name
    _lock()
    # Taken after the lock, so a run that waited stamps a later time than the run it waited for.
    now = now or utcnow()
    stamp = bindparam("now", value=now, type_=UTCDateTime)
    if dialect == "postgresql":
        # The planner overestimates the groups (a few MB of hash tables in truth) and, at the default
        # work_mem, sorts instead of hashing: several times slower over 1M rows (bench/totals.py).
        db.session.execute(text("SET LOCAL work_mem = '256MB'"))
        db.session.execute(text(f"CREATE TEMPORARY TABLE {_FRESH} ON COMMIT DROP AS {_PG_AGGREGATE}"))
        db.session.execute(text(f"ANALYZE {_FRESH}"))
        # The anti-join keeps unchanged rows out of the INSERT: ON CONFLICT would still lock each of them.
        db.session.execute(text(_UPSERT.format(
            source_columns=", ".join(f"fresh.{c}" for c in ("scope", "key", *_FIGURES)),
            source=f"{_FRESH} AS fresh LEFT JOIN savings_totals AS stored "
                   "ON stored.scope = fresh.scope AND stored.key = fresh.key",
            source_filter="fresh.scope = 'overall' OR stored.key IS NULL OR "
                          f"({', '.join('stored.' + c for c in _FIGURES)}) IS DISTINCT FROM "
                          f"({', '.join('fresh.' + c for c in _FIGURES)})",
        )).bindparams(stamp))
        db.session.execute(text(
            f"DELETE FROM savings_totals AS stored WHERE NOT EXISTS "
            f"(SELECT FROM {_FRESH} AS fresh WHERE fresh.scope = stored.scope AND fresh.key = stored.key)"))
        db.session.execute(text(f"DROP TABLE {_FRESH}"))  # ON COMMIT DROP covers a failure before this
    else:
        # SQLite has no ON COMMIT DROP and small data here: aggregate twice rather than manage a temp table.
        db.session.execute(text(_UPSERT.format(
            source_columns=f"scope, key, {_COLUMNS}", source=f"({_PORTABLE_AGGREGATE}) AS agg",
            source_filter="true")).bindparams(stamp))
        db.session.execute(text(
            f"DELETE FROM savings_totals WHERE (scope, key) NOT IN (SELECT scope, key FROM ({_PORTABLE_AGGREGATE}))"))
    return _finish(now)


# One indexed aggregate per key a report touches; without GROUP BY each yields one row, zeros when the
# key has no live report left (then its stored row is deleted).
_KEY_AGGREGATES = {
    "district": "SELECT 'district' AS scope, :district AS key, {sums} FROM savings_reports "
                "WHERE district = :district AND status IN ('approved', 'pending')",
    "site": "SELECT 'site', :site_key, {sums} FROM savings_reports "
            "WHERE site_id = :site_id AND status IN ('approved', 'pending')",
    "volunteer": "SELECT 'volunteer', :volunteer_key, {sums} FROM savings_reports "
                 "WHERE volunteer_id = :volunteer_id AND status IN ('approved', 'pending')",
    "category": "SELECT 'category', :category, {sums} FROM savings_reports "
                "WHERE category = :category AND status IN ('approved', 'pending')",
    "month": "SELECT 'month', :month, {sums} FROM savings_reports "
             "WHERE status = 'approved' AND reviewed_at >= :month_start AND reviewed_at < :month_end",
}
_OVERALL_FROM_DISTRICTS = f"""
    INSERT INTO savings_totals (scope, key, {_COLUMNS}, computed_at)
    SELECT 'overall', '{OVERALL_KEY}', {_RESUMS}, :now FROM savings_totals WHERE scope = 'district'
    ON CONFLICT (scope, key) DO UPDATE SET
        {', '.join(f'{c} = excluded.{c}' for c in _FIGURES)},
        computed_at = excluded.computed_at
"""


def recompute_totals_for_saving(*, saving_id: int, now: datetime | None = None) -> dict | None:
    """Recompute the totals of the keys one savings report touches, then the overall row (no commit).

    The overall row is the sum of the district rows: every report has a district, and every district
    row is a full aggregate kept by these jobs and the reconciliation under the same lock.
    """
    _lock()
    now = now or utcnow()
    # Read after the lock: a decision committed meanwhile (its month) is seen, like its own job would.
    report = db.session.execute(
        select(SavingsReport.district, SavingsReport.site_id, SavingsReport.volunteer_id, SavingsReport.category,
               SavingsReport.reviewed_at).where(SavingsReport.id == saving_id)
    ).one_or_none()
    if report is None:
        log.warning("savings totals: no savings report %s; nothing to recompute", saving_id)
        return None
    params = {"district": report.district, "site_id": report.site_id, "site_key": str(report.site_id),
              "volunteer_id": report.volunteer_id, "volunteer_key": str(report.volunteer_id),
              "category": report.category}
    scopes = ["district", "site", "volunteer", "category"]
    if report.reviewed_at is not None:  # a rejection too: harmless, its month is recomputed unchanged
        start = report.reviewed_at.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0,
                                                                     microsecond=0)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        params.update(month=start.strftime("%Y-%m"), month_start=start, month_end=end)
        scopes.append("month")
    statement = text(" UNION ALL ".join(_KEY_AGGREGATES[scope].format(sums=_SUMS) for scope in scopes)).bindparams(
        *(bindparam(name, type_=UTCDateTime) for name in ("month_start", "month_end") if name in params))
    rows = db.session.execute(statement, params).all()

    stamp = bindparam("now", value=now, type_=UTCDateTime)
    live = [row for row in rows if row.approved_count or row.pending_count]
    gone = [row for row in rows if not (row.approved_count or row.pending_count)]
    if live:
        db.session.execute(_upsert_rows([{"scope": row.scope, "key": row.key, "computed_at": now,
                                          **{c: getattr(row, c) for c in _FIGURES}} for row in live]))
    for row in gone:
        db.session.execute(text("DELETE FROM savings_totals WHERE scope = :scope AND key = :key"),
                           {"scope": row.scope, "key": row.key})
    db.session.execute(text(_OVERALL_FROM_DISTRICTS).bindparams(stamp))
    return _finish(now)


def _upsert_rows(rows: list[dict]):
    """Upsert totals, rewriting a row only when its figures changed."""
    statement = dialect_insert()(SavingsTotal).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[SavingsTotal.scope, SavingsTotal.key],
        set_={c: statement.excluded[c] for c in (*_FIGURES, "computed_at")},
        where=text(_CHANGED))


def _finish(now: datetime) -> dict:
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
    return insert_new_returning(SavingsMilestone, rows, SavingsMilestone.threshold_tiyn)


def recompute_totals_job(saving_id: int | None = None, *, job_id: int | None = None) -> dict | None:
    """Recompute the totals a report touched (all of them for a job without `saving_id`), unless a
    recompute already due covers them.

    A report filed and decided in quick succession enqueues two jobs; a due job for the same report
    (its keys are a superset: a decision only adds the month) or a full one takes its snapshot after
    this one releases the lock, so it sees everything this one would: skip and let it run.
    """
    _lock()
    later = select(OutboxJob.id).where(
        OutboxJob.name == names.RECOMPUTE_TOTALS, OutboxJob.status == "pending", OutboxJob.available_at <= utcnow())
    covering = OutboxJob.payload["saving_id"].as_string().is_(None)
    if saving_id is not None:
        covering = covering | (OutboxJob.payload["saving_id"].as_integer() == saving_id)
    later = later.where(covering)
    if job_id is not None:  # run as the job `job_id`: it does not cover itself
        later = later.where(OutboxJob.id != job_id)
    if db.session.scalar(later.limit(1)) is not None:
        return None
    if saving_id is None:  # enqueued before jobs named their report
        return recompute_totals()
    return recompute_totals_for_saving(saving_id=saving_id)


def recompute_totals_scheduled() -> dict:
    """Recompute the totals on the beat schedule (also catches anything a lost job missed)."""
    result = recompute_totals()
    db.session.commit()
    return {"approved_tiyn": result["approved_tiyn"], "new_milestones": result["new_milestones"]}
