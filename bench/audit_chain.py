"""What the audit hash chain costs: writers under concurrency while a sealer runs, sealing a backlog, verifying.

    .venv/bin/python bench/audit_chain.py [--writers 8] [--events 200] [--backlog 20000]

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
    args = parser.parse_args()

    with scratch_postgres("vm_bench_audit") as database_url:
        os.environ.update({"DATABASE_URL": database_url, "RATELIMIT_ENABLED": "false"})
        os.environ.pop("REDIS_URL", None)
        run(args)


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
