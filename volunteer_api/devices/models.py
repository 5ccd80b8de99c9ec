from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import BigId, choice, db
from ..timestamps import UTCDateTime, utcnow

PLATFORMS = ("web", "android", "ios")


class Device(db.Model):
    """A phone or browser that receives its owner's alerts by push: a Web Push subscription or an FCM token."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(choice(*PLATFORMS, name="device_platform"))
    # What the push service needs: {"endpoint", "keys": {"p256dh", "auth"}} for the web, {"token"} for FCM.
    push: Mapped[dict] = mapped_column(JSON)
    # SHA-256 of the endpoint or token: one row per subscription, whoever registered it last owns it.
    push_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (db.Index("ix_devices_user_id_id", "user_id", "id"),)
