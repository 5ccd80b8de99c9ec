"""The hot paths in one process, request by request: CPU (this thread, and the PostgreSQL backend that
served it), statements and wall time per request, and optionally the cProfile of each.

    .venv/bin/python -m bench.hotpath [--requests 300] [--profile post|list|photo] [--rate-limits]

Seeds a small scale set (bench/seed.py) in a scratch PostgreSQL database, runs `VACUUM ANALYZE`, and
sends the requests through the Flask test client one after another: the CPU figures do not depend on
what else the machine runs (wall times do), so this is the tool to iterate with; bench/run gives the
throughput under load. `--rate-limits` turns the write limiter on (in-memory store), as production has it.
A `--profile` also writes its cProfile to bench/out/hotpath-<name>.pstats, to browse with pstats
(callers and callees of one function).
"""
import argparse
import cProfile
import io
import os
import pstats
import secrets
import statistics
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from bench.common import migrate, scratch_postgres, vacuum_analyze
from bench.seed import BENCH_PASSWORD, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=["post", "list", "photo"], action="append", default=[])
    parser.add_argument("--rate-limits", action="store_true")
    args = parser.parse_args()
    with scratch_postgres("vm_hotpath") as database_url:
        migrate(database_url)
        ids = seed(database_url, volunteers=300, sites=5_000, inspections=50_000, savings=1_000)
        vacuum_analyze(database_url)
        application_name = f"vm-hotpath-{os.getpid()}"  # this process's backends, told from the others
        os.environ.update(DATABASE_URL=f"{database_url}?application_name={application_name}", EMBEDDED_SCHEDULER="false",
                          RATELIMIT_ENABLED="true" if args.rate_limits else "false",
                          UPLOAD_DIR=str(Path(__file__).parent / "out" / f"hotpath-uploads-{os.getpid()}"))
        os.environ.pop("REDIS_URL", None)
        from volunteer_api import create_app

        app = create_app({"ACCESS_LOG": False, "SECRET_KEY": secrets.token_urlsafe(48),
                          "AUDIT_KEY": secrets.token_urlsafe(48)})
        run(app, ids, args)


def run(app, ids: dict, args) -> None:
    from sqlalchemy import event, text

    from bench.photo_upload import phone_jpeg
    from volunteer_api.extensions import db

    client = app.test_client()

    def token(login):
        return client.post("/api/v1/auth/login", json={"login": login, "password": BENCH_PASSWORD}).get_json()["access_token"]

    volunteer_login = ids["volunteer_logins"][0]
    volunteer = {"Authorization": f"Bearer {token(volunteer_login)}"}
    admin = {"Authorization": f"Bearer {token(ids['admin_login'])}"}
    site = ids["volunteer_sites"][volunteer_login]
    with app.app_context():
        engine = db.engine
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))

    def backend_cpu() -> float:
        with engine.connect() as connection:
            pids = connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                      {"name": engine.url.query["application_name"]}).all()
        return _backend_cpu(set(pids))

    def inspection_body():
        return {"client_uuid": str(uuid.uuid4()), "site_id": site["id"],
                "captured_at": datetime.now(timezone.utc).isoformat(),
                "location": {"lat": site["lat"], "lon": site["lon"], "accuracy_m": 8.5},
                "checklist": {"work_in_progress": True, "workers_present": True, "safety_violations": False,
                              "quality_issues": False, "schedule_delay": False, "docs_on_site": True,
                              "progress_percent": 40},
                "severity": "none", "notes": "bench"}

    photo = phone_jpeg(201 * 1024, site["lat"], site["lon"])
    targets = [client.post("/api/v1/inspections", headers=volunteer, json=inspection_body()).get_json()["id"]
               for _ in range(args.requests // 20 + 1)]
    counter = iter(range(10**9))

    def post():
        response = client.post("/api/v1/inspections", headers=volunteer, json=inspection_body())
        assert response.status_code == 201, response.get_data(as_text=True)

    def listing():
        response = client.get("/api/v1/inspections?limit=50", headers=admin)
        assert response.status_code == 200 and len(response.get_json()["items"]) == 50

    def photo_upload():
        n = next(counter)
        data = photo + f"vm-bench {n}".encode()  # new bytes each time, after the JPEG's end
        response = client.post(f"/api/v1/inspections/{targets[n % len(targets)]}/photos", headers=volunteer,
                               data={"file": (io.BytesIO(data), "photo.jpg")}, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_data(as_text=True)

    print(f"{'request':<22} {'CPU web':>9} {'CPU db':>8} {'wall':>8} {'statements':>10}")
    for name, call, count in (("POST /inspections", post, args.requests),
                              ("GET /inspections (50)", listing, args.requests),
                              ("POST …/photos (201 KB)", photo_upload, max(20, args.requests // 3))):
        for _ in range(10):  # warm: pools, caches, first-call imports
            call()
        db_before = backend_cpu()
        statements.clear()
        cpu_before, wall_before = time.thread_time(), time.perf_counter()
        profiler = cProfile.Profile(time.thread_time) if _short(name) in args.profile else None
        if profiler:
            profiler.enable()
        for _ in range(count):
            call()
        if profiler:
            profiler.disable()
        cpu = (time.thread_time() - cpu_before) / count * 1000
        wall = (time.perf_counter() - wall_before) / count * 1000
        statement_count = len(statements) / count
        db_cpu = (backend_cpu() - db_before) / count * 1000
        print(f"{name:<22} {cpu:>6.2f} ms {db_cpu:>5.2f} ms {wall:>5.2f} ms {statement_count:>10.1f}")
        if profiler:
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(70)
            profiler.dump_stats(Path(__file__).parent / "out" / f"hotpath-{_short(name)}.pstats")
            print(stream.getvalue())
            print("statements of one request:", *statements[:round(statement_count)], sep="\n  ")


def _short(name: str) -> str:
    return {"POST /inspections": "post", "GET /inspections (50)": "list"}.get(name, "photo")


def _backend_cpu(pids: set[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


if __name__ == "__main__":
    main()
