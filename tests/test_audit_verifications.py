"""Incremental verification of the audit chain: a signed stored result plus the tail, and full re-verification jobs."""
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from tests.test_audit import EVENTS, append_events, attacker_with_dba_rights
from volunteer_api.audit.models import AuditEvent, AuditVerification
from volunteer_api.audit.services import seal_chain
from volunteer_api.audit.verifications import verification_document, verify_tail_scheduled
from volunteer_api.extensions import db
from volunteer_api.jobs import OutboxJob, names
from volunteer_api.timestamps import utcnow

VERIFY = "/api/v1/audit/verify"
VERIFICATIONS = "/api/v1/audit/verifications"


def verify(client, admin) -> dict:
    response = client.get(VERIFY, headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events(app, count: int) -> list[int]:
    with app.app_context():
        ids = append_events(count)
        seal_chain()
        return ids


def sealed_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.max(AuditEvent.seq)))


def edit_event(app, event_id: int) -> None:
    with app.app_context(), attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == event_id).values(after={"n": -1, "name": "Другая"}))


def run_full_verification(client, admin, run_jobs) -> dict:
    started = client.post(VERIFICATIONS, headers=admin.headers)
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    assert body["kind"] == "full" and body["status"] == "running" and body["finished_at"] is None
    assert started.headers["Location"] == f"{VERIFICATIONS}/{body['id']}"

    def finished():
        state = client.get(f"{VERIFICATIONS}/{body['id']}", headers=admin.headers).get_json()
        return state if state["status"] == "done" else None

    return run_jobs(finished, timeout=20)


def test_the_first_answer_walks_everything_then_only_the_tail(app, client, admin):
    events(app, 6)
    first = verify(client, admin)
    total = sealed_count(app)
    assert first["ok"] is True and first["checked"] == total == first["verified_through"] == first["tail_checked"]
    assert first["unsealed"] == 0 and first["as_of"].endswith("Z")
    # No verification was stored before: this one walked from seq 1, and counts as a full one.
    assert first["full_verification"]["kind"] == "full" and first["full_verification"]["signed"] is True

    again = verify(client, admin)
    assert again["ok"] is True and again["checked"] == total and again["tail_checked"] == 0
    assert again["verification_id"] == first["verification_id"]

    events(app, 3)
    later = verify(client, admin)
    assert later["ok"] is True and later["tail_checked"] == 3
    assert later["checked"] == later["verified_through"] == sealed_count(app) == total + 3
    assert later["verification_id"] != first["verification_id"]
    with app.app_context():
        stored = db.session.get(AuditVerification, int(later["verification_id"]))
        assert stored.kind == "incremental" and stored.from_seq == total and stored.through_seq == total + 3


def test_an_edit_in_the_tail_is_caught_by_the_fast_path_and_stands(app, client, admin):
    events(app, 4)
    assert verify(client, admin)["ok"] is True
    tail = events(app, 3)
    edit_event(app, tail[1])

    broken = verify(client, admin)
    assert broken["ok"] is False and broken["first_broken_id"] == str(tail[1])
    assert broken["reason"] == "hash_mismatch" and broken["tail_checked"] == 1
    # More events later do not verify over it: the failure stands until a full verification passes.
    events(app, 2)
    standing = verify(client, admin)
    assert standing["ok"] is False and standing["first_broken_id"] == str(tail[1])
    assert standing["verification_id"] == broken["verification_id"]


def test_an_edit_below_the_stored_verification_is_caught_by_the_full_job(app, client, admin, run_jobs):
    ids = events(app, 5)
    assert verify(client, admin)["ok"] is True
    edit_event(app, ids[1])
    # The fast path starts above the edit: it cannot see it (the documented limit).
    assert verify(client, admin)["ok"] is True

    done = run_full_verification(client, admin, run_jobs)
    with app.app_context():
        position = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.id == ids[1]))
    assert done["ok"] is False and done["first_broken_id"] == str(ids[1]) and done["reason"] == "hash_mismatch"
    assert done["checked"] == position - 1 and done["signed"] is True

    answer = verify(client, admin)
    assert answer["ok"] is False and answer["first_broken_id"] == str(ids[1])
    assert answer["full_verification"]["id"] == done["id"]


def test_the_full_job_walks_in_signed_steps(app, client, admin, run_jobs, monkeypatch):
    """Each step signs its progress and enqueues the next (embedded mode: the steps here are 3 events)."""
    from volunteer_api.audit import verifications

    monkeypatch.setattr(verifications, "FULL_VERIFICATION_STEP", 3)
    ids = events(app, 9)
    done = run_full_verification(client, admin, run_jobs)
    assert done["ok"] is True and done["checked"] == sealed_count(app)
    edit_event(app, ids[7])
    broken = run_full_verification(client, admin, run_jobs)
    assert broken["ok"] is False and broken["first_broken_id"] == str(ids[7])
    with app.app_context():
        steps = db.session.scalar(select(db.func.count()).select_from(OutboxJob).where(
            OutboxJob.name == names.VERIFY_AUDIT_CHAIN))
    # In the PostgreSQL pass the worker process keeps its own step size (one step each).
    assert steps >= 2


def test_a_full_verification_that_passes_clears_a_failure_once_the_chain_is_restored(app, client, admin, run_jobs):
    events(app, 4)
    assert verify(client, admin)["ok"] is True
    tail = events(app, 2)
    with app.app_context():
        original = db.session.scalar(select(AuditEvent.after).where(AuditEvent.id == tail[0]))
    with app.app_context(), attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == tail[0]).values(after={"forged": True}))
    assert verify(client, admin)["ok"] is False
    # Restored from a backup: the same content as written.
    with app.app_context(), attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == tail[0]).values(after=original))
    assert verify(client, admin)["ok"] is False  # still standing
    assert run_full_verification(client, admin, run_jobs)["ok"] is True
    assert verify(client, admin)["ok"] is True


def forged_mac(document: dict) -> str:
    """What a database writer without AUDIT_KEY can make: an HMAC under some other key."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hmac.new(b"not the audit key", canonical.encode(), hashlib.sha256).hexdigest()


def test_a_forged_verification_is_refused_and_never_started_from(app, client, admin):
    ids = events(app, 4)
    assert verify(client, admin)["ok"] is True
    tail = events(app, 2)
    edit_event(app, tail[0])
    with app.app_context():
        head = db.session.execute(select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash)
                                  .order_by(AuditEvent.seq.desc()).limit(1)).one()
        # A verification "through the head", past the edit, to hide it.
        forged = AuditVerification(kind="full", status="done", from_seq=0, through_seq=head.seq,
                                   head_id=str(head.id), head_hash=head.hash, ok=True, checked=head.seq,
                                   started_at=utcnow(), finished_at=utcnow())
        db.session.add(forged)
        db.session.flush()
        forged.mac = forged_mac(verification_document(forged))
        db.session.commit()
        forged_id = forged.id
    answer = verify(client, admin)
    assert answer["ok"] is False and answer["reason"] == "bad_checkpoint"
    assert answer["forged_verification_id"] == str(forged_id)
    shown = client.get(f"{VERIFICATIONS}/{forged_id}", headers=admin.headers).get_json()
    assert shown["signed"] is False
    assert ids  # the chain below was never the question


def test_a_full_verification_that_passes_clears_a_forged_row(app, client, admin, run_jobs):
    events(app, 3)
    with app.app_context():
        forged = AuditVerification(kind="incremental", status="done", from_seq=0, through_seq=1, ok=True, checked=1,
                                   started_at=utcnow(), finished_at=utcnow())
        db.session.add(forged)
        db.session.flush()
        forged.mac = forged_mac(verification_document(forged))
        db.session.commit()
    assert verify(client, admin)["reason"] == "bad_checkpoint"
    assert run_full_verification(client, admin, run_jobs)["ok"] is True
    answer = verify(client, admin)
    assert answer["ok"] is True and answer["checked"] == sealed_count(app)


def test_an_edited_verification_is_refused_too(app, client, admin):
    events(app, 3)
    first = verify(client, admin)
    events(app, 2)
    edit_event(app, events(app, 1)[0])
    with app.app_context():
        stored = db.session.get(AuditVerification, int(first["verification_id"]))
        stored.through_seq = stored.through_seq + 3  # moved forward over the edit, the signature left as it was
        db.session.commit()
    answer = verify(client, admin)
    assert answer["ok"] is False and answer["reason"] == "bad_checkpoint"
    assert answer["forged_verification_id"] == first["verification_id"]


def test_the_sweep_keeps_the_tail_short(app, client, admin):
    with app.app_context():
        first = verify_tail_scheduled()  # none stored yet: the whole chain, here in the workers
    assert first["ok"] is True and first["full_verification"]["kind"] == "full"
    events(app, 4)
    with app.app_context():
        swept = verify_tail_scheduled()
    assert swept["ok"] is True and swept["tail_checked"] == 4
    assert verify(client, admin)["tail_checked"] == 0


def test_verification_ids_are_checked(client, admin):
    assert client.get(f"{VERIFICATIONS}/999999", headers=admin.headers).status_code == 404
    assert client.get(f"{VERIFICATIONS}/abc", headers=admin.headers).status_code in (404, 422)


@pytest.mark.parametrize("method,path", [("POST", VERIFICATIONS), ("GET", f"{VERIFICATIONS}/1")])
def test_only_admins_start_or_read_verifications(client, inspector, volunteer, method, path):
    for account in (inspector, volunteer):
        assert client.open(path, method=method, headers=account.headers).status_code == 403
    assert client.open(path, method=method).status_code == 401


def test_a_running_progress_set_to_done_is_refused_not_read_as_a_failure(app, client, admin, run_jobs, monkeypatch):
    """A database writer flips a full job's signed progress (ok still None) to done: a forgery, not a failure."""
    from volunteer_api.audit import verifications

    monkeypatch.setattr(verifications, "FULL_VERIFICATION_STEP", 3)
    events(app, 5)
    assert verify(client, admin)["ok"] is True
    with app.app_context():
        progress = AuditVerification(kind="full", status="running", from_seq=0, started_at=utcnow())
        db.session.add(progress)
        db.session.flush()
        head = db.session.execute(select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.seq == 3)).one()
        progress.through_seq = progress.checked = 3
        progress.head_id, progress.head_hash = str(head.id), head.hash
        progress.mac = verifications.keyed_digest(verification_document(progress))
        db.session.commit()
        progress_id = progress.id
    assert verify(client, admin)["ok"] is True  # a signed progress is no result: it is passed over
    with app.app_context():
        db.session.get(AuditVerification, progress_id).status = "done"
        db.session.get(AuditVerification, progress_id).finished_at = utcnow()
        db.session.commit()
    answer = verify(client, admin)
    assert answer["ok"] is False and answer["reason"] == "bad_checkpoint"
    assert answer["forged_verification_id"] == str(progress_id)
    assert run_full_verification(client, admin, run_jobs)["ok"] is True
    assert verify(client, admin)["ok"] is True


def test_a_failure_set_back_to_running_still_stands(app, client, admin):
    """A database writer flips a signed failure to running, to drop it out of the verifications looked at."""
    events(app, 3)
    assert verify(client, admin)["ok"] is True
    edit_event(app, events(app, 2)[0])
    failed = verify(client, admin)
    assert failed["ok"] is False and failed["reason"] == "hash_mismatch"
    with app.app_context():
        db.session.get(AuditVerification, int(failed["verification_id"])).status = "running"
        db.session.commit()
    answer = verify(client, admin)
    assert answer["ok"] is False and answer["reason"] == "bad_checkpoint"
    assert answer["forged_verification_id"] == failed["verification_id"]


def test_a_result_signed_before_the_status_was_signed_still_verifies(app, client, admin):
    """Rows stored by the previous release (the status not in their signature) are kept, as finished results."""
    from volunteer_api.audit import verifications

    events(app, 3)
    first = verify(client, admin)
    with app.app_context():
        stored = db.session.get(AuditVerification, int(first["verification_id"]))
        legacy = {key: value for key, value in verification_document(stored).items() if key != "status"}
        stored.mac = verifications.keyed_digest(legacy)
        db.session.commit()
    events(app, 2)
    answer = verify(client, admin)
    assert answer["ok"] is True and answer["tail_checked"] == 2
    shown = client.get(f"{VERIFICATIONS}/{first['verification_id']}", headers=admin.headers).get_json()
    assert shown["signed"] is True
    with app.app_context():  # the same old signature on a row set back to running is refused
        db.session.get(AuditVerification, int(first["verification_id"])).status = "running"
        db.session.commit()
    assert verify(client, admin)["reason"] == "bad_checkpoint"
