"""Faults with a real Redis and real worker processes: the broker down, a worker killed mid-burst."""
import os
import signal
import time

import pytest
from sqlalchemy import create_engine, text

from tests.alert_helpers import (
    IsolatedStack,
    alert_counts,
    covered_inspections,
    flag_inspection,
    make_site,
    make_user,
    outbox_drained,
)
from tests.conftest import PG_ADMIN_URL, start_worker_process, stop_worker_process
from tests.support import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def stack(make_app, service_env):
    stack = IsolatedStack(pg_admin_url=PG_ADMIN_URL, base_env=service_env)
    stack.build_app(make_app)
    yield stack
    stack.close(stop_worker_process)


def _exactly(inspections, recipients):
    """Each inspection in exactly one alert of each recipient (a burst about one site is coalesced)."""
    expected = sorted((str(i) for i in inspections), key=int)
    return lambda: covered_inspections() == {recipient: expected for recipient in recipients}


def _holding_site_risks_writes(stack):
    """A connection of the stack's database that blocks every write to site_risks until it rolls back:
    the risk job a new site enqueues then stays in the worker's hands, delivered and not acknowledged."""
    engine = create_engine(stack.env["DATABASE_URL"])
    connection = engine.connect()
    connection.execute(text("LOCK TABLE site_risks IN EXCLUSIVE MODE"))
    return engine, connection


def _a_job_waits_on_the_lock(stack) -> bool:
    with stack.admin.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND wait_event_type = 'Lock'"),
            {"name": stack.name}))


def _while_alive(worker, condition):
    """condition, failing at once when the worker process has exited (no survivor would ever meet it)."""
    def check():
        assert worker.poll() is None, f"the worker exited ({worker.returncode}); see its log in .pytest_cache/"
        return condition()
    return check


def test_flags_filed_while_the_broker_is_down_are_all_alerted_once_after_it_returns(stack):
    """The broker stops while the worker holds an unacknowledged task (celery 5.7.0's worker then died
    of an AttributeError restoring it, and nothing ran the outbox again): the worker reconnects, and
    the relay sends every job filed during the outage."""
    worker = stack.start_worker(start_worker_process, beat=True, name="outage")
    with stack.app.app_context():
        inspectors = [make_user("inspector"), make_user("inspector")]
        volunteer = make_user("volunteer")
        engine, blocker = _holding_site_risks_writes(stack)
        try:
            site = make_site()  # its risk job reaches the worker and waits for the lock
            wait_for(lambda: _a_job_waits_on_the_lock(stack), timeout=15)
            stack.stop_redis()
        finally:
            blocker.rollback()
            blocker.close()
            engine.dispose()

        slowest, flagged = 0.0, []
        for _ in range(20):
            started = time.monotonic()
            flagged.append(flag_inspection(volunteer_id=volunteer, site_id=site))
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0  # the submission never waits for the broker
        assert stack.app.extensions["job_dispatcher"].wait_published(timeout=30)
        assert alert_counts() == {}

        stack.start_redis()
        wait_for(_while_alive(worker, _exactly(flagged, inspectors)), timeout=25)
        wait_for(outbox_drained, timeout=25)  # nothing left for a relay round to send again: still one each
        assert _exactly(flagged, inspectors)()


def test_a_worker_killed_mid_burst_loses_and_doubles_nothing(stack):
    doomed = stack.start_worker(start_worker_process, beat=True, pool="prefork", concurrency=2, name="doomed")
    with stack.app.app_context():
        inspectors = [make_user("inspector"), make_user("inspector")]
        volunteer, site = make_user("volunteer"), make_site()
        flagged = [flag_inspection(volunteer_id=volunteer, site_id=site) for _ in range(40)]
        wait_for(lambda: alert_counts(), timeout=15, interval=0.005)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        alerted_at_kill = max(len(ids) for ids in covered_inspections().values())
        assert alerted_at_kill < 40, "the burst finished before the kill; nothing was tested"

        stack.start_worker(start_worker_process, beat=True, name="successor")
        wait_for(_exactly(flagged, inspectors), timeout=25)
        wait_for(outbox_drained, timeout=25)
        assert _exactly(flagged, inspectors)()
