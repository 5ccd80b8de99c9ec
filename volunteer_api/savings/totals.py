"""The totals the agency publishes: recomputed by the workers in SQL, never summed in Python.

Two ways in, both full aggregates of the source rows (never increments), so running either twice, or
concurrently, or in any order, gives the same table:

- `recompute_totals_for_saving()`: the job a filed or decided report enqueues. It recomputes only the
  keys that report touches (its district, site, volunteer, category and approval month), each with an
  indexed aggregate, and derives the overall row from the district rows in the same transaction.
- `recompute_totals()`: the periodic reconciliation, an independent full check of the stored table. A
  full aggregate over every live report into a temporary table (on PostgreSQL one statement: sites and
  volunteers read from covering indexes, the other scopes rolled up, parallel workers sharing each part);
  only rows whose figures changed are rewritten, keys absent from it are deleted.

Sums are exact at any size: NUMERIC on PostgreSQL; on SQLite, whose SUM of integers raises "integer
overflow" past 2^63, each amount is summed in two parts (below and above 10^9 tiyn) that Python joins.
Every key is written in its own savepoint, so one key that fails (logged) cannot block the others.

Both run under one advisory lock. A row's `computed_at` is when its figures were last written; the
overall row is stamped by every run, so its `computed_at` (the API's `as_of`) is when the totals were
last verified. Milestones (every 50 million KZT of approved savings) are recorded behind a primary key,
their alerts behind the alerts' unique key: each threshold alerts the admins once.
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import SQLAlchemyError

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
_AMOUNTS = ("approved", "pending")
# FILTER (PostgreSQL, SQLite >= 3.30) skips the CASE per row. No live row -> SUM is NULL, COUNT 0.
# PostgreSQL's SUM of BIGINT is NUMERIC: exact at any size.
_PG_SUMS = """
    COALESCE(SUM(amount_tiyn) FILTER (WHERE status = 'approved'), 0) AS approved_tiyn,
    COUNT(*) FILTER (WHERE status = 'approved') AS approved_count,
    COALESCE(SUM(amount_tiyn) FILTER (WHERE status = 'pending'), 0) AS pending_tiyn,
    COUNT(*) FILTER (WHERE status = 'pending') AS pending_count
"""
# SQLite: a report is at most 10^14 tiyn, so each part of an amount is below 10^9 and neither part's SUM
# can overflow before ~9 * 10^9 reports; `_exact()` joins the parts into one Python integer.
SQLITE_SPLIT = 10**9
_SQLITE_SUMS = ",\n".join(
    f"COALESCE(SUM(amount_tiyn / {SQLITE_SPLIT}) FILTER (WHERE status = '{status}'), 0) AS {status}_high, "
    f"COALESCE(SUM(amount_tiyn % {SQLITE_SPLIT}) FILTER (WHERE status = '{status}'), 0) AS {status}_low, "
    f"COUNT(*) FILTER (WHERE status = '{status}') AS {status}_count"
    for status in _AMOUNTS)
_COLUMNS = ", ".join(_FIGURES)
# The same figures rolled up from partial groups.
_RESUMS = ",\n".join(f"COALESCE(SUM({column}), 0) AS {column}" for column in _FIGURES)


def _sums(dialect: str) -> str:
    return _PG_SUMS if dialect == "postgresql" else _SQLITE_SUMS


def _exact(row) -> dict:
    """A row's scope, key and figures as exact integers, whichever form of sums its database gave."""
    values = row._mapping
    figures = {"scope": values["scope"], "key": values["key"]}
    for status in _AMOUNTS:
        if f"{status}_high" in values:
            figures[f"{status}_tiyn"] = int(values[f"{status}_high"]) * SQLITE_SPLIT + int(values[f"{status}_low"])
        else:
            figures[f"{status}_tiyn"] = int(values[f"{status}_tiyn"])
        figures[f"{status}_count"] = int(values[f"{status}_count"])
    return figures


# PostgreSQL: every scope's rows from one statement, into a temporary table; the three branches of its
# UNION ALL each a Gather of parallel workers. Sites and volunteers are grouped from the indexes by site and
# by volunteer, which carry the status and the amount (migration 0013): index-only scans of ~54 MB already in
# group order, where sequential scans of the 253 MB heap fed hash tables before (1,000,000 reports;
# bench/README.md). A site is grouped by its id alone, so a moved site (its decided reports stay in the old
# district, its later ones are in the new) is one row. The four small scopes are rolled up from ~800
# (district, category, approval month) groups. The month is grouped as date_trunc (cheap) and formatted
# only per group; pending reports have no month (NULL), and the month scope is approvals by approval month.
_LIVE = "FROM savings_reports WHERE status IN ('approved', 'pending')"
_SMALL_SCOPES = "GROUPING(district, category, month)"  # 3: by district, 5: by category, 6: by month, 7: overall
_PG_FRESH = f"""
    SELECT 'site' AS scope, CAST(site_id AS TEXT) AS key, {_PG_SUMS} {_LIVE} GROUP BY site_id
    UNION ALL
    SELECT 'volunteer', CAST(volunteer_id AS TEXT), {_PG_SUMS} {_LIVE} GROUP BY volunteer_id
    UNION ALL
    SELECT CASE {_SMALL_SCOPES} WHEN 3 THEN 'district' WHEN 5 THEN 'category' WHEN 6 THEN 'month' ELSE 'overall' END,
           CASE {_SMALL_SCOPES} WHEN 3 THEN district WHEN 5 THEN category WHEN 6 THEN to_char(month, 'YYYY-MM')
                ELSE '{OVERALL_KEY}' END,
           {_RESUMS}
    FROM (
        SELECT district, category, month, {_PG_SUMS} FROM (
            SELECT status, amount_tiyn, district, category,
                   date_trunc('month', reviewed_at AT TIME ZONE 'UTC') AS month {_LIVE}
        ) AS live GROUP BY district, category, month
    ) AS parts
    -- The empty grouping set gives the overall row even when there are no savings at all.
    GROUP BY GROUPING SETS ((district), (category), (month), ())
    HAVING GROUPING(month) = 1 OR month IS NOT NULL
"""
# Transaction-local (SET LOCAL), for the aggregate alone; the previous values are put back after it.
# - work_mem: the workers' site groups meet in one hash table of ~18 MB at 50,000 sites; at the default
#   4 MB the planner sorts them instead.
# - parallel_setup_cost: at the default the planner keeps each branch in one process; starting workers
#   costs ~1 ms here, each branch is ~0.1-0.3 s of CPU over 1,000,000 reports (bench/totals.py).
# - jit: compiling the expressions in the leader and in each worker cost ~0.1 s more than it saved (a few
#   operations per row).
# - random_page_cost: the indexes are read in key order, not in disk order, and at the default (4, a
#   spinning disk's random read) the planner weighed them within a few per cent of the heap's sequential
#   scan: it switched to the heap (0.6 s slower) after a few thousand decisions changed the statistics.
#   1.1 is an SSD's or a cached index's cost. Where the visibility map is stale (a vacuum is due) the
#   index-only scans must read the heap too; the planner counts that, and then prefers the heap itself.
_PG_AGGREGATE_SETTINGS = {"work_mem": "256MB", "parallel_setup_cost": "0", "jit": "off", "random_page_cost": "1.1"}


def set_local(settings: dict[str, str]) -> dict[str, str]:
    """SET LOCAL each setting until the transaction ends; returns the values they had, to put back."""
    names = list(settings)
    names_bound = {f"name_{n}": name for n, name in enumerate(names)}
    previous = db.session.execute(
        text("SELECT " + ", ".join(f"current_setting(:name_{n})" for n in range(len(names)))), names_bound).one()
    db.session.execute(
        text("SELECT " + ", ".join(f"set_config(:name_{n}, :value_{n}, true)" for n in range(len(names)))),
        {**names_bound, **{f"value_{n}": settings[name] for n, name in enumerate(names)}})
    return dict(zip(names, previous))


def fill_fresh_totals_pg(fresh: str) -> None:
    """PostgreSQL: every scope's figures into the temporary table `fresh` (dropped at commit)."""
    previous = set_local(_PG_AGGREGATE_SETTINGS)
    db.session.execute(text(f"CREATE TEMPORARY TABLE {fresh} ON COMMIT DROP AS {_PG_FRESH}"))
    # The rest of the transaction (the upsert, the delete, the milestones) plans with the session's values.
    set_local(previous)


# Portable form (SQLite, embedded mode): one GROUP BY per scope in a single statement.
_PORTABLE_AGGREGATE = f"""
    SELECT 'overall' AS scope, '{OVERALL_KEY}' AS key, {_SQLITE_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending')
    UNION ALL
    SELECT 'district', district, {_SQLITE_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY district
    UNION ALL
    SELECT 'site', CAST(site_id AS TEXT), {_SQLITE_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY site_id
    UNION ALL
    SELECT 'volunteer', CAST(volunteer_id AS TEXT), {_SQLITE_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY volunteer_id
    UNION ALL
    SELECT 'category', category, {_SQLITE_SUMS}
        FROM savings_reports WHERE status IN ('approved', 'pending') GROUP BY category
    UNION ALL
    SELECT 'month', strftime('%Y-%m', reviewed_at), {_SQLITE_SUMS}
        FROM savings_reports WHERE status = 'approved' GROUP BY strftime('%Y-%m', reviewed_at)
"""

_CHANGED = f"({', '.join('savings_totals.' + c for c in _FIGURES)}) IS DISTINCT FROM " \
           f"({', '.join('excluded.' + c for c in _FIGURES)})"
# Unchanged rows are not rewritten (no dead tuples, computed_at keeps the time the figures last changed);
# the overall row always is: its computed_at says when the totals were last verified.
_REWRITE_WHEN = f"savings_totals.scope = 'overall' OR {_CHANGED}"
_PG_UPSERT = f"""
    INSERT INTO savings_totals (scope, key, {_COLUMNS}, computed_at)
    SELECT fresh.scope, fresh.key, {', '.join('fresh.' + c for c in _FIGURES)}, :now
    FROM {{fresh}} AS fresh LEFT JOIN savings_totals AS stored
        ON stored.scope = fresh.scope AND stored.key = fresh.key
    -- The anti-join keeps unchanged rows out of the INSERT: ON CONFLICT would still lock each of them.
    WHERE fresh.scope = 'overall' OR stored.key IS NULL OR
        ({', '.join('stored.' + c for c in _FIGURES)}) IS DISTINCT FROM ({', '.join('fresh.' + c for c in _FIGURES)})
    ON CONFLICT (scope, key) DO UPDATE SET
        {', '.join(f'{c} = excluded.{c}' for c in _FIGURES)},
        computed_at = excluded.computed_at
    WHERE {_REWRITE_WHEN}
"""
_FRESH = "savings_totals_fresh"
UPSERT_CHUNK = 1000  # rows per INSERT: SQLite allows 32,766 bound values, a row has seven


def _lock() -> None:
    """One recompute at a time, holding until commit, so an older run never overwrites a newer one."""
    advisory_lock(RECOMPUTE_LOCK_KEY, sqlite_table="savings_totals")


def recompute_totals(*, now: datetime | None = None) -> dict:
    """Reconcile every stored total with the savings reports and record crossed milestones (no commit)."""
    dialect = db.session.get_bind().dialect.name
    _lock()
    # Taken after the lock, so a run that waited stamps a later time than the run it waited for.
    now = now or utcnow()
    failed: list[tuple[str, str]] = []
    if dialect == "postgresql":
        # Not analyzed: the planner sizes a new table from its pages, close enough for the two joins below
        # (an ANALYZE of the ~60,000 rows cost more than it saved).
        fill_fresh_totals_pg(_FRESH)
        try:
            with db.session.begin_nested():
                db.session.execute(text(_PG_UPSERT.format(fresh=_FRESH)).bindparams(
                    bindparam("now", value=now, type_=UTCDateTime)))
        except SQLAlchemyError:
            # Some key cannot be written: write them one by one so that only that key stays behind.
            log.exception("savings totals: the bulk upsert failed; writing each key on its own")
            fresh = db.session.execute(text(f"SELECT * FROM {_FRESH}").execution_options(yield_per=UPSERT_CHUNK))
            for chunk in fresh.partitions():
                failed += _write_rows([_exact(row) for row in chunk], now)
        # NOT IN, not NOT EXISTS: without statistics the planner sorted both sides for a merge anti-join
        # (0.3 s); this hashes the fresh keys once. No fresh scope or key is NULL, so NOT IN is exact.
        failed += _delete_keys(f"DELETE FROM savings_totals WHERE (scope, key) NOT IN (SELECT scope, key FROM {_FRESH})")
        db.session.execute(text(f"DROP TABLE {_FRESH}"))  # ON COMMIT DROP covers a failure before this
    else:
        # Embedded mode: one group per site and volunteer is few enough rows to join the sums in Python.
        rows = [_exact(row) for row in db.session.execute(text(_PORTABLE_AGGREGATE))]
        for start in range(0, len(rows), UPSERT_CHUNK):
            failed += _write_rows(rows[start:start + UPSERT_CHUNK], now)
        failed += _delete_keys(
            f"DELETE FROM savings_totals WHERE (scope, key) NOT IN (SELECT scope, key FROM ({_PORTABLE_AGGREGATE}))")
    return _finish(now, failed)


# One indexed aggregate per key a report touches; without GROUP BY each yields one row, zeros when the
# key has no live report left (then its stored row is deleted).
_KEY_AGGREGATES = {
    "district": "SELECT 'district' AS scope, :district AS key, {sums} FROM savings_reports "
                "WHERE district = :district AND status IN ('approved', 'pending')",
    "site": "SELECT 'site' AS scope, :site_key AS key, {sums} FROM savings_reports "
            "WHERE site_id = :site_id AND status IN ('approved', 'pending')",
    "volunteer": "SELECT 'volunteer' AS scope, :volunteer_key AS key, {sums} FROM savings_reports "
                 "WHERE volunteer_id = :volunteer_id AND status IN ('approved', 'pending')",
    "category": "SELECT 'category' AS scope, :category AS key, {sums} FROM savings_reports "
                "WHERE category = :category AND status IN ('approved', 'pending')",
    "month": "SELECT 'month' AS scope, :month AS key, {sums} FROM savings_reports "
             "WHERE status = 'approved' AND reviewed_at >= :month_start AND reviewed_at < :month_end",
}


def recompute_totals_for_saving(*, saving_id: int, now: datetime | None = None) -> dict | None:
    """Recompute the totals of the keys one savings report touches, then the overall row (no commit).

    Each key is aggregated and written in its own savepoint: one that fails is logged and left as it
    was (the reconciliation retries it), the others still update. The overall row is the sum of the
    district rows: every report has a district, and every district row is a full aggregate kept by
    these jobs and the reconciliation under the same lock.
    """
    dialect = db.session.get_bind().dialect.name
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
    failed = []
    for scope in scopes:
        statement = text(_KEY_AGGREGATES[scope].format(sums=_sums(dialect)))
        if scope == "month":
            statement = statement.bindparams(bindparam("month_start", type_=UTCDateTime),
                                             bindparam("month_end", type_=UTCDateTime))
        try:
            with db.session.begin_nested():
                row = _exact(db.session.execute(statement, params).one())
                if row["approved_count"] or row["pending_count"]:
                    db.session.execute(_upsert_rows([{**row, "computed_at": now}]))
                else:
                    db.session.execute(text("DELETE FROM savings_totals WHERE scope = :scope AND key = :key"),
                                       {"scope": row["scope"], "key": row["key"]})
        except SQLAlchemyError:
            log.exception("savings totals: the %s total of savings report %s could not be recomputed", scope,
                          saving_id)
            failed.append((scope, params.get(f"{scope}_key", params.get(scope))))
    districts = db.session.execute(
        select(*(getattr(SavingsTotal, figure) for figure in _FIGURES)).where(SavingsTotal.scope == "district")
    ).all()
    overall = {"scope": "overall", "key": OVERALL_KEY,
               **{figure: sum(getattr(row, figure) for row in districts) for figure in _FIGURES}}
    failed += _write_rows([overall], now)
    return _finish(now, failed)


def _upsert_rows(rows: list[dict]):
    """Upsert totals, rewriting a row only when its figures changed (the overall row always)."""
    statement = dialect_insert()(SavingsTotal).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[SavingsTotal.scope, SavingsTotal.key],
        set_={c: statement.excluded[c] for c in (*_FIGURES, "computed_at")},
        where=text(_REWRITE_WHEN))


def _write_rows(rows: list[dict], now: datetime) -> list[tuple[str, str]]:
    """Upsert the rows in one statement; when that fails, each alone, so one bad key cannot block the rest.

    Returns the keys that could not be written (each logged).
    """
    rows = [{**row, "computed_at": now} for row in rows]
    try:
        with db.session.begin_nested():
            db.session.execute(_upsert_rows(rows))
        return []
    except SQLAlchemyError:
        if len(rows) == 1:
            log.exception("savings totals: the %s total %r could not be written", rows[0]["scope"], rows[0]["key"])
            return [(rows[0]["scope"], rows[0]["key"])]
    return [key for row in rows for key in _write_rows([row], now)]


def _delete_keys(statement: str) -> list[tuple[str, str]]:
    """Delete the stored totals no report backs any more; a failure is logged and left to the next run."""
    try:
        with db.session.begin_nested():
            db.session.execute(text(statement))
        return []
    except SQLAlchemyError:
        log.exception("savings totals: stale keys could not be deleted")
        return [("*", "stale")]


def _finish(now: datetime, failed: list[tuple[str, str]]) -> dict:
    approved_tiyn = db.session.scalar(
        select(SavingsTotal.approved_tiyn).where(SavingsTotal.scope == "overall", SavingsTotal.key == OVERALL_KEY)
    ) or 0
    milestones = record_milestones(approved_tiyn=approved_tiyn, now=now)
    return {"approved_tiyn": approved_tiyn, "computed_at": now, "new_milestones": milestones,
            "failed_keys": [f"{scope}:{key}" for scope, key in failed]}


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
