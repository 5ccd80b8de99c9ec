from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, db
from ..timestamps import UTCDateTime, utcnow


class AuthSession(db.Model):
    """One sign-in. Its tokens carry its id; revoking the row stops them at once.

    The database is the source of truth for revocation, so a Redis outage neither lets a revoked token
    in nor locks anyone out. Refresh tokens rotate: only `refresh_jti` is accepted, and presenting an
    older one revokes the whole session (it was stolen or replayed).
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
