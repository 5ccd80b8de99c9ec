"""Benchmark: building the risk map, the OC4IDS export and the monthly report over the full data.

Creates its own PostgreSQL database, migrates it, seeds it with bench/seed.py (50,000 sites, 1,000,000
inspections, 1,000,000 savings by default; `--scale 0.1` for a tenth), confirms every third flagged
inspection and resolves half of those (so the cases, the fix rate and the risk have something to
count), lets the workers' functions compute what the endpoints read (savings totals, outcomes, every
site's risk), then times, each `--runs` times: `GET /map/sites.geojson` and `GET /open-data/oc4ids.json`
streamed to the end through the app (as an admin; anonymous for the export), and the monthly report
(figures, XLSX and PDF) for last month. Prints median and worst, and drops the database.

    .venv/bin/python bench/outcomes.py [--scale 1.0] [--runs 3]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from bench.common import migrate, scratch_postgres  # noqa: E402 - needs the project root on the path

CASES_SQL = """
    UPDATE inspections SET status = 'confirmed', reviewed_at = received_at + interval '1 day',
           reviewed_by_id = (SELECT min(id) FROM users WHERE role = 'inspector')
    WHERE flagged AND id % 3 = 0;
    INSERT INTO case_resolutions (inspection_id, outcome, comment, resolved_at, recorded_by_id, recorded_at)
    SELECT id, CASE WHEN id % 4 = 0 THEN 'fixed' ELSE 'not_fixed' END, 'bench', reviewed_at + (id % 20) * interval '1 day',
           reviewed_by_id, now()
    FROM inspections WHERE status = 'confirmed' AND id % 2 = 0;
"""


def timed(label: str, runs: int, call) -> None:
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = call()
        samples.append(time.perf_counter() - started)
    extra = f"   {size / 1e6:6.1f} MB" if size else ""
    print(f"{label:<58} median {statistics.median(samples):7.2f} s   worst {max(samples):7.2f} s{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sites, rows = int(50_000 * args.scale), int(1_000_000 * args.scale)

    with scratch_postgres("vm_bench_outcomes") as database_url:
        os.environ.update({"APP_ENV": "testing", "DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        migrate(database_url)
        from bench.seed import ADMIN_LOGIN, BENCH_PASSWORD, seed

        seed(database_url, volunteers=int(10_000 * args.scale), sites=sites, inspections=rows, savings=rows)

        from volunteer_api import create_app
        from volunteer_api.cases.outcomes import recompute_outcomes
        from volunteer_api.database import db
        from volunteer_api.reports.services import build_report, previous_month
        from volunteer_api.risk.services import reassess_all_risks
        from volunteer_api.savings.totals import recompute_totals

        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            db.session.execute(text(CASES_SQL))
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE inspections"))
                connection.execute(text("VACUUM ANALYZE case_resolutions"))
            confirmed = db.session.scalar(text("SELECT count(*) FROM inspections WHERE status = 'confirmed'"))
            print(f"{sites:,} sites, {rows:,} inspections ({confirmed:,} confirmed), {rows:,} savings; "
                  f"PostgreSQL {db.session.scalar(text('SHOW server_version'))}", flush=True)

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
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE site_risks"))

        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={"login": ADMIN_LOGIN, "password": BENCH_PASSWORD}).get_json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}

        def streamed(path, **kwargs):
            def run():
                response = client.get(path, **kwargs)
                assert response.status_code == 200, response.status_code
                return sum(len(chunk) for chunk in response.response)
            return run

        timed("GET /map/sites.geojson, all sites, streamed to the end", args.runs,
              streamed("/api/v1/map/sites.geojson", headers=headers))
        timed("GET /map/sites.geojson?risk=high", args.runs,
              streamed("/api/v1/map/sites.geojson?risk=high", headers=headers))
        timed("GET /open-data/oc4ids.json, all sites, streamed to the end", args.runs,
              streamed("/api/v1/open-data/oc4ids.json"))
        with app.app_context():
            month = previous_month()

            def report():
                made = build_report(month)
                db.session.rollback()
                return len(made["xlsx"]) + len(made["pdf"])

            timed(f"monthly report {month}: figures + XLSX + PDF", args.runs, report)


if __name__ == "__main__":
    main()
