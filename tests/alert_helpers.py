"""What the alert tests share: flagged inspections made like the inspection service makes them, and an
isolated stack (own PostgreSQL database, own redis-server, own app and workers) for the fault tests."""
import contextlib
import os
import re
import signal
import shutil
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tests.support import free_port, wait_for

PASSWORD = "correct horse battery"



def make_site(*, district: str = "taraz", name: str = "Школа №5") -> int:
    """A site's id (inside an app context), made the one way tests make sites (tests.factories.new_site)."""
    from tests.factories import new_site

    return new_site(district=district, name=name).id


def flag_inspection(*, volunteer_id, site_id: int, district: str = "taraz", flagged: bool = True,
                    received_ago: timedelta = timedelta(0)) -> int:
    """Insert an inspection and enqueue its alert job in one transaction, as the inspection service does."""
    from volunteer_api import jobs
    from volunteer_api.extensions import db
    from volunteer_api.inspections.models import Inspection
    from volunteer_api.timestamps import utcnow

    now = utcnow()
    inspection = Inspection(
        client_uuid=str(uuid.uuid4()), request_hash="0" * 64, volunteer_id=int(volunteer_id), site_id=site_id,
        district=district, captured_at=now - received_ago, received_at=now - received_ago, lat=42.9, lon=71.37,
        accuracy_m=10.0, mock_location=False, checklist={"safety_violations": flagged}, severity="high" if flagged else "none",
        distance_m=12.0, on_site=True, flagged=flagged, flag_reasons=["severity", "safety_violations"] if flagged else [],
        status="submitted",
    )
    db.session.add(inspection)
    db.session.flush()
    if flagged:
        jobs.enqueue("alerts.notify_inspection_flagged", inspection_id=inspection.id)
    db.session.commit()
    return inspection.id


def outbox_drained() -> bool:
    """No outbox job waits any more (inside an app context): no later relay round can add an alert."""
    from sqlalchemy import func, select

    from volunteer_api.extensions import db
    from volunteer_api.jobs import OutboxJob

    pending = db.session.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.status == "pending"))
    db.session.rollback()
    return pending == 0


def covered_inspections() -> dict[int, list[str]]:
    """{recipient_id: the inspection ids their inspection_flagged alerts cover, one entry per covering}.

    An alert covers its subject inspection, or, coalescing a burst about one site, the inspections it lists.
    """
    from volunteer_api.alerts.models import Alert
    from volunteer_api.extensions import db

    covered: dict[int, list[str]] = {}
    for recipient, subject_id, params in db.session.execute(
            select(Alert.recipient_id, Alert.subject_id, Alert.params).where(Alert.kind == "inspection_flagged")):
        covered.setdefault(recipient, []).extend(params.get("inspection_ids") or [subject_id])
    db.session.rollback()
    return {recipient: sorted(ids, key=int) for recipient, ids in covered.items()}


def alert_counts(kind: str = "inspection_flagged") -> dict[int, int]:
    """{recipient_id: number of alerts of that kind} (inside an app context)."""
    from volunteer_api.alerts.models import Alert
    from volunteer_api.extensions import db

    rows = db.session.execute(
        select(Alert.recipient_id, func.count()).where(Alert.kind == kind).group_by(Alert.recipient_id)
    ).all()
    db.session.rollback()
    return dict(rows)


class IsolatedStack:
    """Its own PostgreSQL database and redis-server, an app bound to them, and workers on demand.

    The session's worker shares neither, so nothing but this stack's own workers and relay can run
    its jobs: a broker outage or a killed worker here is really recovered by the outbox.
    """

    def __init__(self, *, pg_admin_url: str, base_env: dict, extra_env: dict | None = None):
        self.name = f"vm_iso_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.redis_port = free_port()
        self.redis_process = None
        self.workers: list[subprocess.Popen] = []
        self.env = {
            **base_env, **(extra_env or {}),
            "DATABASE_URL": pg_admin_url.rsplit("/", 1)[0] + f"/{self.name}",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
        }
        self.start_redis()

    def build_app(self, make_app):
        from flask_migrate import upgrade

        self.app = make_app(self.env)
        with self.app.app_context():
            upgrade()
        return self.app

    def start_redis(self) -> None:
        server = shutil.which("redis-server")
        self.redis_process = subprocess.Popen(
            [server, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import redis

        client = redis.Redis(port=self.redis_port, socket_connect_timeout=0.2)
        wait_for(lambda: _pings(client), timeout=10)

    def stop_redis(self) -> None:
        if self.redis_process and self.redis_process.poll() is None:
            self.redis_process.terminate()
            self.redis_process.wait(timeout=10)

    def start_worker(self, start_worker_process, **kwargs) -> subprocess.Popen:
        worker = start_worker_process(self.env, **kwargs)
        self.workers.append(worker)
        return worker

    def start_beat(self, start_beat_process, *, name: str = "beat"):
        """A `celery beat` process on this stack; (process, its log file). Stopped with the workers."""
        beat, log_path = start_beat_process(self.env, name=name)
        self.workers.append(beat)
        return beat, log_path

    def close(self, stop_worker_process) -> None:
        for process in self.workers:  # all told at once: they shut down side by side, not one after another
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for worker in self.workers:
            stop_worker_process(worker)
        self.stop_redis()
        if getattr(self, "app", None) is not None:
            from volunteer_api.extensions import db

            with self.app.app_context():
                db.session.remove()
                db.engine.dispose()
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def make_user(role: str, *, districts=("taraz",), language: str = "ru", email: str | None = None) -> int:
    """An inspector, admin or volunteer made through the people services (inside an app context)."""
    from tests.support import next_phone
    from volunteer_api.people import services

    if role == "inspector":
        email = email or f"insp{next_phone()[-7:]}@example.kz"
        return services.create_inspector(full_name="Inspector", phone=None, email=email, districts=list(districts),
                                         password=PASSWORD, language=language).id
    if role == "admin":
        return services.create_admin(login=email or f"adm{next_phone()[-7:]}@example.kz", password=PASSWORD,
                                     full_name="Admin").id
    user, _ = services.create_volunteer(full_name="Volunteer", phone=next_phone(), email=email, district=districts[0],
                                        password=PASSWORD)
    return user.id


def wait_until(condition, timeout: float):
    """wait_for, returning the elapsed seconds."""
    started = time.monotonic()
    wait_for(condition, timeout=timeout, interval=0.05)
    return time.monotonic() - started


SENT = re.compile(r"^\[(?P<at>[\d-]+ [\d:,]+): INFO/MainProcess\] Scheduler: Sending due task (?P<name>\S+) ")


def sends(log_path: Path) -> list[tuple[float, str]]:
    """(seconds since the epoch, sweep name) of every sweep a `celery beat` process logged sending."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = SENT.match(line)
        if match:
            at = time.mktime(time.strptime(match["at"].split(",")[0], "%Y-%m-%d %H:%M:%S"))
            found.append((at, match["name"]))
    return found


def unsealed_events() -> int:
    """Audit events the sealer has not linked into the chain yet (inside an app context)."""
    from volunteer_api.audit.models import AuditEvent
    from volunteer_api.extensions import db

    count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
    db.session.rollback()
    return count


def record_an_event() -> None:
    """Append one audit event and commit (inside an app context): the sealer has something new to seal."""
    from volunteer_api.audit.services import record_event
    from volunteer_api.extensions import db

    record_event(action="site.viewed", object_type="site", object_id=1, before=None, after={"probe": True})
    db.session.commit()
