"""The audit trail: every change of state appends an event in the changing transaction.

Writers only INSERT unsealed rows, so they never wait on the chain; each row carries `mac`, an HMAC of
its content under AUDIT_KEY, a secret the database does not hold. `seal_chain` (a periodic sweep, also
run before the audit endpoints answer) is the only writer of `seq`, `prev_hash` and `hash`: under one
sealer lock it numbers committed unsealed events in id order and links each to the one before with an
HMAC over its content, its place and the previous hash. It refuses (and marks `seal_refused`) an event
whose mac does not verify — written or edited by someone without the key — or that is older than the
sealed head by more than AUDIT_SEAL_GRACE_SECONDS (a back-dated insertion). An event whose transaction
commits after a higher id was sealed simply gets the next `seq`; the chain is defined by `seq`, never
by `id`, and `verify_chain` walks it that way. `checkpoints.py` anchors the head outside the database.

What the chain proves, and what it cannot:
- Proves: every sealed event is as the application wrote it (an edit without AUDIT_KEY breaks its mac
  and hash); none was inserted, deleted or reordered below the chain's head; the chain reaches at least
  the newest checkpoint, so deleting the newest events, or rebuilding the chain from an edited event
  on, is caught once a checkpoint covers them.
- Cannot: events written after the newest checkpoint can be deleted unnoticed (checkpoints every
  AUDIT_CHECKPOINT_SECONDS bound that window); a change the application never recorded is not in it;
  whoever holds AUDIT_KEY (the application's hosts) can forge a chain; a database writer can replay a
  keyed event within the grace window; verification needs the same AUDIT_KEY (changing it leaves the
  old chain unverifiable).
"""
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app, g, has_request_context
from sqlalchemy import func, select

from ..database import advisory_lock, db
from ..pagination import keyset_page
from ..people.models import User
from ..timestamps import utcnow
from .models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
SEAL_BATCH = 1000
VERIFY_BATCH = 1000
# pg_advisory_xact_lock key of the one sealer ("audit" in ASCII); writers never take it.
SEALER_LOCK_KEY = 0x6175646974


def audit_key() -> bytes:
    """The chain's key (AUDIT_KEY; development and tests derive one from SECRET_KEY, see config)."""
    return current_app.config["AUDIT_KEY"].encode("utf-8")


def keyed_digest(content: dict) -> str:
    """HMAC-SHA256 (hex) of a dict's canonical JSON under the audit key."""
    canonical = json.dumps(_normalised(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(audit_key(), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def _normalised(value):
    # PostgreSQL's jsonb answers 1e16 as 10000000000000000: an integral float is signed as its integer.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normalised(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(item) for item in value]
    return value


def _canonical_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _content(event) -> dict:
    """What an event says, as signed: the same dict from the values written and from the row read back."""
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    return {
        "actor_id": None if get("actor_id") is None else str(get("actor_id")),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": str(get("object_id")),
        "before": get("before"),
        "after": get("after"),
        "request_id": get("request_id"),
        "address": get("address"),
        "created_at": _canonical_time(get("created_at")),
    }


def event_mac(event) -> str:
    """The writer's HMAC of an event's content (an AuditEvent or the dict of values being inserted)."""
    return keyed_digest(_content(event))


def record_event(*, action: str, object_type: str, object_id, before: dict | None = None,
                 after: dict | None = None, actor_id: int | None = None) -> int:
    """Append a keyed audit event to the current transaction (sealed into the chain later); returns its id.

    A plain INSERT rather than an ORM object: every write of the system passes here, and nothing reads
    the event back in the same transaction.
    """
    values = event_values(action=action, object_type=object_type, object_id=object_id, before=before, after=after,
                          actor_id=actor_id)
    return db.session.scalar(AuditEvent.__table__.insert().values(**values).returning(AuditEvent.id))


def event_values(*, action: str, object_type: str, object_id, before: dict | None = None, after: dict | None = None,
                 actor_id: int | None = None) -> dict:
    """The columns of the keyed event record_event would write (its mac included), for a statement that
    writes it with bound parameters of its own."""
    request_id = address = None
    if has_request_context():
        request_id = g.get("request_id")
        address = g.get("client_address")
        if actor_id is None and g.get("current_user") is not None:
            actor_id = g.current_user.id
    values = dict(actor_id=actor_id, action=action, object_type=object_type, object_id=str(object_id), before=before,
                  after=after, request_id=request_id, address=address, created_at=utcnow())
    return {**values, "mac": event_mac(values)}


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    """The HMAC (hex) linking an event into the chain: its content, mac, place and the previous hash."""
    return keyed_digest({**_content(event), "id": str(event.id), "seq": event.seq, "mac": event.mac,
                         "prev_hash": prev_hash})


def _legacy_hash(event: AuditEvent, prev_hash: str) -> str:
    """The unkeyed SHA-256 of events sealed before the chain had a key (a prefix of the chain)."""
    content = {**_content(event), "id": str(event.id), "seq": event.seq, "prev_hash": prev_hash}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_head():
    """The newest sealed event's (id, seq, hash, created_at), or None before the first seal."""
    return db.session.execute(
        select(AuditEvent.id, AuditEvent.seq, AuditEvent.hash, AuditEvent.created_at)
        .where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()


def newest_stored_checkpoint() -> AuditCheckpoint | None:
    """The newest checkpoint in the database whose signature verifies (a forged one is skipped, logged)."""
    for checkpoint in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(10)):
        if hmac.compare_digest(checkpoint.mac, checkpoint_mac(checkpoint_document(checkpoint))):
            return checkpoint
        log.error("audit checkpoint %s has a bad signature; ignored", checkpoint.id)
    return None


def checkpoint_document(checkpoint) -> dict:
    """A checkpoint as it is signed, logged and sent: seq, head id and hash, count, time (and its mac)."""
    document = {"seq": checkpoint.seq, "head_id": str(checkpoint.head_id), "head_hash": checkpoint.head_hash,
                "event_count": checkpoint.event_count, "created_at": _canonical_time(checkpoint.created_at)}
    if getattr(checkpoint, "mac", None):
        document["mac"] = checkpoint.mac
    return document


def checkpoint_mac(document: dict) -> str:
    """The HMAC of a checkpoint document (its own `mac` left out)."""
    return keyed_digest({key: value for key, value in document.items() if key != "mac"})


def _refusal(event: AuditEvent, head_created_at: datetime | None) -> str | None:
    """Why the sealer must not seal this event, or None."""
    if event.mac is None or not hmac.compare_digest(event.mac, event_mac(event)):
        return "unkeyed_event"
    grace = timedelta(seconds=current_app.config.get("AUDIT_SEAL_GRACE_SECONDS", 300))
    if head_created_at is not None and event.created_at < head_created_at - grace:
        return "backdated_event"
    return None


def _seal_batch(batch_size: int) -> tuple[int, int]:
    """Seal one batch; returns (events looked at, events sealed)."""
    # Before reading the chain's head, so a second sealer waits instead of reading the same head.
    advisory_lock(SEALER_LOCK_KEY, sqlite_table="audit_events")
    head = chain_head()
    anchor = newest_stored_checkpoint()
    if anchor is not None and (head is None or head.seq < anchor.seq):
        # The chain lost events its checkpoint saw: sealing on would build a valid-looking chain over the hole.
        log.error("audit chain head (seq %s) is below checkpoint seq %s: refusing to seal",
                  head.seq if head else 0, anchor.seq)
        db.session.rollback()
        return 0, 0
    seq, prev_hash, head_created_at = (head.seq, head.hash, head.created_at) if head else (0, GENESIS_HASH, None)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None), AuditEvent.seal_refused.is_(None))
        .order_by(AuditEvent.id).limit(batch_size)
    ).all()
    sealed = 0
    for event in events:
        if (reason := _refusal(event, head_created_at)) is not None:
            event.seal_refused = reason
            log.error("audit event %s refused: %s", event.id, reason,
                      extra={"audit_event_id": str(event.id), "audit_refusal": reason})
            continue
        seq += 1
        sealed += 1
        event.seq, event.prev_hash = seq, prev_hash
        event.hash = prev_hash = event_hash(event, prev_hash)
        head_created_at = max(head_created_at or event.created_at, event.created_at)
    db.session.commit()
    if sealed:
        log.info("audit chain sealed", extra={"audit_head_seq": seq, "audit_head_hash": prev_hash,
                                              "audit_sealed": sealed})
    return len(events), sealed


def seal_chain(batch_size: int = SEAL_BATCH) -> int:
    """Seal every committed, properly keyed unsealed event into the hash chain; return how many were sealed."""
    total = 0
    while True:
        looked_at, sealed = _seal_batch(batch_size)
        total += sealed
        if looked_at < batch_size:
            return total


def _broken(event_id, reason: str, checked: int) -> dict:
    return {"ok": False, "first_broken_id": str(event_id), "checked": checked, "reason": reason}


def verify_chain(*, batch_size: int = VERIFY_BATCH, anchor: dict | None = None, since: dict | None = None,
                 start: dict | None = None, max_events: int | None = None) -> dict:
    """Walk the sealed chain in seq order, check every mac and link, and name the first broken event.

    `anchor` is the newest checkpoint known outside the database (`checkpoints.newest_anchor`); the
    chain must reach it, and the newest stored checkpoint, with the same hashes. Refused events (never
    sealed) break the chain too. `since`, a signed checkpoint, starts the walk after it instead of at
    seq 1 (checkpoint + tail): its signature and its event's hash stand in for the chain below it.
    `start` ({seq, head_id, head_hash}) does the same for a place the caller has already proven, such
    as the end of a signed verification (verifications.py). `max_events` stops the walk after about that
    many intact events with `{"ok": True, "checked": n, "partial": True}` (a long walk in steps).
    """
    stored = newest_stored_checkpoint()
    anchors = [a for a in (anchor, stored and checkpoint_document(stored)) if a]
    start_seq, prev_hash, keyed_seen = 0, GENESIS_HASH, False
    if since is not None:
        if not hmac.compare_digest(str(since.get("mac", "")), checkpoint_mac(since)):
            return {"ok": False, "checked": 0, "reason": "bad_checkpoint"}
        anchors.append(since)
        start = since
    if start is not None and start["seq"] > 0:
        start_seq, prev_hash = start["seq"], start["head_hash"]
        at = db.session.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.mac)
                                .where(AuditEvent.seq == start_seq)).first()
        if at is None or at.hash != prev_hash:
            return _broken(at.id if at else start["head_id"], "checkpoint_mismatch", 0)
        keyed_seen = since is not None or at.mac is not None
    expected_seq, checked, after_seq = start_seq + 1, 0, start_seq
    while True:
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq).limit(batch_size)
        ).all()
        for event in events:
            if event.seq != expected_seq:
                return _broken(event.id, "gap", checked)
            if event.prev_hash != prev_hash:
                return _broken(event.id, "broken_link", checked)
            if event.mac is None and not keyed_seen:
                intact = event.hash == _legacy_hash(event, event.prev_hash)
            else:
                keyed_seen = True
                intact = (event.mac is not None and hmac.compare_digest(event.mac, event_mac(event))
                          and hmac.compare_digest(event.hash or "", event_hash(event, event.prev_hash)))
            if not intact:
                return _broken(event.id, "hash_mismatch", checked)
            if any(a["seq"] == event.seq and a["head_hash"] != event.hash for a in anchors):
                return _broken(event.id, "checkpoint_mismatch", checked)
            prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
        if len(events) < batch_size:
            break
        if max_events is not None and checked >= max_events:
            return {"ok": True, "checked": checked, "partial": True}
        # Only the current batch is referenced; the session's weak identity map lets the rest go.
        after_seq = events[-1].seq
    for a in sorted(anchors, key=lambda a: -a["seq"]):
        if start_seq + checked < a["seq"]:
            # The newest events the checkpoint saw are gone: name the checkpoint's head.
            return _broken(a["head_id"], "truncated", checked)
    refused = db.session.execute(
        select(AuditEvent.id, AuditEvent.seal_refused)
        .where(AuditEvent.seq.is_(None), AuditEvent.seal_refused.is_not(None)).order_by(AuditEvent.id).limit(1)
    ).first()
    if refused is not None:
        return _broken(refused.id, refused.seal_refused, checked)
    unsealed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
    answer = {"ok": True, "checked": checked, "unsealed": unsealed}
    return answer if start is None else {**answer, "from_seq": start_seq}


def verify_chain_since(checkpoint: dict, *, batch_size: int = VERIFY_BATCH) -> dict:
    """Verify only the tail after a signed checkpoint (`checked` counts the tail; `from_seq` says where)."""
    return verify_chain(batch_size=batch_size, since=checkpoint)


MAX_HISTORY = 500


def state_history(*, object_type: str, object_id, actions) -> list[dict]:
    """The audited state changes of one object, oldest first: `{at, by, action, comment}` each.

    `actions` are the audit actions that count as state changes ("inspection.returned"); the history
    names them by their last part ("returned"). `by` is the actor (id, full name, role), None for the
    system; `comment` is what the actor wrote with the change (the audit event's `after.comment`; events
    written before that key existed carry a review's comment as `review_comment`).
    One query over the (object_type, object_id, id) index, the actors joined.
    """
    rows = db.session.execute(
        select(AuditEvent.created_at, AuditEvent.action, AuditEvent.after, User.id, User.full_name, User.role)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id),
               AuditEvent.action.in_(actions))
        .order_by(AuditEvent.id)
        .limit(MAX_HISTORY)
    ).all()
    return [
        {"at": created_at, "action": action.rsplit(".", 1)[-1],
         "by": {"id": actor_id, "full_name": full_name, "role": role} if actor_id is not None else None,
         "comment": (after or {}).get("comment", (after or {}).get("review_comment"))}
        for created_at, action, after, actor_id, full_name, role in rows
    ]


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
