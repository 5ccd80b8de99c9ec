"""The sync proof: many writers on two web processes, transactions that commit late, and a phone syncing in a loop.

Two real gunicorn processes on loopback ports reach PostgreSQL through the suite's PgBouncer (transaction
mode), as two web hosts would. Writer threads file inspections and register sites through both; other
writers take their change number and then hold their transaction open (pg_sleep) while later writes
commit; a phone pages through /sync the whole time, alternating between the two processes. The phone
must end with every change exactly once, in change order, including those that committed late.
"""
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import select, text

from tests.conftest import start_web_process, stop_worker_process
from tests.field_support import inspection_body, site_body
from volunteer_api.change_numbers import next_change_seq
from volunteer_api.extensions import db
from volunteer_api.inspections.models import Inspection
from volunteer_api.sites.models import Site

WRITER_THREADS = 8
INSPECTIONS_PER_WRITER = 12
SITES_BY_API = 10
LATE_WRITERS = 3
LATE_HOLD_SECONDS = 2.0
DEADLINE_SECONDS = 55


@pytest.fixture
def two_web_processes(pooled_env):
    env = {**pooled_env, "QUOTA_INSPECTIONS_PER_DAY": "10000", "WRITE_LIMIT_PER_USER": "100000 per minute"}
    started = []
    try:
        for _ in range(2):
            started.append(start_web_process(env))
        yield [base_url for _, base_url in started]
    finally:
        for process, _ in started:
            stop_worker_process(process)


@pytest.mark.postgres
def test_a_phone_syncing_beside_many_writers_on_two_hosts_gets_every_change_once_in_order(
        pooled_app, two_web_processes, admin, volunteer, make_site):
    deadline = time.monotonic() + DEADLINE_SECONDS
    hosts = two_web_processes
    site_id = make_site("taraz", name="Anchor school")
    sessions = threading.local()

    def http():
        if not hasattr(sessions, "value"):
            sessions.value = requests.Session()
        return sessions.value

    filed, registered, late, committed_at, errors = [], [], [], {}, []

    def file_inspections(writer: int):
        for n in range(INSPECTIONS_PER_WRITER):
            response = http().post(f"{hosts[(writer + n) % 2]}/api/v1/inspections", headers=volunteer.headers,
                                   json=inspection_body(site_id), timeout=20)
            if response.status_code != 201:
                errors.append((response.status_code, response.text[:300]))
                return
            filed.append(response.json()["id"])
            committed_at[("inspection", response.json()["id"])] = time.monotonic()

    def register_sites():
        for n in range(SITES_BY_API):
            response = http().post(f"{hosts[n % 2]}/api/v1/sites", headers=admin.headers,
                                   json=site_body(name=f"Site {n} {uuid.uuid4().hex[:6]}"), timeout=20)
            if response.status_code != 201:
                errors.append((response.status_code, response.text[:300]))
                return
            registered.append(response.json()["id"])
            committed_at[("site", response.json()["id"])] = time.monotonic()

    def commit_late(n: int):
        """A site whose transaction takes its change number, then stays open while later ones commit.

        It opens once the writers are a fifth, two fifths… through their filings (not after a fixed time:
        on a quiet machine they could all be done by then), so later filings commit while it is open."""
        opens_after = (n + 1) * WRITER_THREADS * INSPECTIONS_PER_WRITER // (LATE_WRITERS + 2)
        while len(filed) < opens_after and not errors and time.monotonic() < deadline:
            time.sleep(0.005)
        with pooled_app.app_context():
            site = Site(name=f"Late {n}", district="taraz", kind="school", address="Late street",
                        lat=42.9, lon=71.37, budget_tiyn=100_000_000, contractor="Late LLP")
            site.change_seq = next_change_seq()
            db.session.add(site)
            db.session.flush()
            xid = db.session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
            opened = time.monotonic()
            db.session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": LATE_HOLD_SECONDS})
            db.session.commit()
            late.append({"id": str(site.id), "xid": xid, "opened": opened, "committed": time.monotonic()})

    writers = ([threading.Thread(target=file_inspections, args=(w,)) for w in range(WRITER_THREADS)]
               + [threading.Thread(target=register_sites)]
               + [threading.Thread(target=commit_late, args=(n,)) for n in range(LATE_WRITERS)])
    for thread in writers:
        thread.start()

    pages, cursor, calls = [], None, 0
    phone = requests.Session()

    def sync_once():
        nonlocal cursor, calls
        query = {"limit": 7, **({"since": cursor} if cursor else {})}
        response = phone.get(f"{hosts[calls % 2]}/api/v1/sync", headers=volunteer.headers, params=query, timeout=20)
        calls += 1
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        pages.append(([("site", s["id"]) for s in body["sites"]], [("inspection", i["id"]) for i in body["inspections"]]))
        assert body["savings"] == [] and body["removed"] == []
        cursor = body["next_cursor"]
        return body["has_more"]

    while any(thread.is_alive() for thread in writers) and time.monotonic() < deadline:
        sync_once()
    for thread in writers:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in writers), "the writers did not finish in time"
    assert errors == []
    while sync_once() and time.monotonic() < deadline:
        pass
    assert time.monotonic() < deadline, "the phone did not catch up in time"

    received = [change for sites, inspections in pages for change in sites + inspections]
    expected = ({("site", site_id)} | {("site", s) for s in registered} | {("site", row["id"]) for row in late}
                | {("inspection", i) for i in filed})
    assert len(filed) == WRITER_THREADS * INSPECTIONS_PER_WRITER and len(late) == LATE_WRITERS
    assert len(received) == len(set(received)), "a change reached the phone twice"
    assert set(received) == expected, f"missing: {expected - set(received)}, unexpected: {set(received) - expected}"

    # In change order: each page's changes come after the last page's, and each list is ordered.
    with pooled_app.app_context():
        positions = {("site", str(i)): (x, s) for i, x, s in db.session.execute(
            select(Site.id, Site.change_xid, Site.change_seq))}
        positions |= {("inspection", str(i)): (x, s) for i, x, s in db.session.execute(
            select(Inspection.id, Inspection.change_xid, Inspection.change_seq))}
    highest = (0, 0)
    for sites, inspections in pages:
        for kind_list in (sites, inspections):
            assert [positions[c] for c in kind_list] == sorted(positions[c] for c in kind_list)
        page = [positions[c] for c in sites + inspections]
        if page:
            assert min(page) > highest, "a page went back before the cursor"
            highest = max(page)

    # The late commits were late: changes positioned after each were committed (answered 201) while it was open.
    for row in late:
        overtaken = [change for change, at in committed_at.items()
                     if row["opened"] < at < row["committed"] and positions[change][0] > row["xid"]]
        assert overtaken, f"nothing committed past late writer {row} while it was open"
    assert calls > 10  # the phone synced all along, not only at the end
