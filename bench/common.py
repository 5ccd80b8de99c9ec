"""What every benchmark needs: its own PostgreSQL database and Redis database number, percentiles.

Only loopback services are used; every database made here is dropped at exit.
"""
import contextlib
import os
import socket
import statistics
import sys
import uuid
from pathlib import Path

import redis
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")


@contextlib.contextmanager
def scratch_postgres(prefix: str = "vm_bench"):
    """A new, empty PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def scratch_redis():
    """A Redis database number no test or other benchmark holds (the same lock keys as the tests)."""
    server = redis.Redis.from_url(f"{REDIS_SERVER}/0")
    for number in range(1, 16):
        lock = f"volunteer-monitor:test-db-lock:{number}"
        if server.set(lock, os.getpid(), nx=True, ex=3 * 3600):
            url = f"{REDIS_SERVER}/{number}"
            redis.Redis.from_url(url).flushdb()
            try:
                yield url
            finally:
                redis.Redis.from_url(url).flushdb()
                server.delete(lock)
            return
    raise RuntimeError("no free Redis database number")


def migrate(database_url: str) -> None:
    """Create the schema and the reference data in the given database."""
    os.environ["DATABASE_URL"] = database_url
    from flask_migrate import upgrade

    from volunteer_api import create_app

    app = create_app({"ACCESS_LOG": False})
    with app.app_context():
        upgrade()


def app_in_process(database_url: str, **overrides):
    """The app in this process against the database: embedded jobs, no schedule, no access log."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    from volunteer_api import create_app

    return create_app({"ACCESS_LOG": False, "EMBEDDED_SCHEDULER": False, **overrides})


def vacuum_analyze(database_url: str) -> None:
    """VACUUM ANALYZE the whole database. The PostgreSQL of these machines runs with autovacuum off, so a
    freshly seeded table has no statistics (the planner guesses) and no visibility map (no index-only
    scans) until this runs. Production needs autovacuum on."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def psycopg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values_seconds) -> tuple[float, float]:
    """(median, p99) in milliseconds."""
    millis = [v * 1000 for v in values_seconds]
    return statistics.median(millis), percentile(millis, 0.99)
