from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
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


VERIFICATION_KINDS = ("full", "incremental")
VERIFICATION_STATUSES = ("running", "done")


class AuditVerification(db.Model):
    """A verification of the chain, signed with AUDIT_KEY when it finishes, so the next one starts from it.

    `full`: the whole chain from seq 1 (a job an admin starts); `incremental`: the tail after the previous
    verification (GET /audit/verify, the periodic sweep). `through_seq`/`head_hash` say how far it reached
    and the hash it found there; the signature covers them and the outcome, so a database writer without
    the key can neither move a verification forward over an edit nor turn a failure into a success.
    """

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(choice(*VERIFICATION_KINDS, name="audit_verification_kind"))
    status: Mapped[str] = mapped_column(choice(*VERIFICATION_STATUSES, name="audit_verification_status"),
                                        default="running")
    from_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    through_seq: Mapped[int | None] = mapped_column(BigInteger)
    head_id: Mapped[str | None] = mapped_column(String(20))
    head_hash: Mapped[str | None] = mapped_column(String(64))
    ok: Mapped[bool | None] = mapped_column(Boolean)
    checked: Mapped[int | None] = mapped_column(BigInteger)
    first_broken_id: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(32))
    requested_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mac: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (db.Index("ix_audit_verifications_status_finished_at", "status", "finished_at"),)
