"""Benchmark: the workers' savings-totals recomputes over 1,000,000 savings rows on PostgreSQL.

Creates its own database on the local PostgreSQL, migrates it, seeds realistic cardinalities (50,000
sites, 10,144 volunteers, 11 districts, 5 categories, ~12 months of reports) with COPY, then times:
the targeted job a filed or decided report enqueues (after deciding a random pending report), the full
reconciliation (with nothing and with 500 decisions to catch up on), and the bare aggregates. Prints
median and p99, checks that the targeted jobs left exactly the table a full recompute builds, prints
the plan of the full aggregate, and drops the database.

`--profile` times instead each statement of the full reconciliation (median over `--runs`) and prints
`EXPLAIN (ANALYZE, BUFFERS)` of the aggregate, JIT included; `--keep NAME` uses (makes and seeds once)
the database NAME and keeps it, so that profiling does not seed 1,000,000 rows every time.

    .venv/bin/python bench/totals.py [--rows 1000000] [--runs 9] [--targeted-runs 300]
    .venv/bin/python bench/totals.py --profile --runs 7 --keep vm_bench_totals_kept
"""
import argparse
import collections
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_postgres  # noqa: E402 - needs the project root on the path
from bench.outcomes import kept_postgres  # noqa: E402
DISTRICTS = ("taraz", "baizak", "zhambyl", "zhualy", "korday", "merke", "moiynkum", "sarysu", "talas", "shu",
             "ryskulov")
CATEGORIES = ("overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other")
SITES = 50_000
VOLUNTEERS = 10_144
DAYS = 365
COPY_COLUMNS = ("client_uuid", "request_hash", "volunteer_id", "site_id", "district", "amount_tiyn", "category",
                "description", "status", "created_at", "reviewed_by_id", "reviewed_at", "updated_at", "change_seq")
FIGURES = "scope, key, approved_tiyn, approved_count, pending_tiyn, pending_count"

# The full aggregate before the parallel split: one scan hashing three grouping sets (site and district;
# volunteer; category and month), rolled up in the same statement. GROUPING SETS never uses parallel
# workers. Timed beside the current statement in the same run (`previous_fill`), over the same indexes.
def previous_aggregate() -> str:
    from volunteer_api.savings.totals import _COLUMNS, _PG_SUMS, _RESUMS, OVERALL_KEY

    return f"""
    WITH parts AS (
        SELECT GROUPING(site_id, volunteer_id, category) AS grouping_set,
               site_id, district, volunteer_id, category, month, {_PG_SUMS}
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
    SELECT 'month', to_char(month, 'YYYY-MM'), {_RESUMS}
        FROM parts WHERE grouping_set = 6 AND month IS NOT NULL GROUP BY month
    UNION ALL
    SELECT 'overall', '{OVERALL_KEY}', {_RESUMS} FROM parts WHERE grouping_set = 6
"""


def previous_fill(fresh: str) -> None:
    """The reconciliation's aggregate as it was: the same temporary table, from one GROUPING SETS statement."""
    from volunteer_api.extensions import db

    # As recompute_totals() set it then (now fill_fresh_totals_pg() sets its own): at 4 MB it sorts, ~4x slower.
    db.session.execute(text("SET LOCAL work_mem = '256MB'"))
    db.session.execute(text(f"CREATE TEMPORARY TABLE {fresh} ON COMMIT DROP AS {previous_aggregate()}"))


# The aggregate before that (six grouping sets, CASE sums, to_char on every row), for comparison.
OLD_AGGREGATE = """
    SELECT
        CASE GROUPING(district, site_id, volunteer_id, category, month)
            WHEN 31 THEN 'overall' WHEN 15 THEN 'district' WHEN 23 THEN 'site'
            WHEN 27 THEN 'volunteer' WHEN 29 THEN 'category' ELSE 'month' END AS scope,
        CASE GROUPING(district, site_id, volunteer_id, category, month)
            WHEN 31 THEN 'all' WHEN 15 THEN district WHEN 23 THEN CAST(site_id AS TEXT)
            WHEN 27 THEN CAST(volunteer_id AS TEXT) WHEN 29 THEN category ELSE month END AS key,
        CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN amount_tiyn ELSE 0 END), 0) AS BIGINT) AS a,
        CAST(COALESCE(SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END), 0) AS BIGINT) AS b,
        CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN amount_tiyn ELSE 0 END), 0) AS BIGINT) AS c,
        CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT) AS d
    FROM (
        SELECT status, amount_tiyn, district, site_id, volunteer_id, category,
               to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month
        FROM savings_reports WHERE status IN ('approved', 'pending')
    ) AS live
    GROUP BY GROUPING SETS ((), (district), (site_id), (volunteer_id), (category), (month))
    HAVING NOT (GROUPING(month) = 0 AND month IS NULL)
"""


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(label: str, samples: list[float]) -> None:
    print(f"{label:<60} median {statistics.median(samples) * 1000:8.1f} ms   "
          f"p99 {percentile(samples, 99) * 1000:8.1f} ms   (n={len(samples)})", flush=True)


def seed(app, rows: int, rng: random.Random) -> None:
    from volunteer_api.districts.models import District
    from volunteer_api.extensions import db
    from volunteer_api.people.models import User
    from volunteer_api.sites.models import Site

    now = datetime.now(timezone.utc)
    districts = list(db.session.scalars(db.select(District.code))) or list(DISTRICTS)
    db.session.execute(insert(User), [
        {"role": "admin", "full_name": "Bench Admin", "email": "bench-admin@example.kz", "password_hash": "x",
         "active": True, "language": "ru"},
        {"role": "inspector", "full_name": "Bench Inspector", "email": "bench-inspector@example.kz",
         "password_hash": "x", "active": True, "language": "ru"},
    ])
    db.session.execute(insert(User), [
        {"role": "volunteer", "full_name": f"Volunteer {n}", "phone": f"+7701{n:07d}", "password_hash": "x",
         "active": True, "language": "ru", "district": districts[n % len(districts)], "badge_number": f"ZHB-{n:06d}"}
        for n in range(VOLUNTEERS)
    ])
    db.session.execute(insert(Site), [
        {"name": f"Site {n}", "kind": "school", "district": districts[n % len(districts)], "lat": 42.9, "lon": 71.37,
         "budget_tiyn": 10**12, "status": "under_construction"}
        for n in range(SITES)
    ])
    db.session.commit()
    volunteer_ids = list(db.session.scalars(text("SELECT id FROM users WHERE role = 'volunteer'")))
    inspector_id = db.session.scalar(text("SELECT id FROM users WHERE role = 'inspector'"))
    sites = [(row.id, row.district) for row in db.session.execute(text("SELECT id, district FROM sites"))]

    started = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy(f"COPY savings_reports ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for n in range(rows):
                site_id, district = sites[rng.randrange(len(sites))]
                created = now - timedelta(minutes=rng.randrange(60 * 24 * DAYS))
                roll = rng.random()
                status = "approved" if roll < 0.7 else "pending" if roll < 0.9 else "rejected"
                reviewed = min(now, created + timedelta(hours=rng.randrange(1, 200))) if status != "pending" else None
                copy.write_row((str(uuid.UUID(int=rng.getrandbits(128))), "0" * 64, rng.choice(volunteer_ids),
                                site_id, district, rng.randint(1, 500_000_000), rng.choice(CATEGORIES), "bench",
                                status, created, inspector_id if reviewed else None, reviewed,
                                reviewed or created, n + 1))
        raw.driver_connection.commit()
    finally:
        raw.close()
    print(f"seeded {rows:,} savings rows ({SITES:,} sites, {VOLUNTEERS:,} volunteers) with COPY "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE savings_reports"))


def decide_pending(db, rng: random.Random, count: int) -> list[int]:
    """Approve (4 in 5) or reject random pending reports, as inspectors would; returns their ids."""
    top = db.session.scalar(text("SELECT max(id) FROM savings_reports WHERE status = 'pending'"))
    ids = list(db.session.scalars(text(
        "SELECT id FROM savings_reports WHERE status = 'pending' AND id >= :start ORDER BY id LIMIT :count"),
        {"start": rng.randrange(1, top - 10 * count), "count": count}))
    for saving_id in ids:
        db.session.execute(text(
            "UPDATE savings_reports SET status = :status, reviewed_at = now(), updated_at = now() WHERE id = :id"),
            {"id": saving_id, "status": "approved" if rng.random() < 0.8 else "rejected"})
    db.session.commit()
    return ids


def profile(db, runs: int) -> None:
    """Each statement of recompute_totals() and the commit: median and worst over `runs` runs; then the
    plan of the aggregate as it runs there (its settings, EXPLAIN ANALYZE with BUFFERS; JIT is listed)."""
    from volunteer_api.savings import totals as totals_module

    spent = collections.defaultdict(list)
    started_at = {}

    def label(statement: str) -> str:
        return " ".join(statement.split())[:90]

    def before(conn, cursor, statement, parameters, context, executemany):
        started_at[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        spent[label(statement)].append(time.perf_counter() - started_at.pop(id(cursor)))

    totals_module.recompute_totals()  # the first run writes every row; profile the steady state
    db.session.commit()
    whole = []
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        for _ in range(runs):
            started = time.perf_counter()
            totals_module.recompute_totals()
            committing = time.perf_counter()
            db.session.commit()
            spent["COMMIT"].append(time.perf_counter() - committing)
            whole.append(time.perf_counter() - started)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    print(f"\nfull reconciliation, nothing changed, per statement (median / worst of {runs}; "
          f"load average {os.getloadavg()[0]:.1f}):")
    for statement, samples in spent.items():
        per_run = len(samples) // runs or 1
        print(f"  {statistics.median(samples) * 1000 * per_run:8.1f} ms  {max(samples) * 1000:8.1f} ms  "
              f"{'×' + str(per_run) if per_run > 1 else '  '}  {statement}")
    print(f"  {sum(statistics.median(samples) * (len(samples) // runs or 1) for samples in spent.values()) * 1000:8.1f}"
          f" ms  (sum of the medians)")
    report("whole reconciliation + commit", whole)
    for line in aggregate_plan(db):
        print(line)


def aggregate_plan(db) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the partial groups under the settings recompute_totals() gives them."""
    from volunteer_api.savings import totals as totals_module

    totals_module.set_local(totals_module._PG_AGGREGATE_SETTINGS)
    plan = [row[0] for row in db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {totals_module._PG_FRESH}"))]
    db.session.rollback()
    return ["", "EXPLAIN (ANALYZE, BUFFERS) of the aggregate:", *plan]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--targeted-runs", type=int, default=300)
    parser.add_argument("--profile", action="store_true",
                        help="time each statement of the full reconciliation and print the aggregate's plan")
    parser.add_argument("--keep", metavar="NAME", help="use (make and seed once) this database and keep it")
    args = parser.parse_args()

    database = kept_postgres(args.keep) if args.keep else scratch_postgres("vm_bench_totals")
    with database as database_url:
        os.environ.update({"APP_ENV": "testing", "DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade

        from volunteer_api import create_app
        from volunteer_api.extensions import db
        from volunteer_api.savings import totals as totals_module
        from volunteer_api.savings.totals import (
            _PORTABLE_AGGREGATE, fill_fresh_totals_pg, recompute_totals, recompute_totals_for_saving)

        rng = random.Random(42)
        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            upgrade()
            if not db.session.scalar(text("SELECT EXISTS (SELECT FROM savings_reports)")):
                seed(app, args.rows, rng)
            print(f"PostgreSQL: {db.session.scalar(text('SHOW server_version'))}; "
                  f"work_mem {db.session.scalar(text('SHOW work_mem'))}; "
                  f"max_parallel_workers_per_gather {db.session.scalar(text('SHOW max_parallel_workers_per_gather'))}; "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)

            if args.profile:
                profile(db, args.runs)
                db.session.remove()
                db.engine.dispose()
                return

            def timed(call) -> float:
                started = time.perf_counter()
                call()
                db.session.commit()
                return time.perf_counter() - started

            def snapshot() -> list[tuple]:
                return [tuple(row) for row in db.session.execute(text(f"SELECT {FIGURES} FROM savings_totals "
                                                                      "ORDER BY scope, key"))]

            def with_fill(fill):
                """recompute_totals() with this way of filling its temporary table (before / now)."""
                def run():
                    current, totals_module.fill_fresh_totals_pg = totals_module.fill_fresh_totals_pg, fill
                    try:
                        return recompute_totals()
                    finally:
                        totals_module.fill_fresh_totals_pg = current
                return run

            first = timed(recompute_totals)
            totals_rows = db.session.scalar(text("SELECT count(*) FROM savings_totals"))
            print(f"first full recompute (writes all {totals_rows:,} rows): {first * 1000:.0f} ms", flush=True)

            targeted = []
            for _ in range(args.targeted_runs):
                saving_id = decide_pending(db, rng, 1)[0]
                targeted.append(timed(lambda: recompute_totals_for_saving(saving_id=saving_id)))
            after_targeted = snapshot()

            # Before and now alternate, run by run, so both meet the same load on this shared machine.
            unchanged = {"before": [], "now": []}
            for _ in range(args.runs):
                unchanged["before"].append(timed(with_fill(previous_fill)))
                same_before = snapshot() == after_targeted
                unchanged["now"].append(timed(recompute_totals))
            rewritten = db.session.scalar(text(
                "SELECT count(*) FROM savings_totals WHERE computed_at = (SELECT max(computed_at) FROM savings_totals)"))
            same = snapshot() == after_targeted
            catching_up = {"before": [], "now": []}
            for _ in range(args.runs):
                for label, call in (("before", with_fill(previous_fill)), ("now", recompute_totals)):
                    decide_pending(db, rng, 500)
                    catching_up[label].append(timed(call))
            result = recompute_totals()
            db.session.commit()
            now_table = snapshot()
            with_fill(previous_fill)()
            db.session.commit()
            print(f"approved total {result['approved_tiyn'] / 100:,.2f} KZT; "
                  f"{db.session.scalar(text('SELECT count(*) FROM savings_totals')):,} total rows; "
                  f"{db.session.scalar(text('SELECT count(*) FROM savings_milestones'))} milestones")
            print(f"after {args.targeted_runs} targeted jobs the table equals a full recompute's: {same} "
                  f"(the previous aggregate's too: {same_before}); both aggregates build the same table after the "
                  f"catch-up runs: {snapshot() == now_table}; a reconciliation with nothing to catch up rewrote "
                  f"{rewritten} row(s)")

            def time_fill(fill) -> float:
                db.session.execute(text("SET LOCAL work_mem = '256MB'"))  # as recompute_totals() did
                started = time.perf_counter()
                fill("bench_aggregate")  # kept in the server, as recompute_totals() does
                elapsed = time.perf_counter() - started
                db.session.rollback()
                return elapsed

            def time_query(sql: str) -> float:
                return time_fill(lambda fresh: db.session.execute(
                    text(f"CREATE TEMPORARY TABLE {fresh} ON COMMIT DROP AS {sql}")))

            aggregates = {"now": [], "before": []}
            for _ in range(args.runs):
                aggregates["now"].append(time_fill(fill_fresh_totals_pg))
                aggregates["before"].append(time_fill(previous_fill))

            print()
            report("targeted job: one decided report's keys + commit", targeted)
            report("full reconciliation, nothing changed + commit: now", unchanged["now"])
            report("full reconciliation, nothing changed + commit: before", unchanged["before"])
            report("full reconciliation, 500 decisions to catch up + commit: now", catching_up["now"])
            report("full reconciliation, 500 decisions to catch up + commit: before", catching_up["before"])
            report("aggregate alone: now (one statement, sites and volunteers index-only)", aggregates["now"])
            report("aggregate alone: before (3 grouping sets in one scan)", aggregates["before"])
            report("aggregate alone: before that (6 grouping sets, CASE, to_char)",
                   [time_query(OLD_AGGREGATE) for _ in range(args.runs)])
            portable = _PORTABLE_AGGREGATE.replace("strftime('%Y-%m', reviewed_at)",
                                                   "to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM')")
            report("aggregate alone: UNION ALL of six GROUP BYs (portable)",
                   [time_query(portable) for _ in range(args.runs)])
            report("raw SUM over approved (overall only)", [time_query(
                "SELECT SUM(amount_tiyn) AS amount, COUNT(*) AS reports FROM savings_reports WHERE status = 'approved'")
                for _ in range(args.runs)])
            print(f"load average at the end {os.getloadavg()[0]:.1f}")

            for line in aggregate_plan(db):
                print(line)
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
