"""The outbox: atomic runs, backoff, the dead-letter state and its admin endpoints, the relay, Celery settings."""
import importlib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from config import celery_settings
from tests.conftest import BACKEND
from tests.support import wait_for
from volunteer_api.alerts.models import Alert
from volunteer_api.extensions import db
from volunteer_api.jobs import dispatch, names, outbox
from volunteer_api.jobs.handlers import JOBS, SWEEPS
from volunteer_api.jobs.outbox import MAX_ATTEMPTS, Job, OutboxJob, run_job
from volunteer_api.timestamps import utcnow

# A far-future published_at keeps the session worker's relay off the rows these tests run by hand.
NOT_FOR_THE_RELAY = timedelta(days=1)


def add_job(name: str, **fields) -> int:
    job = OutboxJob(name=name, payload=fields.pop("payload", {}), published_at=utcnow() + NOT_FOR_THE_RELAY, **fields)
    db.session.add(job)
    db.session.commit()
    return job.id


@pytest.fixture
def handlers(app, monkeypatch):
    """Add throwaway handlers to the app's job table for one test."""

    def register(name, func, run_arguments=()):
        monkeypatch.setitem(app.extensions["job_handlers"], name, Job(func, run_arguments))

    return register


def test_the_name_constants_the_handler_table_and_the_workers_tasks_agree(app, monkeypatch):
    assert set(JOBS) == names.JOB_NAMES and set(SWEEPS) == names.SWEEP_NAMES
    assert app.extensions["job_handlers"] is JOBS and app.extensions["sweeps"] is SWEEPS
    assert all(app.config[sweep.every] > 0 for sweep in SWEEPS.values())  # every schedule has its setting
    monkeypatch.setenv("REDIS_URL", app.config.get("REDIS_URL") or "redis://127.0.0.1:9/0")  # never dialled
    from volunteer_api.extensions import limiter

    try:
        workers = importlib.import_module("workers")
    finally:
        limiter.init_app(app)
    own_tasks = {name for name in workers.celery.tasks if not name.startswith("celery.")}
    assert own_tasks == names.JOB_NAMES | names.SWEEP_NAMES
    assert set(workers.celery.conf.beat_schedule) == names.SWEEP_NAMES


def test_enqueue_refuses_a_job_the_table_does_not_have(app_ctx):
    with pytest.raises(KeyError, match="no handler"):
        outbox.enqueue("tests.not_in_the_table")
    db.session.rollback()


def test_a_handler_is_given_the_run_details_it_asks_for(app_ctx, handlers):
    seen = []
    handlers("tests.told_its_run", lambda **run: seen.append(run), run_arguments=("job_id", "attempt", "last_attempt"))
    job_id = add_job("tests.told_its_run")
    assert run_job(job_id) == "done"
    assert seen == [{"job_id": job_id, "attempt": 1, "last_attempt": False}]


def test_celery_is_set_up_for_at_least_once_work(app):
    settings = app.config["CELERY"]
    assert settings["task_acks_late"] and settings["task_reject_on_worker_lost"]
    assert settings["worker_prefetch_multiplier"] == 1
    timeouts = {settings["visibility_timeout"], settings["broker_transport_options"]["visibility_timeout"],
                settings["result_backend_transport_options"]["visibility_timeout"]}
    assert len(timeouts) == 1
    # Redis would hand a task still running to a second worker if it outlived the visibility timeout.
    assert timeouts.pop() > settings["task_time_limit"] > settings["task_soft_time_limit"]


def test_a_handlers_changes_and_the_jobs_state_commit_together(app_ctx, handlers, inspector):
    def half_done():
        db.session.add(Alert(recipient_id=int(inspector.id), kind="milestone", event_key="m:1",
                             subject_type="site", subject_id="1"))
        db.session.flush()
        raise RuntimeError("crashed after writing")

    handlers("tests.half_done", half_done)
    job_id = add_job("tests.half_done")
    assert run_job(job_id) == "pending"
    job = db.session.get(OutboxJob, job_id)
    assert job.attempts == 1 and "crashed after writing" in job.last_error and job.published_at is None
    assert job.available_at > utcnow() - timedelta(seconds=1)
    assert db.session.scalars(select(Alert)).all() == []


def test_a_job_that_keeps_failing_backs_off_then_lands_in_the_dead_letter_state(app_ctx, handlers):
    handlers("tests.always_fails", lambda: 1 / 0)
    job_id = add_job("tests.always_fails")
    statuses = []
    for _ in range(MAX_ATTEMPTS):
        statuses.append(run_job(job_id))
        job = db.session.get(OutboxJob, job_id)
        # Skip the backoff, not the count; a fresh published_at keeps the worker's relay (PostgreSQL pass) off it.
        job.available_at = job.published_at = utcnow()
        db.session.commit()
    assert statuses == ["pending"] * (MAX_ATTEMPTS - 1) + ["dead"]
    job = db.session.get(OutboxJob, job_id)
    assert job.attempts == MAX_ATTEMPTS and "ZeroDivisionError" in job.last_error
    assert run_job(job_id) == "dead"  # a stale redelivery does nothing


def test_a_job_whose_runs_never_finish_is_declared_dead_without_running_again(app_ctx, handlers):
    ran = []
    handlers("tests.kills_its_worker", lambda: ran.append(1))
    job_id = add_job("tests.kills_its_worker", attempts=MAX_ATTEMPTS, last_error=None)
    assert run_job(job_id) == "dead" and ran == []


def test_backoff_is_exponential_with_full_jitter_and_capped():
    for attempts in (1, 3, 6, 20):
        ceiling = min(outbox.BACKOFF_CAP_SECONDS, outbox.BACKOFF_BASE_SECONDS * 2**attempts)
        samples = [outbox.backoff_seconds(attempts) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) - min(samples) > ceiling / 4  # jittered, not fixed


def test_admins_list_dead_jobs_and_retry_them(app, client, admin, inspector, volunteer, run_jobs, app_ctx):
    job_id = add_job("alerts.notify_inspection_flagged", payload={"inspection_id": 999999}, status="dead",
                     attempts=MAX_ATTEMPTS, last_error="SMTP down")
    add_job("alerts.notify_inspection_flagged", payload={"inspection_id": 1}, status="done")

    listed = client.get("/api/v1/jobs?status=dead", headers=admin.headers)
    assert listed.status_code == 200
    assert [(j["id"], j["status"], j["last_error"]) for j in listed.get_json()["items"]] == [
        (str(job_id), "dead", "SMTP down")]
    assert client.get("/api/v1/jobs?status=zombie", headers=admin.headers).status_code == 422
    for who in (inspector, volunteer):
        assert client.get("/api/v1/jobs", headers=who.headers).status_code == 403
        assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=who.headers).status_code == 403

    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin.headers)
    assert retried.status_code == 200 and retried.get_json()["status"] in ("pending", "done")
    # It really runs again (embedded thread or worker): the inspection is gone, so it finishes as done.
    run_jobs(lambda: _status(job_id) == "done", timeout=10)
    assert client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin.headers).status_code == 409
    assert client.post("/api/v1/jobs/123456789/retry", headers=admin.headers).status_code == 404
    assert client.post("/api/v1/jobs/x/retry", headers=admin.headers).status_code == 404
    from volunteer_api.audit.models import AuditEvent

    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "outbox_job")).all()
    assert actions == ["job.retried"]


def _status(job_id):
    status = db.session.scalar(select(OutboxJob.status).where(OutboxJob.id == job_id))
    db.session.rollback()
    return status


class RecordingDispatcher:
    def __init__(self, accept=True):
        self.accept, self.published = accept, []

    def publish(self, job_id, name):
        self.published.append(job_id)
        return self.accept

    def publish_soon(self, jobs_):
        for job_id, name in jobs_:
            self.publish(job_id, name)


@pytest.mark.skipif(BACKEND == "postgres", reason="the session worker's own relay would race this one")
def test_the_relay_sends_due_jobs_never_sent_or_presumed_lost_and_none_twice(app, app_ctx, monkeypatch):
    recorder = RecordingDispatcher()
    monkeypatch.setitem(app.extensions, "job_dispatcher", recorder)
    now = utcnow()
    never_sent = add_job("alerts.deliver", payload={"delivery_id": 1})
    db.session.get(OutboxJob, never_sent).published_at = None
    lost = add_job("alerts.deliver", payload={"delivery_id": 2})
    db.session.get(OutboxJob, lost).published_at = now - timedelta(minutes=5)
    fresh = add_job("alerts.deliver", payload={"delivery_id": 3})
    db.session.get(OutboxJob, fresh).published_at = now
    backing_off = add_job("alerts.deliver", payload={"delivery_id": 4})
    db.session.get(OutboxJob, backing_off).published_at = None
    db.session.get(OutboxJob, backing_off).available_at = now + timedelta(minutes=1)
    add_job("alerts.deliver", payload={"delivery_id": 5}, status="done")
    db.session.commit()

    assert outbox.relay_outbox() == 2
    assert recorder.published == [never_sent, lost]
    assert outbox.relay_outbox() == 0  # published_at moved on: no second copy on the next round

    refused = RecordingDispatcher(accept=False)
    monkeypatch.setitem(app.extensions, "job_dispatcher", refused)
    db.session.get(OutboxJob, fresh).published_at = now - timedelta(minutes=5)
    db.session.commit()
    assert outbox.relay_outbox() == 1
    # The broker refused it: marked unsent so the next round tries again at once.
    assert db.session.get(OutboxJob, fresh).published_at is None


def test_a_dead_broker_makes_publishing_fail_fast_and_never_raise(app):
    from celery import Celery

    from tests.alert_helpers import free_port

    producer = Celery("probe")
    producer.conf.update(celery_settings(f"redis://127.0.0.1:{free_port()}/0"))
    dispatcher = dispatch.CeleryDispatcher(producer)
    started = time.monotonic()
    assert dispatcher.publish(1, "alerts.deliver") is False
    first = time.monotonic() - started
    started = time.monotonic()
    assert all(dispatcher.publish(n, "alerts.deliver") is False for n in range(50))
    assert first < 10 and time.monotonic() - started < 0.1  # the cooldown skips the dead broker


@pytest.mark.skipif(BACKEND != "sqlite", reason="embedded mode only")
def test_embedded_mode_runs_the_periodic_relay_itself(app, make_app):
    """Without a broker there is no beat: the web process relays a job whose publish was lost."""
    from volunteer_api.extensions import db as database

    embedded = make_app({"EMBEDDED_SCHEDULER": "true"}, {"RELAY_INTERVAL_SECONDS": 0.2})
    with embedded.app_context():
        database.session.execute(OutboxJob.__table__.insert().values(
            name="alerts.notify_inspection_flagged", payload={"inspection_id": 987654}, status="pending",
            attempts=0, created_at=utcnow(), available_at=utcnow(), published_at=None))
        database.session.commit()
    embedded.test_client().get("/healthz")  # the first request starts the schedule

    def job_done():
        with embedded.app_context():
            return database.session.scalar(select(OutboxJob.status)) == "done"

    try:
        wait_for(job_done, timeout=10)
    finally:
        # Its sweeps would go on sealing and relaying in the run's shared database for every later test.
        embedded.extensions["job_dispatcher"].stop_schedule()


def test_publishing_after_commit_watches_the_apps_session_only(app):
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    for hook, listener in (("after_flush", dispatch._collect_new_jobs), ("after_commit", dispatch._publish_committed),
                           ("after_soft_rollback", dispatch._forget_jobs)):
        assert event.contains(db.session, hook, listener)
        assert not event.contains(Session, hook, listener)
    with app.app_context(), Session(db.engine) as other:  # another session of the process: not ours to publish
        other.info["outbox_committing"] = [(1, names.DELIVER_ALERT)]
        other.commit()
        assert other.info["outbox_committing"] == [(1, names.DELIVER_ALERT)]
