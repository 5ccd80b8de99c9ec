from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, db
from ..timestamps import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """An append-only record of one change of state.

    Written in the same transaction as the change, unsealed. A worker then seals events into the hash
    chain in `seq` order (hash = SHA-256 of the content and the previous hash), so writers never wait
    on one chain lock.
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

    __table_args__ = (
        db.Index("ix_audit_events_object", "object_type", "object_id", "id"),
        db.Index("ix_audit_events_actor_id_id", "actor_id", "id"),
        db.Index("ix_audit_events_created_at", "created_at"),
    )
