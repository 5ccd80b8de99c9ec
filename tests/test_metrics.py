"""`/metrics`: scraped and parsed as Prometheus parses it; the figures follow what the service did."""
import os
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.conftest import PROJECT_ROOT
from tests.field_support import create_site, file_inspection
from tests.support import wait_for
from volunteer_api.audit.services import SEALER_LOCK_KEY, record_event, seal_chain
from volunteer_api.extensions import db
from volunteer_api.jobs import OutboxJob, names
from volunteer_api.savings.totals import recompute_totals
from volunteer_api.timestamps import utcnow

TOKEN = "scraper-token-for-the-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples, name, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@contextmanager
def sealer_held(app):
    """Hold the audit sealer's lock (PostgreSQL) so the real worker's beat cannot seal while we look."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        yield  # tests run no embedded scheduler: nothing seals unless asked
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SEALER_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SEALER_LOCK_KEY})


def test_metrics_is_not_served_without_a_token_configured(client, admin):
    assert client.get("/metrics").status_code == 404
    # A user's token opens nothing here, not even an admin's.
    assert client.get("/metrics", headers=admin.headers).status_code == 404


def test_metrics_wants_the_scrapers_token(client, admin, metrics_token):
    for headers in ({}, admin.headers, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers=SCRAPER).status_code == 200


def test_requests_are_counted_by_endpoint_and_status_with_latency(client, metrics_token):
    before = scrape(client)
    labels = {"method": "GET", "endpoint": "operations.healthz", "status": "200"}
    seen = value(before, "flask_http_request_duration_seconds_count", **labels) or 0
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/me")  # 401
    after = scrape(client)
    assert value(after, "flask_http_request_duration_seconds_count", **labels) == seen + 3
    assert value(after, "flask_http_request_duration_seconds_bucket", le="+Inf", **labels) == seen + 3
    assert value(after, "flask_http_request_duration_seconds_sum", **labels) > 0
    assert (value(after, "flask_http_request_duration_seconds_count", method="GET", endpoint="auth.Me", status="401")
            or 0) >= 1
    # The scrapes themselves are not counted.
    assert not any(key[0].startswith("flask_http") and ("endpoint", "metrics") in key[1] for key in after)


def test_a_flagged_inspection_moves_the_outbox_alert_and_audit_figures(
        app, client, admin, volunteer, inspector, metrics_token, run_jobs):
    site = create_site(client, admin)
    with app.app_context():
        seal_chain()
    empty = scrape(client)
    assert value(empty, "volunteer_metrics_database_up") == 1
    assert value(empty, "volunteer_alert_latency_inspections") == 0
    assert value(empty, "volunteer_audit_unsealed_events") == 0
    assert value(empty, "volunteer_outbox_jobs", status="dead") == 0

    with sealer_held(app):
        filed = file_inspection(client, volunteer, site["id"], severity="high")
        assert filed["flagged"]
        run_jobs(lambda: (value(scrape(client), "volunteer_alert_latency_inspections") or 0) == 1, timeout=10)
        samples = scrape(client)
        # The inspection, its alert and the outbox job each wrote an audit event the sealer has not sealed.
        assert value(samples, "volunteer_audit_unsealed_events") >= 1
        assert value(samples, "volunteer_audit_oldest_unsealed_age_seconds") >= 0
    latency = value(samples, "volunteer_alert_latency_seconds", quantile="0.5")
    assert 0 <= latency < 10
    assert value(samples, "volunteer_alert_latency_seconds", quantile="1.0") >= latency

    with app.app_context():
        seal_chain()
        # A job waiting (its retry not due for an hour) since two minutes ago, and one given up.
        db.session.add(OutboxJob(name=names.NOTIFY_INSPECTION_FLAGGED, payload={"inspection_id": int(filed["id"])},
                                 created_at=utcnow() - timedelta(minutes=2),
                                 available_at=utcnow() + timedelta(hours=1), published_at=utcnow()))
        db.session.add(OutboxJob(name=names.NOTIFY_INSPECTION_FLAGGED, payload={"inspection_id": int(filed["id"])},
                                 status="dead", attempts=8, finished_at=utcnow()))
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "volunteer_outbox_jobs", status="pending") == 1
    assert value(samples, "volunteer_outbox_jobs", status="dead") == 1
    assert 120 <= value(samples, "volunteer_outbox_oldest_pending_age_seconds") < 180
    assert value(samples, "volunteer_audit_unsealed_events") == 0
    assert value(samples, "volunteer_audit_oldest_unsealed_age_seconds") == 0
    assert value(samples, "volunteer_audit_sealed_events") >= 3


def test_the_totals_age_follows_their_as_of(app, client, metrics_token):
    assert value(scrape(client), "volunteer_totals_as_of_age_seconds") is None  # never computed
    with app.app_context():
        recompute_totals(now=utcnow() - timedelta(minutes=10))
        db.session.commit()
    assert 600 <= value(scrape(client), "volunteer_totals_as_of_age_seconds") < 660


def test_an_unsealed_event_shows_as_the_sealing_lag(app, client, metrics_token):
    with sealer_held(app):
        with app.app_context():
            record_event(action="site.updated", object_type="site", object_id=1, after={"n": 1})
            db.session.commit()
        samples = scrape(client)
        assert value(samples, "volunteer_audit_unsealed_events") == 1
        assert value(samples, "volunteer_audit_oldest_unsealed_age_seconds") < 60


WORKER_TASKS = """
import sys
from workers import celery
from workers.metrics import TASKS
celery.tasks["jobs.relay_outbox"].apply()
celery.tasks["alerts.notify_inspection_flagged"].apply(args=[987654321])  # no such job: skipped
print("ran")
"""


@pytest.mark.worker
def test_worker_task_counts_from_other_processes_add_up_in_one_scrape(
        app, client, service_env, metrics_token, tmp_path, monkeypatch):
    """Two worker processes (as Celery's prefork children are) count in PROMETHEUS_MULTIPROC_DIR; one scrape sums them."""
    env = {**os.environ, **service_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", WORKER_TASKS], cwd=PROJECT_ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0 and "ran" in run.stdout, run.stderr[-2000:]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(client)
    assert value(samples, "volunteer_worker_tasks_total", task="jobs.relay_outbox", outcome="ok") == 2
    assert value(samples, "volunteer_worker_tasks_total", task="alerts.notify_inspection_flagged",
                 outcome="skipped") == 2
    assert value(samples, "volunteer_worker_task_duration_seconds_count", task="jobs.relay_outbox") == 2
    # The database's figures are in the same scrape.
    assert value(samples, "volunteer_outbox_jobs", status="pending") is not None


@pytest.mark.worker
def test_a_worker_serves_its_counts_on_its_internal_bind(service_env, tmp_path):
    from tests.alert_helpers import free_port
    from tests.conftest import start_worker_process, stop_worker_process

    port = free_port()
    worker = start_worker_process({**service_env, "METRICS_WORKER_BIND": f"127.0.0.1:{port}"}, beat=False,
                                  name="metrics")
    try:
        def scraped():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    return response.read().decode()
            except OSError:
                return None  # not listening yet

        body = wait_for(scraped, timeout=30)  # the machine may be loaded: the server thread starts with the worker
        names_seen = {family.name for family in text_string_to_metric_families(body)}
        assert {"volunteer_worker_tasks", "volunteer_worker_task_duration_seconds"} <= names_seen
    finally:
        stop_worker_process(worker)




def test_a_database_that_does_not_answer_is_a_figure_not_an_error(make_app, tmp_path):
    from tests.alert_helpers import free_port

    unreachable = make_app({"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone"},
                           {"METRICS_TOKEN": TOKEN})
    response = unreachable.test_client().get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    samples = {sample.name: sample.value for family in text_string_to_metric_families(response.get_data(as_text=True))
               for sample in family.samples}
    assert samples["volunteer_metrics_database_up"] == 0 and "volunteer_outbox_jobs" not in samples


def test_production_refuses_a_short_metrics_token(monkeypatch):
    from config import load_config

    for name, value in {"DATABASE_URL": "postgresql+psycopg://db/volunteer_monitor", "SECRET_KEY": "k" * 48,
                        "AUDIT_KEY": "a" * 48, "REDIS_URL": "redis://redis-host:6379/0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("METRICS_TOKEN", "short")
    with pytest.raises(RuntimeError, match="METRICS_TOKEN"):
        load_config("production")
    monkeypatch.setenv("METRICS_TOKEN", "m" * 40)
    assert load_config("production").METRICS_TOKEN == "m" * 40


def test_the_last_verification_shows_its_age_and_outcome(app, client, metrics_token):
    from volunteer_api.audit import verifications
    from volunteer_api.audit.models import AuditVerification

    samples = scrape(client)
    assert value(samples, "volunteer_audit_last_verification_ok") is None  # none yet: no figure
    with app.app_context():  # verifying seals first (it takes the sealer's lock itself)
        record_event(action="site.updated", object_type="site", object_id=1, after={"n": 1})
        db.session.commit()
        answer = verifications.verify_audit_chain()
    assert answer["ok"] is True
    samples = scrape(client)
    assert value(samples, "volunteer_audit_last_verification_ok") == 1
    assert value(samples, "volunteer_audit_last_verification_age_seconds") < 60
    with app.app_context():  # a database writer without AUDIT_KEY backdates it: its signature fails
        stored = db.session.get(AuditVerification, int(answer["verification_id"]))
        stored.finished_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    samples = scrape(client)
    assert value(samples, "volunteer_audit_last_verification_ok") == 0
    assert value(samples, "volunteer_audit_last_verification_age_seconds") >= 7200


def test_gunicorn_marks_an_exited_worker_dead_in_the_multiprocess_directory(service_env, tmp_path):
    """config/gunicorn.py's child_exit hook: a dead worker's live gauges leave PROMETHEUS_MULTIPROC_DIR."""
    import signal

    from tests.conftest import start_web_process, stop_worker_process

    def worker_pids(master) -> set[int]:
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    master, _ = start_web_process({**service_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, threads=1,
                                  name="gunicorn-child-exit")
    try:
        (first,) = worker_pids(master)
        dead_workers_gauge = tmp_path / f"gauge_liveall_{first}.db"
        dead_workers_gauge.write_bytes(b"")  # what a live-mode gauge of that worker leaves there
        another_process_gauge = tmp_path / f"gauge_liveall_{os.getpid()}.db"
        another_process_gauge.write_bytes(b"")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not dead_workers_gauge.exists(), timeout=30)
        assert another_process_gauge.exists()  # only the exited worker's files go
        wait_for(lambda: worker_pids(master) - {first}, timeout=60)  # and gunicorn started another
    finally:
        stop_worker_process(master)
