"""Alert latency: flagged inspection committed -> alert row in the inspector's inbox, through a real worker.

Own PostgreSQL database (created and dropped here), the machine's Redis on a database number nobody
holds, one real `celery -A workers worker --beat` process. Submits N flagged inspections at a steady
rate through the same transaction the inspection service uses (row + outbox job, one commit) and prints
p50/p95/p99/max of (alert.created_at - commit time).

    .venv/bin/python bench/alert_latency.py [--count 1000] [--rate 50]
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, scratch_postgres, scratch_redis  # noqa: E402 - needs ROOT on the path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="submissions per second")
    args = parser.parse_args()

    with scratch_postgres("vm_bench_alerts") as database_url, scratch_redis() as redis_url:
        env = {"APP_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
               "RELAY_INTERVAL_SECONDS": "1", "RATELIMIT_ENABLED": "false"}
        os.environ.update(env)
        worker = None
        try:
            from flask_migrate import upgrade

            from volunteer_api import create_app, jobs
            from volunteer_api.alerts.models import Alert
            from volunteer_api.extensions import db
            from volunteer_api.inspections.models import Inspection
            from volunteer_api.people.services import create_inspector, create_volunteer
            from volunteer_api.sites.models import Site
            from volunteer_api.timestamps import utcnow

            app = create_app({"ACCESS_LOG": False})
            with app.app_context():
                upgrade()
                inspector = create_inspector(full_name="Bench Inspector", phone=None, email="bench@example.kz",
                                             districts=["taraz"], password="bench-password-123")
                volunteer, _ = create_volunteer(full_name="Bench Volunteer", phone="+77010000001", email=None,
                                                district="taraz", password="bench-password-123")
                site = Site(name="Bench school", kind="school", district="taraz", lat=42.9, lon=71.37, budget_tiyn=10**10)
                db.session.add(site)
                db.session.commit()
                inspector_id, volunteer_id, site_id = inspector.id, volunteer.id, site.id

            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workers", "worker", "-P", "threads", "-c", "4", "--beat",
                 "-s", f"/tmp/vm-bench-alerts-{os.getpid()}-beat", "-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
                 "--without-mingle", "-l", "WARNING"],
                cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True)
            from celery import Celery

            probe = Celery(broker=env["REDIS_URL"])
            deadline = time.monotonic() + 60
            while not probe.control.ping(timeout=0.5):
                if time.monotonic() > deadline or worker.poll() is not None:
                    sys.exit("the worker did not start")

            submitted = {}
            interval = 1.0 / args.rate
            started = time.monotonic()
            with app.app_context():
                for n in range(args.count):
                    now = utcnow()
                    inspection = Inspection(
                        client_uuid=str(uuid.uuid4()), request_hash="0" * 64, volunteer_id=volunteer_id, site_id=site_id,
                        district="taraz", captured_at=now, received_at=now, lat=42.9, lon=71.37, accuracy_m=10.0,
                        mock_location=False, checklist={}, severity="critical", distance_m=5.0, on_site=True,
                        flagged=True, flag_reasons=["severity"], status="submitted")
                    db.session.add(inspection)
                    db.session.flush()
                    jobs.enqueue("alerts.notify_inspection_flagged", inspection_id=inspection.id)
                    db.session.commit()
                    submitted[str(inspection.id)] = utcnow()
                    pause = started + (n + 1) * interval - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                submit_seconds = time.monotonic() - started
                deadline = time.monotonic() + 120
                while True:
                    done = db.session.scalar(select(db.func.count()).select_from(Alert).where(Alert.recipient_id == inspector_id))
                    db.session.rollback()
                    if done >= args.count or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                rows = db.session.execute(select(Alert.subject_id, Alert.created_at).where(Alert.recipient_id == inspector_id)).all()
            latencies = [(created - submitted[subject]).total_seconds() * 1000 for subject, created in rows]
            print(f"flagged inspections: {args.count} at {args.rate:g}/s (submitted in {submit_seconds:.1f} s); "
                  f"alerts: {len(rows)} (one per inspection: {len({s for s, _ in rows}) == len(rows)})")
            print(f"submission -> inbox latency ms: p50 {statistics.median(latencies):.1f}  "
                  f"p95 {percentile(latencies, 0.95):.1f}  p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}")
        finally:
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)


if __name__ == "__main__":
    main()
