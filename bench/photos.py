"""Serving photos under load: a 10 MB original, its previews, and a conditional GET, through gunicorn.

    .venv/bin/python -m bench.photos [--duration 10] [--connections 8] [--web-workers 2] [--storage file|s3]

Seeds one inspection with a 10 MB JPEG original (random pixels, so it does not compress) in a scratch
PostgreSQL database, makes its previews as the job would, starts gunicorn (sync workers, embedded mode,
rate limits off) on loopback, and loads with wrk for a bounded time per figure. Every rate is printed
beside the `/healthz` ceiling measured in the same run, as a ratio. While the originals are served, the
RSS of every web worker is sampled every 0.1 s: streaming keeps it flat, reading each 10 MB answer into
memory would not. `--storage s3` keeps the photos in SeaweedFS's S3 (started on loopback, as the tests do)
instead of a local folder: every answer then streams from the S3 server through the web worker.
"""
import argparse
import io
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, free_port, migrate, scratch_postgres, scratch_redis
from bench.stack import _rss_mb, stop, wait_ready, wrk

VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench photos 2026"
TEN_MB = 10 * 1024 * 1024


def noise_jpeg(max_bytes: int) -> bytes:
    """A JPEG of random pixels just under max_bytes (random pixels barely compress)."""
    from PIL import Image

    side = 1600
    while True:
        image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        if buffer.tell() > max_bytes:
            return previous
        previous, side = buffer.getvalue(), side + 100


def seed(database_url: str, upload_dir: str, storage: dict) -> dict:
    """An admin, a volunteer, a site, an inspection with one 10 MB photo and its previews."""
    os.environ.update(DATABASE_URL=database_url, UPLOAD_DIR=upload_dir, RATELIMIT_ENABLED="false",
                      EMBEDDED_SCHEDULER="false", **storage)
    os.environ.pop("REDIS_URL", None)
    from volunteer_api import create_app
    from volunteer_api.inspections import services as inspections
    from volunteer_api.people.services import create_admin, create_volunteer

    app = create_app({"ACCESS_LOG": False})
    data = noise_jpeg(TEN_MB - 64 * 1024)
    with app.app_context():
        create_admin(login="bench@example.kz", password=PASSWORD, full_name="Bench")
        create_volunteer(full_name="Bench Volunteer", phone="+77010000001", email=None, district="taraz",
                         password=PASSWORD)
    client = app.test_client()
    admin = client.post("/api/v1/auth/login", json={"login": "bench@example.kz", "password": PASSWORD}).get_json()
    volunteer = client.post("/api/v1/auth/login", json={"login": "+77010000001", "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {volunteer['access_token']}"}
    site = client.post("/api/v1/sites", headers={"Authorization": f"Bearer {admin['access_token']}"}, json={
        "name": "School", "kind": "school", "district": "taraz", "location": {"lat": 42.9, "lon": 71.37},
        "budget_kzt": "1000000.00"}).get_json()
    from datetime import timedelta
    import uuid

    from volunteer_api.timestamps import format_utc, utcnow

    inspection = client.post("/api/v1/inspections", headers=headers, json={
        "client_uuid": str(uuid.uuid4()), "site_id": site["id"], "captured_at": format_utc(utcnow() - timedelta(minutes=5)),
        "location": {"lat": 42.9, "lon": 71.37, "accuracy_m": 10}, "severity": "none",
        "checklist": {"work_in_progress": True, "workers_present": True, "safety_violations": False,
                      "quality_issues": False, "schedule_delay": False, "docs_on_site": True}}).get_json()
    photo = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=headers,
                        data={"file": (io.BytesIO(data), "big.jpg")}, content_type="multipart/form-data").get_json()
    app.extensions["job_dispatcher"].wait_idle(120)  # the previews job, in this process
    with app.app_context():
        inspections.make_previews(sha256=photo["sha256"])
    base = f"/api/v1/inspections/{inspection['id']}/photos/{photo['id']}"
    return {"original": base, "preview": f"{base}/preview", "sha256": photo["sha256"], "size": len(data)}


@contextmanager
def photo_store(kind: str, folder: Path):
    """The settings of the photo store: the folder, or SeaweedFS's S3 started for this run (stopped after)."""
    if kind == "file":
        yield {"PHOTO_STORAGE": "file:"}
        return
    from tests.s3_server import new_prefix, start_seaweedfs, stop_seaweedfs

    server = start_seaweedfs(folder / "seaweedfs")
    try:
        yield server.environment(new_prefix("bench"))
    finally:
        stop_seaweedfs(server)


def sample_rss(pids: list[int], stop_event: threading.Event, samples: dict) -> None:
    while not stop_event.is_set():
        for pid in pids:
            samples.setdefault(pid, []).append(_rss_mb(pid))
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (bounded)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--storage", choices=("file", "s3"), default="file")
    args = parser.parse_args()
    rows = []
    with scratch_postgres("vm_bench_photos") as database_url, tempfile.TemporaryDirectory() as upload_dir, \
            photo_store(args.storage, Path(upload_dir)) as storage, scratch_redis() as redis_url:
        migrate(database_url)
        ids = seed(database_url, upload_dir, storage)
        # Production refuses to start without Redis and its own audit key; only GETs reach it here.
        env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
               "AUDIT_KEY": secrets.token_urlsafe(48), "REDIS_URL": redis_url,
               "DATABASE_URL": database_url, "UPLOAD_DIR": upload_dir, "RATELIMIT_ENABLED": "false",
               "EMBEDDED_SCHEDULER": "false", **storage}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(ROOT / "bench" / "out" / "gunicorn-photos.log", "wb") if (ROOT / "bench" / "out").is_dir() \
            else subprocess.DEVNULL
        web = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--workers", str(args.web_workers), "--bind",
                                f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_ready(base)
            import requests

            token = requests.post(f"{base}/api/v1/auth/login", json={"login": "bench@example.kz", "password": PASSWORD},
                                  timeout=10).json()["access_token"]
            workers = [int(pid) for pid in
                       subprocess.run(["pgrep", "-P", str(web.pid)], capture_output=True, text=True).stdout.split()]
            run = dict(duration=args.duration, connections=args.connections)
            ceiling = wrk(f"{base}/healthz", script="get.lua", args=[], **run)
            rows.append(("GET /healthz (the ceiling)", ceiling, None))
            # Reads of the original first, as many at once as there are workers (a sync worker takes one at a
            # time, so each gets one): what a worker loads once (boto3's S3 model, ~20 MB) is not what streaming costs.
            for _ in range(2):
                warm_up = [threading.Thread(target=lambda: requests.get(f"{base}{ids['original']}", timeout=60,
                                                                       headers={"Authorization": f"Bearer {token}"}))
                           for _ in workers]
                [thread.start() for thread in warm_up]
                [thread.join() for thread in warm_up]
            before = {pid: _rss_mb(pid) for pid in workers}
            samples, stop_event = {}, threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(workers, stop_event, samples))
            sampler.start()
            original = wrk(f"{base}{ids['original']}", script="get.lua", args=[token], **run)
            stop_event.set()
            sampler.join()
            rows.append((f"GET original ({ids['size'] / 1e6:.1f} MB)", original,
                         f"{original['rps'] * ids['size'] / 1e9:.2f} GB/s"))
            for size in (320, 1280):
                preview = wrk(f"{base}{ids['preview']}?size={size}", script="get.lua", args=[token], **run)
                rows.append((f"GET preview {size} px (stored)", preview, None))
            cached = wrk(f"{base}{ids['original']}", script="get_conditional.lua", args=[token, f'"{ids["sha256"]}"'],
                         **run)
            rows.append(("GET original, If-None-Match → 304", cached, None))
            after = {pid: _rss_mb(pid) for pid in workers}
        finally:
            stop(web)
    print()
    print(f"Photo serving from {args.storage} — {os.cpu_count()} cores, gunicorn {args.web_workers} sync workers, "
          f"wrk {args.connections} connections × {args.duration} s per figure")
    print(f"{'figure':<40} {'req/s':>9} {'÷ ceiling':>10} {'median':>10} {'p99':>10} {'non-2xx':>8}  note")
    for label, figures, note in rows:
        print(f"{label:<40} {figures['rps']:>9.0f} {figures['rps'] / ceiling['rps']:>10.3f} "
              f"{figures['p50']:>8.1f}ms {figures['p99']:>8.1f}ms {figures['errors']:>8}  {note or ''}")
    print()
    print("RSS of each web worker while serving the 10 MB original (MB):")
    for pid in workers:
        series = samples.get(pid) or [float("nan")]
        print(f"  worker {pid}: before {before[pid]:.1f}, during median {statistics.median(series):.1f} "
              f"max {max(series):.1f} ({len(series)} samples), after all runs {after[pid]:.1f}; "
              f"growth {max(series) - before[pid]:+.1f}")


if __name__ == "__main__":
    main()
