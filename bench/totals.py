"""Benchmark: the workers' savings-totals recompute over 1,000,000 savings rows on PostgreSQL.

Creates its own database on the local PostgreSQL, migrates it, seeds the rows with COPY, times the
recompute service function (aggregate + upsert + delete + milestones, one transaction each) and the
bare aggregates, prints median and p99, and drops the database.

    .venv/bin/python bench/totals.py [--rows 1000000] [--runs 9]
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

from sqlalchemy import create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DISTRICTS = ("taraz", "baizak", "zhambyl", "zhualy", "korday", "merke", "moiynkum", "sarysu", "talas", "shu",
             "ryskulov")
CATEGORIES = ("overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other")
COPY_COLUMNS = ("client_uuid", "request_hash", "volunteer_id", "site_id", "district", "amount_tiyn", "category",
                "description", "status", "created_at", "reviewed_by_id", "reviewed_at", "updated_at", "change_seq")


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(label: str, samples: list[float]) -> None:
    print(f"{label:<52} median {statistics.median(samples) * 1000:8.1f} ms   "
          f"p99 {percentile(samples, 99) * 1000:8.1f} ms   (n={len(samples)})")


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
        for n in range(2000)
    ])
    db.session.execute(insert(Site), [
        {"name": f"Site {n}", "kind": "school", "district": districts[n % len(districts)], "lat": 42.9, "lon": 71.37,
         "budget_tiyn": 10**12, "status": "under_construction"}
        for n in range(500)
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
                created = now - timedelta(minutes=rng.randrange(60 * 24 * 730))
                roll = rng.random()
                status = "approved" if roll < 0.7 else "pending" if roll < 0.9 else "rejected"
                reviewed = created + timedelta(hours=rng.randrange(1, 200)) if status != "pending" else None
                copy.write_row((str(uuid.UUID(int=rng.getrandbits(128))), "0" * 64, rng.choice(volunteer_ids),
                                site_id, district, rng.randint(1, 500_000_000), rng.choice(CATEGORIES), "bench",
                                status, created, inspector_id if reviewed else None, reviewed,
                                reviewed or created, n + 1))
        raw.driver_connection.commit()
    finally:
        raw.close()
    print(f"seeded {rows:,} savings rows with COPY in {time.perf_counter() - started:.1f} s")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE savings_reports"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    name = f"vm_bench_totals_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        os.environ.update({"APP_ENV": "testing", "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                           "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade

        from volunteer_api import create_app
        from volunteer_api.extensions import db
        from volunteer_api.savings.totals import _PORTABLE_AGGREGATE, aggregate_sql, recompute_totals

        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            upgrade()
            seed(app, args.rows, random.Random(42))
            print(f"PostgreSQL: {db.session.scalar(text('SHOW server_version'))}; "
                  f"work_mem {db.session.scalar(text('SHOW work_mem'))}")

            recompute_runs = []
            for _ in range(args.runs):
                started = time.perf_counter()
                result = recompute_totals()
                db.session.commit()
                recompute_runs.append(time.perf_counter() - started)
            totals_rows = db.session.scalar(text("SELECT count(*) FROM savings_totals"))
            print(f"approved total {result['approved_tiyn'] / 100:,.2f} KZT; {totals_rows:,} total rows; "
                  f"{db.session.scalar(text('SELECT count(*) FROM savings_milestones'))} milestones")

            def time_query(sql: str) -> list[float]:
                samples = []
                for _ in range(args.runs):
                    db.session.execute(text("SET LOCAL work_mem = '256MB'"))  # as recompute_totals() does
                    started = time.perf_counter()
                    db.session.execute(text(sql)).all()
                    samples.append(time.perf_counter() - started)
                    db.session.rollback()
                return samples

            print()
            report("recompute_totals() + commit (the worker's job)", recompute_runs)
            report("aggregate alone: GROUPING SETS, one scan", time_query(aggregate_sql("postgresql")))
            portable = _PORTABLE_AGGREGATE.replace("strftime('%Y-%m', reviewed_at)",
                                                   "to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM')")
            report("aggregate alone: UNION ALL of six GROUP BYs", time_query(portable))
            report("raw GROUP BY district (one scope)", time_query(
                "SELECT district, SUM(amount_tiyn), COUNT(*) FROM savings_reports "
                "WHERE status = 'approved' GROUP BY district"))
            report("raw SUM over approved (overall only)", time_query(
                "SELECT SUM(amount_tiyn), COUNT(*) FROM savings_reports WHERE status = 'approved'"))
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
