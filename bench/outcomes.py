"""Benchmark: building the risk map, the OC4IDS export and the monthly report over the full data.

Creates its own PostgreSQL database, migrates it, seeds it with bench/seed.py (50,000 sites, 1,000,000
inspections, 1,000,000 savings by default; `--scale 0.1` for a tenth), confirms every third flagged
inspection and resolves half of those (so the cases, the fix rate and the risk have something to
count), lets the workers' functions compute what the endpoints read (savings totals, outcomes, every
site's risk), then times, each `--runs` times: `GET /map/sites.geojson` and `GET /open-data/oc4ids.json`
streamed to the end through the app (as an admin; anonymous for the export), and the monthly report
(figures, XLSX and PDF) for last month. Prints median and worst, and drops the database
(`--keep NAME` uses, or makes and seeds once, the database NAME and keeps it: for profiling).
The export is timed twice: made by the workers' sweep, and served from what they kept.

    .venv/bin/python bench/outcomes.py [--scale 1.0] [--runs 3] [--keep vm_bench_outcomes_kept]
"""
import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.common import PG_ADMIN_URL, migrate, scratch_postgres  # noqa: E402 - needs the project root on the path

CASES_SQL = """
    UPDATE inspections SET status = 'confirmed', reviewed_at = received_at + interval '1 day',
           reviewed_by_id = (SELECT min(id) FROM users WHERE role = 'inspector')
    WHERE flagged AND id % 3 = 0;
    INSERT INTO case_resolutions (inspection_id, outcome, comment, resolved_at, recorded_by_id, recorded_at)
    SELECT id, CASE WHEN id % 4 = 0 THEN 'fixed' ELSE 'not_fixed' END, 'bench', reviewed_at + (id % 20) * interval '1 day',
           reviewed_by_id, now()
    FROM inspections WHERE status = 'confirmed' AND id % 2 = 0;
"""

# A photo on every 50th inspection of last month, every 7th of them taken by the camera days away from filing.
PHOTOS_SQL = """
    INSERT INTO photos (inspection_id, sha256, content_type, size_bytes, width, height, exif_taken_at,
                        photo_time_mismatch, created_at)
    SELECT id, md5(id::text) || md5(id::text), 'image/jpeg', 200000, 1600, 1200,
           captured_at - CASE WHEN id % 7 = 0 THEN interval '3 days' ELSE interval '5 minutes' END,
           id % 7 = 0, received_at
    FROM inspections WHERE id % 50 = 0 AND received_at >= date_trunc('month', now()) - interval '1 month';
"""


def timed(label: str, runs: int, call) -> None:
    """Wall time (the machine's load included) and this process's CPU time (the app's Python; not PostgreSQL's)."""
    samples, cpu, size = [], [], 0
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        size = call()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    extra = f"   {size / 1e6:6.1f} MB" if size else ""
    print(f"{label:<58} median {statistics.median(samples):7.2f} s   worst {max(samples):7.2f} s   "
          f"CPU {statistics.median(cpu):6.2f} s{extra}", flush=True)


@contextlib.contextmanager
def kept_postgres(name: str):
    """The database NAME, made when missing and never dropped."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def seeded(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return bool(connection.scalar(text("SELECT to_regclass('sites') IS NOT NULL"))) and bool(
                connection.scalar(text("SELECT EXISTS (SELECT 1 FROM case_resolutions)")))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", metavar="NAME", help="use (make and seed once) this database and keep it")
    args = parser.parse_args()
    sites, rows = int(50_000 * args.scale), int(1_000_000 * args.scale)

    database = kept_postgres(args.keep) if args.keep else scratch_postgres("vm_bench_outcomes")
    with database as database_url:
        os.environ.update({"APP_ENV": "testing", "DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        migrate(database_url)
        from bench.seed import ADMIN_LOGIN, BENCH_PASSWORD, seed

        fresh = not seeded(database_url)
        if fresh:
            seed(database_url, volunteers=int(10_000 * args.scale), sites=sites, inspections=rows, savings=rows)

        from volunteer_api import create_app
        from volunteer_api.cases.outcomes import recompute_outcomes
        from volunteer_api.database import db
        from volunteer_api.reports.services import build_report, previous_month
        from volunteer_api.open_data.oc4ids import make_oc4ids_export
        from volunteer_api.risk.services import reassess_all_risks
        from volunteer_api.savings.totals import recompute_totals

        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            if fresh:
                db.session.execute(text(CASES_SQL))
                db.session.execute(text(PHOTOS_SQL))
                db.session.commit()
            sites = db.session.scalar(text("SELECT count(*) FROM sites"))
            confirmed = db.session.scalar(text("SELECT count(*) FROM inspections WHERE status = 'confirmed'"))
            print(f"{sites:,} sites, {db.session.scalar(text('SELECT count(*) FROM inspections')):,} inspections "
                  f"({confirmed:,} confirmed), {db.session.scalar(text('SELECT count(*) FROM savings_reports')):,} "
                  f"savings; PostgreSQL {db.session.scalar(text('SHOW server_version'))}", flush=True)

            def commit_after(call):
                def run():
                    call()
                    db.session.commit()
                    return 0
                return run

            timed("savings totals, full recompute (the figures the map reads)", 1, commit_after(recompute_totals))
            timed("outcomes, full recompute (every district)", args.runs, commit_after(recompute_outcomes))
            timed(f"risk, every site reassessed ({sites:,}; first run writes all)", 1, commit_after(reassess_all_risks))
            timed("risk, every site reassessed again (nothing changed)", args.runs, commit_after(reassess_all_risks))
            timed("OC4IDS export made by the workers (the sweep; 50,000 projects kept in parts)", args.runs,
                  lambda: make_oc4ids_export() and 0)
            # Autovacuum is off on this machine: without statistics the planner guesses.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))

        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={"login": ADMIN_LOGIN, "password": BENCH_PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        def streamed(path, status=200, **kwargs):
            def run():
                response = client.get(path, **kwargs)
                assert response.status_code == status, response.status_code
                return sum(len(chunk) for chunk in response.response)
            return run

        timed("GET /map/sites.geojson, all sites, streamed to the end", args.runs,
              streamed("/api/v1/map/sites.geojson", headers=headers))
        timed("GET /map/sites.geojson?risk=high", args.runs,
              streamed("/api/v1/map/sites.geojson?risk=high", headers=headers))
        timed("GET /open-data/oc4ids.json, the kept export streamed to the end", args.runs,
              streamed("/api/v1/open-data/oc4ids.json"))
        etag = client.get("/api/v1/open-data/oc4ids.json").headers["ETag"]
        timed("GET /open-data/oc4ids.json with If-None-Match (304)", args.runs,
              streamed("/api/v1/open-data/oc4ids.json", status=304, headers={"If-None-Match": etag}))
        with app.app_context():
            month = previous_month()

            def report():
                made = build_report(month)
                db.session.rollback()
                return len(made["xlsx"]) + len(made["pdf"])

            timed(f"monthly report {month}: figures + XLSX + PDF", args.runs, report)


if __name__ == "__main__":
    main()
