"""Faults across hosts: two web processes, two workers and two beats on one PostgreSQL and one Redis
(loopback) under a burst of flagged inspections and savings reports; one web process, one worker and
the beat that leads are SIGKILLed mid-burst. Phones retry what got no answer, with the same client_uuid."""
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from tests.alert_helpers import (PASSWORD, IsolatedStack, alert_counts, covered_inspections, make_site,
                                 make_user, outbox_drained, record_an_event, sends, unsealed_events)
from tests.conftest import (PG_ADMIN_URL, start_beat_process, start_web_process, start_worker_process,
                            stop_worker_process)
from tests.field_support import inspection_body
from tests.support import wait_for

pytestmark = pytest.mark.worker

INSPECTIONS, SAVINGS = 40, 10
SUBMITTERS = 4
KILL_AFTER_ANSWERS = 15
SWEEPS_BACK_WITHIN_SECONDS = 30


@pytest.fixture
def stack(make_app, service_env):
    # No rate limits or quotas (one volunteer files the whole burst); a shorter beat lock than production's
    # 15 s keeps the test short (test_beats.py proves the default).
    stack = IsolatedStack(pg_admin_url=PG_ADMIN_URL, base_env=service_env,
                          extra_env={"RATELIMIT_ENABLED": "false", "BEAT_LOCK_TIMEOUT_SECONDS": "9"})
    stack.build_app(make_app)
    yield stack
    stack.close(stop_worker_process)


class Phone:
    """Files to whichever web host answers: a request without an answer goes again, same body, to the other."""

    def __init__(self, hosts: list[str], token: str):
        self.hosts, self.headers = hosts, {"Authorization": f"Bearer {token}"}
        self.answers: dict[str, int] = {}
        self._lock = threading.Lock()

    def file(self, number: int, path: str, body: dict) -> None:
        for attempt in range(6):
            host = self.hosts[(number + attempt) % len(self.hosts)]
            try:
                response = requests.post(f"{host}{path}", json=body, headers=self.headers, timeout=15)
            except requests.RequestException:
                continue  # that host is gone, or went mid-request: the other one gets the same body
            with self._lock:
                self.answers[body["client_uuid"]] = response.status_code
            return
        with self._lock:
            self.answers[body["client_uuid"]] = 0

    def answered(self) -> int:
        with self._lock:
            return len(self.answers)


def stored_once(model, client_uuids: set[str]) -> bool:
    from volunteer_api.extensions import db

    rows = db.session.execute(select(model.client_uuid, func.count()).group_by(model.client_uuid)).all()
    db.session.rollback()
    return dict(rows) == {client_uuid: 1 for client_uuid in client_uuids}


def overall_pending() -> tuple[int, int] | None:
    from volunteer_api.extensions import db
    from volunteer_api.savings.models import SavingsTotal

    row = db.session.execute(select(SavingsTotal.pending_tiyn, SavingsTotal.pending_count).where(
        SavingsTotal.scope == "overall", SavingsTotal.key == "all")).one_or_none()
    db.session.rollback()
    return tuple(row) if row else None


def test_a_web_process_a_worker_and_the_leading_beat_killed_mid_burst_lose_and_double_nothing(stack):
    from volunteer_api.extensions import db
    from volunteer_api.inspections.models import Inspection
    from volunteer_api.people.models import User
    from volunteer_api.savings.models import SavingsReport

    started = time.monotonic()
    beats = [stack.start_beat(start_beat_process, name=f"beat-{n}") for n in (1, 2)]
    doomed_worker = stack.start_worker(start_worker_process, beat=False, name="worker-1")
    stack.start_worker(start_worker_process, beat=False, name="worker-2")
    started_webs = [start_web_process(stack.env, threads=4, name=f"web-{n}") for n in (1, 2)]
    webs = [process for process, _ in started_webs]
    stack.workers.extend(webs)  # stopped with the stack
    hosts = [base_url for _, base_url in started_webs]
    with stack.app.app_context():
        inspectors = [make_user("inspector"), make_user("inspector")]
        volunteer, site = make_user("volunteer"), make_site()
        phone_number = db.session.get(User, volunteer).phone
        db.session.rollback()
    login = requests.post(f"{hosts[1]}/api/v1/auth/login", json={"login": phone_number, "password": PASSWORD},
                          timeout=15)
    assert login.status_code == 200, login.text
    phone = Phone(hosts, login.json()["access_token"])
    leader_of = lambda: [(process, log) for process, log in beats if sends(log)]  # noqa: E731
    (leader, _), = wait_for(leader_of, timeout=30)
    (standby, standby_log), = [(process, log) for process, log in beats if process is not leader]
    print(f"stack up in {time.monotonic() - started:.0f} s")

    inspection_bodies = [inspection_body(str(site), severity="high") for _ in range(INSPECTIONS)]
    saving_bodies = [{"client_uuid": str(uuid.uuid4()), "site_id": str(site), "amount_kzt": f"{1000 + n}.50",
                      "category": "overpricing_prevented", "description": "Cheaper cement"} for n in range(SAVINGS)]
    work = [("/api/v1/inspections", body) for body in inspection_bodies]
    for n, body in enumerate(saving_bodies):
        work.insert(n * 5, ("/api/v1/savings", body))
    with ThreadPoolExecutor(SUBMITTERS) as pool:
        futures = [pool.submit(phone.file, number, path, body) for number, (path, body) in enumerate(work)]
        wait_for(lambda: phone.answered() >= KILL_AFTER_ANSWERS, timeout=60, interval=0.01)
        for process in (webs[0], doomed_worker, leader):
            os.killpg(process.pid, signal.SIGKILL)
        killed_at, answered_at_kill = time.time(), phone.answered()
        for future in futures:
            future.result(timeout=120)
    assert answered_at_kill < len(work), "the burst was over before the kills; nothing was tested"
    for process in (webs[0], doomed_worker, leader):
        process.wait(timeout=10)

    # Every submission was answered 2xx (by the survivor, for those the dead host never answered)...
    assert sorted(set(phone.answers.values())) in ([201], [200, 201]), phone.answers
    filed_inspections = {body["client_uuid"] for body in inspection_bodies}
    filed_savings = {body["client_uuid"] for body in saving_bodies}
    with stack.app.app_context():
        record_an_event()  # made after the kills: only a surviving beat can have it sealed
        # ...and is stored once.
        assert stored_once(Inspection, filed_inspections) and stored_once(SavingsReport, filed_savings)
        flagged = [str(i) for i in db.session.scalars(select(Inspection.id).order_by(Inspection.id))]
        db.session.rollback()
        # Every flagged inspection in exactly one alert of each inspector; every report alerted once each.
        wait_for(lambda: covered_inspections() == {inspector: flagged for inspector in inspectors}, timeout=45)
        wait_for(lambda: alert_counts("savings_pending") == {inspector: SAVINGS for inspector in inspectors},
                 timeout=15)
        # The totals go on (recomputed by the surviving worker), to the tiyn.
        expected = (sum(100 * (1000 + n) + 50 for n in range(SAVINGS)), SAVINGS)
        wait_for(lambda: overall_pending() == expected, timeout=15)
        # The sealing goes on, from the beat that took over, within 30 s of the kill.
        wait_for(lambda: unsealed_events() == 0, timeout=max(1.0, killed_at + SWEEPS_BACK_WITHIN_SECONDS - time.time()))
        wait_for(outbox_drained, timeout=15)
        assert covered_inspections() == {inspector: flagged for inspector in inspectors}
    took_over_after = sends(standby_log)[0][0] - killed_at
    assert took_over_after < SWEEPS_BACK_WITHIN_SECONDS and standby.poll() is None
    print(f"answered before the kills {answered_at_kill}/{len(work)}; the standby beat swept "
          f"{took_over_after:.0f} s after the kill; {time.monotonic() - started:.0f} s in all")
