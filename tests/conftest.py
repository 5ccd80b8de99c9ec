"""Fixtures: the app on the chosen backend, a clean database per test, users and their tokens.

TEST_BACKEND=sqlite (default): embedded mode — an SQLite file, jobs in a thread of the web process.
TEST_BACKEND=postgres: a database of its own on the machine's PostgreSQL, a Redis database number of
its own, and a real `celery worker --beat` process. A missing PostgreSQL or Redis fails the run.

Photos: on local disk in the SQLite pass, in a real S3 server (SeaweedFS on loopback, started by the run)
in the PostgreSQL pass; TEST_PHOTO_STORAGE=file|s3 picks either for any pass. SeaweedFS that cannot
start fails the tests that need it (never a skip).
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.support import reset_rate_limits, wait_for

BACKEND = os.environ.get("TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
KEPT_TABLES = {"districts", "alembic_version"}
PHOTO_BACKEND = os.environ.get("TEST_PHOTO_STORAGE") or ("s3" if BACKEND == "postgres" else "file")
PHOTO_BACKENDS = ("file", "s3")


def pytest_collection_modifyitems(config, items):
    if BACKEND == "postgres":
        return
    skip = pytest.mark.skip(reason="runs in the PostgreSQL + Redis + worker pass (TEST_BACKEND=postgres)")
    for item in items:
        if "worker" in item.keywords or "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"vm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", returncode=3)
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database number nobody else's test run holds (a lock key in db 0 claims it)."""
    if BACKEND == "sqlite":
        yield None
        return
    try:
        server = redis_lib.Redis.from_url(f"{TEST_REDIS_SERVER}/0")
        server.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"Redis is not reachable at {TEST_REDIS_SERVER}: {exc}", returncode=3)
    for number in range(1, 16):
        lock = f"volunteer-monitor:test-db-lock:{number}"
        if server.set(lock, os.getpid(), nx=True, ex=3 * 3600):
            url = f"{TEST_REDIS_SERVER}/{number}"
            redis_lib.Redis.from_url(url).flushdb()
            yield url
            redis_lib.Redis.from_url(url).flushdb()
            server.delete(lock)
            return
    pytest.exit("No free Redis database number (1-15) for this test run", returncode=3)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """SeaweedFS with S3 on loopback for this run (tests/s3_server.py); its start failing is an error."""
    from tests.s3_server import start_seaweedfs, stop_seaweedfs

    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    stop_seaweedfs(server)


def photo_location(backend: str, request, folder: Path) -> dict:
    """Settings of a new, empty photo store: a folder, or a new prefix of the run's S3 bucket."""
    if backend == "s3":
        from tests.s3_server import new_prefix

        return request.getfixturevalue("s3_server").environment(new_prefix("photos"))
    if backend != "file":
        raise ValueError(f"TEST_PHOTO_STORAGE={backend!r}: expected one of {PHOTO_BACKENDS}")
    return {"PHOTO_STORAGE": "file:", "UPLOAD_DIR": str(folder)}


@pytest.fixture(scope="session")
def service_env(database_url, redis_url, tmp_path_factory, request):
    """The environment the app and the worker process share."""
    env = {
        "APP_ENV": "testing",
        "DATABASE_URL": database_url,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "RATELIMIT_ENABLED": "true",
        # The worker builds its own app from the environment: a fast outbox relay, and jobs a killed
        # worker held are presumed lost after seconds, not the production half minute.
        "RELAY_INTERVAL_SECONDS": "1",
        "OUTBOX_REPUBLISH_AFTER_SECONDS": "5",
        # The audit chain's checkpoints go to a file of the run; tests anchor when they mean to.
        "AUDIT_ANCHOR_FILE": str(tmp_path_factory.mktemp("audit") / "audit-anchors.jsonl"),
        "AUDIT_CHECKPOINT_SECONDS": "3600",
        # Likewise the stored verifications: tests verify when they mean to.
        "AUDIT_VERIFY_INTERVAL_SECONDS": "3600",
    }
    env.update(photo_location(PHOTO_BACKEND, request, Path(env["UPLOAD_DIR"])))
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture(scope="session")
def app(service_env):
    from flask_migrate import upgrade

    from volunteer_api import create_app

    # A session-wide monkeypatch (the function-scoped fixture cannot reach a session fixture).
    with pytest.MonkeyPatch.context() as patch:
        for key, value in service_env.items():
            patch.setenv(key, value)
        if "REDIS_URL" not in service_env:
            patch.delenv("REDIS_URL", raising=False)
        application = create_app({"ACCESS_LOG": False, "RELAY_INTERVAL_SECONDS": 1})
        with application.app_context():
            upgrade()
        yield application


def start_worker_process(service_env: dict, *, beat: bool = True, concurrency: int = 2, pool: str = "threads",
                         name: str = "test") -> subprocess.Popen:
    """A real `celery -A workers worker` process; returns once it answers a ping."""
    env = {**os.environ, **service_env, "PYTHONUNBUFFERED": "1"}
    log_dir = PROJECT_ROOT / ".pytest_cache"
    log_dir.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "celery", "-A", "workers", "worker", "-P", pool, "-c", str(concurrency),
               "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]
    if beat:
        command += ["--beat", "-s", str(log_dir / f"beat-{os.getpid()}-{uuid.uuid4().hex[:6]}")]
    # One file per worker: a fault test reads what its own worker did, not the session worker.
    log_file = open(log_dir / f"worker-{name}-{os.getpid()}.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    from celery import Celery

    probe = Celery(broker=service_env["REDIS_URL"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}; see {log_file.name}")
        if probe.control.ping(timeout=0.5):
            return process
    process.kill()
    raise RuntimeError("the worker did not answer a ping within 60 s")


def start_beat_process(service_env: dict, *, name: str = "beat") -> tuple[subprocess.Popen, Path]:
    """A real `celery -A workers beat` process (RedBeat: it schedules only while it holds the lock) and
    its own log file, to tell which beat sent what."""
    env = {**os.environ, **service_env, "PYTHONUNBUFFERED": "1"}
    log_dir = PROJECT_ROOT / ".pytest_cache"
    log_dir.mkdir(exist_ok=True)
    log_path = log_dir / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:6]}.log"
    command = [sys.executable, "-m", "celery", "-A", "workers", "beat", "-l", "INFO"]
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return process, log_path


def stop_worker_process(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def celery_worker(app, service_env):
    """The real worker process of the PostgreSQL run (None in embedded mode)."""
    if BACKEND == "sqlite":
        yield None
        return
    process = start_worker_process(service_env)
    yield process
    stop_worker_process(process)


@pytest.fixture(scope="session")
def pgbouncer(database_url):
    """The PostgreSQL pass's own PgBouncer (transaction mode, loopback); None in embedded mode. It must start."""
    if BACKEND == "sqlite":
        yield None
        return
    from tests.pooler import start_pgbouncer

    bouncer = start_pgbouncer(database_url)
    yield bouncer
    bouncer.stop()


@pytest.fixture(scope="session")
def pooled_env(service_env, pgbouncer):
    """The environment of an app or process that reaches PostgreSQL through PgBouncer (as is, on SQLite)."""
    if pgbouncer is None:
        return service_env
    return {**service_env, "DATABASE_URL": pgbouncer.url_for(service_env["DATABASE_URL"]),
            "DATABASE_POOLER": "pgbouncer"}


@pytest.fixture(scope="session")
def pooled_app(app, pooled_env):
    """The app again, its database reached through PgBouncer: the concurrency tests send their requests here.

    The same database, secret and Redis as `app`, so accounts and tokens made through either work on both.
    """
    if pooled_env.get("DATABASE_POOLER") is None:
        yield app
        return
    from volunteer_api import create_app
    from volunteer_api.extensions import db, limiter

    with pytest.MonkeyPatch.context() as patch:
        for key, value in pooled_env.items():
            patch.setenv(key, value)
        application = create_app({"ACCESS_LOG": False, "RELAY_INTERVAL_SECONDS": 1})
    limiter.init_app(app)  # the limiter keeps one storage on the shared extension object: the main app's
    yield application
    with application.app_context():
        db.engine.dispose()


def start_web_process(env: dict, *, threads: int = 8, name: str = "web") -> tuple[subprocess.Popen, str]:
    """A real gunicorn process (one worker, `threads` threads) of wsgi:app on a free loopback port, as one
    web host; returns it and its base URL once /healthz answers."""
    import requests

    from tests.support import free_port

    port = free_port()
    log_dir = PROJECT_ROOT / ".pytest_cache"
    log_dir.mkdir(exist_ok=True)
    log_file = open(log_dir / f"{name}-{os.getpid()}-{port}.log", "ab")  # noqa: SIM115 - closed with the process
    # The project's gunicorn settings (its child_exit hook), as scripts/serve runs them.
    command = [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "--workers", "1",
               "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5", "wsgi:app"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                               stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited with {process.returncode}; see {log_file.name}")
        try:
            if requests.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        except requests.RequestException:
            time.sleep(0.1)
    stop_worker_process(process, signal.SIGKILL)
    raise RuntimeError("the web process did not answer /healthz within 60 s")


@pytest.fixture(autouse=True)
def _clean_state(app, celery_worker):
    """Each test starts with empty tables (the districts stay) and fresh rate limits."""
    yield
    from volunteer_api.extensions import db

    dispatcher = app.extensions["job_dispatcher"]
    if hasattr(dispatcher, "wait_idle"):
        dispatcher.wait_idle()
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEPT_TABLES]
        for attempt in range(5):
            try:
                with db.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        names = ", ".join(f'"{t.name}"' for t in tables)
                        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                    else:
                        for table in tables:
                            connection.execute(table.delete())
                break
            except OperationalError:
                # The real worker may still be running a job of the test: PostgreSQL can pick the
                # TRUNCATE as a deadlock victim. The job finishes (or fails) soon; try again.
                if attempt == 4:
                    raise
                time.sleep(0.2)
        reset_rate_limits()
    # The tables are empty again: so must be the audit chain's anchors outside them.
    Path(app.config["AUDIT_ANCHOR_FILE"]).unlink(missing_ok=True)


@pytest.fixture
def make_app(app, service_env):
    """Build a second app with other environment variables (a dead Redis, SMTP...).

    Some extensions (Flask-Limiter) keep their storage on the shared extension object, so the main
    app's extensions are bound to it again afterwards (and _clean_state clears the limiter's "storage is
    dead" flag, which an app with a dead Redis leaves set: see tests.support.reset_rate_limits).
    """
    from volunteer_api import create_app
    from volunteer_api.extensions import limiter

    def make(env: dict, overrides: dict | None = None):
        """The settings are read once, by create_app: the environment is changed only for that call."""
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                if value is None:
                    patch.delenv(key, raising=False)
                else:
                    patch.setenv(key, value)
            return create_app({"ACCESS_LOG": False, **(overrides or {})})

    yield make
    limiter.init_app(app)


@pytest.fixture
def photo_store(request, app, monkeypatch, tmp_path):
    """A new, empty photo store for this test, configured on the app; the store object (keys(), open()).

    The run's back end by default; `@pytest.mark.parametrize("photo_store", PHOTO_BACKENDS, indirect=True)`
    for both. The real worker keeps the run's store: what it makes for this test's photos is not here.
    """
    from volunteer_api.photo_storage import storage_for

    settings = photo_location(getattr(request, "param", PHOTO_BACKEND), request, tmp_path / "photo-store")
    for key, value in settings.items():
        if key.startswith("AWS_"):  # boto3 reads the credentials from the environment
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.setitem(app.config, key, value)
    return storage_for(app.config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def run_jobs(app):
    """Wait until the jobs committed so far have run (embedded thread or real worker)."""

    def wait(condition=None, timeout: float = 10.0):
        dispatcher = app.extensions["job_dispatcher"]
        if hasattr(dispatcher, "wait_idle"):
            dispatcher.wait_idle(timeout)
        if condition is not None:
            return wait_for(condition, timeout=timeout)
        return None

    return wait


class MovableClock:
    """utcnow() of a module, moved forward on demand (no sleeping in tests)."""

    def __init__(self):
        from datetime import timedelta

        self.offset = timedelta(0)

    def now(self):
        from volunteer_api.timestamps import utcnow

        return utcnow() + self.offset

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.offset += timedelta(**delta)


@pytest.fixture
def auth_clock(monkeypatch) -> MovableClock:
    """The clock the sign-in services read (token rotation, lockouts, password changes), movable forward."""
    from volunteer_api.auth import services

    clock = MovableClock()
    monkeypatch.setattr(services, "utcnow", clock.now)
    return clock


pytest_plugins = ["tests.factories"]
