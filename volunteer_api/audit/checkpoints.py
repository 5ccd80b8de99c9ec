"""Anchoring the audit chain outside the database: signed checkpoints of its head.

On a schedule (AUDIT_CHECKPOINT_SECONDS) the newest sealed event's seq, id and hash, the count and the
time are signed with AUDIT_KEY and written to the database (so a later verification can start there
instead of at seq 1: checkpoint + tail), to the log (shipped off the host), to the anchor file
(AUDIT_ANCHOR_FILE, one JSON line each: keep it where the database's administrators cannot write) and
to the admins' outside channels (the alert webhook and e-mail, when configured). `verify_chain`
compares the chain with the newest checkpoint of the database and of the anchor file, so deleting the
newest events or rebuilding the chain from an edited event on is caught even when the database's own
checkpoints were deleted with them.
"""
import hmac
import json
import logging
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..alerts import channels
from ..alerts.messages import render_message, render_subject
from ..database import advisory_lock, db
from ..jobs import RetryLater, enqueue, names
from ..people.models import User
from ..timestamps import utcnow
from .models import AuditCheckpoint
from .services import (SEALER_LOCK_KEY, chain_head, checkpoint_document, checkpoint_mac, newest_stored_checkpoint,
                       seal_chain)

log = logging.getLogger(__name__)

# Read from the end of the anchor file: its newest line is all a verification needs.
ANCHOR_TAIL_BYTES = 64 * 1024


def anchor_chain() -> dict | None:
    """Seal, then sign the chain's head as a new checkpoint and send it out; None when the head has not moved."""
    seal_chain()
    # The sealer's lock: a second anchoring at once (two beats during a lock handover) waits, then finds
    # the head checkpointed, instead of signing the same head again.
    advisory_lock(SEALER_LOCK_KEY, sqlite_table="audit_events")
    head = chain_head()
    last = newest_stored_checkpoint()
    if head is None or (last is not None and last.seq >= head.seq):
        db.session.rollback()
        return None
    checkpoint = AuditCheckpoint(seq=head.seq, head_id=str(head.id), head_hash=head.hash, event_count=head.seq,
                                 created_at=utcnow())
    checkpoint.mac = checkpoint_mac(checkpoint_document(checkpoint))
    db.session.add(checkpoint)
    db.session.flush()
    enqueue(names.SEND_AUDIT_CHECKPOINT, checkpoint_id=checkpoint.id)
    document = checkpoint_document(checkpoint)
    db.session.commit()
    # WARNING, not INFO: the anchor must survive a log level that drops routine lines.
    log.warning("audit checkpoint %s", json.dumps(document), extra={"audit_checkpoint": document})
    _append_to_anchor_file(document)
    return document


def _anchor_path() -> Path | None:
    configured = current_app.config.get("AUDIT_ANCHOR_FILE")
    return Path(configured) if configured else None


def _append_to_anchor_file(document: dict) -> None:
    path = _anchor_path()
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(document, separators=(",", ":")) + "\n")


def newest_anchor() -> dict | None:
    """The newest checkpoint of the anchor file whose signature verifies, or None (no file, no line)."""
    path = _anchor_path()
    if path is None or not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - ANCHOR_TAIL_BYTES))
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    best = None
    for line in lines:
        try:
            document = json.loads(line)
            signed = hmac.compare_digest(str(document.get("mac", "")), checkpoint_mac(document))
        except (ValueError, TypeError, AttributeError):
            continue  # a torn last line or a line cut by the tail window
        if signed and (best is None or document["seq"] > best["seq"]):
            best = document
    return best


def send_checkpoint(*, checkpoint_id: int) -> str:
    """Send a checkpoint to the admins' outside channels: the alert webhook and each admin's e-mail."""
    checkpoint = db.session.get(AuditCheckpoint, checkpoint_id)
    if checkpoint is None:
        return "skipped"
    document = checkpoint_document(checkpoint)
    config = current_app.config
    try:
        if config.get("ALERT_WEBHOOK_URL"):
            channels.post_webhook(url=config["ALERT_WEBHOOK_URL"], secret=config.get("ALERT_WEBHOOK_SECRET", ""),
                                  payload={"kind": "audit_checkpoint", "checkpoint": document},
                                  timestamp=int(time.time()), delivery_id=f"audit-checkpoint-{checkpoint.id}")
        if config.get("SMTP_URL"):
            admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True),
                                                           User.email.is_not(None)).order_by(User.id))
            for admin in admins:
                channels.send_email(
                    smtp_url=config["SMTP_URL"], sender=config["SMTP_FROM"], to=admin.email,
                    subject=render_subject("audit_checkpoint", admin.language),
                    body=render_message("audit_checkpoint", document, admin.language, {}) + "\n\n"
                    + json.dumps(document) + "\n",
                    message_id=f"<audit-checkpoint-{checkpoint.id}-{admin.id}@volunteer-monitor>")
    except Exception as exc:  # noqa: BLE001 - the outbox retries with backoff
        raise RetryLater(f"audit checkpoint {checkpoint.id} not sent: {exc!r}") from exc
    return "sent"
