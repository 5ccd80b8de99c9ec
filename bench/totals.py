"""Benchmark: the workers' savings-totals recomputes over 1,000,000 savings rows on PostgreSQL.

Creates its own database on the local PostgreSQL, migrates it, seeds realistic cardinalities (50,000
sites, 10,144 volunteers, 11 districts, 5 categories, ~12 months of reports) with COPY, then times:
the targeted job a filed or decided report enqueues (after deciding a random pending report), the full
reconciliation (with nothing and with 500 decisions to catch up on), and the bare aggregates. Prints
median and p99, checks that the targeted jobs left exactly the table a full recompute builds, prints
the plan of the full aggregate, and drops the database.

    .venv/bin/python bench/totals.py [--rows 1000000] [--runs 9] [--targeted-runs 300]
"""
import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch_postgres  # noqa: E402 - needs the project root on the path
DISTRICTS = ("taraz", "baizak", "zhambyl", "zhualy", "korday", "merke", "moiynkum", "sarysu", "talas", "shu",
             "ryskulov")
CATEGORIES = ("overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other")
SITES = 50_000
VOLUNTEERS = 10_144
DAYS = 365
COPY_COLUMNS = ("client_uuid", "request_hash", "volunteer_id", "site_id", "district", "amount_tiyn", "category",
                "description", "status", "created_at", "reviewed_by_id", "reviewed_at", "updated_at", "change_seq")
FIGURES = "scope, key, approved_tiyn, approved_count, pending_tiyn, pending_count"

# The aggregate before this change (six grouping sets, CASE sums, to_char on every row), for comparison.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--targeted-runs", type=int, default=300)
    args = parser.parse_args()

    with scratch_postgres("vm_bench_totals") as database_url:
        os.environ.update({"APP_ENV": "testing", "DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade

        from volunteer_api import create_app
        from volunteer_api.extensions import db
        from volunteer_api.savings.totals import (
            _PORTABLE_AGGREGATE, aggregate_sql, recompute_totals, recompute_totals_for_saving)

        rng = random.Random(42)
        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            upgrade()
            seed(app, args.rows, rng)
            print(f"PostgreSQL: {db.session.scalar(text('SHOW server_version'))}; "
                  f"work_mem {db.session.scalar(text('SHOW work_mem'))}", flush=True)

            def timed(call) -> float:
                started = time.perf_counter()
                call()
                db.session.commit()
                return time.perf_counter() - started

            def snapshot() -> list[tuple]:
                return [tuple(row) for row in db.session.execute(text(f"SELECT {FIGURES} FROM savings_totals "
                                                                      "ORDER BY scope, key"))]

            first = timed(recompute_totals)
            totals_rows = db.session.scalar(text("SELECT count(*) FROM savings_totals"))
            print(f"first full recompute (writes all {totals_rows:,} rows): {first * 1000:.0f} ms", flush=True)

            targeted = []
            for _ in range(args.targeted_runs):
                saving_id = decide_pending(db, rng, 1)[0]
                targeted.append(timed(lambda: recompute_totals_for_saving(saving_id=saving_id)))
            after_targeted = snapshot()

            full_unchanged = [timed(recompute_totals) for _ in range(args.runs)]
            rewritten = db.session.scalar(text(
                "SELECT count(*) FROM savings_totals WHERE computed_at = (SELECT max(computed_at) FROM savings_totals)"))
            same = snapshot() == after_targeted
            full_catching_up = []
            for _ in range(args.runs):
                decide_pending(db, rng, 500)
                full_catching_up.append(timed(recompute_totals))
            result = recompute_totals()
            db.session.commit()
            print(f"approved total {result['approved_tiyn'] / 100:,.2f} KZT; "
                  f"{db.session.scalar(text('SELECT count(*) FROM savings_totals')):,} total rows; "
                  f"{db.session.scalar(text('SELECT count(*) FROM savings_milestones'))} milestones")
            print(f"after {args.targeted_runs} targeted jobs the table equals a full recompute's: {same}; "
                  f"a reconciliation with nothing to catch up rewrote {rewritten} row(s)")

            def time_query(sql: str) -> list[float]:
                samples = []
                for _ in range(args.runs):
                    db.session.execute(text("SET LOCAL work_mem = '256MB'"))  # as recompute_totals() does
                    started = time.perf_counter()
                    # Kept in the server, as recompute_totals() does: no fetching 60,000 rows into Python.
                    db.session.execute(text(f"CREATE TEMPORARY TABLE bench_aggregate ON COMMIT DROP AS {sql}"))
                    samples.append(time.perf_counter() - started)
                    db.session.rollback()
                return samples

            print()
            report("targeted job: one decided report's keys + commit", targeted)
            report("full reconciliation, nothing changed + commit", full_unchanged)
            report("full reconciliation, 500 decisions to catch up + commit", full_catching_up)
            report("aggregate alone: 3 grouping sets rolled up, FILTER", time_query(aggregate_sql("postgresql")))
            report("aggregate alone: variant, district as its own (4th) set",
                   time_query(aggregate_sql("postgresql").replace(
                       "((site_id, district), (volunteer_id), (category, month))",
                       "((site_id), (district), (volunteer_id), (category, month))").replace(
                       "grouping_set = 3 GROUP BY district", "GROUPING_SET = 7 GROUP BY district")
                   .replace("GROUPING(site_id, volunteer_id, category)", "GROUPING(district, site_id, volunteer_id, category)")
                   .replace("grouping_set = 3", "grouping_set = 11").replace("grouping_set = 5", "grouping_set = 13")
                   .replace("grouping_set = 6", "grouping_set = 14").replace("GROUPING_SET = 7", "grouping_set = 7")))
            report("aggregate alone: before (6 grouping sets, CASE, to_char)", time_query(OLD_AGGREGATE))
            portable = _PORTABLE_AGGREGATE.replace("strftime('%Y-%m', reviewed_at)",
                                                   "to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM')")
            report("aggregate alone: UNION ALL of six GROUP BYs (portable)", time_query(portable))
            report("raw GROUP BY site_id (one scope)", time_query(
                "SELECT site_id, SUM(amount_tiyn) AS amount, COUNT(*) AS reports FROM savings_reports "
                "WHERE status IN ('approved', 'pending') GROUP BY site_id"))
            report("raw SUM over approved (overall only)", time_query(
                "SELECT SUM(amount_tiyn) AS amount, COUNT(*) AS reports FROM savings_reports WHERE status = 'approved'"))

            db.session.execute(text("SET LOCAL work_mem = '256MB'"))
            plan = db.session.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {aggregate_sql('postgresql')}"))
            print("\nEXPLAIN ANALYZE of the full aggregate:")
            print("\n".join(row[0] for row in plan))
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
