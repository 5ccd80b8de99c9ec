from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, db
from ..timestamps import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """An append-only record of one change of state.

    Written in the same transaction as the change, unsealed, with `mac` (an HMAC of its content under
    AUDIT_KEY, a key the database does not hold). A worker then seals keyed events into the chain in
    `seq` order (hash = HMAC of the content, its place and the previous hash), so writers never wait on
    one chain lock; an event it refuses to seal keeps the reason in `seal_refused`.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))
    seal_refused: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        db.Index("ix_audit_events_object", "object_type", "object_id", "id"),
        db.Index("ix_audit_events_actor_id_id", "actor_id", "id"),
        db.Index("ix_audit_events_created_at", "created_at"),
    )


class AuditCheckpoint(db.Model):
    """The chain's head as the sealer knew it, signed with AUDIT_KEY and sent outside the database.

    A checkpoint is written to the log, to the anchor file and to the admins' outside channels, so a
    chain cut below it (its newest events deleted, or rebuilt from an edited event on) is caught even
    when this table is rewritten too. A later verification may start from a checkpoint instead of seq 1.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_id: Mapped[str] = mapped_column(String(20))
    head_hash: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mac: Mapped[str] = mapped_column(String(64))
