"""The audit trail: every change appends an event; the hash chain exposes edits, deletions and forgeries."""
import json
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.support import next_phone, wait_for
from tests.test_alert_channels import alert_app, smtp, webhook  # noqa: F401 - fixtures
from volunteer_api.audit.models import AuditEvent
from volunteer_api.audit.checkpoints import anchor_chain, newest_anchor
from volunteer_api.audit.models import AuditCheckpoint
from volunteer_api.audit.services import _legacy_hash, event_hash, event_mac, record_event, seal_chain, verify_chain
from volunteer_api.extensions import db
from volunteer_api.timestamps import utcnow

EVENTS = AuditEvent.__table__


def register_volunteer(client, admin, **headers):
    body = {"full_name": "Айгуль Нурланова", "phone": next_phone(), "district": "taraz"}
    response = client.post("/api/v1/volunteers", headers={**admin.headers, **headers}, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def append_events(count: int, **fields) -> list[int]:
    """Record `count` events in one committed transaction; return their ids."""
    ids = [record_event(action="site.updated", object_type="site", object_id=n, before={"n": n},
                        after={"n": n + 1, "name": "Школа №7", "lat": 42.9001}, **fields)
           for n in range(count)]
    db.session.commit()
    return ids


def sealed_ids() -> list[int]:
    return list(db.session.scalars(select(AuditEvent.id).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)))


@contextmanager
def attacker_with_dba_rights():
    """A connection that edits audit_events behind the application's back.

    On PostgreSQL the append-only trigger is disabled first (the test database's user owns the table,
    as a DBA would); the ALTER is part of the transaction, so the trigger is back however it ends.
    """
    with db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        yield connection
        if postgres:
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    db.session.expire_all()


def verify(client, admin):
    response = client.get("/api/v1/audit/verify", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_registering_a_volunteer_appends_an_event_with_actor_request_and_address(client, admin):
    volunteer = register_volunteer(client, admin, **{"X-Request-ID": "req-audit-1"})
    page = client.get(f"/api/v1/audit?object_type=user&object_id={volunteer['id']}", headers=admin.headers)
    assert page.status_code == 200
    [event] = page.get_json()["items"]
    assert event["action"] == "volunteer.created" and event["actor_id"] == admin.id
    assert event["before"] is None and event["after"]["phone"] == volunteer["phone"]
    assert event["request_id"] == "req-audit-1" and event["address"] == "127.0.0.1"
    assert event["created_at"].endswith("Z") and isinstance(event["id"], str)
    # Listing seals first, so the answer shows the event's place in the chain.
    assert event["seq"] >= 1 and len(event["hash"]) == 64 and len(event["prev_hash"]) == 64


def test_editing_one_audit_row_in_the_database_makes_verify_name_it(client, admin, app):
    volunteers = [register_volunteer(client, admin) for _ in range(3)]
    with app.app_context():
        seal_chain()
        target = db.session.scalar(select(AuditEvent.id).where(AuditEvent.object_id == volunteers[1]["id"]))
        with attacker_with_dba_rights() as connection:
            connection.execute(EVENTS.update().where(EVENTS.c.id == target)
                               .values(after={"phone": "+77000000000", "full_name": "Someone Else"}))
    # The first verification walks from seq 1 (none stored yet); after one, an edit below it is the full
    # job's to find (tests/test_audit_verifications.py).
    body = verify(client, admin)
    assert {key: body[key] for key in ("ok", "first_broken_id", "checked", "reason")} == {
        "ok": False, "first_broken_id": str(target), "checked": sealed_position(app, target) - 1,
        "reason": "hash_mismatch"}


def sealed_position(app, event_id) -> int:
    with app.app_context():
        return db.session.scalar(select(AuditEvent.seq).where(AuditEvent.id == event_id))


def test_an_intact_chain_verifies_and_counts_every_event(client, admin, app):
    for _ in range(3):
        register_volunteer(client, admin)
    body = verify(client, admin)
    with app.app_context():
        total = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    # admin.created, the admin's login and three registrations at least; all sealed by the request.
    assert {key: body[key] for key in ("ok", "checked", "unsealed")} == {"ok": True, "checked": total, "unsealed": 0}
    assert total >= 5 and body["verified_through"] == total


def test_an_edit_of_the_action_alone_is_a_hash_mismatch(app_ctx):
    ids = append_events(5)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[3]).values(action="site.viewed"))
    assert verify_chain() == {"ok": False, "first_broken_id": str(ids[3]), "checked": 3, "reason": "hash_mismatch"}


def test_the_first_of_several_edits_is_named(app_ctx):
    ids = append_events(6)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        for target in (ids[4], ids[1]):
            connection.execute(EVENTS.update().where(EVENTS.c.id == target).values(address="10.0.0.1"))
    assert verify_chain()["first_broken_id"] == str(ids[1])


def test_an_edit_whose_hash_was_recomputed_without_the_key_is_named(app_ctx):
    ids = append_events(4)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[1]).values(after={"n": 999}))
    forged = db.session.get(AuditEvent, ids[1])
    # The attacker knows the scheme (the code is public) but not AUDIT_KEY: the old unkeyed SHA-256.
    forged_hash = _legacy_hash(forged, forged.prev_hash)
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[1]).values(hash=forged_hash))
    assert verify_chain() == {"ok": False, "first_broken_id": str(ids[1]), "checked": 1, "reason": "hash_mismatch"}


def test_an_edit_with_the_key_still_breaks_the_next_link(app_ctx):
    """Even whoever holds the key must rewrite every later link: the next event names the edit."""
    ids = append_events(4)
    seal_chain()
    forged = db.session.get(AuditEvent, ids[1])
    values = {"after": {"n": 999}, "mac": event_mac({**_row(forged), "after": {"n": 999}})}
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[1]).values(**values))
    forged = db.session.get(AuditEvent, ids[1])
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[1]).values(hash=event_hash(forged, forged.prev_hash)))
    assert verify_chain() == {"ok": False, "first_broken_id": str(ids[2]), "checked": 2, "reason": "broken_link"}


def _row(event: AuditEvent) -> dict:
    return {column.name: getattr(event, column.name) for column in EVENTS.columns}


def test_a_deleted_row_makes_verify_name_the_event_after_the_hole(app_ctx):
    ids = append_events(5)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.delete().where(EVENTS.c.id == ids[2]))
    assert verify_chain() == {"ok": False, "first_broken_id": str(ids[3]), "checked": 2, "reason": "gap"}


def test_deleting_the_first_event_is_caught_too(app_ctx):
    ids = append_events(3)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.delete().where(EVENTS.c.id == ids[0]))
    assert verify_chain() == {"ok": False, "first_broken_id": str(ids[1]), "checked": 0, "reason": "gap"}


def test_a_forged_row_inserted_into_the_chain_is_named(app_ctx):
    ids = append_events(4)
    seal_chain()
    second = db.session.get(AuditEvent, ids[1])
    link_to, forged_id = second.hash, max(ids) + 100
    with attacker_with_dba_rights() as connection:
        # Make room after the second event, then slot the forgery in with a plausible link.
        for event_id in reversed(ids[2:]):
            connection.execute(EVENTS.update().where(EVENTS.c.id == event_id).values(seq=EVENTS.c.seq + 1))
        connection.execute(EVENTS.insert().values(
            id=forged_id, action="site.updated", object_type="site", object_id="1", after={"n": 0},
            created_at=second.created_at, seq=3, prev_hash=link_to, hash="f" * 64))
    assert verify_chain() == {"ok": False, "first_broken_id": str(forged_id), "checked": 2, "reason": "hash_mismatch"}


def test_a_forged_row_appended_after_the_head_is_named(app_ctx):
    ids = append_events(2)
    seal_chain()
    head = db.session.get(AuditEvent, ids[-1])
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.insert().values(
            id=max(ids) + 1, action="user.deleted", object_type="user", object_id="1",
            created_at=head.created_at, seq=head.seq + 1, prev_hash="0" * 64, hash="0" * 64))
    assert verify_chain() == {"ok": False, "first_broken_id": str(max(ids) + 1), "checked": 2, "reason": "broken_link"}


def keyed_event(event_id: int, created_at=None) -> None:
    """Insert a properly keyed event with an explicit id (standing in for a transaction's own id)."""
    values = {"id": event_id, "actor_id": None, "action": "site.created", "object_type": "site",
              "object_id": str(event_id), "before": None, "after": None, "request_id": None, "address": None,
              "created_at": created_at or utcnow()}
    db.session.execute(EVENTS.insert().values(**values, mac=event_mac(values)))
    db.session.commit()


def test_an_event_committing_after_a_higher_id_was_sealed_gets_the_next_seq(app_ctx):
    # Explicit ids stand in for two transactions: id 50 committed and was sealed before id 7 committed.
    keyed_event(50)
    assert seal_chain() == 1
    keyed_event(7)
    assert seal_chain() == 1
    assert sealed_ids() == [50, 7]
    assert verify_chain() == {"ok": True, "checked": 2, "unsealed": 0}


def test_verify_walks_the_chain_in_batches(app_ctx):
    ids = append_events(7)
    assert seal_chain(batch_size=3) == 7
    assert verify_chain(batch_size=2) == {"ok": True, "checked": 7, "unsealed": 0}
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[5]).values(object_id="other"))
    assert verify_chain(batch_size=2)["first_broken_id"] == str(ids[5])


def test_unsealed_events_are_counted_until_the_sealer_runs(app_ctx):
    append_events(2)
    seal_chain()
    append_events(3)
    # In PostgreSQL mode the worker may seal between these lines: the total is what holds.
    body = verify_chain()
    assert body["ok"] is True and body["checked"] + body["unsealed"] == 5
    seal_chain()
    assert verify_chain() == {"ok": True, "checked": 5, "unsealed": 0}


def test_sealing_twice_seals_nothing_new(app_ctx):
    append_events(3)
    assert seal_chain() in (0, 3)  # the worker may have sealed them already
    assert seal_chain() == 0
    assert verify_chain()["checked"] == 3


def test_the_list_filters_by_actor_object_action_and_time(client, admin, app):
    first, second = register_volunteer(client, admin), register_volunteer(client, admin)
    response = client.patch(f"/api/v1/volunteers/{first['id']}", headers=admin.headers, json={"active": False})
    assert response.status_code == 200

    def listed(query):
        response = client.get(f"/api/v1/audit?{query}", headers=admin.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    by_admin = listed(f"actor_id={admin.id}&object_type=user")
    assert {e["object_id"] for e in by_admin} >= {first["id"], second["id"]}
    on_first = listed(f"object_type=user&object_id={first['id']}")
    assert [e["action"] for e in on_first][-1] == "volunteer.created" and len(on_first) == 2
    deactivated = [e for e in on_first if e["action"] != "volunteer.created"][0]
    assert deactivated["before"]["active"] is True and deactivated["after"]["active"] is False
    assert [e["object_id"] for e in listed("action=volunteer.created")] == [second["id"], first["id"]]
    created_at = on_first[-1]["created_at"]
    assert listed("from=2999-01-01T00:00:00%2B05:00") == []
    assert listed("to=2000-01-01T00:00:00Z") == []
    assert first["id"] in {e["object_id"] for e in listed(f"from={created_at}&action=volunteer.created")}


def test_the_list_is_paged_by_keyset_cursor_newest_first(client, admin, app):
    with app.app_context():
        ids = append_events(7)
    seen, cursor = [], None
    while True:
        url = "/api/v1/audit?object_type=site&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin.headers).get_json()
        seen += [int(e["id"]) for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("query, field", [
    ("from=2026-05-14T10:30:00", "from"),
    ("to=yesterday", "to"),
    ("from=2026-05-14T10:30:00Z&to=2026-05-13T10:30:00Z", "to"),
    ("actor_id=abc", "actor_id"),
    ("limit=201", "limit"),
    ("cursor=garbage", "cursor"),
])
def test_bad_list_filters_are_a_422(client, admin, query, field):
    response = client.get(f"/api/v1/audit?{query}", headers=admin.headers)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit/verify"])
def test_only_admins_read_the_audit_trail(client, volunteer, inspector, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=volunteer.headers).status_code == 403
    assert client.get(path, headers=inspector.headers).status_code == 403


@pytest.mark.postgres
def test_the_database_refuses_to_edit_or_delete_an_audit_event(app_ctx):
    from sqlalchemy.exc import DBAPIError

    sealed = append_events(2)[1]
    seal_chain()
    for statement in (
        EVENTS.update().where(EVENTS.c.id == sealed).values(action="site.viewed"),
        EVENTS.update().where(EVENTS.c.id == sealed).values(hash="0" * 64),
        EVENTS.delete().where(EVENTS.c.id == sealed),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(statement)
    # Before sealing, content is just as fixed: only seq, prev_hash and hash may be set.
    [fresh] = append_events(1)
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(EVENTS.update().where(EVENTS.c.id == fresh, EVENTS.c.seq.is_(None))
                               .values(action="site.viewed"))
    seal_chain()
    assert verify_chain() == {"ok": True, "checked": 3, "unsealed": 0}


@pytest.mark.postgres
def test_concurrent_writers_and_sealers_build_one_unbroken_chain(app):
    writers, per_writer = 4, 25
    errors = []

    def write_and_seal():
        try:
            with app.app_context():
                for _ in range(per_writer):
                    append_events(1)
                    seal_chain()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write_and_seal) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        seal_chain()
        assert verify_chain() == {"ok": True, "checked": writers * per_writer, "unsealed": 0}


@pytest.mark.worker
def test_the_worker_seals_new_events_within_seconds(client, admin, app):
    volunteer = register_volunteer(client, admin)

    def sealed():
        with app.app_context():
            return db.session.scalar(select(AuditEvent.hash).where(AuditEvent.object_id == volunteer["id"]))

    assert len(wait_for(sealed, timeout=10)) == 64


def verify_anchored() -> dict:
    """What GET /audit/verify answers: the chain against the newest checkpoint, the anchor file's too."""
    seal_chain()
    return verify_chain(anchor=newest_anchor())


def test_a_checkpoint_is_signed_stored_logged_and_written_to_the_anchor_file(app, app_ctx, caplog):
    ids = append_events(3)
    with caplog.at_level("WARNING", logger="volunteer_api.audit.checkpoints"):
        document = anchor_chain()
    head = db.session.get(AuditEvent, ids[-1])
    assert document["seq"] == document["event_count"] == 3 and document["head_id"] == str(ids[-1])
    assert document["head_hash"] == head.hash and len(document["mac"]) == 64
    stored = db.session.scalar(select(AuditCheckpoint))
    assert (stored.seq, stored.head_hash, stored.mac) == (3, head.hash, document["mac"])
    assert any(getattr(record, "audit_checkpoint", None) == document for record in caplog.records)
    lines = Path(app.config["AUDIT_ANCHOR_FILE"]).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [document] and newest_anchor() == document
    assert anchor_chain() is None  # the head has not moved: nothing new to anchor
    assert verify_anchored() == {"ok": True, "checked": 3, "unsealed": 0}


@pytest.mark.postgres
def test_two_beats_anchoring_at_once_sign_the_head_once(app):
    """Two beats may both run the sweep during a lock handover: one checkpoint, no error."""
    from tests.support import concurrently

    with app.app_context():
        append_events(3)

    def anchor():
        with app.app_context():
            try:
                return anchor_chain()
            except Exception as exc:  # noqa: BLE001 - a failed sweep is what this test looks for
                return exc
            finally:
                db.session.remove()

    documents = concurrently(4, anchor)
    assert not [document for document in documents if isinstance(document, Exception)]
    assert sum(document is not None for document in documents) == 1
    with app.app_context():
        assert db.session.scalars(select(AuditCheckpoint.seq)).all() == [3]
    assert len(Path(app.config["AUDIT_ANCHOR_FILE"]).read_text().splitlines()) == 1


def test_a_forged_anchor_line_is_ignored(app, app_ctx):
    append_events(2)
    genuine = anchor_chain()
    with Path(app.config["AUDIT_ANCHOR_FILE"]).open("a") as handle:
        handle.write(json.dumps({**genuine, "seq": 99, "mac": "0" * 64}) + "\n")
    assert newest_anchor() == genuine
    assert verify_anchored()["ok"] is True


def test_deleting_the_newest_events_is_caught_by_the_checkpoint(client, admin, app):
    with app.app_context():
        ids = append_events(5)
        anchor_chain()
        with attacker_with_dba_rights() as connection:
            connection.execute(EVENTS.delete().where(EVENTS.c.id.in_(ids[3:])))
    body = verify(client, admin)
    assert body["ok"] is False and body["reason"] == "truncated" and body["first_broken_id"] == str(ids[4])


def test_deleting_the_newest_events_and_the_checkpoints_is_caught_by_the_anchor_file(app_ctx):
    ids = append_events(5)
    anchor_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.delete().where(EVENTS.c.id.in_(ids[3:])))
        connection.execute(AuditCheckpoint.__table__.delete())
    body = verify_anchored()
    assert (body["ok"], body["reason"], body["first_broken_id"]) == (False, "truncated", str(ids[4]))


def test_a_back_dated_unsealed_event_is_refused_by_the_sealer(app_ctx):
    ids = append_events(3)
    seal_chain()
    head = db.session.get(AuditEvent, ids[-1])
    forged_id = max(ids) + 10
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.insert().values(
            id=forged_id, action="saving.approved", object_type="saving", object_id="1", after={"status": "approved"},
            created_at=head.created_at - timedelta(days=3)))
    assert seal_chain() == 0
    assert db.session.get(AuditEvent, forged_id).seq is None
    assert verify_anchored() == {"ok": False, "first_broken_id": str(forged_id), "checked": 3,
                                 "reason": "unkeyed_event"}


def test_a_replayed_keyed_event_older_than_the_head_is_refused(app_ctx):
    """A copy of a genuine old event (its mac valid) slipped in after newer events were sealed."""
    append_events(2)
    seal_chain()
    keyed_event(10_000, created_at=utcnow() - timedelta(hours=2))
    assert seal_chain() == 0
    body = verify_anchored()
    assert (body["ok"], body["first_broken_id"], body["reason"]) == (False, "10000", "backdated_event")
    # The refusal does not stop the chain: later events are still sealed.
    append_events(1)
    assert seal_chain() == 1


def test_rewriting_a_middle_event_and_nulling_the_seals_after_it_is_caught(app_ctx):
    ids = append_events(6)
    anchor_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[2]).values(after={"n": 0, "name": "forged"}))
        connection.execute(EVENTS.update().where(EVENTS.c.id.in_(ids[2:])).values(seq=None, prev_hash=None, hash=None))
    # The chain is now shorter than its checkpoint: the sealer refuses to build on it.
    assert seal_chain() == 0
    body = verify_anchored()
    assert (body["ok"], body["reason"], body["first_broken_id"]) == (False, "truncated", str(ids[5]))

    # With the database's checkpoints deleted too, the sealer refuses the edited event, re-seals the
    # rest, and the anchor file still shows the chain is not the one it saw.
    with attacker_with_dba_rights() as connection:
        connection.execute(AuditCheckpoint.__table__.delete())
    seal_chain()
    assert db.session.get(AuditEvent, ids[2]).seal_refused == "unkeyed_event"
    body = verify_anchored()
    assert body["ok"] is False and body["reason"] in ("truncated", "checkpoint_mismatch")


def test_rewriting_a_middle_event_after_the_last_checkpoint_is_still_refused(app_ctx):
    ids = append_events(4)
    seal_chain()
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == ids[1]).values(object_id="999"))
        connection.execute(EVENTS.update().where(EVENTS.c.id.in_(ids[1:])).values(seq=None, prev_hash=None, hash=None))
    assert seal_chain() == 2
    assert verify_anchored() == {"ok": False, "first_broken_id": str(ids[1]), "checked": 3, "reason": "unkeyed_event"}


def test_verification_can_start_from_a_signed_checkpoint(app_ctx):
    """Issue 14's incremental verification: a checkpoint's seq and hash stand in for the chain below it."""
    from volunteer_api.audit.services import verify_chain_since

    ids = append_events(4)
    checkpoint = anchor_chain()
    more = append_events(3)
    seal_chain()
    assert verify_chain_since(checkpoint) == {"ok": True, "checked": 3, "unsealed": 0, "from_seq": 4}
    with attacker_with_dba_rights() as connection:
        connection.execute(EVENTS.update().where(EVENTS.c.id == more[1]).values(action="site.viewed"))
    assert verify_chain_since(checkpoint)["first_broken_id"] == str(more[1])
    assert verify_chain_since({**checkpoint, "seq": 2})["reason"] == "bad_checkpoint"
    assert ids


def test_values_that_json_stores_differently_still_verify(app_ctx):
    # PostgreSQL's jsonb answers 1e16 as an integer and reorders keys; the macs sign the same content.
    record_event(action="site.updated", object_type="site", object_id=1,
                 after={"z": 1e16, "a": [1.5, 2.0, {"y": None, "b": True}], "name": "Школа «№7»"})
    db.session.commit()
    assert seal_chain() == 1
    assert verify_chain() == {"ok": True, "checked": 1, "unsealed": 0}


def test_a_checkpoint_reaches_the_admins_webhook_and_mailboxes(alert_app, smtp, webhook):
    from tests.alert_helpers import make_user

    mailbox, smtp_port = smtp
    received, hook_port = webhook
    application = alert_app({"SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                             "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/alerts",
                             "ALERT_WEBHOOK_SECRET": "test-webhook-secret-0123456789"})
    with application.app_context():
        make_user("admin", email="admin@example.kz")
        append_events(2)
        document = anchor_chain()
        wait_for(lambda: mailbox.messages and received, timeout=10)
        (_headers, body), = received
        assert json.loads(body) == {"kind": "audit_checkpoint", "checkpoint": document}
        (rcpt, mail), = mailbox.messages
        assert rcpt == ["admin@example.kz"] and "Контрольная точка аудита" in mail["Subject"]
        assert document["head_hash"] in mail.get_content() and document["mac"] in mail.get_content()
