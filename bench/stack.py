"""The whole stack on loopback, seeded at scale, under load from wrk; prints one table of figures.

    bench/run [--quick] [--duration 10] [--connections 32] [--web-workers 4] [--hosts 2] [--photo-seconds 30]

Starts gunicorn (sync workers) and a Celery worker (--beat) against a PostgreSQL database and a Redis
database number of its own, seeds the 144 Zhambyl volunteers plus the scale set, runs `VACUUM ANALYZE`
(autovacuum is off on these machines), runs wrk against loopback only, for a bounded time per figure,
and drops everything afterwards. The CPU a write costs is read from /proc: the utime + stime of the
gunicorn workers and of the web's PostgreSQL backends over the run, divided by the requests answered.

`--hosts 2` starts what two hosts would run behind the same PostgreSQL and Redis: two gunicorn
processes on two ports and two Celery workers; wrk loads both at once (one wrk per host, half the
connections each).
"""
import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

from bench.common import (ROOT, app_in_process, free_port, migrate, scratch_postgres, scratch_redis, summary_ms,
                          vacuum_analyze)
from bench.seed import BENCH_PASSWORD, seed, seed_audit_chain

VENV_BIN = Path(sys.executable).parent
TARGETS = {
    "post_ratio": 0.25, "post_p99_ms": 80.0, "deep_ratio": 1.20, "near_db_ms": 10.0, "recompute_ms": 1000.0,
    "totals_ms": 5.0, "alert_p99_ms": 1000.0, "web_rss_mb": 120.0, "post_cpu_ms": 6.0, "photo_rps": 1.5 * 81,
    "audit_verify_ms": 1000.0, "photo_rss_growth_mb": 2.0,
}
# Sealed audit events seeded (the chain GET /audit/verify answers over), and the new ones before each timed call.
AUDIT_EVENTS = 1_000_000
AUDIT_TAIL = 1_000
# The web's connections name themselves, so its PostgreSQL backends can be told from the worker's.
WEB_APPLICATION_NAME = "vm-bench-web"
# Photos per inspection at most (services.MAX_PHOTOS); the photo load spreads its uploads over many.
PHOTOS_PER_INSPECTION = 20
# Uploads per second no run here reaches (58/s measured with 4 workers): the inspections made for the load.
PHOTO_RATE_BOUND = 300
# The photo load's length: its first half warms the workers up, its second shows whether memory grows.
PHOTO_SECONDS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale set (a smoke run)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (bounded)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=4,
                        help="gunicorn workers per host (sync: more than the cores, for the waits on PostgreSQL)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"],
                        help="gunicorn worker class (gthread runs 4 threads per worker)")
    parser.add_argument("--hosts", type=int, default=1, choices=[1, 2],
                        help="2: two gunicorn processes and two Celery workers, as two hosts would run")
    parser.add_argument("--alerts", type=int, default=300, help="flagged inspections for the alert latency")
    parser.add_argument("--photo-seconds", type=int, default=PHOTO_SECONDS,
                        help="seconds of photo uploads (its first half is the workers' warm-up; see bench/photo_memory.py)")
    args = parser.parse_args()
    scale = dict(volunteers=1_000, sites=50_000, inspections=100_000, savings=100_000) if args.quick else {}
    audit_events = AUDIT_EVENTS // 10 if args.quick else AUDIT_EVENTS
    rows: list[tuple] = []
    with scratch_postgres() as database_url, scratch_redis() as redis_url:
        print(f"database {database_url.rsplit('/', 1)[1]}, redis {redis_url}", flush=True)
        migrate(database_url)
        env = stack_env(database_url, redis_url)
        started = time.perf_counter()
        ids = seed(database_url, **scale)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        # Signed with the stack's AUDIT_KEY, so its sealer and GET /audit/verify go on from them.
        seed_audit_chain(database_url, audit_key=env["AUDIT_KEY"], events=audit_events)
        print(f"seeded {audit_events:,} chained audit events and a verification of them in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        vacuum_analyze(database_url)  # autovacuum is off here: without statistics the planner guesses
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.0f} s", flush=True)
        rows += measure_in_process(database_url)
        ports = [free_port() for _ in range(args.hosts)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        processes = start_stack(env, ports, args.web_workers, args.worker_class)
        try:
            for base in bases:
                wait_ready(base)
            rows += measure_http(bases, ids, args, database_url, processes)
            rows += measure_photo_uploads(bases, ids, args, database_url, processes)
            rows += measure_alert_latency(bases[0], ids, args.alerts, database_url)
            rows += measure_memory(processes)
            rows += measure_audit_verify(bases[0], ids, database_url, env["AUDIT_KEY"])
        finally:
            for process in processes.values():
                stop(process)
    print_table(rows, args)


def measure_in_process(database_url: str) -> list[tuple]:
    """Figures taken inside one process: the totals recompute and the near-me query in the database."""
    from sqlalchemy import text

    from bench.common import app_in_process
    from volunteer_api.extensions import db
    from volunteer_api.savings.totals import recompute_totals

    app = app_in_process(database_url)
    rows = []
    with app.app_context():
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            recompute_totals()
            db.session.commit()
            timings.append(time.perf_counter() - started)
        median, p99 = summary_ms(timings)
        rows.append(("totals recompute over all savings", median, p99, None, f"< {TARGETS['recompute_ms']:.0f} ms",
                     median < TARGETS["recompute_ms"]))
        near = []
        for n in range(200):
            lat, lon = 42.9 + (n % 10) * 0.01, 71.37 + (n % 7) * 0.01
            started = time.perf_counter()
            db.session.execute(text(
                "SELECT id, lat, lon FROM sites WHERE lat BETWEEN :a AND :b AND lon BETWEEN :c AND :d"),
                {"a": lat - 0.018, "b": lat + 0.018, "c": lon - 0.025, "d": lon + 0.025}).all()
            near.append(time.perf_counter() - started)
        median, p99 = summary_ms(near)
        rows.append(("near-me bounding box in the database (2 km)", median, p99, None,
                     f"< {TARGETS['near_db_ms']:.0f} ms", median < TARGETS["near_db_ms"]))
    return rows


def stack_env(database_url: str, redis_url: str, **overrides: str) -> dict:
    """The environment of the stack's processes: production mode with keys of its own, rate limits off."""
    return {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
            "AUDIT_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "false",
            # The 300 flagged submissions are about one site within minutes: coalesced (the default), all
            # but the first 3 would join one burst alert and have no alert of their own to time.
            "ALERT_BURST_AFTER": "0",
            "UPLOAD_DIR": str(ROOT / "bench" / "out" / "uploads"), **overrides}


def start_stack(env: dict, ports: list[int], web_workers: int, worker_class: str) -> dict:
    """One gunicorn and one Celery worker with its beat per host, as each worker host runs them: the
    beats share RedBeat's lock in Redis (workers/schedulers.py), so one leads and each sweep runs once."""
    log_dir = ROOT / "bench" / "out"
    log_dir.mkdir(parents=True, exist_ok=True)
    web_env = {**env, "DATABASE_URL": with_application_name(env["DATABASE_URL"], WEB_APPLICATION_NAME)}
    processes = {}
    for host, port in enumerate(ports, start=1):
        processes[f"web{host}"] = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", str(web_workers), "--worker-class", worker_class, "--threads",
             "4" if worker_class == "gthread" else "1",
             "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "wsgi:app"],
            cwd=ROOT, env=web_env, stdout=open(log_dir / f"gunicorn-{host}.log", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        processes[f"worker{host}"] = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "workers", "worker", "--beat", "-P", "threads", "-c", "4",
             "-n", f"bench{host}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
            cwd=ROOT, env=env, stdout=open(log_dir / f"worker-{host}.log", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
    return processes


def with_application_name(database_url: str, name: str) -> str:
    return f"{database_url}{'&' if '?' in database_url else '?'}application_name={name}"


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web process did not become ready")


def login(base: str, login_name: str) -> str:
    response = requests.post(f"{base}/api/v1/auth/login", json={"login": login_name, "password": BENCH_PASSWORD}, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


def wrk(url: str, *, script: str, args: list[str], duration: int, connections: int, threads: int = 2) -> dict:
    """Run wrk (2 threads) and parse requests/s, median and p99 latency, requests and non-2xx count."""
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{duration}s", "--latency", "--timeout", "5s",
               "-s", str(ROOT / "bench" / script), url, "--", *args]
    output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _wrk_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)) else 0,
    }


def wrk_hosts(bases: list[str], path: str, *, script: str, args, duration: int, connections: int) -> dict:
    """wrk against every host at once, the connections split between them (one wrk per host).

    `args` are the script's arguments, or a function of the host's index that returns them.

    Rates and non-2xx add up; the median is the request-weighted mean of the hosts' medians and the
    p99 the worst host's (wrk prints percentiles, not its histogram, so they cannot be merged exactly).
    """
    args_of = args if callable(args) else (lambda _host: args)
    if len(bases) == 1:
        return wrk(bases[0] + path, script=script, args=args_of(0), duration=duration, connections=connections)
    from concurrent.futures import ThreadPoolExecutor

    share = max(1, connections // len(bases))
    with ThreadPoolExecutor(len(bases)) as pool:
        results = list(pool.map(lambda host: wrk(bases[host] + path, script=script, args=args_of(host),
                                                   duration=duration, connections=share, threads=1),
                                range(len(bases))))
    rps = sum(result["rps"] for result in results)
    return {"rps": rps, "p50": sum(r["p50"] * r["rps"] for r in results) / rps if rps else float("nan"),
            "p99": max(r["p99"] for r in results), "errors": sum(r["errors"] for r in results),
            "requests": sum(r["requests"] for r in results)}


def _wrk_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def settle(database_url: str, timeout: float = 120) -> None:
    """Wait until the worker has sealed every audit event and run every job, so runs do not overlap."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            backlog = connection.execute(text(
                "SELECT (SELECT count(*) FROM audit_events WHERE seq IS NULL AND seal_refused IS NULL)"
                " + (SELECT count(*) FROM outbox_jobs WHERE status = 'pending')")).scalar()
            connection.rollback()
            if not backlog:
                break
            time.sleep(0.5)
    engine.dispose()


def measure_http(bases: list[str], ids: dict, args, database_url: str, processes: dict) -> list[tuple]:
    base = bases[0]
    admin = login(base, ids["admin_login"])
    volunteer_login = ids["volunteer_logins"][0]
    volunteer = login(base, volunteer_login)
    site = ids["volunteer_sites"][volunteer_login]
    run = dict(duration=args.duration, connections=args.connections)
    one = dict(duration=max(3, args.duration // 2), connections=1)
    rows = []
    ceiling = wrk_hosts(bases, "/healthz", script="get.lua", args=[], **run)
    rows.append(("GET /healthz (the ceiling)", ceiling["p50"], ceiling["p99"], ceiling["rps"], "—", None))
    meter = CpuMeter(processes, database_url)
    post = wrk_hosts(bases, "/", script="post_inspection.lua",
                     args=lambda host: [volunteer, site["id"], str(site["lat"]), str(site["lon"]), str(host)], **run)
    cpu = meter.per_request(post["requests"])
    ratio = post["rps"] / ceiling["rps"]
    rows.append((f"POST /inspections ({ratio:.1%} of ceiling, {post['errors']} non-2xx)", post["p50"], post["p99"],
                 post["rps"], "≥ 25 % and p99 < 80 ms",
                 ratio >= TARGETS["post_ratio"] and post["p99"] < TARGETS["post_p99_ms"] and post["errors"] == 0))
    rows.append((f"CPU per POST /inspections: web {cpu['web']:.2f} + PostgreSQL {cpu['database']:.2f} ms",
                 cpu["web"] + cpu["database"], None, None, "≤ 6 ms", cpu["web"] + cpu["database"] <= TARGETS["post_cpu_ms"]))
    rows.append((f"  then in the workers (+ their PostgreSQL): {cpu['workers']:.2f} ms", cpu["workers"], None, None,
                 "—", None))
    settle(database_url)
    first = wrk_hosts(bases, "/api/v1/inspections?limit=50", script="get.lua", args=[admin], **run)
    rows.append((f"GET /inspections first page (admin, 50; {first['rps'] / ceiling['rps']:.1%} of ceiling)",
                 first["p50"], first["p99"], first["rps"], "—", None))
    first_one = wrk(f"{base}/api/v1/inspections?limit=50", script="get.lua", args=[admin], **one)
    rows.append(("GET /inspections first page, one connection", first_one["p50"], first_one["p99"], first_one["rps"],
                 "—", None))
    cursor = deep_cursor(base, admin, pages=1000)
    deep = wrk_hosts(bases, f"/api/v1/inspections?limit=50&cursor={cursor}", script="get.lua", args=[admin], **run)
    deep_ratio = deep["p50"] / first["p50"]
    rows.append((f"GET /inspections 1,000 pages deep ({deep_ratio:.2f}× first)", deep["p50"], deep["p99"], deep["rps"],
                 "within 20 % of first", deep_ratio <= TARGETS["deep_ratio"]))
    near_path = f"/api/v1/sites?near={site['lat']},{site['lon']}&radius_m=2000"
    near = wrk_hosts(bases, near_path, script="get.lua", args=[volunteer], **run)
    rows.append(("GET /sites near me (2 km, 50,000 sites)", near["p50"], near["p99"], near["rps"], "—", None))
    near_one = wrk(base + near_path, script="get.lua", args=[volunteer], **one)
    rows.append(("GET /sites near me, one connection", near_one["p50"], near_one["p99"], near_one["rps"], "—", None))
    totals_path = "/api/v1/savings/totals"
    totals = wrk_hosts(bases, totals_path, script="get.lua", args=[volunteer], **run)
    rows.append(("GET /savings/totals", totals["p50"], totals["p99"], totals["rps"], "—", None))
    totals_one = wrk(base + totals_path, script="get.lua", args=[volunteer], **one)
    rows.append(("GET /savings/totals, one connection", totals_one["p50"], totals_one["p99"], totals_one["rps"],
                 "< 5 ms", totals_one["p50"] < TARGETS["totals_ms"]))
    rows.append(("(the ceiling again, after the loads)", *_again(bases, run)))
    return rows


def _again(bases, run) -> tuple:
    ceiling = wrk_hosts(bases, "/healthz", script="get.lua", args=[], **run)
    return ceiling["p50"], ceiling["p99"], ceiling["rps"], "—", None


def measure_photo_uploads(bases: list[str], ids: dict, args, database_url: str, processes: dict) -> list[tuple]:
    """POST a 201 KB phone JPEG (EXIF time and GPS) to the volunteer's inspections, each upload new bytes
    (a unique tail after the image's end), at most PHOTOS_PER_INSPECTION per inspection; every web
    worker's RSS sampled meanwhile. The first half of the run is the workers' warm-up (what a worker
    loads once: Pillow's plugins, the statements' compiled forms); memory must not grow in the second."""
    seconds = args.photo_seconds
    upload = PhotoUpload(bases[0], ids, seconds)
    settle(database_url)
    meter = CpuMeter(processes, database_url)
    with RssSampler(processes, interval=1.0) as rss:
        result = upload.run(bases, seconds=seconds, connections=args.connections)
    cpu = meter.per_request(result["requests"])
    growth = rss.growth_after(seconds / 2)
    worst = max(growth, key=growth.get)
    rows = [(f"POST …/photos, 201 KB JPEG ({result['errors']} non-2xx)", result["p50"], result["p99"], result["rps"],
             f"≥ {TARGETS['photo_rps']:.0f}/s (1.5× 81)", result["rps"] >= TARGETS["photo_rps"] and not result["errors"]),
            (f"CPU per photo: web {cpu['web']:.2f} + PostgreSQL {cpu['database']:.2f} ms", cpu["web"] + cpu["database"],
             None, None, "—", None),
            (f"  then in the workers (previews; + their PostgreSQL): {cpu['workers']:.2f} ms", cpu["workers"], None, None,
             "—", None),
            (f"RSS of a web worker, uploads' 2nd half (MB, {growth[worst]:+.1f} most)",
             rss.at(seconds / 2)[worst], rss.samples[-1][1][worst], None,
             f"flat (< +{TARGETS['photo_rss_growth_mb']:.0f} MB)", growth[worst] < TARGETS["photo_rss_growth_mb"])]
    # The previews the uploads left take the worker about as long as the uploads took (~9 ms each).
    settle(database_url, timeout=300 + 2 * seconds)
    return rows


class PhotoUpload:
    """The photo load: the 201 KB phone JPEG on disk, a volunteer signed in, and enough new inspections
    of theirs that a run of `seconds` never fills one (PHOTOS_PER_INSPECTION each)."""

    def __init__(self, base: str, ids: dict, seconds: float):
        from bench.photo_upload import phone_jpeg

        volunteer_login = ids["volunteer_logins"][2]
        self.token = login(base, volunteer_login)
        site = ids["volunteer_sites"][volunteer_login]
        self.photo = ROOT / "bench" / "out" / "phone-photo.jpg"
        self.photo.write_bytes(phone_jpeg(201 * 1024, site["lat"], site["lon"]))
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        self.inspection_ids = []
        for _ in range(int(seconds * PHOTO_RATE_BOUND) // PHOTOS_PER_INSPECTION + 2):
            response = session.post(f"{base}/api/v1/inspections", timeout=10, json={
                "client_uuid": str(uuid.uuid4()), "site_id": site["id"],
                "captured_at": datetime.now(timezone.utc).isoformat(),
                "location": {"lat": site["lat"], "lon": site["lon"], "accuracy_m": 5},
                "checklist": {"work_in_progress": True, "workers_present": True, "safety_violations": False,
                              "quality_issues": False, "schedule_delay": False, "docs_on_site": True},
                "severity": "none"})
            response.raise_for_status()
            self.inspection_ids.append(response.json()["id"])

    def run(self, bases: list[str], *, seconds: int, connections: int) -> dict:
        return wrk_hosts(bases, "/", script="post_photo.lua",
                         args=lambda host: [self.token, str(self.photo), str(host), *self.inspection_ids],
                         duration=seconds, connections=connections)


def web_worker_rss(processes: dict) -> dict[int, float]:
    """The RSS (MB) of every gunicorn worker, by pid."""
    pids = [int(pid) for name, process in processes.items() if name.startswith("web")
            for pid in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()]
    return {pid: _rss_mb(pid) for pid in pids}


class RssSampler:
    """Every web worker's RSS every `interval` seconds while the block runs (a thread): `samples` is
    [(seconds since the start, {pid: MB})], the first taken on entry and the last on exit."""

    def __init__(self, processes: dict, *, interval: float):
        self.processes, self.interval = processes, interval
        self.samples: list[tuple[float, dict[int, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> "RssSampler":
        self._started = time.monotonic()
        self._take()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._take()

    def _take(self) -> None:
        self.samples.append((time.monotonic() - self._started, web_worker_rss(self.processes)))

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._take()

    def at(self, seconds: float) -> dict[int, float]:
        """The sample taken nearest `seconds` after the start."""
        return min(self.samples, key=lambda sample: abs(sample[0] - seconds))[1]

    def growth_after(self, seconds: float) -> dict[int, float]:
        """How much each worker's RSS grew from `seconds` after the start to the end (MB)."""
        then, last = self.at(seconds), self.samples[-1][1]
        return {pid: last[pid] - then.get(pid, last[pid]) for pid in last}


class CpuMeter:
    """CPU time (utime + stime from /proc) spent from now on by the web and by the workers, each with its
    PostgreSQL backends. A backend that starts meanwhile counts in full; one that ends is lost (the pools
    keep theirs for the whole run)."""

    def __init__(self, processes: dict, database_url: str):
        from sqlalchemy import create_engine

        self.processes = processes
        self.engine = create_engine(database_url)
        self.before = self._sample()

    def _sample(self) -> dict[str, dict[int, float]]:
        from sqlalchemy import text

        web, workers = {}, {}
        for name, process in self.processes.items():
            children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
            target = web if name.startswith("web") else workers
            for pid in [process.pid, *map(int, children)]:
                target[pid] = _cpu_seconds(pid)
        with self.engine.connect() as connection:
            backends = connection.execute(text(
                "SELECT pid, application_name = :web AS web FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"),
                {"web": WEB_APPLICATION_NAME}).all()
        database = {row.pid: _cpu_seconds(row.pid) for row in backends if row.web}
        worker_database = {row.pid: _cpu_seconds(row.pid) for row in backends if not row.web}
        return {"web": web, "database": database, "workers": {**workers, **worker_database}}

    def per_request(self, requests_done: int) -> dict[str, float]:
        after = self._sample()
        self.engine.dispose()
        spent = {kind: sum(seconds - self.before[kind].get(pid, 0.0) for pid, seconds in after[kind].items()
                           if seconds == seconds)
                 for kind in after}
        return {kind: 1000 * seconds / max(1, requests_done) for kind, seconds in spent.items()}


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def deep_cursor(base: str, token: str, *, pages: int) -> str:
    """Walk the list once to get the cursor of page `pages` (the keyset needs no offset)."""
    cursor, session = None, requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for _ in range(pages - 1):
        response = session.get(f"{base}/api/v1/inspections", params={"limit": 50, **({"cursor": cursor} if cursor else {})}, timeout=10)
        cursor = response.json()["next_cursor"]
    return cursor


def measure_alert_latency(base: str, ids: dict, count: int, database_url: str) -> list[tuple]:
    """Flagged inspections one after another; latency = the alert row's created_at − the inspection's received_at."""
    from sqlalchemy import create_engine, text

    volunteer_login = ids["volunteer_logins"][1]
    token = login(base, volunteer_login)
    site = ids["volunteer_sites"][volunteer_login]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    inspection_ids = []
    for _ in range(count):
        body = {"client_uuid": str(uuid.uuid4()), "site_id": site["id"],
                "captured_at": datetime.now(timezone.utc).isoformat(),
                "location": {"lat": site["lat"], "lon": site["lon"], "accuracy_m": 5},
                "checklist": {"work_in_progress": True, "workers_present": True, "safety_violations": True,
                              "quality_issues": False, "schedule_delay": False, "docs_on_site": True},
                "severity": "high"}
        response = session.post(f"{base}/api/v1/inspections", json=body, timeout=10)
        response.raise_for_status()
        inspection_ids.append(int(response.json()["id"]))
    engine = create_engine(database_url)
    query = text("""
        SELECT EXTRACT(EPOCH FROM (min(a.created_at) - i.received_at)) AS latency
        FROM inspections i JOIN alerts a ON a.event_key = 'inspection:' || i.id AND a.kind = 'inspection_flagged'
        WHERE i.id = ANY(:ids) GROUP BY i.id, i.received_at""")
    deadline = time.monotonic() + 60
    latencies = []
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            latencies = [float(row.latency) for row in connection.execute(query, {"ids": inspection_ids})]
        if len(latencies) == len(inspection_ids):
            break
        time.sleep(0.5)
    engine.dispose()
    median, p99 = summary_ms(latencies) if latencies else (None, None)
    label = f"alert latency, submission → inbox ({len(latencies)}/{count} alerted)"
    return [(label, median, p99, None, "p99 < 1 s", len(latencies) == count and p99 < TARGETS["alert_p99_ms"])]


def measure_memory(processes: dict) -> list[tuple]:
    rows = []
    for name, process in processes.items():
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        pids = [int(pid) for pid in children] or [process.pid]
        rss = [_rss_mb(pid) for pid in pids]
        web = name.startswith("web")
        target_ok = max(rss) < TARGETS["web_rss_mb"] if web else None
        rows.append((f"RSS of a {name} worker process (MB, max of {len(rss)})", statistics.median(rss), max(rss), None,
                     "< 120 MB" if web else "—", target_ok))
    return rows


def measure_audit_verify(base: str, ids: dict, database_url: str, audit_key: str, calls: int = 5) -> list[tuple]:
    """GET /audit/verify through gunicorn at one connection, over the seeded chain and what the loads added.

    One call first catches up with the events the loads left since the seeded verification (untimed in
    the target). Then before each timed call AUDIT_TAIL new events are written and sealed in this process
    (the sealer's work, a sweep every 2 s in production, not the endpoint's), so each call answers the
    stored, signed verification plus a walk of those AUDIT_TAIL events.
    """
    from volunteer_api.audit.services import record_event, seal_chain
    from volunteer_api.extensions import db

    app = app_in_process(database_url, AUDIT_KEY=audit_key)  # the stack's key: its events seal into one chain
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {login(base, ids['admin_login'])}"
    settle(database_url)

    def verify() -> tuple[float, dict]:
        started = time.perf_counter()
        response = session.get(f"{base}/api/v1/audit/verify", timeout=60)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        answer = response.json()
        if not answer["ok"]:
            raise RuntimeError(f"the audit chain did not verify: {answer}")
        return elapsed, answer

    catch_up, first = verify()
    timings, tails = [], []
    for _ in range(calls):
        with app.app_context():
            for n in range(AUDIT_TAIL):
                record_event(action="site.updated", object_type="site", object_id=n, after={"n": n})
            db.session.commit()
            seal_chain()
        elapsed, answer = verify()
        timings.append(elapsed)
        tails.append(answer["tail_checked"])
    with app.app_context():
        db.engine.dispose()
    median, p99 = summary_ms(timings)
    new = f"{min(tails):,}" if min(tails) == max(tails) else f"{min(tails):,}–{max(tails):,}"
    return [(f"GET /audit/verify catching up {first['tail_checked']:,} events of the loads", catch_up * 1000, None,
             None, "—", None),
            (f"GET /audit/verify, {answer['verified_through']:,} events + {new} new (n={calls})", median, p99, None,
             "< 1 s (1 connection)", p99 < TARGETS["audit_verify_ms"])]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def print_table(rows: list[tuple], args) -> None:
    print()
    print(f"Volunteer Monitor benchmark — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"{args.hosts} host(s) × gunicorn {args.web_workers} {args.worker_class} workers, wrk {args.connections} connections × {args.duration} s"
          " per figure" + (" (quick scale)" if args.quick else ""))
    print(f"{'figure':<58} {'median':>10} {'p99':>10} {'req/s':>9}  {'target':<24} ok")
    for label, median, p99, rps, target, ok in rows:
        unit = "" if "RSS" in label else " ms"
        rps_text = f"{rps:9.0f}" if rps else f"{'':>9}"
        median_text = f"{median:>7.2f}{unit:<3}" if median is not None else f"{'—':>10}"
        p99_text = f"{p99:>7.2f}{unit:<3}" if p99 is not None else f"{'':>10}"
        verdict = "" if ok is None else ("yes" if ok else "NO")
        print(f"{label:<58} {median_text} {p99_text} {rps_text}  {target:<24} {verdict}")


if __name__ == "__main__":
    main()
