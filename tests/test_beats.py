"""Several beats, one schedule: two real `celery beat` processes (RedBeat) on one Redis send each sweep
once per period; the lock holder killed with SIGKILL, the other takes over and the sweeps go on."""
import os
import signal
import time
from collections import Counter

import pytest

from tests.alert_helpers import IsolatedStack, record_an_event, sends, unsealed_events
from tests.conftest import PG_ADMIN_URL, start_beat_process, start_worker_process, stop_worker_process
from tests.support import wait_for

pytestmark = pytest.mark.worker

# The production default (config/): a killed holder must be replaced within 30 s with it.
LOCK_TIMEOUT_SECONDS = 15


@pytest.fixture
def stack(make_app, service_env):
    """Its own database and redis-server, so the session worker's own beat takes no part."""
    stack = IsolatedStack(pg_admin_url=PG_ADMIN_URL, base_env=service_env,
                          extra_env={"BEAT_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT_SECONDS)})
    stack.build_app(make_app)
    yield stack
    stack.close(stop_worker_process)


def test_two_beats_send_each_sweep_once_and_a_killed_leader_is_replaced_within_30_seconds(stack):
    stack.start_worker(start_worker_process, beat=False, name="sweeper")
    beats = [stack.start_beat(start_beat_process, name=f"beat-{n}") for n in (1, 2)]
    leader_of = lambda: [(process, log) for process, log in beats if sends(log)]  # noqa: E731
    leaders = wait_for(leader_of, timeout=30)
    assert len(leaders) == 1
    (leader, leader_log), = leaders
    (standby, standby_log), = [(process, log) for process, log in beats if process is not leader]

    # Both beats run for a while: every sweep is sent by the leader alone, once per its interval.
    time.sleep(8)
    assert sends(standby_log) == []
    sent = sends(leader_log)
    window = sent[-1][0] - sent[0][0]
    counts = Counter(name for _, name in sent)
    intervals = {"jobs.relay_outbox": 1, "audit.seal_chain": 2}  # service_env's relay, the sealer's default
    for name, interval in intervals.items():
        assert window / interval - 2 <= counts[name] <= window / interval + 2, (name, counts[name], window)
    with stack.app.app_context():
        record_an_event()
        wait_for(lambda: unsealed_events() == 0, timeout=10)

        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait(timeout=10)
        killed_at = time.time()
        record_an_event()  # sealed only once the standby leads
        wait_for(lambda: sends(standby_log), timeout=30)
        wait_for(lambda: unsealed_events() == 0, timeout=max(1.0, killed_at + 30 - time.time()))
    took_over_after = sends(standby_log)[0][0] - killed_at
    assert took_over_after < 30
    assert standby.poll() is None
    print(f"the standby beat sent its first sweep {took_over_after:.0f} s after the leader was killed")


def test_a_redis_restarted_empty_between_two_ticks_gets_its_schedule_back(stack):
    """An outage shorter than beat_max_loop_interval falls between two ticks: no tick fails, yet the
    restarted Redis lost the lock and every schedule entry. The next tick takes the lock again and installs
    the schedule again; before, the beat went on ticking over an empty schedule and sent nothing."""
    from redbeat.schedulers import get_redis

    from volunteer_api.jobs.handlers import SWEEPS
    from workers import make_celery
    from workers.schedulers import LeaderScheduler

    celery_app = make_celery(stack.app)
    scheduler = LeaderScheduler(app=celery_app)
    redis = get_redis(celery_app)
    schedule_key = celery_app.redbeat_conf.schedule_key
    try:
        scheduler.tick()
        assert redis.zcard(schedule_key) == len(SWEEPS)

        stack.stop_redis()
        stack.start_redis()
        assert redis.zcard(schedule_key) == 0  # restarted empty: the lock and the entries are gone

        scheduler.tick()
        assert redis.zcard(schedule_key) == len(SWEEPS)
        assert scheduler.lock.owned()
    finally:
        scheduler.close()
