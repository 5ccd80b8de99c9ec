"""The audit trail: every change of state appends an event in the changing transaction.

Writers only INSERT unsealed rows, so they never wait on the chain. `seal_chain` (a periodic sweep,
also run before the audit endpoints answer) is the only writer of `seq`, `prev_hash` and `hash`: under
one sealer lock it numbers committed unsealed events in id order and links each to the one before.
An event whose transaction commits after a higher id was sealed simply gets the next `seq`; the
chain is defined by `seq`, never by `id`, and `verify_chain` walks it that way.
"""
import hashlib
import json
import logging
from datetime import datetime, timezone

from flask import g, has_request_context
from sqlalchemy import func, select

from ..database import advisory_lock, db
from ..pagination import keyset_page
from ..timestamps import utcnow
from .models import AuditEvent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000
VERIFY_BATCH = 1000
# pg_advisory_xact_lock key of the one sealer ("audit" in ASCII); writers never take it.
SEALER_LOCK_KEY = 0x6175646974


def record_event(*, action: str, object_type: str, object_id, before: dict | None = None,
                 after: dict | None = None, actor_id: int | None = None) -> int:
    """Append an audit event to the current transaction (sealed into the hash chain later); returns its id.

    A plain INSERT rather than an ORM object: every write of the system passes here, and nothing reads
    the event back in the same transaction.
    """
    request_id = address = None
    if has_request_context():
        request_id = g.get("request_id")
        address = g.get("client_address")
        if actor_id is None and g.get("current_user") is not None:
            actor_id = g.current_user.id
    return db.session.scalar(AuditEvent.__table__.insert().values(
        actor_id=actor_id, action=action, object_type=object_type, object_id=str(object_id), before=before,
        after=after, request_id=request_id, address=address, created_at=utcnow(),
    ).returning(AuditEvent.id))


def _canonical_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """SHA-256 (hex) of the event's content, its place in the chain and the previous event's hash."""
    content = {
        "id": str(event.id),
        "seq": event.seq,
        "actor_id": None if event.actor_id is None else str(event.actor_id),
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "address": event.address,
        "created_at": _canonical_time(event.created_at),
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _seal_batch(batch_size: int) -> int:
    # Before reading the chain's head, so a second sealer waits instead of reading the same head.
    advisory_lock(SEALER_LOCK_KEY, sqlite_table="audit_events")
    head = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(batch_size)
    ).all()
    for event in events:
        seq += 1
        event.seq, event.prev_hash = seq, prev_hash
        event.hash = prev_hash = event_hash(event, prev_hash)
    db.session.commit()
    if events:
        # The head in the logs is an anchor outside the database: whoever rewrites the whole chain
        # after this point cannot rewrite the log shipping too.
        log.info("audit chain sealed", extra={"audit_head_seq": seq, "audit_head_hash": prev_hash,
                                              "audit_sealed": len(events)})
    return len(events)


def seal_chain(batch_size: int = SEAL_BATCH) -> int:
    """Seal every committed unsealed event into the hash chain; return how many were sealed."""
    total = 0
    while True:
        sealed = _seal_batch(batch_size)
        total += sealed
        if sealed < batch_size:
            return total


def _broken(event: AuditEvent, reason: str, checked: int) -> dict:
    return {"ok": False, "first_broken_id": str(event.id), "checked": checked, "reason": reason}


def verify_chain(*, batch_size: int = VERIFY_BATCH) -> dict:
    """Walk the sealed chain in seq order, recompute every hash and name the first broken event."""
    expected_seq, prev_hash, checked, after_seq = 1, GENESIS_HASH, 0, 0
    while True:
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(batch_size)
        ).all()
        for event in events:
            if event.seq != expected_seq:
                return _broken(event, "gap", checked)
            if event.prev_hash != prev_hash:
                return _broken(event, "broken_link", checked)
            if event.hash != event_hash(event, event.prev_hash):
                return _broken(event, "hash_mismatch", checked)
            prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
        if len(events) < batch_size:
            break
        # Only the current batch is referenced; the session's weak identity map lets the rest go.
        after_seq = events[-1].seq
    unsealed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
    return {"ok": True, "checked": checked, "unsealed": unsealed}


def list_events(*, limit: int, cursor: str | None, actor_id: str | None = None, object_type: str | None = None,
                object_id: str | None = None, action: str | None = None, from_: datetime | None = None,
                to: datetime | None = None):
    """List audit events, newest first, filtered by actor, object, action and time."""
    query = select(AuditEvent)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == int(actor_id))
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == object_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if from_ is not None:
        query = query.where(AuditEvent.created_at >= from_)
    if to is not None:
        query = query.where(AuditEvent.created_at < to)
    return keyset_page(query, key_columns=[AuditEvent.id], limit=limit, cursor=cursor)
