""""Sites near me" with 50,000 sites on PostgreSQL: the service function, the SQL box alone, and the endpoint.

    .venv/bin/python bench/near_me.py [--sites 50000] [--rounds 300]

Creates its own PostgreSQL database (dropped at exit), migrates it, seeds the sites across the
Zhambyl region with COPY (denser around the district centres, as real construction is), then times
`list_sites(near=..., radius_m=...)` from random points near the sites.
"""
import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import psycopg_dsn, scratch_postgres, summary_ms  # noqa: E402

KINDS = ["school", "kindergarten", "hospital", "clinic", "sports", "culture", "housing", "road", "water", "other"]
STATUSES = ["planned", "under_construction", "suspended", "completed"]
# The Zhambyl region, roughly: where sites outside the district centres fall.
REGION_BOX = (42.6, 45.5, 69.9, 75.4)


def seed(database_url: str, count: int, rng: random.Random) -> None:
    """COPY `count` sites into the sites table and move the change-number sequence past them."""
    import psycopg

    with psycopg.connect(psycopg_dsn(database_url)) as connection:
        centres = connection.execute("SELECT code, lat, lon FROM districts ORDER BY code").fetchall()
        buffer = io.StringIO()
        for number in range(1, count + 1):
            code, lat, lon = rng.choice(centres)
            if rng.random() < 0.7:  # clustered around the district's centre
                lat, lon = rng.gauss(lat, 0.08), rng.gauss(lon, 0.11)
            else:  # anywhere in the region, kept in the district it was drawn for
                lat, lon = rng.uniform(*REGION_BOX[:2]), rng.uniform(*REGION_BOX[2:])
            budget_tiyn = rng.randrange(10_000_000, 50_000_000_000) * 100
            buffer.write(f"Site {number}\t{rng.choice(KINDS)}\t{code}\t{lat:.6f}\t{lon:.6f}\t300\t{budget_tiyn}\t"
                         f"{rng.choice(STATUSES)}\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t{number}\n")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.copy("COPY sites (name, kind, district, lat, lon, geofence_radius_m, budget_tiyn, status, "
                             "created_at, updated_at, change_seq) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            cursor.execute("SELECT setval('sync_change_seq', %s)", (count,))
            cursor.execute("ANALYZE sites")
        connection.commit()
        print(f"seeded {count} sites with COPY in {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(2026)
    with scratch_postgres("vm_bench_near") as database_url:
        os.environ.update({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false", "APP_ENV": "development"})
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade
        from sqlalchemy import select, text

        from volunteer_api import create_app
        from volunteer_api.extensions import db
        from volunteer_api.geo import bounding_box
        from volunteer_api.people.services import create_admin
        from volunteer_api.sites.models import Site
        from volunteer_api.sites.services import list_sites

        app = create_app({"ACCESS_LOG": False})
        with app.app_context():
            upgrade()
            create_admin(login="bench@example.kz", password="bench password", full_name="Bench")
        seed(database_url, args.sites, rng)

        with app.app_context():
            points = [(lat + rng.gauss(0, 0.005), lon + rng.gauss(0, 0.005)) for lat, lon in db.session.execute(
                select(Site.lat, Site.lon).order_by(Site.id).offset(rng.randrange(args.sites - 1000)).limit(1000))]
            plan = "\n".join(db.session.scalars(text(
                "EXPLAIN SELECT id, lat, lon FROM sites WHERE lat BETWEEN :a AND :b AND lon BETWEEN :c AND :d"),
                dict(zip("abcd", bounding_box(*points[0], 2000)))))
            print("plan of the box query (2 km):\n  " + plan.replace("\n", "\n  "))

            for radius in (2_000, 10_000):
                service, sql, found, candidates = [], [], [], []
                for round_number in range(args.rounds):
                    point = points[round_number % len(points)]
                    min_lat, max_lat, min_lon, max_lon = bounding_box(*point, radius)
                    started = time.perf_counter()
                    rows = db.session.execute(select(Site.id, Site.lat, Site.lon).where(
                        Site.lat.between(min_lat, max_lat), Site.lon.between(min_lon, max_lon))).all()
                    sql.append(time.perf_counter() - started)
                    candidates.append(len(rows))
                    started = time.perf_counter()
                    items, _ = list_sites(near=point, radius_m=radius, limit=50, cursor=None)
                    service.append(time.perf_counter() - started)
                    found.append(len(items))
                    db.session.rollback()
                for label, values in (("SQL box alone", sql), ("list_sites(near=...)", service)):
                    median, p99 = summary_ms(values)
                    print(f"radius {radius / 1000:g} km, {label:22} median {median:6.2f} ms  p99 {p99:6.2f} ms")
                print(f"radius {radius / 1000:g} km: {sum(candidates) / len(candidates):.1f} box candidates, "
                      f"{sum(found) / len(found):.1f} sites answered on average (page of at most 50)")

        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={"login": "bench@example.kz", "password": "bench password"}
                            ).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        timings = []
        for round_number in range(args.rounds):
            lat, lon = points[round_number % len(points)]
            started = time.perf_counter()
            response = client.get(f"/api/v1/sites?near={lat:.5f},{lon:.5f}&radius_m=2000", headers=headers)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.get_json()
        median, p99 = summary_ms(timings)
        print(f"GET /api/v1/sites?near=…&radius_m=2000 (in-process, auth included): median {median:.2f} ms  p99 {p99:.2f} ms")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
