"""What the audit hash chain costs: writers under concurrency while a sealer runs, sealing a backlog, verifying.

    .venv/bin/python bench/audit_chain.py [--writers 8] [--events 200] [--backlog 20000]
    .venv/bin/python bench/audit_chain.py --verify-events 1000000 [--tail 1000] [--calls 20] [--skip-full]

The second form builds a sealed chain of that many events (as the sealer would, written with COPY),
then times the full verification job and `GET /api/v1/audit/verify` through the app (the stored, signed
verification plus the tail since it), with nothing new and with `--tail` new events each call.

Uses a PostgreSQL database of its own on 127.0.0.1 (dropped at exit); no Redis, no worker.
"""
import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, scratch_postgres  # noqa: E402 - needs the project root on the path


def p99(values):
    return percentile(values, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--events", type=int, default=200, help="events per writer, one transaction each")
    parser.add_argument("--backlog", type=int, default=20000)
    parser.add_argument("--verify-events", type=int, default=0,
                        help="build a sealed chain of this many events and time the verifications instead")
    parser.add_argument("--tail", type=int, default=1000, help="new events before each timed call")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--skip-full", action="store_true",
                        help="store the full verification's result without walking (its time measured before)")
    args = parser.parse_args()

    with scratch_postgres("vm_bench_audit") as database_url:
        os.environ.update({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        if args.verify_events:
            os.environ.setdefault("APP_ENV", "testing")  # embedded mode, no scheduler: nothing runs but what is timed
            run_verification(args)
        else:
            run(args)


def build_sealed_chain(db, count: int) -> None:
    """A chain of `count` keyed, sealed events, hashed exactly as the sealer does, loaded with COPY."""
    from sqlalchemy import text

    from bench.seed import write_sealed_chain

    started = time.perf_counter()
    write_sealed_chain(count)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Autovacuum is off on these machines: the planner needs the statistics.
        connection.execute(text("VACUUM ANALYZE audit_events"))
    print(f"built a sealed chain of {count:,} events (hashed as the sealer does, COPY) in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def run_verification(args) -> None:
    from flask_migrate import upgrade

    from bench.seed import store_full_verification
    from volunteer_api import create_app
    from volunteer_api.audit import verifications
    from volunteer_api.audit.services import record_event, seal_chain
    from volunteer_api.extensions import db
    from volunteer_api.people.services import create_admin

    app = create_app({"ACCESS_LOG": False, "AUDIT_ANCHOR_FILE": None})
    client = app.test_client()
    with app.app_context():
        upgrade()
        build_sealed_chain(db, args.verify_events)
        create_admin(login="bench-admin@example.kz", password="bench admin passphrase 1", full_name="Bench Admin")
        db.session.commit()
        seal_chain()
    with app.app_context():
        started = time.perf_counter()
        if args.skip_full:
            # What the job stores, without its walk (timed in an earlier run): the endpoint's figures only.
            store_full_verification(args.verify_events + 1)  # + the admin's creation
            verification = verifications.newest_full_verification()
        else:
            verification = verifications.start_full_verification(requested_by_id=None)
            db.session.commit()
            # The job and its continuation steps run through the outbox (the embedded runner's thread here).
            while True:
                db.session.rollback()
                if db.session.get(verifications.AuditVerification, verification.id).status == "done":
                    break
                time.sleep(0.5)
        full_seconds = time.perf_counter() - started
        done = verifications.verification_summary(verifications.get_verification(verification.id))
        db.session.rollback()
    if not args.skip_full:
        print(f"full verification job of {done['checked']:,} events (ok={done['ok']}): {full_seconds:.1f} s "
              f"({done['checked'] / full_seconds:,.0f} events/s)", flush=True)
    # Signed in after the job: an access token lasts 15 minutes.
    token = client.post("/api/v1/auth/login", json={"login": "bench-admin@example.kz",
                                                    "password": "bench admin passphrase 1"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    def timed_calls(tail: int) -> list[float]:
        samples = []
        for _ in range(args.calls):
            if tail:
                with app.app_context():
                    for n in range(tail):
                        record_event(action="site.updated", object_type="site", object_id=n, after={"n": n})
                    db.session.commit()
                    seal_chain()  # the sweep's work, every 2 s in production; not the endpoint's
            started = time.perf_counter()
            response = client.get("/api/v1/audit/verify", headers=headers)
            samples.append(time.perf_counter() - started)
            body = response.get_json()
            assert response.status_code == 200 and body["ok"] is True, body
        return samples

    for label, tail in ((f"{args.tail:,} events sealed since the stored verification", args.tail),
                        ("nothing new since the stored verification", 0)):
        samples = [v * 1000 for v in timed_calls(tail)]
        print(f"GET /audit/verify at {args.verify_events:,}+ events, {label}: median {statistics.median(samples):.1f} ms, "
              f"p99 {p99(samples):.1f} ms, max {max(samples):.1f} ms (n={len(samples)})", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def run(args) -> None:
    from flask_migrate import upgrade

    from volunteer_api import create_app
    from volunteer_api.audit.models import AuditEvent
    from volunteer_api.audit.services import event_mac, record_event, seal_chain, verify_chain
    from volunteer_api.extensions import db
    from volunteer_api.timestamps import utcnow

    app = create_app({"ACCESS_LOG": False, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.writers + 2}})
    with app.app_context():
        upgrade()

    def write_concurrently(with_sealer: bool) -> None:
        latencies, done = [], threading.Event()

        def writer():
            with app.app_context():
                for n in range(args.events):
                    started = time.perf_counter()
                    record_event(action="site.updated", object_type="site", object_id=n, after={"n": n})
                    db.session.commit()
                    latencies.append(time.perf_counter() - started)

        def sealer():
            with app.app_context():
                while not done.is_set():
                    seal_chain()
                    time.sleep(0.05)

        sealing = threading.Thread(target=sealer)
        if with_sealer:
            sealing.start()
        threads = [threading.Thread(target=writer) for _ in range(args.writers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        done.set()
        if with_sealer:
            sealing.join()
        millis = [v * 1000 for v in latencies]
        print(f"{args.writers} writers x {args.events} events, {'sealer every 50 ms' if with_sealer else 'no sealer'}: "
              f"{len(latencies) / elapsed:,.0f} events/s, commit median {statistics.median(millis):.2f} ms, "
              f"p99 {p99(millis):.2f} ms")

    write_concurrently(with_sealer=False)
    write_concurrently(with_sealer=True)

    with app.app_context():
        seal_chain()
        now = utcnow()
        rows = [{"actor_id": None, "action": "site.updated", "object_type": "site", "object_id": str(n),
                 "before": None, "after": {"n": n}, "request_id": None, "address": None, "created_at": now}
                for n in range(args.backlog)]
        rows = [{**row, "mac": event_mac(row)} for row in rows]  # keyed as record_event keys them
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(AuditEvent), rows[start:start + 5000])
        db.session.commit()
        started = time.perf_counter()
        sealed = seal_chain()
        seal_seconds = time.perf_counter() - started
        print(f"sealing a backlog of {sealed:,} events: {seal_seconds:.2f} s ({sealed / seal_seconds:,.0f} events/s)")
        started = time.perf_counter()
        result = verify_chain()
        verify_seconds = time.perf_counter() - started
        print(f"verifying {result['checked']:,} events (ok={result['ok']}): {verify_seconds:.2f} s "
              f"({result['checked'] / verify_seconds:,.0f} events/s)")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
